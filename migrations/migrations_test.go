package migrations

import (
	"io/fs"
	"regexp"
	"testing"
)

func TestFiles(t *testing.T) {
	names, err := fs.Glob(FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no migrations embedded")
	}
	re := regexp.MustCompile(`^\d{3}_[a-z0-9_]+\.sql$`)
	for _, n := range names {
		if !re.MatchString(n) {
			t.Errorf("migration %q is not named NNN_name.sql", n)
		}
		b, err := fs.ReadFile(FS, n)
		if err != nil || len(b) == 0 {
			t.Errorf("migration %q: empty or unreadable: %v", n, err)
		}
	}
}
