// Package http is sage-daemon's HTTP surface: MCP Streamable HTTP at /mcp,
// the REST API under /api/v1, bearer-token auth with an OAuth 2.1
// authorization server for MCP clients (RFC 9728, 8414, 7591, PKCE),
// health (/healthz, /readyz) and Prometheus metrics (/metrics).
//
// A Server serves before its database is reachable: until SetBackend is
// called (and whenever the database fails), every call that needs it fails
// fast with 503 "database unavailable", and /readyz says not ready.
//
// Import it under another name, for example sagehttp.
package http
