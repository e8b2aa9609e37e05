package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/highwayhq/highway/shared/evidence"
	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/gating"
	"github.com/highwayhq/highway/shared/imagescan"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/report"
)

var gateEvalCommand = command{
	name:     "gate eval",
	synopsis: "gate eval --app NAME [--policy FILE] [--junit F]... [--sarif F]... [--coverage F] [--build-event F] [--image-scan F] [--json]",
	about:    "judge report files with an app's gate, as the deployed gate would; exit 0 pass, 1 fail, 2 bad input or policy",
	details: `Without --build-event the gate judges what the files show, as for a pipeline
action: no compile check, and the image scan only when --image-scan gives one.
With it, the compile check and the build's identity come from the event, and
an app whose security check reads image scans needs --image-scan: the
DescribeImageScanFindings answer (aws ecr describe-image-scan-findings) or
the "ECR Image Scan" event, of the build's image.
`,
	define: func(fs *flag.FlagSet) action {
		var f gateFlags
		fs.StringVar(&f.policy, "policy", defaultPolicy, "the policy `FILE`")
		fs.StringVar(&f.app, "app", "", "the app whose gate judges (required)")
		fs.Func("junit", "JUnit XML report (repeatable)", func(s string) error { f.junit = append(f.junit, s); return nil })
		fs.Func("sarif", "SARIF 2.1.0 file (repeatable)", func(s string) error { f.sarif = append(f.sarif, s); return nil })
		fs.StringVar(&f.coverage, "coverage", "", "Cobertura XML or Go cover profile")
		fs.StringVar(&f.buildEvent, "build-event", "", "CodeBuild Build State Change event (JSON): adds the compile check and the build's identity")
		fs.StringVar(&f.imageScan, "image-scan", "", "the image's ECR scan: DescribeImageScanFindings JSON or the ECR Image Scan event")
		fs.BoolVar(&f.asJSON, "json", false, "print the decision as JSON")
		return func(ctx context.Context, c *cli, _ []string) error { return gateEval(ctx, c.out, f, c.now()) }
	},
}

// gateFlags are the flags of gate eval.
type gateFlags struct {
	policy, app, coverage, buildEvent, imageScan string
	junit, sarif                                 []string
	asJSON                                       bool
}

// gateEval judges report files with an app's gate, the way the deployed gate
// would, and prints the decision. It returns exitCode(1) on a failing verdict;
// errors wrapping errBadInput exit 2.
func gateEval(ctx context.Context, out io.Writer, f gateFlags, now time.Time) error {
	if f.app == "" {
		return badInput("--app is required (highway gate eval --help lists the flags)")
	}
	p, err := loadPolicy(f.policy)
	if err != nil {
		return err
	}
	a, ok := p.App(f.app)
	if !ok || a.Gate == nil {
		return badInput("app %q has no gate in %s", f.app, f.policy)
	}

	ev := gate.Evidence{Build: gate.Build{ID: "local", App: a.Name, Status: "SUCCEEDED", At: now}}
	g := gating.ArtifactOnly(a.Gate)
	var image string // the build's image digest, when its event names one
	if f.buildEvent != "" {
		be, err := readBuildEvent(f.buildEvent)
		if err != nil {
			return err
		}
		ev.Build = be.Build
		ev.Build.App = a.Name
		g, image = a.Gate, be.ImageDigest
	} else if f.imageScan != "" {
		g.Checks.Security = a.Gate.Checks.Security
	}
	if s := g.Checks.Security; s != nil && s.Image {
		ev.ImageScan = gate.Input[gate.ImageScan]{Missing: "no image scan given: pass --image-scan or set security.image: false"}
		if f.imageScan != "" {
			if ev.ImageScan, err = readImageScan(ctx, f.imageScan, image); err != nil {
				return err
			}
		}
	}
	if ev.Tests, err = readAll(f.junit, "--junit", "test report", report.ParseJUnit, report.Merge); err != nil {
		return err
	}
	if ev.SARIF, err = readAll(f.sarif, "--sarif", "SARIF report", report.ParseSARIF, func(runs ...[]report.Run) []report.Run {
		var all []report.Run
		for _, r := range runs {
			all = append(all, r...)
		}
		return all
	}); err != nil {
		return err
	}
	var cov []string
	if f.coverage != "" {
		cov = []string{f.coverage}
	}
	if ev.Coverage, err = readAll(cov, "--coverage", "coverage report", report.ParseCoverage, func(c ...report.Coverage) report.Coverage { return c[0] }); err != nil {
		return err
	}

	d := gate.Evaluate(g, ev, now)
	if f.asJSON {
		if err := writeJSON(out, d); err != nil {
			return err
		}
	} else if _, err := io.WriteString(out, gating.Explain(d)); err != nil {
		return err
	}
	if d.Verdict != ledger.VerdictPass {
		return exitCode(1)
	}
	return nil
}

