package console

import (
	"io/fs"
	"regexp"
	"testing"
)

// TestCatalogues checks that every message a template or handler asks for
// exists in English and in Chinese, and that both have the same keys.
func TestCatalogues(t *testing.T) {
	used := map[string]bool{}
	re := regexp.MustCompile(`T "([a-z.]+)"`)
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, path)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(used) < 50 {
		t.Fatalf("found only %d message keys in the templates", len(used))
	}
	for k := range used {
		if _, ok := english[k]; !ok {
			t.Errorf("English lacks %q", k)
		}
	}
	for k := range english {
		if _, ok := chinese[k]; !ok {
			t.Errorf("Chinese lacks %q", k)
		}
	}
	for k := range chinese {
		if _, ok := english[k]; !ok {
			t.Errorf("English lacks %q (Chinese has it)", k)
		}
	}
}
