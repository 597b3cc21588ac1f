package hook

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sage-mcp/sage/shared/claudehooks"
	"github.com/sage-mcp/sage/shared/config"
)

// Environment variables that override the config file's "hooks" settings.
const (
	EnvInject   = "SAGE_HOOKS_INJECT"     // 0/false/off disables injection
	EnvMaxChars = "SAGE_HOOKS_MAX_CHARS"  // size budget of injected context
	EnvTimeout  = "SAGE_HOOKS_TIMEOUT_MS" // time budget of one hook run
	EnvCacheDir = config.EnvCacheDir      // root of hook state, outbox and log
)

// Defaults and limits.
const (
	// DefaultTimeout is the hard time budget of a hook run when neither the
	// config file nor the environment sets one: config.DefaultHooksTimeout,
	// the one place it is declared.
	DefaultTimeout = config.DefaultHooksTimeout
	// MaxTimeout caps the budget below the timeouts written into Claude
	// Code's settings (claudehooks.Timeouts).
	MaxTimeout = 4 * time.Second
	// MinMaxChars and MaxMaxChars bound the size budget.
	MinMaxChars = 200
	MaxMaxChars = 50000
	// DefaultMaxChars is the size budget of injected context.
	DefaultMaxChars = config.DefaultHooksMaxChars
)

// Options tune the hooks.
type Options struct {
	// Inject enables context injection (SessionStart, UserPromptSubmit).
	Inject bool
	// MaxChars bounds injected context, in characters (runes), markers
	// included.
	MaxChars int
	// Timeout is the hard time budget of one hook run.
	Timeout time.Duration
	// MinScore is the relevance threshold: recalled memories scoring below
	// it are not injected.
	MinScore float64
	// MaxResults is how many memories the prompt hook asks for (0:
	// ContextResults); set from the daemon's settings (settings.go).
	MaxResults int
	// StateDir holds per-session state (the last prompt).
	StateDir string
	// DownMarker is the "daemon seems down" marker file shared by the
	// hooks ("" disables it; see SuspectBudget).
	DownMarker string
}

// DefaultMinScore is the default relevance threshold (see Options.MinScore):
// none. The daemon's injection gate decides what is relevant (see
// daemon/gate); SAGE_HOOKS_MIN_SCORE adds a floor on the fused score.
const DefaultMinScore = 0.0

// EnvMinScore overrides DefaultMinScore.
const EnvMinScore = "SAGE_HOOKS_MIN_SCORE"

// budget is the time budget for event, capped by the settings.json timeout.
func (o Options) budget(event string) time.Duration {
	b := o.Timeout
	if b <= 0 {
		b = DefaultTimeout
	}
	if s := claudehooks.Timeouts[event]; s > 0 {
		b = min(b, time.Duration(s)*time.Second-500*time.Millisecond)
	}
	return min(b, MaxTimeout)
}

// Validate checks the options' ranges.
func (o Options) Validate() error {
	if o.MaxChars < MinMaxChars || o.MaxChars > MaxMaxChars {
		return fmt.Errorf("hooks max_chars %d: must be between %d and %d", o.MaxChars, MinMaxChars, MaxMaxChars)
	}
	if o.Timeout <= 0 || o.Timeout > MaxTimeout {
		return fmt.Errorf("hooks timeout %v: must be positive and at most %v", o.Timeout, MaxTimeout)
	}
	return nil
}

// ResolveOptions derives the options from the resolved client config and
// the environment (env > file > defaults).
func ResolveOptions(c config.Config, getenv func(string) string) (Options, error) {
	o := Options{Inject: c.HooksInject, MaxChars: c.HooksMaxChars, Timeout: c.HooksTimeout, MinScore: DefaultMinScore}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxChars == 0 {
		o.MaxChars = DefaultMaxChars
	}
	if v := strings.TrimSpace(getenv(EnvInject)); v != "" {
		switch strings.ToLower(v) {
		case "0", "false", "off", "no":
			o.Inject = false
		case "1", "true", "on", "yes":
			o.Inject = true
		default:
			return o, fmt.Errorf("%s=%q: want 0 or 1", EnvInject, v)
		}
	}
	if v := strings.TrimSpace(getenv(EnvMaxChars)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return o, fmt.Errorf("%s=%q: not a number", EnvMaxChars, v)
		}
		o.MaxChars = n
	}
	if v := strings.TrimSpace(getenv(EnvTimeout)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return o, fmt.Errorf("%s=%q: not a number", EnvTimeout, v)
		}
		o.Timeout = time.Duration(n) * time.Millisecond
	}
	if v := strings.TrimSpace(getenv(EnvMinScore)); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return o, fmt.Errorf("%s=%q: want a number >= 0", EnvMinScore, v)
		}
		o.MinScore = f
	}
	o.MaxChars = min(max(o.MaxChars, MinMaxChars), MaxMaxChars)
	return o, o.Validate()
}
