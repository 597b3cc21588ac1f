package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// goreleaserConfig is the part of goreleaser.yaml the tests check.
type goreleaserConfig struct {
	Version int `yaml:"version"`
	Builds  []struct {
		ID      string   `yaml:"id"`
		Main    string   `yaml:"main"`
		Binary  string   `yaml:"binary"`
		Env     []string `yaml:"env"`
		Flags   []string `yaml:"flags"`
		Ldflags []string `yaml:"ldflags"`
		Goos    []string `yaml:"goos"`
		Goarch  []string `yaml:"goarch"`
	} `yaml:"builds"`
	Archives []struct {
		ID              string   `yaml:"id"`
		IDs             []string `yaml:"ids"`
		Formats         []string `yaml:"formats"`
		FormatOverrides []struct {
			Goos    string   `yaml:"goos"`
			Formats []string `yaml:"formats"`
		} `yaml:"format_overrides"`
		Files []string `yaml:"files"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
	} `yaml:"checksum"`
	Dockers []struct {
		IDs        []string `yaml:"ids"`
		Dockerfile string   `yaml:"dockerfile"`
		Platforms  []string `yaml:"platforms"`
	} `yaml:"dockers_v2"`
}

func mustGoreleaser(t *testing.T) goreleaserConfig {
	t.Helper()
	var c goreleaserConfig
	if err := yaml.Unmarshal(mustReadFile(t, "goreleaser.yaml"), &c); err != nil {
		t.Fatalf("goreleaser.yaml: %v", err)
	}
	return c
}

// mustMakeVar returns the value of a simple `NAME := value` Makefile variable.
func mustMakeVar(t *testing.T, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s*:?=\s*(.*)$`).FindSubmatch(mustReadFile(t, "Makefile"))
	if m == nil {
		t.Fatalf("Makefile: no %s", name)
	}
	return strings.TrimSpace(string(m[1]))
}

// TestGoreleaserTargets checks what goreleaser builds and how: the same
// static, trimmed, stamped builds as the Dockerfile and the Makefile.
func TestGoreleaserTargets(t *testing.T) {
	c := mustGoreleaser(t)
	if c.Version != 2 {
		t.Errorf("version: %d, want 2", c.Version)
	}
	all := []string{"linux", "darwin", "windows"}
	arches := []string{"amd64", "arm64"}
	want := map[string]struct {
		main, versionVar string
		goos             []string
	}{
		"sage-daemon":    {"./daemon/cmd/sage-daemon", mustMakeVar(t, "VERSION_VAR"), []string{"linux"}},
		"sage-bridge":    {"./bridge/cmd/sage-bridge", mustMakeVar(t, "VERSION_VAR"), all},
		"sage-installer": {"./installer/cmd/sage-installer", mustMakeVar(t, "VERSION_VAR"), all},
	}
	if want["sage-daemon"].versionVar != "github.com/sage-mcp/sage/shared/version.Version" {
		t.Errorf("Makefile: VERSION_VAR = %q", want["sage-daemon"].versionVar)
	}
	if !strings.Contains(string(mustReadFile(t, "Dockerfile")), "-X "+want["sage-daemon"].versionVar+"=${VERSION}") {
		t.Errorf("the Dockerfile does not set %s", want["sage-daemon"].versionVar)
	}
	seen := map[string]bool{}
	for _, b := range c.Builds {
		w, ok := want[b.ID]
		if !ok {
			t.Errorf("unexpected build %q", b.ID)
			continue
		}
		seen[b.ID] = true
		if b.Main != w.main || b.Binary != b.ID {
			t.Errorf("%s: main %q binary %q, want %s and %s", b.ID, b.Main, b.Binary, w.main, b.ID)
		}
		if fi, err := os.Stat(filepath.Join(mustRepoRoot(t), b.Main)); err != nil || !fi.IsDir() {
			t.Errorf("%s: main %s is not a directory of the repository: %v", b.ID, b.Main, err)
		}
		if !slices.Equal(b.Goos, w.goos) || !slices.Equal(b.Goarch, arches) {
			t.Errorf("%s: %v × %v, want %v × %v", b.ID, b.Goos, b.Goarch, w.goos, arches)
		}
		if !slices.Contains(b.Env, "CGO_ENABLED=0") || !slices.Contains(b.Flags, "-trimpath") {
			t.Errorf("%s: env %v flags %v, want CGO_ENABLED=0 and -trimpath", b.ID, b.Env, b.Flags)
		}
		if ld := strings.Join(b.Ldflags, " "); !strings.Contains(ld, "-s -w") || !strings.Contains(ld, "-X "+w.versionVar+"={{ .Version }}") {
			t.Errorf("%s: ldflags %q, want -s -w -X %s={{ .Version }}", b.ID, ld, w.versionVar)
		}
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("no build %s", id)
		}
	}
}

// TestGoreleaserArchives: one archive per OS/arch holds the installer and
// the bridge side by side (zip on Windows); checksums; the image.
func TestGoreleaserArchives(t *testing.T) {
	c := mustGoreleaser(t)
	found := false
	for _, a := range c.Archives {
		if !slices.Contains(a.IDs, "sage-installer") {
			continue
		}
		found = true
		if !slices.Contains(a.IDs, "sage-bridge") {
			t.Errorf("archive %s has the installer without the bridge: %v", a.ID, a.IDs)
		}
		zip := false
		for _, o := range a.FormatOverrides {
			zip = zip || (o.Goos == "windows" && slices.Equal(o.Formats, []string{"zip"}))
		}
		if !zip {
			t.Errorf("archive %s: want zip on windows", a.ID)
		}
		if !slices.Contains(a.Files, "README.md") {
			t.Errorf("archive %s: files %v, want README.md", a.ID, a.Files)
		}
	}
	if !found {
		t.Error("no archive holds sage-installer")
	}
	if c.Checksum.NameTemplate == "" {
		t.Error("no checksum file")
	}
	if len(c.Dockers) != 1 || !slices.Equal(c.Dockers[0].IDs, []string{"sage-daemon"}) {
		t.Fatalf("dockers_v2 = %+v, want one image of sage-daemon", c.Dockers)
	}
	if _, err := os.Stat(filepath.Join(mustRepoRoot(t), c.Dockers[0].Dockerfile)); err != nil {
		t.Errorf("dockers_v2 dockerfile: %v", err)
	}
	if !slices.Equal(c.Dockers[0].Platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("image platforms %v", c.Dockers[0].Platforms)
	}
}
