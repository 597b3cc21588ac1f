package http_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/shared/api"
)

// TestRESTGlobalMemories: /context with a project brings the global
// memories (no project) along; /search does with include_global=true.
func TestRESTGlobalMemories(t *testing.T) {
	t.Parallel()
	_, u, key := MustREST(t)
	var own, global, other api.SaveResult
	MustDo(t, "POST", u+"/notes", key, api.Note{Content: "kestrel rule of project alpha", Kind: "decision", Project: "alpha"}).MustStatus(t, 200).MustJSON(t, &own)
	MustDo(t, "POST", u+"/notes", key, api.Note{Content: "kestrel preference of the user", Kind: "decision"}).MustStatus(t, 200).MustJSON(t, &global)
	MustDo(t, "POST", u+"/notes", key, api.Note{Content: "kestrel rule of project beta", Kind: "decision", Project: "beta"}).MustStatus(t, 200).MustJSON(t, &other)

	idsOf := func(ms []api.Memory) []int64 {
		var out []int64
		for _, m := range ms {
			out = append(out, m.ID)
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name, query string
		want        []int64
	}{
		{"search of a project", "/search?q=kestrel&mode=keyword&project=alpha", []int64{own.ID}},
		{"search with include_global", "/search?q=kestrel&mode=keyword&kind=decision&project=alpha&include_global=true", []int64{own.ID, global.ID}},
		{"search with include_global=false", "/search?q=kestrel&mode=keyword&project=alpha&include_global=false", []int64{own.ID}},
		{"context of a project", "/context?q=kestrel&project=alpha", []int64{own.ID, global.ID}},
	}
	for _, tt := range tests {
		var got []int64
		if strings.HasPrefix(tt.query, "/search") {
			var sr api.SearchResponse
			MustDo(t, "GET", u+tt.query, key, nil).MustStatus(t, 200).MustJSON(t, &sr)
			got = idsOf(sr.Results)
		} else {
			var cr api.ContextResponse
			MustDo(t, "GET", u+tt.query, key, nil).MustStatus(t, 200).MustJSON(t, &cr)
			got = idsOf(cr.Items)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: ids %v, want %v", tt.name, got, tt.want)
		}
	}
	var eb api.ErrorBody
	MustDo(t, "GET", u+"/search?q=kestrel&project=alpha&include_global=maybe", key, nil).MustStatus(t, 400).MustJSON(t, &eb)
	if eb.Error.Code != api.CodeInvalid || eb.Error.Message == "" {
		t.Errorf("include_global=maybe: %+v", eb)
	}
}
