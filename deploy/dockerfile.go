package deploy

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// MaxDockerfileBytes bounds what ParseDockerfile reads.
const MaxDockerfileBytes = 1 << 20

// Instruction is one Dockerfile instruction, continuation lines joined.
type Instruction struct {
	Cmd   string   // upper case: FROM, RUN, COPY, ENV, ...
	Flags []string // leading --flag[=value] words, e.g. --from=build
	Args  string   // the rest of the instruction, as written
	Line  int      // 1-based line of the instruction's first line
}

// Stage is a build stage: its FROM line and the instructions after it.
type Stage struct {
	Name         string // the AS name, or ""
	From         string // the base image, as written
	Instructions []Instruction
}

// Find returns the stage's instructions with command cmd (upper case).
func (s Stage) Find(cmd string) []Instruction {
	var out []Instruction
	for _, in := range s.Instructions {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// Dockerfile is a parsed Dockerfile.
type Dockerfile struct {
	// Global holds the instructions before the first FROM (ARG only).
	Global []Instruction
	Stages []Stage
}

// Final returns the last stage, the image the Dockerfile produces.
func (d *Dockerfile) Final() Stage {
	if len(d.Stages) == 0 {
		return Stage{}
	}
	return d.Stages[len(d.Stages)-1]
}

// Stage returns the stage named name.
func (d *Dockerfile) Stage(name string) (Stage, bool) {
	for _, s := range d.Stages {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return Stage{}, false
}

// ParseDockerfile reads a Dockerfile: comments and blank lines are dropped,
// lines ending in a backslash continue on the next line, and instructions
// are grouped by stage. It supports the default escape character only and
// no heredocs, and refuses input it cannot read that way.
func ParseDockerfile(r io.Reader) (*Dockerfile, error) {
	sc := bufio.NewScanner(io.LimitReader(r, MaxDockerfileBytes+1))
	sc.Buffer(make([]byte, 64<<10), MaxDockerfileBytes+1)
	var (
		d       Dockerfile
		cur     strings.Builder
		start   int
		lineNo  int
		total   int
		pending bool
	)
	flush := func() error {
		if !pending {
			return nil
		}
		pending = false
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return nil
		}
		in, err := parseInstruction(text, start)
		if err != nil {
			return err
		}
		if in.Cmd == "FROM" {
			st, err := parseFrom(in)
			if err != nil {
				return err
			}
			d.Stages = append(d.Stages, st)
			return nil
		}
		if len(d.Stages) == 0 {
			if in.Cmd != "ARG" {
				return fmt.Errorf("line %d: %s before the first FROM", in.Line, in.Cmd)
			}
			d.Global = append(d.Global, in)
			return nil
		}
		s := &d.Stages[len(d.Stages)-1]
		s.Instructions = append(s.Instructions, in)
		return nil
	}
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		total += len(line) + 1
		if total > MaxDockerfileBytes {
			return nil, fmt.Errorf("dockerfile: larger than %d bytes", MaxDockerfileBytes)
		}
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || trimmed == "" {
			continue // comments (also inside continuations) and blank lines
		}
		if strings.Contains(trimmed, "<<") && !pending && strings.HasPrefix(strings.ToUpper(trimmed), "RUN") {
			return nil, fmt.Errorf("dockerfile: line %d: heredocs are not supported", lineNo)
		}
		if !pending {
			start = lineNo
			pending = true
		}
		// Like docker: the backslash and newline are removed, nothing else.
		line = strings.TrimRight(line, " \t\r")
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`))
			continue
		}
		cur.WriteString(line)
		if err := flush(); err != nil {
			return nil, fmt.Errorf("dockerfile: %w", err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dockerfile: read: %w", err)
	}
	if err := flush(); err != nil {
		return nil, fmt.Errorf("dockerfile: %w", err)
	}
	if len(d.Stages) == 0 {
		return nil, fmt.Errorf("dockerfile: no FROM instruction")
	}
	return &d, nil
}

func parseInstruction(text string, line int) (Instruction, error) {
	cmd, rest, _ := strings.Cut(text, " ")
	in := Instruction{Cmd: strings.ToUpper(cmd), Line: line}
	for _, c := range in.Cmd {
		if c < 'A' || c > 'Z' {
			return Instruction{}, fmt.Errorf("line %d: %q is not an instruction", line, cmd)
		}
	}
	rest = strings.TrimSpace(rest)
	for strings.HasPrefix(rest, "--") {
		var flag string
		flag, rest, _ = strings.Cut(rest, " ")
		in.Flags = append(in.Flags, flag)
		rest = strings.TrimSpace(rest)
	}
	in.Args = rest
	return in, nil
}

func parseFrom(in Instruction) (Stage, error) {
	f := strings.Fields(in.Args)
	switch {
	case len(f) == 1:
		return Stage{From: f[0]}, nil
	case len(f) == 3 && strings.EqualFold(f[1], "AS"):
		return Stage{From: f[0], Name: f[2]}, nil
	}
	return Stage{}, fmt.Errorf("line %d: FROM wants `image [AS name]`, got %q", in.Line, in.Args)
}

// Flag returns the value of the instruction's --name=value flag.
func (in Instruction) Flag(name string) (string, bool) {
	for _, f := range in.Flags {
		k, v, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if k == name {
			return v, true
		}
	}
	return "", false
}
