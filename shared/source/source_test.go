package source_test

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/highwayhq/highway/shared/source"
)

// A commit record keeps a message's subject: its first line, cut at 200
// characters (not bytes).
func ExampleSubject() {
	fmt.Println(source.Subject("  Round order totals half-even\n\nTotals were rounded half-up.\n"))
	long := source.Subject(strings.Repeat("é", 300))
	fmt.Println(utf8.RuneCountInString(long), strings.HasSuffix(long, "…"))
	// Output:
	// Round order totals half-even
	// 200 true
}
