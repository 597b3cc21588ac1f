// Package labelled is the labelled set that calibrates the injection gate
// (package gate): a realistic store of coding and chat memories in English
// and Chinese — turns saved by the prompt hooks, with their metadata (the
// working directory, the client, the git branch) and dates, and notes —
// and prompts, each labelled with the memory it should recall or with
// none. Everything is deterministic: the same store and prompts every run.
package labelled

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// Memory is one memory of the store. Key names it for the labels
// (distractors have keys too, no prompt wants them).
type Memory struct {
	Key        string
	Project    string
	SessionID  string
	Kind       sage.Kind
	Prompt     string // a turn's user prompt
	Response   string // a turn's assistant response
	Content    string // a note's content
	Tags       []string
	Metadata   json.RawMessage
	OccurredAt time.Time
}

// Prompt is a prompt of the set: asked in Project by a new session, it
// should recall the memory Want ("" : nothing should be injected).
type Prompt struct {
	Text      string
	Project   string
	SessionID string
	Want      string
}

// start is when the store's history begins.
var start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// projects a prompt about no project (a global memory, an unrelated
// prompt) is asked from, in turn.
var projects = []string{"shop-api", "web-ui", "infra", "ml-pipeline", "dotfiles"}

// cwd is where the hooks ran for project (the home directory for chats).
func cwd(project string, i int) string {
	home := "/home/ana"
	if i%3 == 2 {
		home = "/Users/lei"
	}
	if project == "" {
		return home
	}
	return home + "/src/" + project
}

func metadata(project string, i int) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"cwd": cwd(project, i), "client": "claude-code", "git_branch": "main", "model": "claude-sonnet-4-5"})
	return b
}

// Store returns the store: the facts and the distractors, interleaved in
// time, a few days apart.
func Store() []Memory {
	var out []Memory
	for i, f := range facts {
		m := Memory{Key: f.Key, Project: f.Project, SessionID: fmt.Sprintf("s-%02d-%s", i, f.Key), Tags: f.Tags,
			OccurredAt: start.Add(time.Duration(i) * 61 * time.Hour)}
		if f.Kind == "" {
			m.Kind, m.Prompt, m.Response, m.Metadata = sage.KindTurn, f.Prompt, f.Response, metadata(f.Project, i)
		} else {
			m.Kind, m.Content = sage.Kind(f.Kind), f.Note
		}
		out = append(out, m)
	}
	for i, d := range distractors {
		out = append(out, Memory{Key: fmt.Sprintf("distractor-%02d", i), Project: d.Project, SessionID: fmt.Sprintf("d-%02d", i),
			Kind: sage.KindTurn, Prompt: d.Prompt, Response: d.Response, Metadata: metadata(d.Project, i),
			OccurredAt: start.Add(time.Duration(i)*67*time.Hour + 30*time.Minute)})
	}
	return out
}

// Prompts returns the labelled prompts: those of every fact (labelled
// with it) and the unrelated ones (labelled none), each from a new session.
func Prompts() []Prompt {
	var out []Prompt
	for i, f := range facts {
		for j, p := range f.Recall {
			project := f.Project
			if project == "" {
				project = projects[(i+j)%len(projects)]
			}
			out = append(out, Prompt{Text: p, Project: project, SessionID: fmt.Sprintf("ask-%02d-%d", i, j), Want: f.Key})
		}
	}
	for i, p := range unrelated {
		out = append(out, Prompt{Text: p, Project: projects[i%len(projects)], SessionID: fmt.Sprintf("ask-none-%03d", i)})
	}
	return out
}

// Save stores the memories with svc (turns as the hooks save them, notes
// as remember does) and returns their ids by key.
func Save(ctx context.Context, svc sage.Service, ms []Memory) (map[string]int64, error) {
	ids := make(map[string]int64, len(ms))
	for _, m := range ms {
		var r sage.SaveResult
		var err error
		if m.Kind == sage.KindTurn {
			r, err = svc.SaveTurn(ctx, sage.Turn{IdempotencyKey: m.SessionID + ":" + m.Key, SessionID: m.SessionID, Project: m.Project,
				UserPrompt: m.Prompt, AssistantResponse: m.Response, Metadata: m.Metadata, OccurredAt: m.OccurredAt})
		} else {
			r, err = svc.Remember(ctx, sage.Note{IdempotencyKey: m.SessionID + ":" + m.Key, Content: m.Content, Kind: m.Kind, Tags: m.Tags,
				Project: m.Project, SessionID: m.SessionID, Metadata: m.Metadata, OccurredAt: m.OccurredAt})
		}
		if err != nil {
			return nil, fmt.Errorf("save %s: %w", m.Key, err)
		}
		ids[m.Key] = r.ID
	}
	return ids, nil
}
