package evidence

import (
	"bytes"
	"context"
	"fmt"
	"github.com/highwayhq/highway/shared/localaws"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
)

const artifactBucket = "codepipeline-eu-west-1-222222222222"

// fakeS3 starts S3 in-process with the artifact bucket, and returns the config
// and options a client needs to reach it.
func fakeS3(t *testing.T) (aws.Config, func(*s3.Options)) {
	t.Helper()
	return localaws.Config(), localaws.StartS3(t, artifactBucket).Options
}

// put stores body at key and returns the version id S3 gave it.
func put(t *testing.T, client *s3.Client, key string, body []byte) string {
	t.Helper()
	out, err := client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(artifactBucket),
		Key:    aws.String(key),
		Body:   bytes.NewReader(body),
	})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return aws.ToString(out.VersionId)
}

func zipBytes(t *testing.T, files ...zipFile) []byte {
	t.Helper()
	r := zipOf(t, files...)
	b := make([]byte, r.Size())
	if _, err := r.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFromS3(t *testing.T) {
	cfg, opts := fakeS3(t)
	client := s3.NewFromConfig(cfg, opts)
	key := "checkout-pipeline/BuildArtif/Xq7Rb2K"
	put(t, client, key, zipBytes(t,
		zipFile{"reports/unit/junit.xml", junitUnit},
		zipFile{"cover.out", goCover},
	))
	loc := Location{Bucket: artifactBucket, Key: key}

	tests, sarif, cov := FromS3(context.Background(), client, loc, policy.Reports{
		JUnit:    []string{"reports/*/junit.xml"},
		SARIF:    []string{"*.sarif"},
		Coverage: []string{"cover.out"},
	}, LimitsFor(DefaultMemoryMB))

	checkInput(t, "tests", tests.Found, tests.Err, "ok")
	checkInput(t, "sarif", sarif.Found, sarif.Err, "")
	checkInput(t, "coverage", cov.Found, cov.Err, "ok")
	if want := "s3://" + artifactBucket + "/" + key + ": reports/unit/junit.xml"; tests.From != want {
		t.Errorf("tests.From = %q, want %q", tests.From, want)
	}
	if got, want := len(tests.Value.Suites), len(mustParse(t, report.ParseJUnit, junitUnit).Suites); got != want || got == 0 {
		t.Errorf("tests has %d suites, want %d", got, want)
	}
	if cov.Value.Total == 0 {
		t.Errorf("coverage = %+v, want the profile's lines", cov.Value)
	}
}

func TestFromS3MissingArtifact(t *testing.T) {
	cfg, opts := fakeS3(t)
	client := s3.NewFromConfig(cfg, opts)
	loc := Location{Bucket: artifactBucket, Key: "checkout-pipeline/BuildArtif/gone"}

	tests, sarif, cov := FromS3(context.Background(), client, loc, policy.Reports{JUnit: []string{"*.xml"}, Coverage: []string{"cover.out"}}, LimitsFor(DefaultMemoryMB))

	checkInput(t, "tests", tests.Found, tests.Err, "NoSuchKey")
	checkInput(t, "coverage", cov.Found, cov.Err, loc.String())
	checkInput(t, "sarif", sarif.Found, sarif.Err, "") // the policy looks for none
}

func TestS3ArtifactVersion(t *testing.T) {
	cfg, opts := fakeS3(t)
	client := s3.NewFromConfig(cfg, opts)
	if _, err := client.PutBucketVersioning(context.Background(), &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(artifactBucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	}); err != nil {
		t.Fatal(err)
	}
	first := put(t, client, "artifact.zip", []byte("first build"))
	put(t, client, "artifact.zip", []byte("second build"))
	if first == "" {
		t.Fatal("gofakes3 gave no version id")
	}

	tests := []struct {
		name string
		give Location
		want string
	}{
		{"latest", Location{Bucket: artifactBucket, Key: "artifact.zip"}, "second build"},
		{"pinned version", Location{Bucket: artifactBucket, Key: "artifact.zip", VersionID: first}, "first build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := S3Artifact(context.Background(), client, tt.give, 1<<20)
			if err != nil {
				t.Fatalf("S3Artifact(%v) error = %v", tt.give, err)
			}
			defer r.Close()
			got, _ := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
			if string(got) != tt.want {
				t.Errorf("S3Artifact(%v) = %q, want %q", tt.give, got, tt.want)
			}
		})
	}
}

