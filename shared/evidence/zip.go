package evidence

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/highwayhq/highway/shared/gate"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/report"
)

// Limits on the report files read from one artifact, besides those of
// Limits. Each file is also held to report.MaxBytes. Declared sizes are
// checked before a file is opened and enforced again while it is read, so a
// lying header cannot get past them.
const (
	// MaxReportFiles is how many files one kind of report may match.
	MaxReportFiles = 1000
	// MaxCompressionRatio is the largest uncompressed-to-compressed ratio of
	// a report file over 1 MiB; more is a zip bomb, not a report.
	MaxCompressionRatio = 200
)

// ratioFloor is the size under which the compression ratio is not checked:
// small files of repeated XML legitimately compress very well.
const ratioFloor = 1 << 20

// fromNames is how many file names From lists before summarizing the rest.
const fromNames = 20

// FromZip reads the reports inside a build's output artifact, a zip of size
// bytes. Entries are matched against globs with path.Match, after dropping a
// leading "./" or "/"; directories are ignored. All matching JUnit files are
// merged into one report.Tests, all SARIF runs are concatenated, and coverage
// files are summed. From lists the matched entries; Found is false when none
// matched; Err names the first file that could not be read and why. A zip
// over limits (its directory, its entries) is unreadable, with the reason.
func FromZip(r io.ReaderAt, size int64, globs policy.Reports, limits Limits) (tests gate.Input[report.Tests], sarif gate.Input[[]report.Run], cov gate.Input[report.Coverage]) {
	zr, err := openZip(r, size, limits)
	if err != nil {
		return unreadable[report.Tests](globs.JUnit, err),
			unreadable[[]report.Run](globs.SARIF, err),
			unreadable[report.Coverage](globs.Coverage, err)
	}
	a := &artifact{files: zr.File, budget: limits.ReportBytes, limits: limits}
	tests = collect(a, globs.JUnit, report.ParseJUnit, func(all []report.Tests) report.Tests {
		return report.Merge(all...)
	})
	sarif = collect(a, globs.SARIF, report.ParseSARIF, func(all [][]report.Run) []report.Run {
		var runs []report.Run
		for _, r := range all {
			runs = append(runs, r...)
		}
		return runs
	})
	cov = collect(a, globs.Coverage, report.ParseCoverage, sumCoverage)
	return tests, sarif, cov
}

// openZip parses the zip's central directory within limits: the bytes
// zip.NewReader reads while it parses are counted, and it fails once they pass
// the directory's budget, before it has allocated much; then the entries are
// counted.
func openZip(r io.ReaderAt, size int64, limits Limits) (*zip.Reader, error) {
	dr := &directoryReader{r: r, left: limits.DirectoryBytes + directoryEndBytes}
	zr, err := zip.NewReader(dr, size)
	dr.left = -1 // parsed: the files are read within the report budget
	switch {
	case errors.Is(err, errDirectoryTooLarge):
		return nil, fmt.Errorf("the artifact's zip directory is larger than the %d bytes Highway reads (%d entries of %d bytes) %s",
			limits.DirectoryBytes, limits.Entries, entryBytes, limits.refusal())
	case err != nil:
		return nil, fmt.Errorf("read artifact zip: %w", err)
	case len(zr.File) > limits.Entries:
		return nil, fmt.Errorf("the artifact's zip holds %d entries, more than the %d Highway reads %s",
			len(zr.File), limits.Entries, limits.refusal())
	}
	return zr, nil
}

// directoryEndBytes is what zip.NewReader reads besides the central directory
// itself: the end of central directory record, searched for in the archive's
// last 65 KiB after its last 1 KiB, and the zip64 records.
const directoryEndBytes = 70 << 10

// errDirectoryTooLarge is the error of a read past the directory's budget.
var errDirectoryTooLarge = errors.New("zip directory over its budget")

// directoryReader counts the bytes read through it and refuses reads past
// left; a negative left reads without limit.
type directoryReader struct {
	r    io.ReaderAt
	left int64
}

func (d *directoryReader) ReadAt(p []byte, off int64) (int, error) {
	if d.left >= 0 {
		if int64(len(p)) > d.left {
			return 0, errDirectoryTooLarge
		}
		d.left -= int64(len(p))
	}
	return d.r.ReadAt(p, off)
}

// unreadable is the evidence of one kind when the whole artifact is unreadable:
// missing if the policy looks for no such file, else an error.
func unreadable[T any](globs []string, err error) gate.Input[T] {
	if len(globs) == 0 {
		return gate.Input[T]{}
	}
	return gate.Input[T]{From: "artifact", Found: true, Err: err}
}

// artifact is an open zip and what is left of its read budget (of
// limits.ReportBytes).
type artifact struct {
	files  []*zip.File
	budget int64
	limits Limits
}

// entry is one matched file.
type entry struct {
	name string
	file *zip.File
}

