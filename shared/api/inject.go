package api

import "time"

// Hit is one retriever's verdict on a memory: its 1-based rank in that
// retriever's list (0: not in it) and the retriever's own score
// (keyword: BM25 normalised to [0, 1]; vector: cosine similarity). A vector
// hit of rank 0 with a score carries the cosine computed after fusion for a
// memory only the keyword retriever found.
type Hit struct {
	Rank  int     `json:"rank"`
	Score float64 `json:"score"`
}

// Candidate is a memory GET /api/v1/context considered (with dry_run),
// with each retriever's hit and the verdict of the filters and gate.
type Candidate struct {
	Memory   Memory `json:"memory"`
	Keyword  Hit    `json:"keyword"`
	Vector   Hit    `json:"vector"`
	Injected bool   `json:"injected"`
	Reason   string `json:"reason"`
}

// InjectedMemory is one memory of a recorded injection.
type InjectedMemory struct {
	ID      int64   `json:"id"`
	Score   float64 `json:"score"`
	Keyword Hit     `json:"keyword"`
	Vector  Hit     `json:"vector"`
}

// Injection is one record of the injection audit: a context block given
// to a prompt.
type Injection struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	Source    string    `json:"source"`
	SessionID string    `json:"session_id,omitempty"`
	Project   string    `json:"project,omitempty"`
	// PromptSHA256 is the hex SHA-256 of the whole prompt (the query),
	// PromptHead its first 200 characters.
	PromptSHA256 string           `json:"prompt_sha256"`
	PromptHead   string           `json:"prompt_head"`
	Memories     []InjectedMemory `json:"memories"`
	// Chars is how many characters were injected.
	Chars int `json:"chars"`
}

// InjectionsResponse is the answer to GET /api/v1/injections, most recent
// first.
type InjectionsResponse struct {
	Injections []Injection `json:"injections"`
}
