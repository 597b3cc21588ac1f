// Package bridge is the root of sage-bridge: the small stdio MCP server that
// Claude Code launches and that forwards every message to sage-daemon, the
// Claude Code hooks (automatic save and recall) and the sage_manage CLI.
// The binary is cmd/sage-bridge; its parts live in packages by concept.
package bridge