// readAll parses every file with parse and merges them. A file that cannot be
// opened is bad input; a file that does not parse is evidence the gate judges
// unreadable, so the decision says why.
func readAll[T any](files []string, flagName, what string, parse func(io.Reader) (T, error), merge func(...T) T) (gate.Input[T], error) {
	in := gate.Input[T]{From: strings.Join(files, ", ")}
	if len(files) == 0 {
		return gate.Input[T]{Missing: "no " + what + " given: pass " + flagName}, nil
	}
	var values []T
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return in, badInput("%s: %v", flagName, err)
		}
		v, err := parse(f)
		f.Close()
		if err != nil {
			in.Found, in.Err = true, fmt.Errorf("%s: %w", name, err)
			return in, nil
		}
		values = append(values, v)
	}
	in.Found, in.Value = true, merge(values...)
	return in, nil
}

func readBuildEvent(name string) (evidence.BuildEvent, error) {
	raw, err := os.ReadFile(name)
	if err != nil {
		return evidence.BuildEvent{}, badInput("--build-event: %v", err)
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return evidence.BuildEvent{}, badInput("--build-event %s: %v", name, err)
	}
	be, err := evidence.DecodeBuildEvent(ev)
	if err != nil {
		return evidence.BuildEvent{}, badInput("--build-event %s: %v", name, err)
	}
	return be, nil
}

// imageScanFile is what --image-scan reads: the answer of
// DescribeImageScanFindings (as the API and aws ecr
// describe-image-scan-findings print it), or the "ECR Image Scan" event,
// whose detail-type tells it apart.
type imageScanFile struct {
	DetailType     string `json:"detail-type"`
	RepositoryName string `json:"repositoryName"`
	ImageID        struct {
		ImageDigest string `json:"imageDigest"`
	} `json:"imageId"`
	ImageScanStatus *struct {
		Status      string `json:"status"`
		Description string `json:"description"`
	} `json:"imageScanStatus"`
	ImageScanFindings *struct {
		FindingSeverityCounts map[string]int32 `json:"findingSeverityCounts"`
	} `json:"imageScanFindings"`
}

// readImageScan reads the image scan in file, judged as the gate judges the
// scans it reads from ECR. A scan of another image than the build's (image,
// when the build event names one) is bad input.
func readImageScan(ctx context.Context, file, image string) (gate.Input[gate.ImageScan], error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return gate.Input[gate.ImageScan]{}, badInput("--image-scan: %v", err)
	}
	var f imageScanFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return gate.Input[gate.ImageScan]{}, badInput("--image-scan %s: %v", file, err)
	}
	var scan gate.Input[gate.ImageScan]
	var digest string
	switch {
	case f.DetailType != "":
		var ev events.CloudWatchEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return scan, badInput("--image-scan %s: %v", file, err)
		}
		se, err := imagescan.DecodeImageScanEvent(ev)
		if err != nil {
			return scan, badInput("--image-scan %s: %v", file, err)
		}
		scan, digest = se.Scan, se.Digest
	case f.ImageScanStatus != nil || f.ImageScanFindings != nil:
		digest = f.ImageID.ImageDigest
		answer := &ecr.DescribeImageScanFindingsOutput{RepositoryName: aws.String(f.RepositoryName)}
		if s := f.ImageScanStatus; s != nil {
			answer.ImageScanStatus = &ecrtypes.ImageScanStatus{Status: ecrtypes.ScanStatus(s.Status), Description: aws.String(s.Description)}
		}
		if fs := f.ImageScanFindings; fs != nil {
			answer.ImageScanFindings = &ecrtypes.ImageScanFindings{FindingSeverityCounts: fs.FindingSeverityCounts}
		}
		scan = imagescan.Scanner{API: scanAnswer{answer}}.ImageScan(ctx, f.RepositoryName, cmp.Or(digest, "unnamed"))
	default:
		return scan, badInput("--image-scan %s: neither a DescribeImageScanFindings answer nor an %q event", file, imagescan.DetailTypeImageScan)
	}
	if image != "" && digest != "" && digest != image {
		return scan, badInput("--image-scan %s is a scan of %s, but the build's image is %s", file, digest, image)
	}
	scan.From = file
	return scan, nil
}

// scanAnswer is an ECR that answers DescribeImageScanFindings with one answer,
// read from a file.
type scanAnswer struct {
	out *ecr.DescribeImageScanFindingsOutput
}

func (a scanAnswer) DescribeImageScanFindings(context.Context, *ecr.DescribeImageScanFindingsInput, ...func(*ecr.Options)) (*ecr.DescribeImageScanFindingsOutput, error) {
	return a.out, nil
}

var _ imagescan.API = scanAnswer{}
