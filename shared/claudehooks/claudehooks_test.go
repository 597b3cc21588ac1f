package claudehooks

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

func TestEntriesJSON(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("quoting differs on windows; covered by TestIsSage")
	}
	got, err := json.Marshal(map[string]any{"hooks": Entries("/opt/sage/bin/sage-bridge")})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"hooks":{` +
		`"PreCompact":[{"matcher":"","hooks":[{"type":"command","command":"'/opt/sage/bin/sage-bridge' hook PreCompact","timeout":10}]}],` +
		`"SessionEnd":[{"matcher":"","hooks":[{"type":"command","command":"'/opt/sage/bin/sage-bridge' hook SessionEnd","timeout":5}]}],` +
		`"SessionStart":[{"matcher":"","hooks":[{"type":"command","command":"'/opt/sage/bin/sage-bridge' hook SessionStart","timeout":5}]}],` +
		`"Stop":[{"matcher":"","hooks":[{"type":"command","command":"'/opt/sage/bin/sage-bridge' hook Stop","timeout":10}]}],` +
		`"UserPromptSubmit":[{"matcher":"","hooks":[{"type":"command","command":"'/opt/sage/bin/sage-bridge' hook UserPromptSubmit","timeout":5}]}]}}`
	if string(got) != want {
		t.Fatalf("Entries JSON:\n got %s\nwant %s", got, want)
	}
}

func TestEntriesAreSage(t *testing.T) {
	for _, p := range []string{"/usr/local/bin/sage-bridge", "/home/o'neil/bin/sage-bridge", `C:\Program Files\Sage\sage-bridge.exe`} {
		for ev, ms := range Entries(p) {
			if len(ms) != 1 || len(ms[0].Hooks) != 1 {
				t.Fatalf("%s: want one matcher with one hook, got %+v", ev, ms)
			}
			if c := ms[0].Hooks[0].Command; !IsSage(c) {
				t.Errorf("IsSage(%q) = false, want true", c)
			}
		}
	}
}

func TestIsSage(t *testing.T) {
	tests := []struct {
		cmd  string
		want bool
	}{
		{"'/usr/local/bin/sage-bridge' hook Stop", true},
		{"/usr/local/bin/sage-bridge hook SessionStart", true},
		{`"C:\Program Files\Sage\sage-bridge.exe" hook Stop`, true},
		{`"C:\Program Files\Sage\SAGE-BRIDGE.EXE" hook Stop`, true},
		{"sage-bridge hook UserPromptSubmit", true},
		{"'/usr/local/bin/sage-bridge' serve", false},
		{"/usr/local/bin/sage-bridge", false},
		{"/usr/bin/my-sage-bridge hook Stop", false},
		{"echo sage-bridge hook Stop", false},
		{"'/unterminated/sage-bridge hook Stop", false},
		{"", false},
		{"npx prettier --write", false},
	}
	for _, tt := range tests {
		if got := IsSage(tt.cmd); got != tt.want {
			t.Errorf("IsSage(%q) = %v, want %v", tt.cmd, got, tt.want)
		}
	}
}

func FuzzIsSage(f *testing.F) {
	f.Add("/usr/local/bin", "Stop")
	f.Add("/home/o'neil \"x\"", "")
	f.Fuzz(func(t *testing.T, dir, event string) {
		_ = IsSage(dir + event)
		if runtime.GOOS == "windows" || strings.ContainsAny(dir+event, "\x00") {
			return
		}
		if c := Command(dir+"/sage-bridge", event); !IsSage(c) {
			t.Fatalf("IsSage(%q) = false for a command built by Command", c)
		}
	})
}
