// Package bridgecli holds the tests of the sage-bridge binary as a whole
// (serve, signals, doctor, version, cross-compilation, registration with
// the real Claude Code CLI, a real daemon), against MCP servers built with
// the go-sdk. They live in the test-only e2e module so that the bridge's
// go.mod needs no go-sdk.
package bridgecli
