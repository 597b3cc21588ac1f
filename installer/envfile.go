package installer

import (
	"errors"
	"fmt"
	"os"

	"github.com/sage-mcp/sage/shared/config"
	"github.com/sage-mcp/sage/shared/dotenv"
)

// MaxEnvFileSize is the largest .env file ReadEnvToken reads.
const MaxEnvFileSize = dotenv.MaxSize

// ErrNoToken is returned when a .env file has no SAGE_TOKEN.
var ErrNoToken = errors.New("no SAGE_TOKEN in the file")

// ReadEnvToken reads SAGE_TOKEN from the .env file at path, parsed as
// Docker Compose does (shared/dotenv). Errors never contain the file's
// values.
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
	vars, err := dotenv.Parse(b, nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	tok := dotenv.Map(vars)[config.EnvToken]
	if tok == "" {
		return "", fmt.Errorf("read env file %s: %w", path, ErrNoToken)
	}
	return tok, nil
}
