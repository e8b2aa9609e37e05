package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// junitReport generates a Surefire-like report of n test cases in suites of
// 100, one in ten failing with a stack trace and one in twenty skipped.
func junitReport(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<testsuites>\n")
	for i := 0; i < n; i++ {
		if i%100 == 0 {
			if i > 0 {
				b.WriteString("</testsuite>\n")
			}
			fmt.Fprintf(&b, `<testsuite name="com.example.Suite%d" time="1.234" tests="100">`+"\n", i/100)
			b.WriteString(`<properties><property name="java.version" value="21"/></properties>` + "\n")
		}
		fmt.Fprintf(&b, `<testcase name="test%d" classname="com.example.Suite%d" time="0.0%02d">`, i, i/100, i%100)
		switch {
		case i%10 == 3:
			fmt.Fprintf(&b, `<failure message="expected %d but was %d" type="AssertionError">%s</failure>`,
				i, i+1, strings.Repeat("\tat com.example.Thing.method(Thing.java:42)\n", 20))
		case i%20 == 7:
			b.WriteString(`<skipped message="not on CI"/>`)
		}
		b.WriteString("</testcase>\n")
	}
	b.WriteString("</testsuite>\n</testsuites>\n")
	return b.Bytes()
}

// sarifLogOf generates a CodeQL-like log of n results over 50 rules.
func sarifLogOf(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{"tool":{"driver":{"name":"CodeQL","rules":[`)
	for i := 0; i < 50; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"go/rule-%d","name":"go/rule-%d","shortDescription":{"text":"Rule %d"},`+
			`"defaultConfiguration":{"enabled":true,"level":"error"},"properties":{"tags":["security","external/cwe/cwe-%03d"],"precision":"high","security-severity":"%d.%d"}}`,
			i, i, i, i, i%10, i%10)
	}
	b.WriteString(`]}},"results":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"ruleId":"go/rule-%d","ruleIndex":%d,"message":{"text":"This path depends on a [user-provided value](1) at step %d."},`+
			`"locations":[{"physicalLocation":{"artifactLocation":{"uri":"pkg/file%d.go","uriBaseId":"%%SRCROOT%%"},"region":{"startLine":%d,"startColumn":5,"endColumn":20}}}],`+
			`"partialFingerprints":{"primaryLocationLineHash":"%016x:1"},`+
			`"codeFlows":[{"threadFlows":[{"locations":[{"location":{"physicalLocation":{"artifactLocation":{"uri":"pkg/file%d.go"},"region":{"startLine":%d}},"message":{"text":"source"}}}]}]}]}`,
			i%50, i%50, i, i%30, i+1, i*7919, i%30, i)
	}
	b.WriteString(`]}]}`)
	return b.Bytes()
}

func BenchmarkParseJUnit(b *testing.B) {
	data := junitReport(5000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		tests, err := ParseJUnit(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if total, _, _, _ := tests.Counts(); total != 5000 {
			b.Fatalf("total = %d, want 5000", total)
		}
	}
}

func BenchmarkParseSARIF(b *testing.B) {
	data := sarifLogOf(1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		runs, err := ParseSARIF(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if len(runs[0].Results) != 1000 {
			b.Fatalf("results = %d, want 1000", len(runs[0].Results))
		}
	}
}
