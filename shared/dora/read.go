package dora

import "time"

// Margins of what Refresh reads beyond the longest window: a deployment's
// failure may show after a window ends (an incident or a rollback the next
// morning), and an incident resolved in a window may have opened well before
// it.
const (
	failureMargin = 24 * time.Hour
	restoreMargin = 30 * 24 * time.Hour
)
