// Package installer will hold sage-installer: it puts sage-bridge on PATH,
// registers it with Claude Code, adds the hooks and installs the bridge as a
// user service.
package installer
