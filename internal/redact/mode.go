package redact

import "fmt"

// Mode is what the receiver does with command lines.
type Mode string

const (
	ModeFull     Mode = "full"     // as the process has it
	ModeRedacted Mode = "redacted" // secrets replaced by "***" (the default)
	ModeNone     Mode = "none"     // no command line at all
)

// ParseMode validates a configured mode; the empty string means the default, ModeRedacted.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeFull, ModeRedacted, ModeNone:
		return m, nil
	case "":
		return ModeRedacted, nil
	}
	return "", fmt.Errorf("command_line: unknown mode %q; use full, redacted or none", s)
}
