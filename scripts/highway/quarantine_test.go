package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/bus"
	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/promotion"
)

func TestQuarantineCommand(t *testing.T) {
	const digest = "sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"quarantined", []string{digest, "--reason", "CVE-2026-1234 found after release"}, 0},
		{"no reason", []string{digest}, 2},
		{"not a digest", []string{"checkout:latest", "--reason", "x"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := ledger.NewMemory()
			err := l.Put(context.Background(), &ledger.Artifact{Header: ledger.Header{ID: digest, App: "checkout", Commit: "9f4e", Digest: digest, At: time.Now()}, Type: ledger.ArtifactImage})
			if err != nil {
				t.Fatal(err)
			}
			p := promotion.New(nil, l, bus.DryRun{W: &bytes.Buffer{}}, nil, nil, "")
			var out bytes.Buffer
			if got := exitStatus(quarantineCmd(context.Background(), &out, tt.args, p.Quarantine)); got != tt.want {
				t.Fatalf("highway quarantine %v: exit status %d, want %d", tt.args, got, tt.want)
			}
			recs, _ := l.ByDigest(context.Background(), digest)
			a := recs[0].(*ledger.Artifact)
			if quarantined := tt.want == 0; a.Quarantined != quarantined || (quarantined && !strings.Contains(a.Reason, "CVE-2026-1234")) {
				t.Errorf("artifact after the command = %+v, want quarantined %v with the reason", a, quarantined)
			}
		})
	}
}
