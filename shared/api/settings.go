package api

import "time"

// Settings is the answer to GET /api/v1/settings?project=P: the recall
// parameters the hooks follow, as saved in the console for the caller's
// namespace. Stored is false until they are saved once; the hooks then
// keep their local options.
type Settings struct {
	Stored bool `json:"stored"`
	// Inject is whether recall is on in the project asked about (on
	// globally and the project not turned off).
	Inject     bool    `json:"inject"`
	MaxResults int     `json:"max_results"`
	MaxChars   int     `json:"max_chars"`
	MinScore   float64 `json:"min_score"`
	// OffProjects lists the projects in which recall is off.
	OffProjects []string   `json:"off_projects"`
	UpdatedAt   *time.Time `json:"updated_at,omitempty"`
}
