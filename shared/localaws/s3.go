package localaws

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3 is an in-memory S3 (gofakes3) on 127.0.0.1 for one test. gofakes3 checks
// neither object tags nor checksums: tests must not rely on those.
type S3 struct {
	// URL is its endpoint; being an IP address, SDK clients address it path-style.
	URL string
	// Client is a client for it.
	Client *s3.Client
	// Options point any other S3 client at it.
	Options func(*s3.Options)

	gets atomic.Int64
}

// Gets counts the object reads (GET of a key) it served.
func (s *S3) Gets() int64 { return s.gets.Load() }

// StartS3 starts S3 for the test, with buckets created.
func StartS3(tb testing.TB, buckets ...string) *S3 {
	tb.Helper()
	return startS3(tb, nil, buckets...)
}

// startS3 is StartS3, calling observe (when not nil) with every request.
func startS3(tb testing.TB, observe func(*http.Request), buckets ...string) *S3 {
	tb.Helper()
	s := &S3{}
	fake := gofakes3.New(s3mem.New()).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/"); r.Method == http.MethodGet && key != "" {
			s.gets.Add(1)
		}
		if observe != nil {
			observe(r)
		}
		fake.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	s.Options = func(o *s3.Options) {
		o.UsePathStyle = true
		o.BaseEndpoint = aws.String(srv.URL)
	}
	s.Client = s3.NewFromConfig(Config(), s.Options)
	for _, b := range buckets {
		if _, err := s.Client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			tb.Fatalf("create bucket %s: %v", b, err)
		}
	}
	return s
}
