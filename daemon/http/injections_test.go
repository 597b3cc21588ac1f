package http_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/shared/api"
)

func TestRESTContextParamsAndInjections(t *testing.T) {
	t.Parallel()
	st, u, key := MustREST(t)
	turns := api.SaveTurnsRequest{Turns: []api.Turn{
		{SessionID: "mine", Project: "web", UserPrompt: "which port does the dev server use", AssistantResponse: "vite serves on port 5173"},
		{SessionID: "older", Project: "web", UserPrompt: "dev server port?", AssistantResponse: "the vite dev server listens on 5173"},
	}}
	var saved api.SaveTurnsResponse
	MustDo(t, "POST", u+"/turns", key, turns).MustStatus(t, 200).MustJSON(t, &saved)

	ctx := func(params string) api.ContextResponse {
		t.Helper()
		var cr api.ContextResponse
		MustDo(t, "GET", u+"/context?project=web&q="+url.QueryEscape("vite dev server port 5173")+params, key, nil).MustStatus(t, 200).MustJSON(t, &cr)
		return cr
	}
	tests := []struct {
		name       string
		params     string
		items      []int64
		recorded   bool
		candidates bool
	}{
		{"plain, recorded", "", []int64{saved.Results[0].ID, saved.Results[1].ID}, true, false},
		{"exclude session", "&exclude_session=mine&source=hook", []int64{saved.Results[1].ID}, true, false},
		{"min score drops all", "&min_score=99", nil, false, false},
		{"dry run", "&dry_run=true&exclude_session=mine", []int64{saved.Results[1].ID}, false, true},
	}
	for _, tt := range tests {
		cr := ctx(tt.params)
		var got []int64
		for _, m := range cr.Items {
			got = append(got, m.ID)
		}
		if len(got) != len(tt.items) || (len(got) > 0 && !sameSet(got, tt.items)) {
			t.Errorf("%s: items %v, want %v", tt.name, got, tt.items)
		}
		if (cr.Recorded != 0) != tt.recorded || (len(cr.Candidates) > 0) != tt.candidates {
			t.Errorf("%s: recorded %d, %d candidates", tt.name, cr.Recorded, len(cr.Candidates))
		}
		if tt.candidates {
			mine := 0
			for _, c := range cr.Candidates {
				if c.Memory.SessionID == "mine" {
					mine++
					if c.Injected || c.Reason != "from this session" {
						t.Errorf("%s: candidate %+v", tt.name, c)
					}
				}
			}
			if mine != 1 {
				t.Errorf("%s: %d candidates of the excluded session, want 1 (with its reason)", tt.name, mine)
			}
		}
	}

	var all, mine api.InjectionsResponse
	MustDo(t, "GET", u+"/injections", key, nil).MustStatus(t, 200).MustJSON(t, &all)
	MustDo(t, "GET", u+"/injections?session=mine", key, nil).MustStatus(t, 200).MustJSON(t, &mine)
	if len(all.Injections) != 2 || len(mine.Injections) != 1 {
		t.Fatalf("injections: all %d, session mine %d; want 2 and 1", len(all.Injections), len(mine.Injections))
	}
	in := mine.Injections[0]
	if in.Source != "hook" || in.Project != "web" || len(in.PromptSHA256) != 64 || in.PromptHead != "vite dev server port 5173" ||
		in.Chars == 0 || len(in.Memories) != 1 || in.Memories[0].ID != saved.Results[1].ID {
		t.Errorf("injection %+v", in)
	}
	if all.Injections[1].Source != "rest" {
		t.Errorf("first injection source %q, want rest", all.Injections[1].Source)
	}

	for _, bad := range []string{"min_score=-1", "min_score=x", "gate=maybe", "dry_run=2", "source=mcp", "exclude_session=" + strings.Repeat("x", 300)} {
		var eb api.ErrorBody
		MustDo(t, "GET", u+"/context?q=x&"+bad, key, nil).MustStatus(t, 400).MustJSON(t, &eb)
		if eb.Error.Code != api.CodeInvalid {
			t.Errorf("%s: %+v", bad, eb)
		}
	}
	MustDo(t, "GET", u+"/injections?limit=101", key, nil).MustStatus(t, 400)
	// Another namespace sees none of them.
	other := st.MustKey(t, "other")
	var none api.InjectionsResponse
	MustDo(t, "GET", u+"/injections", other, nil).MustStatus(t, 200).MustJSON(t, &none)
	if len(none.Injections) != 0 {
		t.Errorf("namespace other sees %d injections", len(none.Injections))
	}
}

func sameSet(a, b []int64) bool {
	in := map[int64]bool{}
	for _, x := range a {
		in[x] = true
	}
	for _, x := range b {
		if !in[x] {
			return false
		}
	}
	return len(a) == len(b)
}
