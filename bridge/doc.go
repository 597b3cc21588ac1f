// Package bridge will hold sage-bridge: the small stdio MCP server that Claude
// Code launches and that forwards every message to sage-daemon, plus the
// Claude Code hooks and the sage_manage CLI.
package bridge
