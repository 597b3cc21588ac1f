package jsonfile

import (
	"errors"
	"testing"
)

func TestRoundTripKeepsBytes(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"claude style", "{\n  \"b\": 1,\n  \"a\": {\n    \"z\": [],\n    \"y\": {}\n  },\n  \"s\": \"<a & b>\",\n  \"n\": 1e5\n}"},
		{"final newline", "{\n  \"x\": [\n    1,\n    2\n  ]\n}\n"},
		{"tabs", "{\n\t\"x\": {\n\t\t\"y\": true\n\t}\n}\n"},
		{"compact", `{"b":1,"a":null}`},
		{"four spaces", "{\n    \"k\": \"\\u00e9\\n\"\n}"},
		{"empty", "{}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseObject([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			out, err := Format(o, DetectStyle([]byte(tt.in)))
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.in {
				t.Fatalf("round trip changed the document:\n got %q\nwant %q", out, tt.in)
			}
		})
	}
}

func TestEditKeepsOrder(t *testing.T) {
	o, err := ParseObject([]byte(`{"z":1,"a":2,"m":3}`))
	if err != nil {
		t.Fatal(err)
	}
	o.Set("a", []byte(`"x"`))
	o.Set("new", []byte(`[]`))
	if !o.Delete("z") || o.Delete("nope") {
		t.Fatal("Delete reported wrongly")
	}
	got, err := o.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"x","m":3,"new":[]}`; string(got) != want {
		t.Fatalf("got %s want %s", got, want)
	}
	if _, _, err := o.Object("m"); err == nil {
		t.Error("Object on a number: no error")
	}
	if _, _, err := o.Array("a"); err == nil {
		t.Error("Array on a string: no error")
	}
}

func TestParseObjectRefuses(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"a":1`, `{"a":1} {}`, `{"a":1}x`, `"s"`, `{"a":}`, `{1:2}`} {
		if _, err := ParseObject([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseObject(%q): err %v, want ErrMalformed", in, err)
		}
	}
}

func TestEqual(t *testing.T) {
	if !Equal([]byte(`{"a":1,"b":[1,2]}`), []byte("{\n \"b\": [1, 2], \"a\": 1}")) {
		t.Error("equal values reported different")
	}
	if Equal([]byte(`{"a":1}`), []byte(`{"a":2}`)) || Equal([]byte(`{`), []byte(`{`)) {
		t.Error("different or invalid values reported equal")
	}
}

func FuzzParseFormat(f *testing.F) {
	f.Add([]byte("{\n  \"a\": [1, {\"b\": null}]\n}\n"))
	f.Add([]byte(`{"x":"\u00e9","y":{}}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ParseObject(data)
		if err != nil {
			return
		}
		s := DetectStyle(data)
		out, err := Format(o, s)
		if err != nil {
			t.Fatalf("Format: %v", err)
		}
		o2, err := ParseObject(out)
		if err != nil {
			t.Fatalf("Format produced unparsable output %q: %v", out, err)
		}
		out2, err := Format(o2, s)
		if err != nil || string(out2) != string(out) {
			t.Fatalf("Format is not stable:\n%q\n%q", out, out2)
		}
	})
}

func TestSplice(t *testing.T) {
	mixed := "{\n  \"permissions\": {\"allow\": [\"Bash(ls)\"], \"deny\": []},\n  \"model\":   \"opus\",\n  \"env\": {\"A\": \"\\u00e9\"}\n}\n"
	tests := []struct {
		name, in string
		edit     func(o *Object)
		want     string
	}{
		{"nothing changed", mixed, func(*Object) {}, mixed},
		{"add to a compact one-liner", `{"model": "opus", "x": [1, 2]}`,
			func(o *Object) { o.Set("hooks", []byte(`{"Stop": [ ]}`)) },
			`{"model": "opus", "x": [1, 2], "hooks": {"Stop": []}}`},
		{"add to one member", `{"model":"opus"}`,
			func(o *Object) { o.Set("hooks", []byte(`{}`)) },
			`{"model":"opus","hooks":{}}`},
		{"add to an indented document", mixed,
			func(o *Object) { o.Set("hooks", []byte(`{"Stop":[{"hooks":[]}]}`)) },
			"{\n  \"permissions\": {\"allow\": [\"Bash(ls)\"], \"deny\": []},\n  \"model\":   \"opus\",\n  \"env\": {\"A\": \"\\u00e9\"},\n  \"hooks\": {\n    \"Stop\": [\n      {\n        \"hooks\": []\n      }\n    ]\n  }\n}\n"},
		{"change the middle", mixed,
			func(o *Object) { o.Set("model", []byte(`"sonnet"`)) },
			"{\n  \"permissions\": {\"allow\": [\"Bash(ls)\"], \"deny\": []},\n  \"model\":   \"sonnet\",\n  \"env\": {\"A\": \"\\u00e9\"}\n}\n"},
		{"same value re-encoded keeps its bytes", mixed,
			func(o *Object) { o.Set("permissions", []byte(`{"allow":["Bash(ls)"],"deny":[]}`)) },
			mixed},
		{"delete the first", mixed,
			func(o *Object) { o.Delete("permissions") },
			"{\n  \"model\":   \"opus\",\n  \"env\": {\"A\": \"\\u00e9\"}\n}\n"},
		{"delete the last", mixed,
			func(o *Object) { o.Delete("env") },
			"{\n  \"permissions\": {\"allow\": [\"Bash(ls)\"], \"deny\": []},\n  \"model\":   \"opus\"\n}\n"},
		{"delete all", mixed,
			func(o *Object) { o.Delete("env"); o.Delete("model"); o.Delete("permissions") },
			"{}\n"},
		{"empty object", "{}\n",
			func(o *Object) { o.Set("a", []byte(`1`)) },
			"{\n  \"a\": 1\n}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseObject([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			tt.edit(o)
			got, err := Splice([]byte(tt.in), o, DetectStyle([]byte(tt.in)))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestSpliceAddRemoveRoundTrip: adding a member, then removing it from the
// result, gives the original bytes back, whatever the layout.
func TestSpliceAddRemoveRoundTrip(t *testing.T) {
	for _, in := range []string{
		`{"model": "opus", "x": [1, 2]}`,
		"{\"a\":1}\n",
		"{\n    \"a\" : [ 1 ],\r\n    \"b\": {\"c\": null}\n}",
		"\t{\n\t\"a\": true\n\t}  \n",
	} {
		o, err := ParseObject([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		o.Set("hooks", []byte(`{"Stop":[{"matcher":"","hooks":[{"type":"command","command":"sage-bridge hook Stop"}]}]}`))
		added, err := Splice([]byte(in), o, DetectStyle([]byte(in)))
		if err != nil {
			t.Fatal(err)
		}
		o2, err := ParseObject(added)
		if err != nil {
			t.Fatalf("%q: the splice is not an object: %v\n%s", in, err, added)
		}
		o2.Delete("hooks")
		back, err := Splice(added, o2, DetectStyle(added))
		if err != nil {
			t.Fatal(err)
		}
		if string(back) != in {
			t.Errorf("add then remove:\n got %q\nwant %q\n(added: %q)", back, in, added)
		}
	}
}
