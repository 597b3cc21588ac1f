package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/sage-mcp/sage/bridge/client"
	"github.com/sage-mcp/sage/bridge/outbox"
	"github.com/sage-mcp/sage/shared/config"
)

// DrainTimeout bounds one drain round of the service.
const DrainTimeout = 2 * time.Minute

// ConfiguredRunner builds the Runner of `sage-bridge service run` from the
// client config (file, then environment): the daemon's base URL and token,
// the outbox drain, and composeDir, or else the file's compose_dir, which
// must be an absolute path.
func ConfiguredRunner(composeDir string, interval time.Duration, logger *slog.Logger) (*Runner, error) {
	path, err := config.Path()
	if err != nil {
		return nil, err
	}
	file, err := config.LoadOptional(path)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Resolve(config.Flags{}, os.Getenv, file)
	if err != nil {
		return nil, err
	}
	if composeDir == "" {
		if cfg.ComposeDir != "" && !filepath.IsAbs(cfg.ComposeDir) {
			return nil, fmt.Errorf("%s: compose_dir must be an absolute path", path)
		}
		composeDir = cfg.ComposeDir
	}
	return &Runner{
		BaseURL:    cfg.BaseURL(),
		Drain:      Drainer(client.New(cfg.BaseURL(), cfg.Token), logger),
		ComposeDir: composeDir,
		Interval:   interval,
		Logger:     logger,
	}, nil
}

// Drainer returns a Runner's Drain: one outbox.Drain through sender,
// bounded by DrainTimeout. Another process draining (outbox.ErrBusy) is not
// an error: the entries are on their way.
func Drainer(sender outbox.Sender, logger *slog.Logger) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		ctx, cancel := context.WithTimeout(ctx, DrainTimeout)
		defer cancel()
		res, err := outbox.Drain(ctx, sender, logger)
		if errors.Is(err, outbox.ErrBusy) {
			return res.Sent, nil
		}
		return res.Sent, err
	}
}
