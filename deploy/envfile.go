package deploy

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/sage-mcp/sage/shared/dotenv"
)

// MaxEnvExampleBytes bounds what ParseEnvExample reads.
const MaxEnvExampleBytes = 256 << 10

// The sections of .env.example, opened by a "## daemon" or "## compose"
// heading line.
const (
	SectionDaemon  = "daemon"  // variables sage-daemon reads
	SectionCompose = "compose" // variables only docker compose reads
)

// EnvVar is a variable documented in .env.example.
type EnvVar struct {
	Name    string
	Value   string // the example or default value, as Compose reads it
	Set     bool   // an active assignment, not a commented-out one
	Section string // SectionDaemon or SectionCompose
	Line    int
}

var envLine = regexp.MustCompile(`^(#\s?)?([A-Z][A-Z0-9_]*)=(.*)$`)

// ParseEnvExample reads .env.example. A line "## daemon" or "## compose"
// starts a section; NAME=value documents a variable that is set and
// "# NAME=value" one left at its default; other comments are prose. Every
// variable must be inside a section and documented once.
func ParseEnvExample(r io.Reader) ([]EnvVar, error) {
	sc := bufio.NewScanner(io.LimitReader(r, MaxEnvExampleBytes+1))
	sc.Buffer(make([]byte, 64<<10), MaxEnvExampleBytes+1)
	var (
		vars    []EnvVar
		section string
		seen    = map[string]int{}
		n, size int
	)
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), " \t\r")
		size += len(line) + 1
		if size > MaxEnvExampleBytes {
			return nil, fmt.Errorf("env example: larger than %d bytes", MaxEnvExampleBytes)
		}
		if h, ok := strings.CutPrefix(line, "## "); ok {
			switch s := strings.Fields(h); {
			case len(s) > 0 && s[0] == SectionDaemon, len(s) > 0 && s[0] == SectionCompose:
				section = s[0]
			default:
				return nil, fmt.Errorf("env example: line %d: section %q is neither %q nor %q", n, h, SectionDaemon, SectionCompose)
			}
			continue
		}
		m := envLine.FindStringSubmatch(line)
		if m == nil {
			if line != "" && !strings.HasPrefix(line, "#") {
				return nil, fmt.Errorf("env example: line %d: want NAME=value or a comment", n)
			}
			continue
		}
		if section == "" {
			return nil, fmt.Errorf("env example: line %d: %s is outside a section", n, m[2])
		}
		if prev, dup := seen[m[2]]; dup {
			return nil, fmt.Errorf("env example: line %d: %s already documented on line %d", n, m[2], prev)
		}
		seen[m[2]] = n
		// The value as Docker Compose reads it (quotes, escapes, comments).
		val, err := dotenv.Parse([]byte(m[2]+"="+m[3]), nil)
		if err != nil || len(val) != 1 {
			return nil, fmt.Errorf("env example: line %d: %s: %v", n, m[2], err)
		}
		vars = append(vars, EnvVar{Name: m[2], Value: val[0].Value, Set: m[1] == "", Section: section, Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("env example: read: %w", err)
	}
	return vars, nil
}
