package hook

import (
	"os"
	"path/filepath"
)

// ProjectName derives the project of a working directory: the base name of
// the enclosing git work tree (the nearest ancestor holding a ".git" entry,
// directory or file), else the base name of cwd itself. It reads the file
// system only (no git process), so it costs microseconds. Empty cwd gives "".
func ProjectName(cwd string) string {
	if cwd == "" {
		return ""
	}
	dir := filepath.Clean(cwd)
	for d := dir; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return base(d)
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return base(dir)
}

func base(d string) string {
	b := filepath.Base(d)
	if b == string(filepath.Separator) || b == "." || b == filepath.VolumeName(d) {
		return ""
	}
	return b
}
