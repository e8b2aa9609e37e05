package evidence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
)

// ObjectGetter is the part of the S3 API that downloads an artifact.
type ObjectGetter interface {
	GetObject(ctx context.Context, params *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ ObjectGetter = (*s3.Client)(nil)

// ErrArtifactTooLarge marks an artifact larger than Highway reads.
var ErrArtifactTooLarge = errors.New("artifact too large")

// Artifact is a downloaded artifact, spooled to a temporary file: a zip is
// read from its end, so the whole archive must be at hand, and on disk
// (Lambda's /tmp) it costs no memory. Close removes it.
type Artifact struct {
	file *os.File
	size int64
}

// ReadAt reads the artifact's bytes at off.
func (a *Artifact) ReadAt(p []byte, off int64) (int, error) { return a.file.ReadAt(p, off) }

// Size is the artifact's length in bytes.
func (a *Artifact) Size() int64 { return a.size }

// Close closes and removes the artifact's file.
func (a *Artifact) Close() error {
	return errors.Join(a.file.Close(), os.Remove(a.file.Name()))
}

// S3Artifact downloads the artifact at loc to a temporary file in the
// directory os.TempDir names. It refuses an object that declares, or turns out
// to have, more than limit bytes. The caller closes the artifact.
func S3Artifact(ctx context.Context, api ObjectGetter, loc Location, limit int64) (*Artifact, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key)}
	if loc.VersionID != "" {
		in.VersionId = aws.String(loc.VersionID)
	}
	out, err := api.GetObject(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("get artifact %s: %w", loc, err)
	}
	defer out.Body.Close()
	if declared := aws.ToInt64(out.ContentLength); declared > limit {
		return nil, fmt.Errorf("%w: %s has %d bytes, more than the %d Highway reads", ErrArtifactTooLarge, loc, declared, limit)
	}
	f, err := os.CreateTemp("", "highway-artifact-*.zip")
	if err != nil {
		return nil, fmt.Errorf("spool artifact %s: %w", loc, err)
	}
	a := &Artifact{file: f}
	a.size, err = io.Copy(f, io.LimitReader(out.Body, limit+1))
	switch {
	case err != nil:
		err = fmt.Errorf("read artifact %s: %w", loc, err)
	case a.size > limit:
		err = fmt.Errorf("%w: %s has more than the %d bytes Highway reads", ErrArtifactTooLarge, loc, limit)
	}
	if err != nil {
		return nil, errors.Join(err, a.Close())
	}
	return a, nil
}

// FromS3 downloads the artifact at loc and reads its reports as FromZip does,
// within limits. When the download fails, or the artifact is larger than
// limits.ArchiveBytes, every kind of report the policy looks for carries the
// error. From is prefixed with the artifact's location.
func FromS3(ctx context.Context, api ObjectGetter, loc Location, globs policy.Reports, limits Limits) (tests gate.Input[report.Tests], sarif gate.Input[[]report.Run], cov gate.Input[report.Coverage]) {
	a, err := S3Artifact(ctx, api, loc, limits.ArchiveBytes)
	if err != nil {
		return unreadable[report.Tests](globs.JUnit, err),
			unreadable[[]report.Run](globs.SARIF, err),
			unreadable[report.Coverage](globs.Coverage, err)
	}
	defer a.Close() // a failure to remove a temporary file changes no evidence
	tests, sarif, cov = FromZip(a, a.Size(), globs, limits)
	return within(tests, loc), within(sarif, loc), within(cov, loc)
}

// within prefixes the files an input came from with the artifact's location.
func within[T any](in gate.Input[T], loc Location) gate.Input[T] {
	if in.From != "" {
		in.From = loc.String() + ": " + in.From
	}
	return in
}
