package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestNag(t *testing.T) {
	tests := []struct {
		name     string
		give     string
		wantOut  string
		wantErr  string
		wantRows int
	}{
		{"suppressed errors and warnings pass", "testdata/nag-ok", "cdk-nag: 0 unsuppressed errors", "", 1},
		{"an unsuppressed error fails", "testdata/nag-fail", "1 errors", "Serverless-SQSRedrivePolicy on highway-spoke/Queue (Non-Compliant)", 2},
		{"no reports", t.TempDir(), "", "no cdk-nag reports", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := nag(&out, tt.give)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("nag(%s) error = %v, want %q", tt.give, err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("nag(%s) printed %q, want it to contain %q", tt.give, out.String(), tt.wantOut)
			}
			if rows := strings.Count(out.String(), "compliant"); rows != tt.wantRows {
				t.Errorf("nag(%s) printed %d report lines, want %d", tt.give, rows, tt.wantRows)
			}
		})
	}
	var out bytes.Buffer
	if err := nag(&out, "testdata/nag-ok"); err != nil || !strings.Contains(out.String(), "1 compliant    1 suppressed (with reasons)  1 warnings  0 errors") {
		t.Errorf("nag counts = %q, %v", out.String(), err)
	}
}