// lyingS3 answers GetObject with a body and whatever length it is told to
// declare.
type lyingS3 struct {
	body     []byte
	declared *int64
}

func (f lyingS3) GetObject(_ context.Context, _ *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(f.body)), ContentLength: f.declared}, nil
}

func TestS3ArtifactSizeLimit(t *testing.T) {
	cfg, opts := fakeS3(t)
	client := s3.NewFromConfig(cfg, opts)
	put(t, client, "big.zip", bytes.Repeat([]byte("x"), 2048))
	put(t, client, "small.zip", bytes.Repeat([]byte("x"), 1024))

	tests := []struct {
		name    string
		api     ObjectGetter
		key     string
		wantErr string
	}{
		{"declared over the limit", client, "big.zip", "2048 bytes, more than the 1024"},
		{"exactly the limit", client, "small.zip", ""},
		{"longer than declared", lyingS3{body: make([]byte, 2048), declared: aws.Int64(10)}, "lie.zip", "more than the 1024 bytes"},
		{"no length declared", lyingS3{body: make([]byte, 2048)}, "lie.zip", "more than the 1024 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := Location{Bucket: artifactBucket, Key: tt.key}
			r, err := S3Artifact(context.Background(), tt.api, loc, 1024)
			if tt.wantErr == "" {
				if err != nil || r.Size() != 1024 {
					t.Fatalf("S3Artifact(%v) = %v, %v; want 1024 bytes", loc, r, err)
				}
				r.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("S3Artifact(%v) error = %v, want one containing %q", loc, err, tt.wantErr)
			}
		})
	}
}

func TestFromS3RefusesAnArchiveOverItsBound(t *testing.T) {
	cfg, opts := fakeS3(t)
	client := s3.NewFromConfig(cfg, opts)
	body := zipBytes(t, zipFile{"reports/junit.xml", junitUnit}, zipFile{"padding.bin", strings.Repeat("x", 4096)})
	put(t, client, "big.zip", body)
	l := LimitsFor(DefaultMemoryMB)
	l.ArchiveBytes = int64(len(body)) - 1 // one byte short

	tests, _, _ := FromS3(context.Background(), client, Location{Bucket: artifactBucket, Key: "big.zip"}, policy.Reports{JUnit: []string{"reports/*.xml"}}, l)

	want := fmt.Sprintf("%d bytes, more than the %d Highway reads", len(body), len(body)-1)
	checkInput(t, "tests", tests.Found, tests.Err, want)
}

// The artifact is spooled to a temporary file, and the file is removed once
// read, whether the artifact was read, refused or cut short.
func TestFromS3LeavesNoTemporaryFile(t *testing.T) {
	cfg, opts := fakeS3(t)
	client := s3.NewFromConfig(cfg, opts)
	body := zipBytes(t, zipFile{"reports/junit.xml", junitUnit})
	put(t, client, "artifact.zip", body)
	tests := []struct {
		name  string
		api   ObjectGetter
		limit int64
		want  string
	}{
		{"read", client, 1 << 20, "ok"},
		{"longer than declared", lyingS3{body: body, declared: aws.Int64(10)}, int64(len(body)) - 1, "more than the"},
		{"not a zip", lyingS3{body: []byte(junitUnit)}, 1 << 20, "read artifact zip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			l := LimitsFor(DefaultMemoryMB)
			l.ArchiveBytes = tt.limit

			got, _, _ := FromS3(context.Background(), tt.api, Location{Bucket: artifactBucket, Key: "artifact.zip"}, policy.Reports{JUnit: []string{"reports/*.xml"}}, l)

			checkInput(t, "tests", got.Found, got.Err, tt.want)
			if left, err := os.ReadDir(tmp); err != nil || len(left) != 0 {
				t.Errorf("temporary files left = %v, %v; want none", left, err)
			}
		})
	}
}
