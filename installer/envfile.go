package installer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sage-mcp/sage/shared/config"
)

// MaxEnvFileSize is the largest .env file ReadEnvToken reads.
const MaxEnvFileSize = 1 << 20

// ErrNoToken is returned when a .env file has no SAGE_TOKEN.
var ErrNoToken = errors.New("no SAGE_TOKEN in the file")

// ParseEnv parses a .env file (docker compose's format, the common part):
// KEY=VALUE lines, an optional "export " prefix, # comments, blank lines,
// values in single quotes (literal) or double quotes (with \" \\ \n
// escapes), unquoted values trimmed and cut at " #". Later keys win.
func ParseEnv(data []byte) (map[string]string, error) {
	if len(data) > MaxEnvFileSize {
		return nil, fmt.Errorf("parse env file: larger than %d bytes", MaxEnvFileSize)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), MaxEnvFileSize)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, val, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsAny(key, " \t\"'") {
			return nil, fmt.Errorf("parse env file: line %d: want KEY=VALUE", n)
		}
		v, err := envValue(strings.TrimSpace(val))
		if err != nil {
			return nil, fmt.Errorf("parse env file: line %d (%s): %w", n, key, err)
		}
		out[key] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("parse env file: %w", err)
	}
	return out, nil
}

func envValue(v string) (string, error) {
	switch {
	case strings.HasPrefix(v, "'"):
		end := strings.IndexByte(v[1:], '\'')
		if end < 0 {
			return "", errors.New("unterminated single quote")
		}
		return v[1 : 1+end], nil
	case strings.HasPrefix(v, `"`):
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			c := v[i]
			switch {
			case c == '"':
				return b.String(), nil
			case c == '\\' && i+1 < len(v):
				i++
				switch v[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				default:
					b.WriteByte(v[i])
				}
			default:
				b.WriteByte(c)
			}
		}
		return "", errors.New("unterminated double quote")
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v), nil
}

// ReadEnvToken reads SAGE_TOKEN from the .env file at path. Errors never
// contain the file's values.
func ReadEnvToken(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("read env file: %w", err)
	}
	if fi.Size() > MaxEnvFileSize {
		return "", fmt.Errorf("read env file %s: larger than %d bytes", path, MaxEnvFileSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read env file: %w", err)
	}
	env, err := ParseEnv(b)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	tok := env[config.EnvToken]
	if tok == "" {
		return "", fmt.Errorf("read env file %s: %w", path, ErrNoToken)
	}
	return tok, nil
}
