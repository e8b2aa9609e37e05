package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// stream is `go test -json` output for: a package whose contract suite passed
// against memory and failed once against dynamodb, one with a skipped test, and
// one that did not build.
const stream = `{"Action":"run","Package":"h/ledger","Test":"TestContract"}
{"Action":"run","Package":"h/ledger","Test":"TestContract/memory/put"}
{"Action":"pass","Package":"h/ledger","Test":"TestContract/memory/put"}
{"Action":"pass","Package":"h/ledger","Test":"TestContract/memory/read"}
{"Action":"pass","Package":"h/ledger","Test":"TestContract/memory"}
{"Action":"output","Package":"h/ledger","Test":"TestContract/dynamodb/put","Output":"    ledger_test.go:9: Put() = stale\n"}
{"Action":"fail","Package":"h/ledger","Test":"TestContract/dynamodb/put"}
{"Action":"pass","Package":"h/ledger","Test":"TestContract/dynamodb/read"}
{"Action":"fail","Package":"h/ledger","Test":"TestContract/dynamodb"}
{"Action":"fail","Package":"h/ledger","Test":"TestContract"}
{"Action":"fail","Package":"h/ledger","Elapsed":1.5}
{"Action":"output","Package":"h/push","Test":"TestCanary","Output":"    main_test.go:3: HIGHWAY_RIE is unset: run make test\n"}
{"Action":"output","Package":"h/push","Test":"TestCanary","Output":"--- SKIP: TestCanary (0.00s)\n"}
{"Action":"skip","Package":"h/push","Test":"TestCanary"}
{"Action":"output","Package":"h/push","Test":"TestOther","Output":"    scale_test.go:9: figure: hub: 206 of 500 resources\n"}
{"Action":"pass","Package":"h/push","Test":"TestOther"}
{"Action":"pass","Package":"h/push","Elapsed":0.2}
{"Action":"build-output","Package":"h/broken","Output":"broken.go:3:1: syntax error\n"}
{"Action":"fail","Package":"h/broken"}
`

func TestReport(t *testing.T) {
	tests := []struct {
		name   string
		give   string
		noskip bool
		wantOK bool
		want   []string
	}{
		{"failures, skips and build errors", stream, false, false, []string{
			"FAIL h/ledger", "4 passed, 3 failed, 0 skipped",
			"h/ledger TestContract/dynamodb", "1 passed, 1 failed",
			"h/ledger TestContract/memory", "2 passed, 0 failed",
			"--- FAIL: h/ledger TestContract/dynamodb/put\n        ledger_test.go:9: Put() = stale",
			"FAIL h/broken", "broken.go:3:1: syntax error",
			"h/push TestCanary: main_test.go:3: HIGHWAY_RIE is unset",
			"\nfigures:\n  h/push: hub: 206 of 500 resources\n",
			"\n5 passed, 3 failed, 1 skipped\n",
		}},
		{"a skip passes by default", onlyPackage(stream, "h/push"), false, true, []string{"PASS h/push", "1 passed, 0 failed, 1 skipped"}},
		{"a skip fails with -noskip", onlyPackage(stream, "h/push"), true, false, []string{"tests were skipped"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReport(regexp.MustCompile(`TestContract/[^/]+$`))
			if err := r.read(strings.NewReader(tt.give)); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if ok := r.print(&out, tt.noskip); ok != tt.wantOK {
				t.Errorf("print() = %v, want %v\n%s", ok, tt.wantOK, out.String())
			}
			if strings.Contains(out.String(), "--- FAIL: h/ledger TestContract\n") {
				t.Errorf("report shows a parent that failed only through its subtest:\n%s", out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("report lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func onlyPackage(s, pkg string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, `"Package":"`+pkg+`"`) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
