package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

func TestQuarantineCommand(t *testing.T) {
	const digest = "sha256:e648cabf48d6a5984c1d5b81ccbeee918af76b27563b8fc615f1749ebd4b33c6"
	tests := []struct {
		name    string
		args    []string
		status  int
		wantErr string
	}{
		{"quarantined", []string{digest, "--reason", "CVE-2026-1234 found after release"}, 0, ""},
		{"no reason", []string{digest}, 2, "a quarantine needs --reason"},
		{"not a digest", []string{"checkout:latest", "--reason", "x"}, 2, `"checkout:latest" is not an artifact digest`},
		{"a digest of another artifact", []string{"sha256:" + strings.Repeat("1", 64), "--reason", "x"}, 2, "the hub's ledger has no artifact sha256:1111"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hub := filepath.Join(t.TempDir(), "highway-local.json")
			l, err := ledger.OpenFile(hub)
			if err != nil {
				t.Fatal(err)
			}
			err = l.Put(context.Background(), &ledger.Artifact{Header: ledger.Header{ID: digest, App: "checkout", Commit: "9f4e", Digest: digest, At: time.Now()}, Type: ledger.ArtifactImage})
			if err != nil {
				t.Fatal(err)
			}
			r := highway(t, hub, append([]string{"quarantine"}, tt.args...)...)
			if r.status != tt.status || !strings.Contains(r.errOut, tt.wantErr) {
				t.Fatalf("highway quarantine %v: exit status %d, stderr %q; want %d and %q", tt.args, r.status, r.errOut, tt.status, tt.wantErr)
			}
			if l, err = ledger.OpenFile(hub); err != nil {
				t.Fatal(err)
			}
			recs, _ := l.ByDigest(context.Background(), digest)
			a := recs[0].(*ledger.Artifact)
			if quarantined := tt.status == 0; a.Quarantined != quarantined || (quarantined && !strings.Contains(a.Reason, "CVE-2026-1234")) {
				t.Errorf("artifact after the command = %+v, want quarantined %v with the reason", a, quarantined)
			}
		})
	}
}
