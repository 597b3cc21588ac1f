package tokenize

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestWordsAndTerms checks Words and Terms on the same kinds of input.
func TestWordsAndTerms(t *testing.T) {
	type test struct {
		in   string
		want []string
	}
	for _, f := range []struct {
		name  string
		fn    func(string) []string
		tests []test
	}{
		{name: "Words", fn: Words, tests: []test{
			{"", nil},
			{"Hello, World!", []string{"hello", "world"}},
			{"Caroline's dog", []string{"caroline", "s", "dog"}},
			{"pgvector 0.8 HNSW", []string{"pgvector", "0", "8", "hnsw"}},
			{"我喜欢北京", []string{"我", "喜", "欢", "北", "京"}},
			{"東京へ行きました", []string{"東", "京", "へ", "行", "き", "ま", "し", "た"}},
			{"用Go写", []string{"用", "go", "写"}},
			{"ＡＢＣ１２３", []string{"abc123"}},
			{"Ünïcode Straße", []string{"ünïcode", "straße"}},
			{"snake_case.name", []string{"snake", "case", "name"}},
			{"  \t\n ", nil},
		}},
		{name: "Terms", fn: Terms, tests: []test{
			{"", nil},
			{"Painting paints", []string{"paint", "paint"}},
			{"我喜欢北京", []string{"我", "喜", "我喜", "欢", "喜欢", "北", "欢北", "京", "北京"}},
			{"北京 上海", []string{"北", "京", "北京", "上", "海", "上海"}},
			{"用Go写代码", []string{"用", "go", "写", "代", "写代", "码", "代码"}},
		}},
	} {
		for _, tt := range f.tests {
			if got := f.fn(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s(%q) = %q, want %q", f.name, tt.in, got, tt.want)
			}
		}
	}
}

func TestStem(t *testing.T) {
	groups := [][]string{
		{"paint", "paints", "painted", "painting"},
		{"hike", "hikes", "hiked", "hiking"},
		{"run", "running"},
		{"stop", "stopped", "stopping"},
		{"library", "libraries"},
		{"study", "studied", "studies"},
		{"class", "classes"},
	}
	for _, g := range groups {
		want := Stem(g[0])
		for _, w := range g[1:] {
			if got := Stem(w); got != want {
				t.Errorf("Stem(%q) = %q, want %q (as %q)", w, got, want, g[0])
			}
		}
	}
	for _, w := range []string{"is", "bus", "miss", "tree", "café", "go123"} {
		if got := Stem(w); got != w {
			t.Errorf("Stem(%q) = %q, want it unchanged", w, got)
		}
	}
}

func TestQueryTerms(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"What did Caroline paint?", []string{"carolin", "paint"}},
		{"Where does she live these days?", []string{"live", "day"}},
		{"the the", []string{"the"}},
		{"pgvector pgvector index", []string{"pgvector", "index"}},
		{"我的猫", []string{"我的", "猫", "的猫"}},
	}
	for _, tt := range tests {
		if got := QueryTerms(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("QueryTerms(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIndexString(t *testing.T) {
	got := IndexString("Melanie: I went camping! 我们去露营")
	want := "melani i went camp 我 们 我们 去 们去 露 去露 营 露营"
	if got != want {
		t.Errorf("IndexString = %q, want %q", got, want)
	}
}

func TestLongTokenCut(t *testing.T) {
	w := Words(strings.Repeat("é", 100))
	if len(w) != 1 || len(w[0]) > MaxTokenBytes || !utf8.ValidString(w[0]) {
		t.Fatalf("long token = %q", w)
	}
}

func FuzzTerms(f *testing.F) {
	for _, s := range []string{"", "Hello world", "我喜欢北京", "東京へ行きました", "a'b’c", "\xff\xfe", "ＡＢＣ", "x_y.z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, term := range Terms(s) {
			if term == "" || strings.ContainsAny(term, " \t\n'&|!():*<>\\") {
				t.Fatalf("bad term %q from %q", term, s)
			}
			if len(term) > 2*MaxTokenBytes || !utf8.ValidString(term) {
				t.Fatalf("bad term %q from %q", term, s)
			}
		}
		if len(Words(s)) > len(Terms(s)) {
			t.Fatalf("fewer terms than words for %q", s)
		}
	})
}

// TestRuneClassesFast checks the fast paths of IsCJK and isWordRune against
// their definitions, for every rune.
func TestRuneClassesFast(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		cjk := unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
			unicode.Is(unicode.Hangul, r) || unicode.Is(unicode.Thai, r)
		if IsCJK(r) != cjk {
			t.Fatalf("IsCJK(%U) = %v, want %v", r, !cjk, cjk)
		}
		word := unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
		if isWordRune(r) != word {
			t.Fatalf("isWordRune(%U) = %v, want %v", r, !word, word)
		}
	}
}
