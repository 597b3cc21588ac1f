// Package migrations holds the daemon's SQL migrations, embedded in FS.
//
// Files are named NNN_name.sql and applied in order by jackc/tern/v2's
// migrate package (sage-daemon does so at start, under an advisory lock).
// A file's text up to the line "---- create above / drop below ----" migrates
// up. Files are never edited once released: a schema change is a new file.
package migrations

import "embed"

// FS holds every migration file (*.sql) at its root.
//
//go:embed *.sql
var FS embed.FS
