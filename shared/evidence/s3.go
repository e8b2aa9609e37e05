package evidence

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
)

// MaxArtifactBytes is the largest artifact S3Artifact downloads. A zip is
// read from its end, so the whole artifact is held in memory.
const MaxArtifactBytes = 256 << 20

// ObjectGetter is the part of the S3 API that downloads an artifact.
type ObjectGetter interface {
	GetObject(ctx context.Context, params *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ ObjectGetter = (*s3.Client)(nil)

// S3Artifact downloads the artifact at loc into memory. It refuses an object
// that declares, or turns out to have, more than MaxArtifactBytes.
func S3Artifact(ctx context.Context, api ObjectGetter, loc Location) (*bytes.Reader, error) {
	return download(ctx, api, loc, MaxArtifactBytes)
}

// download is S3Artifact with the size limit as a parameter.
func download(ctx context.Context, api ObjectGetter, loc Location, limit int64) (*bytes.Reader, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key)}
	if loc.VersionID != "" {
		in.VersionId = aws.String(loc.VersionID)
	}
	out, err := api.GetObject(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("get artifact %s: %w", loc, err)
	}
	defer out.Body.Close()
	declared := aws.ToInt64(out.ContentLength)
	if declared > limit {
		return nil, fmt.Errorf("artifact %s has %d bytes, more than the %d Highway reads", loc, declared, limit)
	}
	var buf bytes.Buffer
	if declared > 0 {
		buf.Grow(int(declared))
	}
	n, err := buf.ReadFrom(io.LimitReader(out.Body, limit+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("read artifact %s: %w", loc, err)
	case n > limit:
		return nil, fmt.Errorf("artifact %s has more than the %d bytes Highway reads", loc, limit)
	}
	return bytes.NewReader(buf.Bytes()), nil
}

// FromS3 downloads the artifact at loc and reads its reports as FromZip does.
// When the download fails, every kind of report the policy looks for carries
// the error. From is prefixed with the artifact's location.
func FromS3(ctx context.Context, api ObjectGetter, loc Location, globs policy.Reports) (tests gate.Input[report.Tests], sarif gate.Input[[]report.Run], cov gate.Input[report.Coverage]) {
	r, err := S3Artifact(ctx, api, loc)
	if err != nil {
		return unreadable[report.Tests](globs.JUnit, err),
			unreadable[[]report.Run](globs.SARIF, err),
			unreadable[report.Coverage](globs.Coverage, err)
	}
	tests, sarif, cov = FromZip(r, r.Size(), globs)
	return within(tests, loc), within(sarif, loc), within(cov, loc)
}

// within prefixes the files an input came from with the artifact's location.
func within[T any](in gate.Input[T], loc Location) gate.Input[T] {
	if in.From != "" {
		in.From = loc.String() + ": " + in.From
	}
	return in
}
