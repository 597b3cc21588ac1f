// Package claudehooks is the canonical list of the Claude Code hook events
// that Sage uses and the exact entries that sage-installer merges into
// Claude Code's settings.json ("hooks" key). Both sage-bridge (which runs
// the hooks) and sage-installer (which installs them) import it, so the two
// can never disagree.
//
// The settings format is Claude Code's:
//
//	{"hooks": {"SessionStart": [{"matcher": "", "hooks": [
//	    {"type": "command", "command": "'/abs/sage-bridge' hook SessionStart", "timeout": 5}]}], ...}}
package claudehooks

import (
	"runtime"
	"strings"
)

// Hook event names, as Claude Code spells them in settings.json and in the
// hook_event_name field of a hook's stdin payload.
const (
	SessionStart     = "SessionStart"
	UserPromptSubmit = "UserPromptSubmit"
	Stop             = "Stop"
	PreCompact       = "PreCompact"
	SessionEnd       = "SessionEnd"
)

// Events lists the events Sage installs a hook for, in a stable order.
var Events = []string{SessionStart, UserPromptSubmit, Stop, PreCompact, SessionEnd}

// Timeouts are the per-event timeouts, in seconds, written into settings.json.
// Claude Code kills a hook that runs longer. The bridge keeps its own,
// much shorter budgets (1.5 s by default) well inside these.
var Timeouts = map[string]int{
	SessionStart:     5,
	UserPromptSubmit: 5,
	Stop:             10,
	PreCompact:       10,
	SessionEnd:       5,
}

// Hook is one hook command in Claude Code's settings format.
type Hook struct {
	Type    string `json:"type"`
	Command string `json:"command"`
	// Timeout is in seconds.
	Timeout int `json:"timeout,omitempty"`
}

// Matcher is one entry of an event's list in settings.json: a matcher (for
// these events "" matches everything) and the hooks it runs.
type Matcher struct {
	Matcher string `json:"matcher"`
	Hooks   []Hook `json:"hooks"`
}

// Command returns the shell command Claude Code runs for event: the bridge's
// absolute path, quoted for the platform's shell, then "hook <event>".
func Command(bridgePath, event string) string {
	return quote(bridgePath) + " hook " + event
}

// Entries returns the hooks Sage installs, keyed by event, in the format of
// settings.json's "hooks" object. bridgePath is the absolute path of the
// sage-bridge binary. Each event gets exactly one Matcher with one Hook.
func Entries(bridgePath string) map[string][]Matcher {
	out := make(map[string][]Matcher, len(Events))
	for _, ev := range Events {
		out[ev] = []Matcher{{
			Matcher: "",
			Hooks: []Hook{{
				Type:    "command",
				Command: Command(bridgePath, ev),
				Timeout: Timeouts[ev],
			}},
		}}
	}
	return out
}

// IsSage reports whether a hook command is one Sage installed (by this or
// an older version): a command that runs a sage-bridge binary (any path,
// quoted or not) with the "hook" subcommand. The installer uses it to
// replace or remove its own entries and leave the user's alone.
func IsSage(command string) bool {
	c := strings.TrimSpace(command)
	if c == "" {
		return false
	}
	prog, rest, ok := firstWord(c)
	if !ok {
		return false
	}
	prog = strings.ReplaceAll(prog, `\`, "/")
	base := prog[strings.LastIndexByte(prog, '/')+1:]
	base = strings.TrimSuffix(strings.ToLower(base), ".exe")
	if base != "sage-bridge" {
		return false
	}
	f := strings.Fields(rest)
	return len(f) >= 1 && f[0] == "hook"
}

// firstWord splits a shell command into its first word, unquoted, and the
// rest. It understands single quotes, double quotes and a backslash before a
// quote or blank; other backslashes are literal (Windows paths).
func firstWord(c string) (word, rest string, ok bool) {
	var b strings.Builder
	var q byte
	for i := 0; i < len(c); i++ {
		ch := c[i]
		switch {
		case q != 0:
			if ch == q {
				q = 0
			} else {
				b.WriteByte(ch)
			}
		case ch == '\\' && i+1 < len(c) && strings.IndexByte("'\" \t", c[i+1]) >= 0:
			i++
			b.WriteByte(c[i])
		case ch == '\'' || ch == '"':
			q = ch
		case ch == ' ' || ch == '\t':
			return b.String(), c[i:], true
		default:
			b.WriteByte(ch)
		}
	}
	return b.String(), "", q == 0
}

// quote quotes p for the shell Claude Code runs hook commands with: POSIX
// single quotes on Unix, double quotes on Windows.
func quote(p string) string {
	if runtime.GOOS == "windows" {
		return `"` + p + `"`
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}
