package policy

import (
	"regexp"
	"strings"
	"testing"
)

func TestEveryPatternCompiles(t *testing.T) {
	if len(patterns) < 20 {
		t.Fatalf("%d patterns registered, want every one of the package's", len(patterns))
	}
	for _, p := range patterns {
		if _, err := regexp.Compile(p.expr); err != nil {
			t.Errorf("%s: %v", p.expr, err)
		}
	}
}

func TestLengthBoundedPatternsMatchTheirCountedForms(t *testing.T) {
	// GIVEN each pattern with a length bound, and the counted repetition it
	// stands for
	tests := []struct {
		p       *pattern
		counted string
	}{
		{tagKeyPattern, `^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`},
		{projectPattern, `^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$`},
		{ecsNamePattern, `^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$`},
		{hubNamePattern, `^[A-Za-z][A-Za-z0-9-]{0,31}$`},
		{namePattern, `^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`},
		{githubNamePattern, `^[A-Za-z0-9_.-]{1,100}$`},
		{repositoryPattern, `^[A-Za-z0-9_.-]{1,100}$`},
		{runbookNamePattern, `^[a-z][a-z0-9-]{0,62}$`},
		{stackPrefixPattern, `^[A-Za-z][A-Za-z0-9-]{0,127}$`},
		{pipelinePattern, `^[A-Za-z0-9.@_-]{1,100}$`},
		{commitPattern, `^[0-9a-fA-F]{7,40}$`},
		{bucketPattern, `^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`},
		{lambdaNamePattern, `^[A-Za-z0-9_-]{1,64}$`},
		{aliasPattern, `^[A-Za-z][A-Za-z0-9_-]{0,127}$`},
	}
	inputs := []string{"", "a", "ab", "abc", "a-b_c", "-a", "a-", "a.", "a.b", "A", "9f4e2c1", "9f4e2c", "9F4E2C1B", "g4e2c1b",
		"highway:app", "app name", "é", "aws:tag", "a b\tc", "x/y=z+@", "my.bucket-1", "My_Alias", "1alias", "pipe@line.x"}
	for _, n := range []int{6, 7, 31, 32, 33, 39, 40, 41, 61, 62, 63, 64, 65, 99, 100, 101, 127, 128, 129, 254, 255, 256} {
		inputs = append(inputs, strings.Repeat("a", n), "a"+strings.Repeat("-", n-2)+"b", strings.Repeat("é", n))
	}
	for _, tt := range tests {
		counted := regexp.MustCompile(tt.counted)
		for _, in := range inputs {
			// WHEN both decide a string; THEN they agree
			if got, want := tt.p.MatchString(in), counted.MatchString(in); got != want {
				t.Errorf("%s (%d to %d runes) on %q (%d bytes) = %v, %s says %v", tt.p.expr, tt.p.min, tt.p.max, in[:min(len(in), 12)], len(in), got, tt.counted, want)
			}
		}
	}
}
