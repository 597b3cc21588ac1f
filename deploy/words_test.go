package deploy_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/deploy"
	"github.com/sage-mcp/sage/testkit/wanterr"
)

func TestSplitWords(t *testing.T) {
	vars := map[string]string{"V": "1.2.3", "EMPTY": "", "TWO": "a b"}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	for _, tc := range []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: `go build -trimpath -ldflags "-s -w -X x.Version=${V}" -o /out/b ./cmd/b`,
			want: []string{"go", "build", "-trimpath", "-ldflags", "-s -w -X x.Version=1.2.3", "-o", "/out/b", "./cmd/b"}},
		{in: `GOOS=${EMPTY} A=$V go`, want: []string{"GOOS=", "A=1.2.3", "go"}},
		{in: `'$V "x"' "\$V \"q\" \n"`, want: []string{`$V "x"`, `$V "q" \n`}},
		{in: `a\ b  c`, want: []string{"a b", "c"}},
		{in: `$TWO x$EMPTY "$EMPTY"`, want: []string{"a", "b", "x", ""}},
		{in: `${NOPE:-dflt} ${EMPTY:-d2}`, want: []string{"dflt", "d2"}},
		{in: "", want: nil},
		{in: `$NOPE`, wantErr: "not set"},
		{in: `"open`, wantErr: "unterminated"},
		{in: `'open`, wantErr: "unterminated"},
		{in: `a; b`, wantErr: "not supported"},
		{in: "a `b`", wantErr: "not supported"},
		{in: `${1}`, wantErr: "bad variable"},
		{in: `x\`, wantErr: "trailing backslash"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := deploy.SplitWords(tc.in, lookup)
			if !wanterr.Check(t, err, tc.wantErr) {
				return
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%q = %q; want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzSplitWords(f *testing.F) {
	f.Add(`go build -ldflags "-X a.V=${V}" ./x`)
	f.Add(`'a b' c\ d "$V"`)
	f.Add(`${V:-x}$V`)
	f.Fuzz(func(t *testing.T, in string) {
		lookup := func(k string) (string, bool) { return "v v", k == "V" }
		words, err := deploy.SplitWords(in, lookup)
		if err != nil {
			return
		}
		// Plain words (no quoting or expansion) round-trip.
		blank := func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }
		if !strings.ContainsAny(in, `'"\$`) && !slices.Equal(words, strings.FieldsFunc(in, blank)) {
			t.Fatalf("%q: %q, want %q", in, words, strings.FieldsFunc(in, blank))
		}
	})
}
