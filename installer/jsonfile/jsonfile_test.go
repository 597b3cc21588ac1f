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
