package labelled

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
)

// TestSet checks the labelled set's shape: at least 200 prompts, related
// and unrelated ones in English and Chinese, every label naming a memory
// of the store, unique keys and sessions, hook turns carrying metadata.
func TestSet(t *testing.T) {
	store, prompts := Store(), Prompts()
	keys := map[string]bool{}
	for _, m := range store {
		if keys[m.Key] {
			t.Errorf("duplicate key %q", m.Key)
		}
		keys[m.Key] = true
		if m.Kind == "turn" && (!strings.Contains(string(m.Metadata), `"cwd"`) || m.OccurredAt.IsZero()) {
			t.Errorf("turn %q lacks the hooks' metadata or date", m.Key)
		}
	}
	counts := map[string]int{}
	sessions := map[string]bool{}
	for _, p := range prompts {
		if p.Want != "" && !keys[p.Want] {
			t.Errorf("prompt %q wants unknown memory %q", p.Text, p.Want)
		}
		if sessions[p.SessionID] {
			t.Errorf("duplicate session %q", p.SessionID)
		}
		sessions[p.SessionID] = true
		lang := "en"
		for _, r := range p.Text {
			if unicode.Is(unicode.Han, r) {
				lang = "zh"
				break
			}
		}
		label := "related"
		if p.Want == "" {
			label = "unrelated"
		}
		counts[label+"/"+lang]++
	}
	if len(prompts) < 200 {
		t.Errorf("%d prompts, want at least 200", len(prompts))
	}
	for _, c := range []string{"related/en", "related/zh", "unrelated/en", "unrelated/zh"} {
		if counts[c] < 10 {
			t.Errorf("%d %s prompts, want at least 10", counts[c], c)
		}
	}
	if !reflect.DeepEqual(Prompts(), prompts) || !reflect.DeepEqual(Store(), store) {
		t.Error("the set is not deterministic")
	}
}

func TestFiller(t *testing.T) {
	a, b := Filler(500), Filler(500)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("Filler is not deterministic")
	}
	texts := map[string]bool{}
	for _, m := range a {
		if m.Prompt == "" || m.Response == "" || texts[m.Prompt] {
			t.Fatalf("filler %q empty or repeated", m.Key)
		}
		texts[m.Prompt] = true
	}
}