// match returns the files matching any of globs, sorted by name.
func (a *artifact) match(globs []string) ([]entry, error) {
	if len(globs) == 0 {
		return nil, nil
	}
	patterns := make([]string, len(globs))
	for i, g := range globs {
		patterns[i] = normalize(g)
		if _, err := path.Match(patterns[i], ""); err != nil {
			return nil, fmt.Errorf("report glob %q: %w", g, err)
		}
	}
	var out []entry
	for _, f := range a.files {
		if f.FileInfo().IsDir() || strings.HasSuffix(f.Name, "/") {
			continue
		}
		name := normalize(f.Name)
		for _, p := range patterns {
			if ok, _ := path.Match(p, name); ok {
				out = append(out, entry{name: name, file: f})
				break
			}
		}
	}
	slices.SortStableFunc(out, func(x, y entry) int { return strings.Compare(x.name, y.name) })
	return out, nil
}

// normalize turns a zip entry name or a glob into the form they are matched
// in: forward slashes, no leading "./" or "/".
func normalize(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	for {
		switch {
		case strings.HasPrefix(name, "./"):
			name = name[2:]
		case strings.HasPrefix(name, "/"):
			name = name[1:]
		default:
			return name
		}
	}
}

// collect parses every file matching globs with parse and combines the values.
func collect[T any](a *artifact, globs []string, parse func(io.Reader) (T, error), combine func([]T) T) gate.Input[T] {
	entries, err := a.match(globs)
	if err != nil {
		return gate.Input[T]{From: "artifact", Found: true, Err: err}
	}
	if len(entries) == 0 {
		return gate.Input[T]{}
	}
	in := gate.Input[T]{From: names(entries), Found: true}
	if len(entries) > MaxReportFiles {
		in.Err = fmt.Errorf("%d files match %q, more than the %d allowed", len(entries), globs, MaxReportFiles)
		return in
	}
	values := make([]T, 0, len(entries))
	for _, e := range entries {
		v, err := readFile(a, e.file, parse)
		if err != nil {
			in.Err = fmt.Errorf("%s: %w", e.name, err)
			return in
		}
		values = append(values, v)
	}
	in.Value = combine(values)
	return in
}

// readFile opens f within the artifact's limits and parses it with fn.
func readFile[T any](a *artifact, f *zip.File, fn func(io.Reader) (T, error)) (T, error) {
	var zero T
	if err := a.check(f); err != nil {
		return zero, err
	}
	rc, err := f.Open()
	if err != nil {
		return zero, err
	}
	defer rc.Close()
	br := &budgetReader{r: rc, left: report.MaxBytes, spent: &a.budget,
		over: fmt.Errorf("more than the %d bytes a report may have", report.MaxBytes)}
	if a.budget < report.MaxBytes {
		br.left = a.budget
		br.over = fmt.Errorf("more than the %d bytes left of the %d bytes of reports Highway reads %s", a.budget, a.limits.ReportBytes, a.limits.refusal())
	}
	v, err := fn(br)
	if br.exceeded {
		// The parser may have wrapped or replaced the error; the limit is
		// the reason that matters.
		return zero, br.over
	}
	if err != nil {
		return zero, err
	}
	return v, nil
}

// check refuses a file by its declared sizes before anything is decompressed.
func (a *artifact) check(f *zip.File) error {
	size, packed := f.UncompressedSize64, f.CompressedSize64
	switch {
	case size > report.MaxBytes:
		return fmt.Errorf("%d bytes uncompressed, more than the %d a report may have", size, report.MaxBytes)
	case size > uint64(a.budget):
		return fmt.Errorf("%d bytes uncompressed, more than the %d left of the %d bytes of reports Highway reads %s", size, a.budget, a.limits.ReportBytes, a.limits.refusal())
	case size > ratioFloor && (packed == 0 || size/packed > MaxCompressionRatio):
		return fmt.Errorf("compressed %d bytes to %d, a ratio over %d:1 (zip bomb)", size, packed, MaxCompressionRatio)
	}
	return nil
}

// budgetReader reads at most left bytes and counts them against the
// artifact's budget, failing rather than truncating when it runs out.
type budgetReader struct {
	r        io.Reader
	left     int64
	spent    *int64
	over     error // returned once the limit is passed
	exceeded bool
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.exceeded {
		return 0, b.over
	}
	if b.left <= 0 {
		// One byte more than allowed tells a file that ends exactly at the
		// limit from one that goes on.
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n > 0 {
			b.exceeded = true
			return 0, b.over
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	*b.spent -= int64(n)
	return n, err
}

// names lists the entries for From, summarizing a long list.
func names(entries []entry) string {
	var b strings.Builder
	for i, e := range entries {
		if i == fromNames {
			fmt.Fprintf(&b, " and %d more", len(entries)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.name)
	}
	return b.String()
}

// sumCoverage adds coverage files up: disjoint reports (one per module) sum
// to the whole, and the same report in two formats keeps its ratio.
func sumCoverage(all []report.Coverage) report.Coverage {
	var sum report.Coverage
	var formats []string
	for _, c := range all {
		sum.Covered += c.Covered
		sum.Total += c.Total
		if !slices.Contains(formats, c.Format) {
			formats = append(formats, c.Format)
		}
	}
	sum.Format = strings.Join(formats, "+")
	return sum
}
