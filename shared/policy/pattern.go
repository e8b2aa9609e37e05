package policy

import (
	"regexp"
	"sync"
	"unicode/utf8"
)

// pattern is a regular expression compiled on its first use, not when the
// package is initialized: every binary that links this package (each
// function, the CLI) would otherwise compile them all before main, and a
// function's cold start needs only those its policy's checks reach. With
// max > 0, a string also needs min to max runes: `^[a-z]+$` with a length
// check compiles in microseconds where `^[a-z]{1,128}$` takes milliseconds
// (the counted repetition is unrolled), and `^[\p{L}…]{1,128}$` 15 ms.
type pattern struct {
	expr     string
	min, max int
	re       func() *regexp.Regexp
}

// patterns are every pattern of the package, for the test that compiles
// them all.
var patterns []*pattern

// lazy is the pattern expr, compiled on first use.
func lazy(expr string) *pattern {
	return lazyLength(expr, 0, 0)
}

// lazyLength is the pattern expr, compiled on first use, for strings of min
// to max runes.
func lazyLength(expr string, min, max int) *pattern {
	p := &pattern{expr: expr, min: min, max: max, re: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
	patterns = append(patterns, p)
	return p
}

// MatchString reports whether s matches the pattern and its length.
func (p *pattern) MatchString(s string) bool {
	if p.max > 0 {
		if n := utf8.RuneCountInString(s); n < p.min || n > p.max {
			return false
		}
	}
	return p.re().MatchString(s)
}

// FindStringSubmatch is regexp's FindStringSubmatch, for a pattern without
// a length bound (it would not apply the bound).
func (p *pattern) FindStringSubmatch(s string) []string { return p.unbounded().FindStringSubmatch(s) }

// ReplaceAllString is regexp's ReplaceAllString, for a pattern without a
// length bound.
func (p *pattern) ReplaceAllString(src, repl string) string {
	return p.unbounded().ReplaceAllString(src, repl)
}

// unbounded is the compiled pattern; it panics for a pattern with a length
// bound, which only MatchString applies.
func (p *pattern) unbounded() *regexp.Regexp {
	if p.max > 0 {
		panic("policy: " + p.expr + " has a length bound only MatchString applies")
	}
	return p.re()
}
