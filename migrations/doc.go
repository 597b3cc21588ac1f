// Package migrations will hold the daemon's SQL migrations, exposed as an
// embed.FS.
package migrations
