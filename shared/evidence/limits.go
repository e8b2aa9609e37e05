package evidence

import (
	"fmt"
	"strconv"
)

// EnvMemorySize is the variable Lambda sets to the function's memory, in MB.
const EnvMemorySize = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"

// DefaultMemoryMB is the memory assumed when EnvMemorySize is unset: the
// memory Highway gives its functions.
const DefaultMemoryMB = 256

// Limits bound what reading one build artifact may cost, so that a hostile
// artifact fails the checks that read it, with the reason, instead of running
// the function out of memory or disk. What is held in memory scales with the
// function's memory.
type Limits struct {
	// MemoryMB is the memory the limits were derived from, named when an
	// artifact is refused.
	MemoryMB int
	// ArchiveBytes is the largest artifact read. It is spooled to a
	// temporary file, not held in memory.
	ArchiveBytes int64
	// DirectoryBytes bounds the zip's central directory as it is parsed, so
	// that what parsing allocates (a few hundred bytes an entry) is bounded
	// before Entries can be counted.
	DirectoryBytes int64
	// Entries is the most entries (files and directories) the zip may hold.
	Entries int
	// ReportBytes is the total uncompressed size of the report files read
	// from the artifact; each one is also held to report.MaxBytes.
	ReportBytes int64
}

// MaxArchiveBytes is the largest artifact read whatever the memory: half of
// the 512 MB of /tmp a Lambda function has by default.
const MaxArchiveBytes = 256 << 20

// entryBytes is the room of one entry in the central directory that
// DirectoryBytes allows for: its 46-byte header and a path of 82 bytes.
const entryBytes = 128

// LimitsFor returns the limits of a function with memoryMB of memory: 256
// entries a MB (65,536 at 256 MB) in a central directory of at most 128 bytes
// an entry (a thirty-second of the memory), and a sixteenth of the memory of
// reports, which parse into about five times their size (a JUnit report of
// 130,000 test cases, 16 MB, peaks near 100 MB in a 256 MB gate). The archive
// is held to MaxArchiveBytes, on disk.
func LimitsFor(memoryMB int) Limits {
	mem := int64(memoryMB) << 20
	entries := memoryMB * 256
	return Limits{
		MemoryMB:       memoryMB,
		ArchiveBytes:   MaxArchiveBytes,
		DirectoryBytes: int64(entries) * entryBytes,
		Entries:        entries,
		ReportBytes:    mem / 16,
	}
}

// LimitsForMemory returns the limits for the memory value of EnvMemorySize,
// DefaultMemoryMB when value is empty.
func LimitsForMemory(value string) (Limits, error) {
	if value == "" {
		return LimitsFor(DefaultMemoryMB), nil
	}
	mb, err := strconv.Atoi(value)
	if err != nil || mb < 1 {
		return Limits{}, fmt.Errorf("%s=%q: want the function's memory in MB", EnvMemorySize, value)
	}
	return LimitsFor(mb), nil
}

// refusal ends the reason an artifact was refused: what the function's
// memory allows, and what to do about it.
func (l Limits) refusal() string {
	return fmt.Sprintf("at %d MB of function memory: give the gate more memory, or keep the reports in a smaller artifact", l.MemoryMB)
}
