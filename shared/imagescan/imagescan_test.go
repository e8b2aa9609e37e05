package imagescan

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/localaws"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/highwayhq/highway/shared/awsfake"
	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/report"
)

const (
	imageRepo   = "checkout-service"
	imageDigest = "sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"
	scanSample  = "../../events/ecr-image-scan.json"
)

func scanResponse(status, description string, counts map[string]int) map[string]any {
	return map[string]any{
		"repositoryName":  imageRepo,
		"imageId":         map[string]any{"imageDigest": imageDigest},
		"imageScanStatus": map[string]any{"status": status, "description": description},
		"imageScanFindings": map[string]any{
			"findingSeverityCounts": counts,
			"findings":              []any{},
		},
		"nextToken": "more-findings",
	}
}

func counts(critical, high, medium, low int) map[report.Severity]int {
	return map[report.Severity]int{report.Critical: critical, report.High: high, report.Medium: medium, report.Low: low}
}

func TestImageScan(t *testing.T) {
	tests := []struct {
		name      string
		give      awsfake.Response
		wantFound bool
		want      map[report.Severity]int
		wantFrom  string // substring
		wantErr   string
	}{
		{
			name:      "complete",
			give:      awsfake.JSONOf(t, scanResponse("COMPLETE", "The scan was completed successfully.", map[string]int{"CRITICAL": 1, "HIGH": 2, "MEDIUM": 5, "LOW": 7, "INFORMATIONAL": 3, "UNDEFINED": 4})),
			wantFound: true,
			want:      counts(1, 2, 5, 7),
		},
		{
			name:      "complete without findings",
			give:      awsfake.JSONOf(t, scanResponse("COMPLETE", "", nil)),
			wantFound: true,
			want:      counts(0, 0, 0, 0),
		},
		{
			name:      "enhanced scanning, continuously active",
			give:      awsfake.JSONOf(t, scanResponse("ACTIVE", "", map[string]int{"HIGH": 3})),
			wantFound: true,
			want:      counts(0, 3, 0, 0),
		},
		{
			name:     "still scanning",
			give:     awsfake.JSONOf(t, scanResponse("IN_PROGRESS", "", nil)),
			wantFrom: "(scan IN_PROGRESS)",
		},
		{
			name:     "never scanned",
			give:     awsfake.APIError(400, "ScanNotFoundException", "Image scan does not exist for the image"),
			wantFrom: "(not scanned)",
		},
		{
			name:      "scan failed",
			give:      awsfake.JSONOf(t, scanResponse("FAILED", "UnsupportedImageError: The operating system is not supported", nil)),
			wantFound: true,
			wantErr:   "scan FAILED: UnsupportedImageError",
		},
		{
			name:      "image gone",
			give:      awsfake.APIError(400, "ImageNotFoundException", "The image requested does not exist"),
			wantFound: true,
			wantErr:   "ImageNotFoundException",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t)
			srv.On("DescribeImageScanFindings", tt.give)
			scans := Scanner{API: ecr.NewFromConfig(srv.Config()), RegistryID: "222222222222"}

			got := scans.ImageScan(context.Background(), "222222222222.dkr.ecr.eu-west-1.amazonaws.com/"+imageRepo, imageDigest)

			if got.Found != tt.wantFound {
				t.Errorf("Found = %v, want %v (Err %v)", got.Found, tt.wantFound, got.Err)
			}
			if tt.wantErr == "" && got.Err != nil || tt.wantErr != "" && (got.Err == nil || !strings.Contains(got.Err.Error(), tt.wantErr)) {
				t.Errorf("Err = %v, want %q", got.Err, tt.wantErr)
			}
			if tt.want != nil && !reflect.DeepEqual(got.Value.Counts, tt.want) {
				t.Errorf("Counts = %v, want %v", got.Value.Counts, tt.want)
			}
			if !strings.Contains(got.From, imageRepo+"@"+imageDigest) || !strings.Contains(got.From, tt.wantFrom) {
				t.Errorf("From = %q, want the image and %q", got.From, tt.wantFrom)
			}

			var in struct {
				RepositoryName string
				RegistryID     string `json:"registryId"`
				MaxResults     int
				ImageID        struct{ ImageDigest string } `json:"imageId"`
			}
			calls := srv.Invocations("DescribeImageScanFindings")
			if len(calls) != 1 || calls[0].DecodeJSON(&in) != nil {
				t.Fatalf("DescribeImageScanFindings called %d times, want once", len(calls))
			}
			if in.RepositoryName != imageRepo || in.ImageID.ImageDigest != imageDigest || in.RegistryID != "222222222222" || in.MaxResults != 1 {
				t.Errorf("DescribeImageScanFindings input = %+v, want the repository name, digest, registry and one finding a page", in)
			}
		})
	}
}

