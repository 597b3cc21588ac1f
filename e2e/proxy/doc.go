// Package proxy holds the tests of sage-bridge's proxy (bridge/proxy)
// against scripted MCP servers built with the go-sdk: forwarding, retries,
// restarts, the init cache, framing fuzz and benchmarks. They live in the
// test-only e2e module so that the bridge's go.mod needs no go-sdk.
package proxy
