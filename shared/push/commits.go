package push

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	cctypes "github.com/aws/aws-sdk-go-v2/service/codecommit/types"

	"github.com/highwayhq/highway/shared/source"
)

// CommitGetter is the part of the CodeCommit client the handler uses.
type CommitGetter interface {
	GetCommit(ctx context.Context, params *codecommit.GetCommitInput, optFns ...func(*codecommit.Options)) (*codecommit.GetCommitOutput, error)
}

var _ CommitGetter = (*codecommit.Client)(nil)

// Commits gives the CodeCommit client for app's repository in the account and
// region it lives in (a session of the access role tagged with the app).
type Commits func(app, account, region string) CommitGetter

// commitInfo is what CodeCommit says of one commit: what is recorded, and
// its parents, which the walk follows.
type commitInfo struct {
	source.Commit
	parents []string
}

// pushed lists the commits a push brought, newest first: from head back along
// first parents until old (exclusive), a root commit, or
// source.MaxCommitsPerPush. known
// reports a commit Highway already recorded, which also ends the walk (a new
// branch stops where it forked).
func pushed(ctx context.Context, cc CommitGetter, repo, head, old string, known func(string) (bool, error)) ([]source.Commit, bool, error) {
	var out []source.Commit
	for sha := head; sha != "" && sha != old; {
		if len(out) == source.MaxCommitsPerPush {
			return out, true, nil
		}
		if len(out) > 0 {
			seen, err := known(sha)
			if err != nil {
				return nil, false, err
			}
			if seen {
				break
			}
		}
		c, err := getCommit(ctx, cc, repo, sha)
		if err != nil {
			return nil, false, err
		}
		out = append(out, c.Commit)
		sha = ""
		if len(c.parents) > 0 {
			sha = c.parents[0]
		}
	}
	return out, false, nil
}

func getCommit(ctx context.Context, cc CommitGetter, repo, sha string) (commitInfo, error) {
	out, err := cc.GetCommit(ctx, &codecommit.GetCommitInput{RepositoryName: aws.String(repo), CommitId: aws.String(sha)})
	if err != nil {
		return commitInfo{}, fmt.Errorf("get commit %s of %s: %w", sha, repo, err)
	}
	c := out.Commit
	if c == nil {
		return commitInfo{}, fmt.Errorf("get commit %s of %s: empty answer", sha, repo)
	}
	info := commitInfo{Commit: source.Commit{SHA: sha, Message: aws.ToString(c.Message)}, parents: c.Parents}
	// The committer's date is when the commit took its final form (after a
	// rebase or an amend); lead time starts there. The author's is the fallback.
	for _, u := range []*cctypes.UserInfo{c.Committer, c.Author} {
		if u == nil {
			continue
		}
		if info.CommittedAt.IsZero() {
			if t, err := parseGitDate(aws.ToString(u.Date)); err == nil {
				info.CommittedAt = t
			}
		}
	}
	if a := c.Author; a != nil {
		info.Author = aws.ToString(a.Name)
		if e := aws.ToString(a.Email); e != "" {
			info.Author += " <" + e + ">"
		}
	}
	return info, nil
}

// notFound reports the CodeCommit errors that a retry cannot fix.
func notFound(err error) bool {
	var (
		noCommit *cctypes.CommitIdDoesNotExistException
		noRepo   *cctypes.RepositoryDoesNotExistException
	)
	return errors.As(err, &noCommit) || errors.As(err, &noRepo)
}

// parseGitDate reads CodeCommit's "<unix seconds> <±hhmm>" commit dates.
func parseGitDate(s string) (time.Time, error) {
	secs, zone, _ := strings.Cut(strings.TrimSpace(s), " ")
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("commit date %q: %w", s, err)
	}
	t := time.Unix(n, 0).UTC()
	if len(zone) == 5 && (zone[0] == '+' || zone[0] == '-') {
		h, errH := strconv.Atoi(zone[1:3])
		m, errM := strconv.Atoi(zone[3:5])
		if errH == nil && errM == nil {
			offset := h*3600 + m*60
			if zone[0] == '-' {
				offset = -offset
			}
			t = t.In(time.FixedZone(zone, offset))
		}
	}
	return t, nil
}
