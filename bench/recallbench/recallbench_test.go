package recallbench_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/sage-mcp/sage/bench/recallbench"
)

// TestGenerate: the dev set is the same for the same seed, covers every
// question type, and every evidence id names a turn of the question's
// conversation.
func TestGenerate(t *testing.T) {
	ds := recallbench.Generate(1, 10, 10)
	if !reflect.DeepEqual(ds, recallbench.Generate(1, 10, 10)) {
		t.Fatal("Generate is not deterministic")
	}
	if len(ds.Questions) < 300 {
		t.Errorf("%d questions; want a few hundred", len(ds.Questions))
	}
	turns := map[string]string{} // turn id → conversation
	for _, c := range ds.Conversations {
		if len(c.Speakers) != 2 || len(c.Sessions) != 10 {
			t.Errorf("%s: %d speakers, %d sessions", c.ID, len(c.Speakers), len(c.Sessions))
		}
		for i, s := range c.Sessions {
			if i > 0 && !s.Date.After(c.Sessions[i-1].Date) {
				t.Errorf("%s: session dates out of order", s.ID)
			}
			for _, tu := range s.Turns {
				turns[tu.ID] = c.ID
			}
		}
	}
	types := map[string]int{}
	for _, q := range ds.Questions {
		types[q.Type]++
		if len(q.Evidence) == 0 {
			t.Errorf("%q has no evidence", q.Text)
		}
		for _, e := range q.Evidence {
			if turns[e] != q.Conversation {
				t.Errorf("%q: evidence %s is not a turn of %s", q.Text, e, q.Conversation)
			}
		}
	}
	for _, typ := range recallbench.Types {
		if types[typ] < 20 {
			t.Errorf("%d questions of type %s; want at least 20", types[typ], typ)
		}
	}
}

// TestEvaluate: recall@k counts the share of a question's evidence among
// the first k turns a method returns, per type and overall.
func TestEvaluate(t *testing.T) {
	ds := recallbench.Dataset{Questions: []recallbench.Question{
		{Conversation: "c", Type: recallbench.SingleHop, Text: "q1", Evidence: []string{"a"}},
		{Conversation: "c", Type: recallbench.MultiSession, Text: "q2", Evidence: []string{"a", "k"}},
	}}
	ranked := []string{"x1", "x2", "x3", "x4", "x5", "a", "x7", "x8", "x9", "k", "x11"}
	rep, err := recallbench.Evaluate(context.Background(), ds, []string{"m"}, map[string]recallbench.Search{
		"m": func(context.Context, string, string, int) ([]string, error) { return ranked, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		typ       string
		at5, at10 float64
	}{
		{recallbench.SingleHop, 0, 1},
		{recallbench.MultiSession, 0, 1},
		{"all", 0, 1},
	} {
		if r := rep.Recall["m"][c.typ]; r.At5 != c.at5 || r.At10 != c.at10 {
			t.Errorf("%s: recall@5 %v @10 %v; want %v %v", c.typ, r.At5, r.At10, c.at5, c.at10)
		}
	}
}

// TestBM25: the baseline ranks the turn holding the rarest query words
// first.
func TestBM25(t *testing.T) {
	ds := recallbench.Generate(3, 1, 3)
	conv := ds.Conversations[0]
	target := conv.Sessions[1].Turns[2]
	got, err := recallbench.NewBM25(ds).Search(context.Background(), conv.ID, target.Text, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0] != target.ID {
		t.Errorf("BM25 of a turn's own text ranks %v first; want %s", got, target.ID)
	}
}
