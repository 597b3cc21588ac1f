package recallbench

import (
	"context"
	"fmt"
	"time"

	sage "github.com/sage-mcp/sage/daemon"
)

// Store is a dataset loaded into a Sage service: one project per
// conversation, one session per session, one note per turn ("Speaker:
// text"), dated a minute apart from the session's date.
type Store struct {
	svc  sage.Service
	turn map[int64]string // memory id → turn id
}

// Load stores the turns of ds in svc.
func Load(ctx context.Context, svc sage.Service, ds Dataset) (*Store, error) {
	st := &Store{svc: svc, turn: map[int64]string{}}
	for _, c := range ds.Conversations {
		for _, s := range c.Sessions {
			for i, t := range s.Turns {
				r, err := svc.Remember(ctx, sage.Note{Content: TurnText(t), Project: c.ID, SessionID: s.ID,
					Kind: sage.KindNote, OccurredAt: s.Date.Add(time.Duration(i) * time.Minute)})
				if err != nil {
					return nil, fmt.Errorf("load %s: %w", t.ID, err)
				}
				st.turn[r.ID] = t.ID
			}
		}
	}
	return st, nil
}

// Search is Sage's search in mode, in the conversation's project.
func (st *Store) Search(mode sage.Mode) Search {
	return func(ctx context.Context, conv, question string, k int) ([]string, error) {
		res, err := st.svc.Search(ctx, sage.SearchQuery{Query: question, Limit: k, Mode: mode, Filter: sage.Filter{Project: conv}})
		if err != nil {
			return nil, err
		}
		out := make([]string, 0, len(res))
		for _, r := range res {
			out = append(out, st.turn[r.ID])
		}
		return out, nil
	}
}
