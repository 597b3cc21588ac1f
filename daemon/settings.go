package sage

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sage-mcp/sage/shared/textcut"
)

// Limits of Settings.
const (
	MinSettingsMaxChars = 200   // the prompt hook's smallest size budget
	MaxSettingsMaxChars = 50000 // and its largest
	MaxSettingsResults  = 50
	MaxOffProjects      = 200
)

// Settings are the recall parameters of a namespace that the bridge's
// hooks follow (GET /api/v1/settings), edited in the console. Until they
// are saved once (UpdatedAt zero) the hooks keep their local options.
type Settings struct {
	// MaxResults is how many memories the prompt hook asks for.
	MaxResults int
	// MaxChars bounds the injected block, in runes (markers included).
	MaxChars int
	// MinScore drops recalled memories scoring below it (0: none dropped).
	MinScore float64
	// Inject turns recall (prompt hook and session recap) on or off.
	Inject bool
	// OffProjects are the projects in which recall is off even when
	// Inject is on.
	OffProjects []string
	// UpdatedAt is when they were saved; zero means never (defaults).
	UpdatedAt time.Time
}

// DefaultSettings are the settings shown before any are saved: the
// prompt hook's own defaults.
func DefaultSettings() Settings {
	return Settings{MaxResults: 8, MaxChars: 8000, MinScore: 1.0/61 + 1e-6, Inject: true, OffProjects: []string{}}
}

// InjectFor reports whether recall is on in project.
func (s Settings) InjectFor(project string) bool {
	return s.Inject && !slices.Contains(s.OffProjects, project)
}

// Normalize trims the project names and drops empty ones and repeats,
// in sorted order.
func (s Settings) Normalize() Settings {
	out := make([]string, 0, len(s.OffProjects))
	for _, p := range s.OffProjects {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	s.OffProjects = slices.Compact(out)
	return s
}

// Validate checks the settings' ranges.
func (s Settings) Validate() error {
	if s.MaxResults < 1 || s.MaxResults > MaxSettingsResults {
		return Invalidf("max_results", "must be between 1 and %d, got %d", MaxSettingsResults, s.MaxResults)
	}
	if s.MaxChars < MinSettingsMaxChars || s.MaxChars > MaxSettingsMaxChars {
		return Invalidf("max_chars", "must be between %d and %d, got %d", MinSettingsMaxChars, MaxSettingsMaxChars, s.MaxChars)
	}
	if math.IsNaN(s.MinScore) || s.MinScore < 0 || s.MinScore > 1 {
		return Invalidf("min_score", "must be between 0 and 1, got %v", s.MinScore)
	}
	if len(s.OffProjects) > MaxOffProjects {
		return Invalidf("off_projects", "at most %d projects, got %d", MaxOffProjects, len(s.OffProjects))
	}
	for _, p := range s.OffProjects {
		if err := ValidateProject(p); err != nil {
			return Invalidf("off_projects", "%q: %v", textcut.Bytes(p, 40, textcut.Ellipsis), err)
		}
	}
	return nil
}
