package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os/exec"
	"sync"
	"time"

	ksvc "github.com/kardianos/service"
	"github.com/sage-mcp/sage/shared/health"
)

// Defaults and limits of the Runner.
const (
	DefaultInterval = 30 * time.Second
	MinInterval     = time.Second
	// HealthTimeout bounds one GET /healthz.
	HealthTimeout = 5 * time.Second
	// ComposeTimeout bounds "docker compose up -d".
	ComposeTimeout = 5 * time.Minute
)

// Runner is the work the service does. Zero fields take defaults; Drain nil
// means there is no outbox to drain.
type Runner struct {
	// BaseURL is the daemon's base URL (no /mcp); empty disables the health
	// watch.
	BaseURL string
	// Drain sends the turns waiting in the outbox and returns how many were
	// delivered.
	Drain func(ctx context.Context) (int, error)
	// ComposeDir, when set, is where "docker compose up -d" runs at start.
	ComposeDir string
	// Compose runs the compose command; nil means exec of "docker".
	Compose func(ctx context.Context, dir string) error
	// Interval between two rounds (drain + health); default DefaultInterval.
	Interval time.Duration
	// HTTPClient for the health check; nil means a client with HealthTimeout.
	HTTPClient *http.Client
	// Logger; nil means silent.
	Logger *slog.Logger
}

// Validate checks the settings.
func (r *Runner) Validate() error {
	if r.Interval != 0 && r.Interval < MinInterval {
		return fmt.Errorf("service: interval %s is below the minimum %s", r.Interval, MinInterval)
	}
	return nil
}

// Run works until ctx ends: compose up once (when configured), then every
// Interval a health check and an outbox drain. Failures are logged, never
// fatal: the service must outlive a daemon that is down. It returns nil
// when ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.Validate(); err != nil {
		return err
	}
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	interval := r.Interval
	if interval == 0 {
		interval = DefaultInterval
	}
	if r.ComposeDir != "" {
		compose := r.Compose
		if compose == nil {
			compose = DockerComposeUp
		}
		cctx, cancel := context.WithTimeout(ctx, ComposeTimeout)
		if err := compose(cctx, r.ComposeDir); err != nil {
			log.Warn("docker compose up failed", "dir", r.ComposeDir, "err", err)
		} else {
			log.Info("docker compose up done", "dir", r.ComposeDir)
		}
		cancel()
	}
	healthy := -1 // unknown
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		up := r.round(ctx, log)
		if r.BaseURL != "" {
			switch {
			case up && healthy != 1:
				log.Info("daemon is up", "url", r.BaseURL)
			case !up && healthy != 0:
				log.Warn("daemon is down", "url", r.BaseURL)
			}
			healthy = map[bool]int{true: 1, false: 0}[up]
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// round does one health check and, when the daemon is up (or not watched),
// one drain. It reports whether the daemon answered.
func (r *Runner) round(ctx context.Context, log *slog.Logger) bool {
	up := true
	if r.BaseURL != "" {
		up = r.Healthy(ctx) == nil
	}
	if up && r.Drain != nil {
		n, err := r.Drain(ctx)
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			log.Warn("outbox drain failed", "err", err, "sent", n)
		case n > 0:
			log.Info("outbox drained", "sent", n)
		}
	}
	return up
}

// Healthy asks GET BaseURL/healthz and returns nil on 200.
func (r *Runner) Healthy(ctx context.Context) error {
	return CheckHealth(ctx, r.HTTPClient, r.BaseURL)
}

// CheckHealth asks GET baseURL/healthz and returns nil on 200 (see
// health.Check). client nil means one with HealthTimeout.
func CheckHealth(ctx context.Context, client *http.Client, baseURL string) error {
	if client == nil {
		client = &http.Client{Timeout: HealthTimeout}
	}
	return health.Check(ctx, client, baseURL)
}

// DockerComposeUp runs "docker compose up -d" in dir.
func DockerComposeUp(ctx context.Context, dir string) error {
	cmd := exec.CommandContext(ctx, "docker", "compose", "up", "-d")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		if len(out) > 2000 {
			out = out[len(out)-2000:]
		}
		return fmt.Errorf("docker compose up -d: %w: %s", err, out)
	}
	return nil
}

// Program adapts a Runner to kardianos' service.Interface: Start launches
// the runner in the background, Stop cancels it and waits.
type Program struct {
	Runner *Runner

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Start starts the runner and returns at once.
func (p *Program) Start(ksvc.Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel != nil {
		return errors.New("service: already started")
	}
	if err := p.Runner.Validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		defer close(p.done)
		_ = p.Runner.Run(ctx)
	}()
	return nil
}

// Stop stops the runner and waits for it to return.
func (p *Program) Stop(ksvc.Service) error {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.cancel, p.done = nil, nil
	p.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	return nil
}
