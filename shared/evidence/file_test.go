package evidence

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestFileFromZip(t *testing.T) {
	readAll := func(r io.Reader) (string, error) {
		b, err := io.ReadAll(r)
		return string(b), err
	}
	small := LimitsFor(DefaultMemoryMB)
	small.ReportBytes = 64
	tests := []struct {
		name    string
		files   []zipFile
		limits  Limits
		want    string
		wantErr string
	}{
		{"the file, wherever the zip roots it", []zipFile{{"./reports/x.xml", "<x/>"}, {"drift.json", `{"a":1}`}}, LimitsFor(DefaultMemoryMB), `{"a":1}`, ""},
		{"no such file", []zipFile{{"plan.txt", "No changes."}}, LimitsFor(DefaultMemoryMB), "", "no such file in the artifact: drift.json"},
		{"more than the limits let it read", []zipFile{{"drift.json", strings.Repeat("x", 65)}}, small, "", "drift.json: 65 bytes uncompressed, more than the 64 left"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := zipOf(t, tt.files...)
			got, err := FileFromZip(z, z.Size(), "drift.json", readAll, tt.limits)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("FileFromZip() error = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(tt.wantErr, "no such file") && !errors.Is(err, ErrNoFile) {
					t.Errorf("FileFromZip() error = %v, want ErrNoFile", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("FileFromZip() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
