// Package evidence collects what a build left behind for Highway's build gate:
// the report files inside its output artifact (JUnit, SARIF, coverage), the
// test and coverage reports CodeBuild keeps, the ECR scan of its image, and the
// build itself as the "CodeBuild Build State Change" event describes it.
//
// Each adapter returns gate.Input values: Found=false when the evidence does
// not exist, Err when it exists but cannot be read. The gate then fails closed
// unless the check is optional. The adapters consume small interfaces with the
// SDK's own signatures, so tests run them against wire-level fakes.
package evidence

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadEvent marks an event that cannot be decoded into evidence: the wrong
// detail type, or a detail missing what Highway needs. A handler logs and
// acknowledges it; retrying cannot fix it.
var ErrBadEvent = errors.New("bad event")

// ErrPending marks evidence that exists but is not ready yet, such as a
// CodeBuild report still being generated. A retry may find it ready.
var ErrPending = errors.New("evidence not ready yet")

// Location is an S3 object: a build's output artifact.
type Location struct {
	// Bucket is the S3 bucket.
	Bucket string
	// Key is the object key.
	Key string
	// VersionID selects an object version; empty means the latest.
	VersionID string
}

// String renders the location as s3://bucket/key, with ?versionId= when set.
func (l Location) String() string {
	s := "s3://" + l.Bucket + "/" + l.Key
	if l.VersionID != "" {
		s += "?versionId=" + l.VersionID
	}
	return s
}

// ParseS3ARN parses an S3 object ARN, arn:PARTITION:s3:::bucket/key, the form
// CodeBuild gives its artifact location in.
func ParseS3ARN(arn string) (Location, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "s3" || parts[3] != "" || parts[4] != "" {
		return Location{}, fmt.Errorf("%q is not an S3 object ARN", arn)
	}
	bucket, key, ok := strings.Cut(parts[5], "/")
	if !ok || bucket == "" || key == "" {
		return Location{}, fmt.Errorf("%q is not an S3 object ARN: want arn:aws:s3:::bucket/key", arn)
	}
	return Location{Bucket: bucket, Key: key}, nil
}
