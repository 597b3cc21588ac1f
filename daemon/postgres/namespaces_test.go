package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	sage "github.com/sage-mcp/sage/daemon"
)

// TestNamespaces: the namespaces holding memories, each once, in order;
// none on an empty database.
func TestNamespaces(t *testing.T) {
	t.Parallel()
	svc, db := MustService(t)
	ctx := context.Background()
	got, err := db.Namespaces(ctx)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty database: %q, %v", got, err)
	}
	for i, ns := range []string{"team", "default", "team", "alpha"} {
		note := sage.Note{Content: fmt.Sprintf("note %d in namespace %s", i, ns)}
		if _, err := svc.Remember(sage.WithNamespace(ctx, ns), note); err != nil {
			t.Fatalf("remember in %s: %v", ns, err)
		}
	}
	got, err = db.Namespaces(ctx)
	if want := []string{"alpha", "default", "team"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("namespaces %q, %v; want %q", got, err, want)
	}
}
