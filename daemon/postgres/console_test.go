package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	sage "github.com/sage-mcp/sage/daemon"
)

func TestUpdateMemory(t *testing.T) {
	svc, _ := MustService(t)
	ctx := sage.WithNamespace(context.Background(), "ns")
	r, err := svc.Remember(ctx, sage.Note{Content: "the release train leaves on tuesdays", SessionID: "s1", Tags: []string{"release"}})
	if err != nil {
		t.Fatal(err)
	}
	twin, err := svc.Remember(ctx, sage.Note{Content: "the release train leaves on tuesdays", SessionID: "s1", Kind: sage.KindFact})
	if err != nil {
		t.Fatal(err)
	}
	m, err := svc.UpdateMemory(ctx, r.ID, sage.KindDecision, []string{" release ", "quokka", "quokka"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != sage.KindDecision || !slices.Equal(m.Tags, []string{"release", "quokka"}) || m.Text != "the release train leaves on tuesdays" {
		t.Fatalf("updated memory %+v", m)
	}
	// The new tag is searchable (the search terms were rebuilt).
	rs, err := svc.Search(ctx, sage.SearchQuery{Query: "quokka", Mode: sage.ModeKeyword})
	if err != nil || len(rs) != 1 || rs[0].ID != r.ID {
		t.Fatalf("search by the new tag: %v %v", rs, err)
	}
	tests := []struct {
		name string
		ns   string
		id   int64
		kind sage.Kind
		tags []string
		want error
	}{
		{"unknown kind", "ns", r.ID, "poem", nil, sage.ErrInvalid},
		{"empty tag", "ns", r.ID, sage.KindNote, []string{" "}, sage.ErrInvalid},
		{"same text as a fact of the session", "ns", r.ID, sage.KindFact, nil, sage.ErrInvalid},
		{"missing", "ns", twin.ID + 1000, sage.KindNote, nil, sage.ErrNotFound},
		{"other namespace", "other", r.ID, sage.KindNote, nil, sage.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.UpdateMemory(sage.WithNamespace(context.Background(), tt.ns), tt.id, tt.kind, tt.tags)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
	if got, err := svc.Memory(ctx, r.ID); err != nil || got.Kind != sage.KindDecision {
		t.Fatalf("after refused updates: %+v %v", got, err)
	}
	if _, err := svc.Memory(sage.WithNamespace(context.Background(), "other"), r.ID); !errors.Is(err, sage.ErrNotFound) {
		t.Fatalf("Memory of another namespace: %v, want not found", err)
	}
}

func TestSettings(t *testing.T) {
	svc, _ := MustService(t)
	a := sage.WithNamespace(context.Background(), "a")
	b := sage.WithNamespace(context.Background(), "b")
	st, err := svc.Settings(a)
	if err != nil || !st.UpdatedAt.IsZero() || st.MaxResults != sage.DefaultSettings().MaxResults {
		t.Fatalf("settings before any save: %+v %v", st, err)
	}
	saved, err := svc.SaveSettings(a, sage.Settings{MaxResults: 3, MaxChars: 900, MinScore: 0.2, Inject: true, OffProjects: []string{" x ", "x", "", "a"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.Settings(a)
	if err != nil || got.UpdatedAt.IsZero() || got.MaxResults != 3 || got.MaxChars != 900 || got.MinScore != 0.2 ||
		!slices.Equal(got.OffProjects, []string{"a", "x"}) || !got.UpdatedAt.Equal(saved.UpdatedAt) {
		t.Fatalf("settings read back %+v %v", got, err)
	}
	if !got.InjectFor("web") || got.InjectFor("x") {
		t.Fatalf("InjectFor: web %v, x %v", got.InjectFor("web"), got.InjectFor("x"))
	}
	if other, err := svc.Settings(b); err != nil || !other.UpdatedAt.IsZero() {
		t.Fatalf("another namespace sees them: %+v %v", other, err)
	}
	bad := []sage.Settings{
		{MaxResults: 0, MaxChars: 900},
		{MaxResults: 3, MaxChars: 10},
		{MaxResults: 3, MaxChars: 900, MinScore: 2},
		{MaxResults: 3, MaxChars: 900, OffProjects: []string{string([]byte{0xff})}},
	}
	for _, s := range bad {
		if _, err := svc.SaveSettings(a, s); !errors.Is(err, sage.ErrInvalid) {
			t.Errorf("SaveSettings(%+v): %v, want invalid", s, err)
		}
	}
}

func TestOverview(t *testing.T) {
	svc, _ := MustService(t)
	ctx := sage.WithNamespace(context.Background(), "ns")
	for i, n := range []sage.Note{
		{Content: "alpha one", Project: "p1"}, {Content: "alpha two", Project: "p1", Kind: sage.KindFact},
		{Content: "beta one", Project: "p2", Kind: sage.KindFact},
	} {
		if _, err := svc.Remember(ctx, n); err != nil {
			t.Fatal(i, err)
		}
	}
	if _, err := svc.Remember(sage.WithNamespace(context.Background(), "other"), sage.Note{Content: "hidden", Project: "secret"}); err != nil {
		t.Fatal(err)
	}
	o, err := svc.Overview(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if o.Memories != 3 || len(o.MemoriesPerDay) != 7 || o.MemoriesPerDay[6].N != 3 || len(o.InjectionsPerDay) != 7 || o.DatabaseBytes <= 0 {
		t.Fatalf("overview %+v", o)
	}
	if want := []sage.Count{{Name: "p1", N: 2}, {Name: "p2", N: 1}}; !slices.Equal(o.ByProject, want) {
		t.Errorf("by project %v, want %v", o.ByProject, want)
	}
	if want := []sage.Count{{Name: "fact", N: 2}, {Name: "note", N: 1}}; !slices.Equal(o.ByKind, want) {
		t.Errorf("by kind %v, want %v", o.ByKind, want)
	}
	if _, err := svc.Overview(ctx, 0); !errors.Is(err, sage.ErrInvalid) {
		t.Errorf("0 days: %v, want invalid", err)
	}
}
