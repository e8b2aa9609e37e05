// Package imagescan reads ECR image scans, from the API or the "ECR Image Scan"
// event, as evidence for the build gate's security check.
package imagescan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/highwayhq/highway/shared/evidence"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/report"
)

// The EventBridge source and detail type of an ECR image scan result.
const (
	SourceECR           = "aws.ecr"
	DetailTypeImageScan = "ECR Image Scan"
)

// API is the part of the ECR API that reads an image's scan result.
type API interface {
	DescribeImageScanFindings(ctx context.Context, params *ecr.DescribeImageScanFindingsInput, optFns ...func(*ecr.Options)) (*ecr.DescribeImageScanFindingsOutput, error)
}

var _ API = (*ecr.Client)(nil)

// Scanner reads ECR image scan results.
type Scanner struct {
	// API is the ECR client.
	API API
	// RegistryID is the account of the registry; empty means the caller's.
	RegistryID string
}

// ImageScan returns the finding counts of the scan of an image, by repository
// (name or URI) and digest. Only the counts are read, from the first page. A
// scan that does not exist or is still running is missing evidence (Found is
// false, and From says why); a failed scan, or one ECR cannot give findings
// for, is an error that says so.
func (s Scanner) ImageScan(ctx context.Context, repository, digest string) gate.Input[gate.ImageScan] {
	repo := evidence.RepositoryName(repository)
	from := "ECR scan of " + repo + "@" + digest
	if repo == "" || digest == "" {
		return gate.Input[gate.ImageScan]{From: "ECR scan (the build names no image)"}
	}
	in := &ecr.DescribeImageScanFindingsInput{
		RepositoryName: aws.String(repo),
		ImageId:        &ecrtypes.ImageIdentifier{ImageDigest: aws.String(digest)},
		MaxResults:     aws.Int32(1), // the counts come with any page
	}
	if s.RegistryID != "" {
		in.RegistryId = aws.String(s.RegistryID)
	}
	out, err := s.API.DescribeImageScanFindings(ctx, in)
	var notFound *ecrtypes.ScanNotFoundException
	switch {
	case errors.As(err, &notFound):
		return gate.Input[gate.ImageScan]{From: from + " (not scanned)"}
	case err != nil:
		return gate.Input[gate.ImageScan]{From: from, Found: true, Err: fmt.Errorf("describe image scan findings of %s@%s: %w", repo, digest, err)}
	}
	var status, description string
	if out.ImageScanStatus != nil {
		status = string(out.ImageScanStatus.Status)
		description = aws.ToString(out.ImageScanStatus.Description)
	}
	counts := map[string]int{}
	if out.ImageScanFindings != nil {
		for sev, n := range out.ImageScanFindings.FindingSeverityCounts {
			counts[sev] = int(n)
		}
	}
	return scanInput(from, status, description, counts)
}

// scanInput turns a scan's status and counts into evidence.
func scanInput(from, status, description string, counts map[string]int) gate.Input[gate.ImageScan] {
	switch status {
	case string(ecrtypes.ScanStatusComplete), string(ecrtypes.ScanStatusActive):
	case string(ecrtypes.ScanStatusInProgress), string(ecrtypes.ScanStatusPending):
		return gate.Input[gate.ImageScan]{From: from + " (scan " + status + ")"}
	default:
		reason := "scan " + status
		if status == "" {
			reason = "scan has no status"
		}
		if description != "" {
			reason += ": " + description
		}
		return gate.Input[gate.ImageScan]{From: from, Found: true, Err: fmt.Errorf("%s: %s", from, reason)}
	}
	scan := gate.ImageScan{Counts: map[report.Severity]int{
		report.Critical: 0, report.High: 0, report.Medium: 0, report.Low: 0,
	}}
	for sev, n := range counts {
		if n < 0 {
			return gate.Input[gate.ImageScan]{From: from, Found: true, Err: fmt.Errorf("%s: negative %s count %d", from, sev, n)}
		}
		if band, ok := severityBand[sev]; ok {
			scan.Counts[band] += n
		}
	}
	return gate.Input[gate.ImageScan]{From: from, Value: scan, Found: true}
}

// severityBand maps ECR's severities to report bands. INFORMATIONAL and
// UNDEFINED (no severity assigned yet) carry no band and are not counted.
var severityBand = map[string]report.Severity{
	string(ecrtypes.FindingSeverityCritical): report.Critical,
	string(ecrtypes.FindingSeverityHigh):     report.High,
	string(ecrtypes.FindingSeverityMedium):   report.Medium,
	string(ecrtypes.FindingSeverityLow):      report.Low,
}

// ImageScanEvent is a decoded "ECR Image Scan" event: a basic scan finished.
type ImageScanEvent struct {
	// Account and Region are where the repository is.
	Account, Region string
	// Repository is the repository name.
	Repository string
	// Digest is the scanned image's digest.
	Digest string
	// Tags are the image's tags.
	Tags []string
	// Status is the scan status, COMPLETE or FAILED.
	Status string
	// Scan is the scan as evidence, judged as Scanner.ImageScan judges it.
	Scan gate.Input[gate.ImageScan]
}

// imageScanDetail is the detail of an "ECR Image Scan" event.
type imageScanDetail struct {
	ScanStatus            string         `json:"scan-status"`
	RepositoryName        string         `json:"repository-name"`
	ImageDigest           string         `json:"image-digest"`
	ImageTags             []string       `json:"image-tags"`
	FindingSeverityCounts map[string]int `json:"finding-severity-counts"`
}

// DecodeImageScanEvent decodes an "ECR Image Scan" event. An event of
// another kind, or one without repository, digest or status, is an error
// wrapping evidence.ErrBadEvent.
func DecodeImageScanEvent(ev events.CloudWatchEvent) (ImageScanEvent, error) {
	if ev.Source != SourceECR || ev.DetailType != DetailTypeImageScan {
		return ImageScanEvent{}, fmt.Errorf("%w: %q from %q is not an %q event", evidence.ErrBadEvent, ev.DetailType, ev.Source, DetailTypeImageScan)
	}
	var d imageScanDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return ImageScanEvent{}, fmt.Errorf("%w: %s detail: %v", evidence.ErrBadEvent, DetailTypeImageScan, err)
	}
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"repository-name", d.RepositoryName}, {"image-digest", d.ImageDigest}, {"scan-status", d.ScanStatus},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return ImageScanEvent{}, fmt.Errorf("%w: %s detail has no %s", evidence.ErrBadEvent, DetailTypeImageScan, strings.Join(missing, ", "))
	}
	from := "ECR scan of " + d.RepositoryName + "@" + d.ImageDigest
	return ImageScanEvent{
		Account:    ev.AccountID,
		Region:     ev.Region,
		Repository: d.RepositoryName,
		Digest:     d.ImageDigest,
		Tags:       d.ImageTags,
		Status:     d.ScanStatus,
		Scan:       scanInput(from, d.ScanStatus, "", d.FindingSeverityCounts),
	}, nil
}
