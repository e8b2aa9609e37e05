// Package gitops promotes an image by committing its digest to the file a
// GitOps controller (Argo CD, Flux) deploys from, in a CodeCommit repository:
// a kustomization's images entry or a Helm values key. Each commit's parent is
// the branch head it read; when someone else commits first, the file is read
// again from the new head and the change made on top, so no one's commit is
// overwritten.
package gitops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/aws/aws-sdk-go-v2/service/codecommit/types"
	"github.com/aws/smithy-go"
	"github.com/highwayhq/highway/shared/policy"
	"go.yaml.in/yaml/v3"
)

// Client is the part of the CodeCommit API a commit needs.
type Client interface {
	GetBranch(ctx context.Context, params *codecommit.GetBranchInput, optFns ...func(*codecommit.Options)) (*codecommit.GetBranchOutput, error)
	GetFile(ctx context.Context, params *codecommit.GetFileInput, optFns ...func(*codecommit.Options)) (*codecommit.GetFileOutput, error)
	CreateCommit(ctx context.Context, params *codecommit.CreateCommitInput, optFns ...func(*codecommit.Options)) (*codecommit.CreateCommitOutput, error)
}

var _ Client = (*codecommit.Client)(nil)

// Change is one image to write into one file of one branch.
type Change struct {
	// Repository, Branch and File say where: a CodeCommit repository's
	// name, a branch, and the file's path from the repository's root.
	Repository, Branch, File string
	// Key says where in the file (see SetImage).
	Key string
	// Image and Digest are what: the image's repository, without tag or
	// digest, and its "sha256:<hex>" digest.
	Image, Digest string
	// Message, Author and Email sign the commit.
	Message, Author, Email string
}

// Result says what Commit did.
type Result struct {
	// Commit is the commit that holds the change: the new one, or the head
	// that already held it.
	Commit string
	// Committed says a new commit was made.
	Committed bool
	// Attempts counts the heads the change was made on: more than one when
	// others committed between a read and the commit.
	Attempts int
}

// MaxAttempts bounds how many times Commit reads the head again after
// someone else committed first.
const MaxAttempts = 5

// ErrBusy marks a branch others kept committing to for MaxAttempts reads in a
// row; a later retry may succeed.
var ErrBusy = errors.New("branch head kept moving")

// ErrConflict marks a change someone else made to the same image while
// Highway committed: Highway does not write over it. The promotion fails and
// says so; whoever promotes again decides.
var ErrConflict = errors.New("the image was changed by someone else")

// refused wraps CodeCommit's answers that no retry changes (no such
// repository, branch or file, a file too large to read or write) with
// ErrNoPlace.
func refused(err error) error {
	for _, code := range []string{"RepositoryDoesNotExistException", "BranchDoesNotExistException", "FileDoesNotExistException",
		"FileTooLargeException", "FileContentSizeLimitExceededException"} {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == code {
			return fmt.Errorf("%w: %w", ErrNoPlace, err)
		}
	}
	return err
}

// Commit writes ch into its file on its branch's head, as a new commit whose
// parent is that head. When the branch moved before the commit (CodeCommit's
// ParentCommitIdOutdatedException), it starts again from the new head, unless
// the new head changed the image's place itself (ErrConflict). When the file
// already holds the image, it commits nothing and returns the head. Errors
// wrapping ErrNoPlace cannot succeed on retry.
func Commit(ctx context.Context, c Client, ch Change) (Result, error) {
	var first []byte // the image's place as first read
	for attempt := 1; attempt <= MaxAttempts; attempt++ {
		br, err := c.GetBranch(ctx, &codecommit.GetBranchInput{RepositoryName: aws.String(ch.Repository), BranchName: aws.String(ch.Branch)})
		if err != nil {
			return Result{}, fmt.Errorf("branch %s of %s: %w", ch.Branch, ch.Repository, refused(err))
		}
		if br.Branch == nil || aws.ToString(br.Branch.CommitId) == "" {
			return Result{}, fmt.Errorf("branch %s of %s: no head commit in the answer", ch.Branch, ch.Repository)
		}
		head := aws.ToString(br.Branch.CommitId)
		f, err := c.GetFile(ctx, &codecommit.GetFileInput{RepositoryName: aws.String(ch.Repository), CommitSpecifier: aws.String(head), FilePath: aws.String(ch.File)})
		if err != nil {
			return Result{}, fmt.Errorf("%s at %s: %w", ch.File, head, refused(err))
		}
		if f.FileMode == types.FileModeTypeEnumSymlink {
			return Result{}, fmt.Errorf("%w: %s is a symbolic link", ErrNoPlace, ch.File)
		}
		content, changed, err := SetImage(ch.File, f.FileContent, ch.Key, ch.Image, ch.Digest)
		if err != nil {
			return Result{}, err
		}
		if !changed {
			return Result{Commit: head, Attempts: attempt}, nil
		}
		place, err := placeOf(ch, f.FileContent)
		if err != nil {
			return Result{}, err
		}
		if first == nil {
			first = place
		} else if !bytes.Equal(place, first) {
			return Result{}, fmt.Errorf("%w: %s in %s changed at %s while Highway committed", ErrConflict, ch.Key, ch.File, head)
		}
		out, err := c.CreateCommit(ctx, &codecommit.CreateCommitInput{
			RepositoryName: aws.String(ch.Repository),
			BranchName:     aws.String(ch.Branch),
			ParentCommitId: aws.String(head),
			AuthorName:     aws.String(ch.Author),
			Email:          aws.String(ch.Email),
			CommitMessage:  aws.String(ch.Message),
			PutFiles:       []types.PutFileEntry{{FilePath: aws.String(ch.File), FileContent: content, FileMode: f.FileMode}},
		})
		if _, moved := errors.AsType[*types.ParentCommitIdOutdatedException](err); moved {
			continue
		}
		if _, same := errors.AsType[*types.NoChangeException](err); same {
			return Result{Commit: head, Attempts: attempt}, nil
		}
		if err != nil {
			return Result{}, fmt.Errorf("commit %s to %s of %s: %w", ch.File, ch.Branch, ch.Repository, refused(err))
		}
		return Result{Commit: aws.ToString(out.CommitId), Committed: true, Attempts: attempt}, nil
	}
	return Result{}, fmt.Errorf("%w: %s of %s moved on each of %d reads", ErrBusy, ch.Branch, ch.Repository, MaxAttempts)
}

// placeOf returns what the file says at the image's place, as JSON: the
// kustomization's images entry, or the values file's key.
func placeOf(ch Change, content []byte) ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(content, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoPlace, ch.File, err)
	}
	var at any
	if policy.IsKustomization(ch.File) {
		name := ch.Key
		if name == "" {
			name = ch.Image
		}
		at = imagesEntry(doc, name)
	} else if m, last := valueParent(doc, ch.Key); m != nil {
		at = m[last]
	}
	return json.Marshal(at)
}