func TestImageScanRetries(t *testing.T) {
	tests := []struct {
		name    string
		fault   awsfake.Fault
		wantErr bool
	}{
		{"throttled twice", awsfake.Fault{Operation: "DescribeImageScanFindings", Kind: awsfake.Throttle, First: 2}, false},
		{"5xx storm", awsfake.Fault{Operation: "DescribeImageScanFindings", Kind: awsfake.ServiceUnavailable}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t)
			srv.On("DescribeImageScanFindings", awsfake.JSONOf(t, scanResponse("COMPLETE", "", map[string]int{"HIGH": 1})))
			srv.Inject(tt.fault)

			got := Scanner{API: ecr.NewFromConfig(srv.Config())}.ImageScan(context.Background(), imageRepo, imageDigest)

			if (got.Err != nil) != tt.wantErr || !got.Found {
				t.Fatalf("ImageScan() = Found %v, Err %v; want found, error %v", got.Found, got.Err, tt.wantErr)
			}
			if !tt.wantErr && got.Value.Counts[report.High] != 1 {
				t.Errorf("Counts = %v, want one high", got.Value.Counts)
			}
			// Scanner called once; the faults it met were the SDK's to retry.
			calls := srv.Calls("DescribeImageScanFindings")
			if n := len(srv.Invocations("DescribeImageScanFindings")); n != 1 || len(calls) < 3 || calls[0].Fault != tt.fault.Kind {
				t.Errorf("DescribeImageScanFindings called %d times in %d attempts, want once, retried by the SDK past the first %v", n, len(calls), tt.fault.Kind)
			}
		})
	}
}

func TestImageScanWithoutImage(t *testing.T) {
	srv := awsfake.New(t) // any call would be an unstubbed-operation test error
	got := Scanner{API: ecr.NewFromConfig(srv.Config())}.ImageScan(context.Background(), "", "")
	if got.Found || got.Err != nil {
		t.Errorf("ImageScan(no image) = Found %v, Err %v; want missing evidence", got.Found, got.Err)
	}
}

func TestDecodeImageScanEventSample(t *testing.T) {
	ev := localaws.Event(t, "ecr-image-scan.json", nil)

	got, err := DecodeImageScanEvent(ev)

	if err != nil {
		t.Fatalf("DecodeImageScanEvent(%s) error = %v", scanSample, err)
	}
	want := ImageScanEvent{
		Account:    "222222222222",
		Region:     "eu-west-1",
		Repository: imageRepo,
		Digest:     imageDigest,
		Tags:       []string{"9f4e2c1", "main"},
		Status:     "COMPLETE",
		Scan: gate.Input[gate.ImageScan]{
			From:  "ECR scan of " + imageRepo + "@" + imageDigest,
			Value: gate.ImageScan{Counts: counts(0, 0, 4, 9)},
			Found: true,
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeImageScanEvent(%s) =\n%+v\nwant\n%+v", scanSample, got, want)
	}
}

func TestDecodeImageScanEvent(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(d map[string]any)
		kind      string // detail type; empty keeps the sample's
		wantErr   string
		wantFound bool
		wantScan  string // substring of Scan.Err
	}{
		{name: "failed scan", edit: func(d map[string]any) { d["scan-status"] = "FAILED"; delete(d, "finding-severity-counts") },
			wantFound: true, wantScan: "scan FAILED"},
		{name: "negative count", edit: func(d map[string]any) { d["finding-severity-counts"] = map[string]any{"HIGH": -1} },
			wantFound: true, wantScan: "negative HIGH count"},
		{name: "no digest", edit: func(d map[string]any) { delete(d, "image-digest") }, wantErr: "no image-digest"},
		{name: "no status or repository", edit: func(d map[string]any) { delete(d, "scan-status"); d["repository-name"] = "" },
			wantErr: "no repository-name, scan-status"},
		{name: "counts of the wrong type", edit: func(d map[string]any) { d["finding-severity-counts"] = map[string]any{"HIGH": "many"} },
			wantErr: "detail"},
		{name: "another event", kind: "ECR Image Action", wantErr: "is not an"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := localaws.Event(t, "ecr-image-scan.json", tt.edit)
			if tt.kind != "" {
				ev.DetailType = tt.kind
			}

			got, err := DecodeImageScanEvent(ev)

			if tt.wantErr != "" {
				if !errors.Is(err, evidence.ErrBadEvent) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("DecodeImageScanEvent() error = %v, want evidence.ErrBadEvent with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeImageScanEvent() error = %v", err)
			}
			if got.Scan.Found != tt.wantFound || got.Scan.Err == nil || !strings.Contains(got.Scan.Err.Error(), tt.wantScan) {
				t.Errorf("Scan = Found %v, Err %v; want Found %v, Err with %q", got.Scan.Found, got.Scan.Err, tt.wantFound, tt.wantScan)
			}
		})
	}
}

func FuzzDecodeImageScanEvent(f *testing.F) {
	raw, err := os.ReadFile(scanSample)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte(`{"source":"aws.ecr","detail-type":"ECR Image Scan","detail":{"scan-status":"COMPLETE","repository-name":"r","image-digest":"d","finding-severity-counts":{"CRITICAL":9223372036854775807,"HIGH":1}}}`))
	f.Add([]byte(`{"source":"aws.ecr","detail-type":"ECR Image Scan","detail":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev events.CloudWatchEvent
		if json.Unmarshal(data, &ev) != nil {
			return
		}
		got, err := DecodeImageScanEvent(ev)
		if err != nil {
			if !errors.Is(err, evidence.ErrBadEvent) {
				t.Fatalf("error %v does not wrap evidence.ErrBadEvent", err)
			}
			return
		}
		if got.Repository == "" || got.Digest == "" || got.Status == "" {
			t.Fatalf("decoded %+v without repository, digest or status", got)
		}
		if got.Scan.Found && got.Scan.Err == nil {
			if len(got.Scan.Value.Counts) != 4 {
				t.Fatalf("counts %v, want the four bands", got.Scan.Value.Counts)
			}
			for sev, n := range got.Scan.Value.Counts {
				if n < 0 {
					t.Fatalf("negative %s count %d read as evidence", sev, n)
				}
			}
		}
	})
}
