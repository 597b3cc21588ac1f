package dotenv

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	env := map[string]string{"FROM_ENV": "inherited"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		name, in string
		want     []Var
	}{
		{"plain", "A=1\nB=two words\n", []Var{{"A", "1", 1}, {"B", "two words", 2}}},
		{"blank lines, comments, CRLF", "# c\r\n\r\n  # indented comment\nA=1\r\n\nB=2", []Var{{"A", "1", 4}, {"B", "2", 6}}},
		{"byte-order mark", "\ufeffA=1\n", []Var{{"A", "1", 1}}},
		{"export prefix", "export A=1\nexport\tB=2\nexport=3\n", []Var{{"A", "1", 1}, {"B", "2", 2}, {"export", "3", 3}}},
		{"spaces around", "  A = v1  \n", []Var{{"A", "v1", 1}}},
		{"yaml style", "A: 1\n", []Var{{"A", "1", 1}}},
		{"key characters", "a.b-c_[0]=x\nÉTÉ=1\n", []Var{{"a.b-c_[0]", "x", 1}, {"ÉTÉ", "1", 2}}},
		{"empty", "A=\nB=\"\"\nC=''\n", []Var{{"A", "", 1}, {"B", "", 2}, {"C", "", 3}}},
		{"inline comment", "A=v1 # note\nB=v2#not a comment\nC=http://h:1/#frag\nD=x\t#tab is not enough\n", []Var{
			{"A", "v1", 1}, {"B", "v2#not a comment", 2}, {"C", "http://h:1/#frag", 3}, {"D", "x\t#tab is not enough", 4}}},
		{"value starting with #", "A= #x\n", []Var{{"A", "#x", 1}}},
		{"equals in value", "URL=postgres://u:p@h/db?sslmode=disable&a=b\n", []Var{{"URL", "postgres://u:p@h/db?sslmode=disable&a=b", 1}}},
		{"single quotes are literal", `A='x #y \n $z'` + "\n" + `B='it\'s'` + "\n", []Var{{"A", `x #y \n $z`, 1}, {"B", "it's", 2}}},
		{"double-quote escapes", `A="a\"b\\c\n\t\$d"` + "\n", []Var{{"A", "a\"b\\c\n\t$d", 1}}},
		{"other backslashes kept", `A="\c\x41\u00e9"` + "\n", []Var{{"A", `\c\x41\u00e9`, 1}}},
		{"octal", `A="\0101\0777\012\0"` + "\n", []Var{{"A", `A\777\12\`, 1}}},
		{"bell and friends", `A="\a\b\f\r\v"`, []Var{{"A", "\a\b\f\r\v", 1}}},
		{"quoted with comment", "A=\"x\" # note\nB='y'   \n", []Var{{"A", "x", 1}, {"B", "y", 2}}},
		{"multi-line quoted", "A=\"one\ntwo\"\nB=3\n", []Var{{"A", "one\ntwo", 1}, {"B", "3", 3}}},
		{"later wins in Map, both listed", "A=1\nA=2\n", []Var{{"A", "1", 1}, {"A", "2", 2}}},
		{"bare keys", "FROM_ENV\nMISSING\nB=1", []Var{{"FROM_ENV", "inherited", 1}, {"B", "1", 3}}},
		{"dollar kept", "A=$HOME/x\nB=\"${C}\"\n", []Var{{"A", "$HOME/x", 1}, {"B", "${C}", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in), lookup)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no key", "=v\n", "line 1: want KEY=VALUE"},
		{"space in key", "A B=1\n", "line 1: want KEY=VALUE: a space"},
		{"bad character", "A\n\nA$B=1\n", `line 3: want KEY=VALUE: the character '$'`},
		{"unterminated single", "A='open\n", "line 1 (A): unterminated single quote"},
		{"unterminated double", "A=1\nB=\"open\\\"\n", "line 2 (B): unterminated double quote"},
		{"text after the quote", "A=\"x\" y\n", "line 1 (A): text after the closing quote"},
		{"too large", "A=" + strings.Repeat("x", MaxSize), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%.40q): %v, want %q", tt.in, err, tt.want)
			}
		})
	}
}

// TestErrorsHoldNoValue: a value (a token, a password) never appears in an
// error.
func TestErrorsHoldNoValue(t *testing.T) {
	for _, in := range []string{"SAGE_TOKEN='supersecret\n", "SAGE_TOKEN=\"supersecret\" tail\n", "SAGE_TOKEN=\"supersecret\n"} {
		if _, err := Parse([]byte(in), nil); err == nil || strings.Contains(err.Error(), "supersecret") {
			t.Errorf("Parse(%q): %v", in, err)
		}
	}
}

func TestMap(t *testing.T) {
	got := Map([]Var{{"A", "1", 1}, {"B", "x", 2}, {"A", "2", 3}})
	if want := map[string]string{"A": "2", "B": "x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Map = %v, want %v", got, want)
	}
}

// FuzzParse: no panic; keys are non-empty without white space; lines only
// grow; and a value written back single-quoted reads the same.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"SAGE_TOKEN=abc\n", "export A=\"x\\ny\" # c\nB='q'\n", "A=\"\\0101\"\nB\nC: d #e", "\ufeff# c\r\nA= 'x'\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vars, err := Parse(data, nil)
		if err != nil {
			return
		}
		last := 0
		for _, v := range vars {
			if v.Key == "" || strings.ContainsAny(v.Key, " \t\r\n=#'\"") {
				t.Fatalf("bad key %q", v.Key)
			}
			if v.Line < last || v.Line < 1 {
				t.Fatalf("line %d after %d", v.Line, last)
			}
			last = v.Line
			if strings.ContainsRune(v.Value, '\'') || strings.ContainsRune(v.Value, '\\') {
				continue
			}
			again, err := Parse([]byte(v.Key+"='"+v.Value+"'\n"), nil)
			if err != nil || len(again) != 1 || again[0].Value != v.Value {
				t.Fatalf("%s=%q written back reads %v, %v", v.Key, v.Value, again, err)
			}
		}
	})
}
