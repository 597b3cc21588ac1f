package claude

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/shared/claudehooks"
)

const bridge = "/home/u/.local/bin/sage-bridge"

// userSettings is a settings.json as Claude Code writes it, with the user's
// own hooks (one sharing the Stop event and a matcher with an old Sage hook)
// and settings Sage knows nothing about.
const userSettings = `{
  "model": "opus",
  "permissions": {
    "allow": [
      "Bash(npm run test:*)"
    ]
  },
  "hooks": {
    "PostToolUse": [
      {
        "matcher": "Write|Edit",
        "hooks": [
          {
            "type": "command",
            "command": "npx prettier --write && echo <done>"
          }
        ]
      }
    ],
    "Stop": [
      {
        "matcher": "",
        "hooks": [
          {
            "type": "command",
            "command": "notify-send done"
          }
        ]
      }
    ]
  },
  "futureField": {
    "x": 1.50
  }
}`

func MustDoc(t *testing.T, s string) *Doc {
	t.Helper()
	d, err := ParseDoc("settings.json", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func MustBytes(t *testing.T, d *Doc) string {
	t.Helper()
	b, err := d.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHooksMergeAndRemove(t *testing.T) {
	tests := []struct {
		name, before string
	}{
		{"empty file", "{}"},
		{"user hooks and unknown fields", userSettings},
		{"trailing newline, tabs", "{\n\t\"hooks\": {\n\t\t\"Stop\": []\n\t}\n}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := MustDoc(t, tt.before)
			changed, created, err := AddHooks(d, bridge)
			if err != nil || !changed {
				t.Fatalf("AddHooks: changed %v err %v", changed, err)
			}
			installed := MustBytes(t, d)
			n, err := CountHooks(d)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range claudehooks.Events {
				if n[ev] != 1 {
					t.Errorf("%s: %d Sage hooks, want 1", ev, n[ev])
				}
			}
			if strings.Contains(tt.before, "prettier") {
				for _, keep := range []string{`"model": "opus"`, "npx prettier --write && echo <done>", "notify-send done", `"x": 1.50`} {
					if !strings.Contains(installed, keep) {
						t.Errorf("install lost %q:\n%s", keep, installed)
					}
				}
			}

			// A second merge changes nothing.
			d2 := MustDoc(t, installed)
			if changed, _, err := AddHooks(d2, bridge); err != nil || changed {
				t.Fatalf("second AddHooks: changed %v err %v", changed, err)
			}
			if got := MustBytes(t, d2); got != installed {
				t.Fatalf("second AddHooks altered the document")
			}

			// A different bridge path replaces, never duplicates.
			d3 := MustDoc(t, installed)
			if changed, _, err := AddHooks(d3, "/opt/sage/sage-bridge"); err != nil || !changed {
				t.Fatalf("AddHooks with a new path: changed %v err %v", changed, err)
			}
			if n, _ := CountHooks(d3); n[claudehooks.Stop] != 1 || !strings.Contains(MustBytes(t, d3), "/opt/sage/sage-bridge") {
				t.Fatalf("new path: %v\n%s", n, MustBytes(t, d3))
			}

			// Removing, dropping only the containers the merge created,
			// gives back the original bytes.
			d4 := MustDoc(t, installed)
			drop := func(c string) bool {
				for _, x := range created {
					if x == c {
						return true
					}
				}
				return false
			}
			if changed, err := RemoveHooks(d4, drop); err != nil || !changed {
				t.Fatalf("RemoveHooks: changed %v err %v", changed, err)
			}
			if got := MustBytes(t, d4); got != tt.before {
				t.Fatalf("uninstall did not restore the file:\n got %q\nwant %q", got, tt.before)
			}
		})
	}
}

func TestRemoveHooksSharedMatcher(t *testing.T) {
	// A Sage hook that the user put into their own matcher group: only the
	// Sage command goes.
	in := `{"hooks":{"Stop":[{"matcher":"","hooks":[{"type":"command","command":"notify-send"},{"type":"command","command":"'/x/sage-bridge' hook Stop"}]}]}}`
	d := MustDoc(t, in)
	if changed, err := RemoveHooks(d, nil); err != nil || !changed {
		t.Fatalf("changed %v err %v", changed, err)
	}
	want := `{"hooks":{"Stop":[{"matcher":"","hooks":[{"type":"command","command":"notify-send"}]}]}}`
	if got := MustBytes(t, d); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func TestHooksRefuseWrongShapes(t *testing.T) {
	for _, in := range []string{`{"hooks":[]}`, `{"hooks":{"Stop":{}}}`, `{"hooks":"x"}`} {
		d := MustDoc(t, in)
		if _, _, err := AddHooks(d, bridge); err == nil {
			t.Errorf("AddHooks on %s: no error", in)
		}
		if got := MustBytes(t, d); got != in {
			t.Errorf("AddHooks on %s changed the document to %s", in, got)
		}
	}
	if _, err := ParseDoc("x.json", []byte(`{"a":`)); err == nil || !strings.Contains(err.Error(), "x.json") {
		t.Errorf("ParseDoc of broken JSON: %v", err)
	}
}

func TestServerEntry(t *testing.T) {
	in := "{\n  \"numStartups\": 3,\n  \"mcpServers\": {\n    \"other\": {\n      \"type\": \"stdio\",\n      \"command\": \"x\"\n    }\n  },\n  \"userID\": \"u\"\n}"
	for _, mode := range []string{ModeStdio, ModeHTTP} {
		d := MustDoc(t, in)
		entry, err := Entry(mode, bridge, "http://127.0.0.1:17800/mcp", "tok")
		if err != nil {
			t.Fatal(err)
		}
		changed, created, err := SetServer(d, ServerName, entry)
		if err != nil || !changed || created {
			t.Fatalf("%s: SetServer changed %v created %v err %v", mode, changed, created, err)
		}
		got, ok, err := Server(d, ServerName)
		if err != nil || !ok {
			t.Fatalf("Server: %v %v", ok, err)
		}
		var v map[string]any
		if err := json.Unmarshal(got, &v); err != nil {
			t.Fatal(err)
		}
		if v["type"] != mode {
			t.Errorf("type %v, want %s", v["type"], mode)
		}
		if mode == ModeHTTP {
			if h, _ := v["headers"].(map[string]any); h["Authorization"] != "Bearer tok" {
				t.Errorf("headers %v", v["headers"])
			}
		}
		if changed, _, _ := SetServer(d, ServerName, entry); changed {
			t.Error("second SetServer changed")
		}
		if changed, err := RemoveServer(d, ServerName, false); err != nil || !changed {
			t.Fatal(changed, err)
		}
		if out := MustBytes(t, d); out != in {
			t.Fatalf("remove did not restore:\n%s", out)
		}
	}
	if _, err := Entry("smoke", "", "", ""); err == nil {
		t.Error("unknown mode: no error")
	}
	args := AddArgs(ModeHTTP, bridge, "http://h/mcp", "secret")
	if strings.Contains(strings.Join(Redact(args), " "), "secret") {
		t.Error("Redact left the token")
	}
}

func TestDefaultPaths(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	p := DefaultPaths("/h", getenv)
	if p.ConfigJSON != "/h/.claude.json" || p.Settings != "/h/.claude/settings.json" {
		t.Errorf("default: %+v", p)
	}
	env[EnvConfigDir] = "/c"
	p = DefaultPaths("/h", getenv)
	if p.ConfigJSON != "/c/.claude.json" || p.Settings != "/c/settings.json" {
		t.Errorf("CLAUDE_CONFIG_DIR: %+v", p)
	}
}
