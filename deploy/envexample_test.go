package deploy_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/sage-mcp/sage/daemon/config"
	"github.com/sage-mcp/sage/deploy"
	"github.com/sage-mcp/sage/testkit/wanterr"
)

func mustEnvExample(t *testing.T) []deploy.EnvVar {
	t.Helper()
	vars, err := deploy.ParseEnvExample(bytes.NewReader(mustReadFile(t, ".env.example")))
	if err != nil {
		t.Fatal(err)
	}
	return vars
}

// TestEnvExampleMatchesDaemon: the daemon block of .env.example documents
// every variable sage-daemon reads and nothing else; the compose block
// holds none of them.
func TestEnvExampleMatchesDaemon(t *testing.T) {
	known := map[string]config.EnvVar{}
	for _, v := range config.EnvVars() {
		known[v.Name] = v
	}
	documented := map[string]bool{}
	for _, v := range mustEnvExample(t) {
		documented[v.Name] = true
		d, isDaemon := known[v.Name]
		switch {
		case v.Section == deploy.SectionDaemon && !isDaemon:
			t.Errorf(".env.example:%d: %s is in the daemon block but sage-daemon does not read it (config.EnvVars)", v.Line, v.Name)
		case v.Section == deploy.SectionCompose && isDaemon:
			t.Errorf(".env.example:%d: %s is read by sage-daemon: move it to the daemon block", v.Line, v.Name)
		case isDaemon && !v.Set && d.Default != "" && v.Value != d.Default:
			t.Errorf(".env.example:%d: # %s=%s, but its default is %q", v.Line, v.Name, v.Value, d.Default)
		case isDaemon && v.Set:
			t.Errorf(".env.example:%d: %s is set; daemon settings stay commented out at their defaults", v.Line, v.Name)
		}
	}
	for name := range known {
		if !documented[name] {
			t.Errorf("%s (config.EnvVars) is not documented in .env.example", name)
		}
	}
}

// TestEnvExampleCoversCompose: every variable the compose files interpolate
// is documented in the compose block (or, when sage-daemon reads it too and
// compose passes it on, in the daemon block), and the password has no
// default.
func TestEnvExampleCoversCompose(t *testing.T) {
	vars := map[string]deploy.EnvVar{}
	for _, v := range mustEnvExample(t) {
		vars[v.Name] = v
	}
	daemon := map[string]bool{}
	for _, v := range config.EnvVars() {
		daemon[v.Name] = true
	}
	ref := regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)
	for _, f := range []string{composeFile, overrideFile, embedFile} {
		for _, m := range ref.FindAllStringSubmatch(string(mustReadFile(t, f)), -1) {
			v, ok := vars[m[1]]
			if !ok || (v.Section != deploy.SectionCompose && !daemon[m[1]]) {
				t.Errorf("%s uses ${%s}, which is not in the compose block of .env.example", f, m[1])
			}
		}
	}
	pw, ok := vars["POSTGRES_PASSWORD"]
	if !ok || !pw.Set || strings.TrimSpace(pw.Value) != "" {
		t.Errorf("POSTGRES_PASSWORD in .env.example = %+v, want an empty assignment to fill in", pw)
	}
}

func TestParseEnvExample(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []deploy.EnvVar
		wantErr  string
	}{
		{name: "sections", in: "# prose\n## compose\nA=1\n# B=2\n## daemon\n#  not: a var\n#C=\n",
			want: []deploy.EnvVar{
				{Name: "A", Value: "1", Set: true, Section: "compose", Line: 3},
				{Name: "B", Value: "2", Section: "compose", Line: 4},
				{Name: "C", Section: "daemon", Line: 7},
			}},
		{name: "outside a section", in: "A=1\n", wantErr: "outside a section"},
		{name: "unknown section", in: "## other\n", wantErr: "section"},
		{name: "duplicate", in: "## daemon\nA=1\n# A=2\n", wantErr: "already documented"},
		{name: "garbage", in: "## daemon\nexport A=1\n", wantErr: "want NAME=value"},
		{name: "lowercase is prose", in: "## daemon\n# a=1\n"},
		{name: "values as Compose reads them", in: "## compose\nA=\"x y\" # note\n# B='c #d'\n",
			want: []deploy.EnvVar{
				{Name: "A", Value: "x y", Set: true, Section: "compose", Line: 2},
				{Name: "B", Value: "c #d", Section: "compose", Line: 3},
			}},
		{name: "unterminated quote", in: "## compose\nA=\"x\n", wantErr: "line 2: A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := deploy.ParseEnvExample(strings.NewReader(tc.in))
			if !wanterr.Check(t, err, tc.wantErr) {
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("var %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func FuzzParseEnvExample(f *testing.F) {
	f.Add("## daemon\n# A=1\nB=2\n")
	f.Add("## compose\nPOSTGRES_PASSWORD=\n## daemon\n# SAGE_X=y\n")
	f.Add("A=1")
	f.Fuzz(func(t *testing.T, in string) {
		vars, err := deploy.ParseEnvExample(strings.NewReader(in))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, v := range vars {
			if seen[v.Name] || v.Name == "" || (v.Section != deploy.SectionDaemon && v.Section != deploy.SectionCompose) {
				t.Fatalf("bad result %+v for %q", v, in)
			}
			seen[v.Name] = true
		}
	})
}
