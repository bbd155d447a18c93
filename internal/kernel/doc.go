// Package kernel answers what procmon asks of Linux besides its events: the
// root network namespace (so that the proc connector socket can be opened
// there even when the collector runs elsewhere), whether the collector runs
// in the initial user namespace, its capabilities, and its reader thread's
// scheduling.
package kernel
