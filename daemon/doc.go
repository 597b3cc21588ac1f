// Package sage holds the domain of sage-daemon: memories, sessions, search
// and the service interface that the MCP tools and the REST API share.
package sage
