package main

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestForEach: every item is done exactly once, by one of the sessions'
// goroutines; the first error stops the rest and is returned.
func TestForEach(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		workers int
		n       int
		failAt  int // -1: no failure
		wantErr error
	}{
		{"all items", 3, 100, -1, nil},
		{"no items", 2, 0, -1, nil},
		{"one worker", 1, 10, -1, nil},
		{"failure stops", 4, 1000, 5, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			css := make([]*mcp.ClientSession, tt.workers)
			var mu sync.Mutex
			seen := map[int]int{}
			_, err := forEach(context.Background(), css, tt.n, func(ctx context.Context, w int, _ *mcp.ClientSession, i int) error {
				if w < 0 || w >= tt.workers {
					t.Errorf("worker %d of %d", w, tt.workers)
				}
				mu.Lock()
				seen[i]++
				mu.Unlock()
				if i == tt.failAt {
					return boom
				}
				return nil
			})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			for i, c := range seen {
				if c != 1 || i < 0 || i >= tt.n {
					t.Errorf("item %d done %d times", i, c)
				}
			}
			if tt.wantErr == nil && len(seen) != tt.n {
				t.Errorf("%d items done, want %d", len(seen), tt.n)
			}
			if tt.wantErr != nil && len(seen) == tt.n {
				t.Errorf("all %d items done despite the failure", tt.n)
			}
		})
	}
}
