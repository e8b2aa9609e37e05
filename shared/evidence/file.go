package evidence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/highwayhq/highway/shared/report"
)

// ErrNoFile marks an artifact that does not hold the file asked for.
var ErrNoFile = errors.New("no such file in the artifact")

// FileFromZip parses the one file called name (a path within the zip,
// matched as FromZip matches report globs) in a build's output artifact, a
// zip of size bytes, with parse, within limits: the zip's directory and
// entries as FromZip bounds them, and the file as a report, held to
// report.MaxBytes, to limits.ReportBytes and to MaxCompressionRatio. A zip
// without the file is an error wrapping ErrNoFile; one over the limits is an
// error saying which, and parse is not called.
func FileFromZip[T any](r io.ReaderAt, size int64, name string, parse func(io.Reader) (T, error), limits Limits) (T, error) {
	var zero T
	zr, err := openZip(r, size, limits)
	if err != nil {
		return zero, err
	}
	a := &artifact{files: zr.File, budget: limits.ReportBytes, limits: limits}
	want := normalize(name)
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || strings.HasSuffix(f.Name, "/") || normalize(f.Name) != want {
			continue
		}
		v, err := readFile(a, f, parse)
		if err != nil {
			return zero, fmt.Errorf("%s: %w", want, err)
		}
		return v, nil
	}
	return zero, fmt.Errorf("%w: %s", ErrNoFile, want)
}

// FileFromS3 downloads the artifact at loc, refusing one of more than
// limits.ArchiveBytes, and parses its file name as FileFromZip does. Errors
// name the artifact's location.
func FileFromS3[T any](ctx context.Context, api ObjectGetter, loc Location, name string, parse func(io.Reader) (T, error), limits Limits) (T, error) {
	var zero T
	a, err := S3Artifact(ctx, api, loc, limits.ArchiveBytes)
	if err != nil {
		return zero, err
	}
	defer a.Close() // a failure to remove a temporary file changes nothing read
	v, err := FileFromZip(a, a.Size(), name, parse, limits)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", loc, err)
	}
	return v, nil
}

// BuildFile parses the file name of a CodeBuild build's S3 output artifact at
// loc, however the project packages it: a zip at loc (packaging ZIP, as
// FileFromS3 reads it), or, when there is no object at loc, the files under
// it (packaging NONE), name then being the object loc/name, held to the
// same size as a file in a zip.
func BuildFile[T any](ctx context.Context, api ObjectGetter, loc Location, name string, parse func(io.Reader) (T, error), limits Limits) (T, error) {
	v, err := FileFromS3(ctx, api, loc, name, parse, limits)
	var missing *s3types.NoSuchKey
	if !errors.As(err, &missing) {
		return v, err
	}
	var zero T
	file := Location{Bucket: loc.Bucket, Key: strings.TrimSuffix(loc.Key, "/") + "/" + normalize(name)}
	a, ferr := S3Artifact(ctx, api, file, min(limits.ReportBytes, report.MaxBytes))
	if errors.As(ferr, &missing) {
		return zero, fmt.Errorf("%w: neither a zip at %s nor %s", ErrNoFile, loc, file)
	}
	if ferr != nil {
		return zero, ferr
	}
	defer a.Close()
	v, err = parse(io.NewSectionReader(a, 0, a.Size()))
	if err != nil {
		return zero, fmt.Errorf("%s: %w", file, err)
	}
	return v, nil
}
