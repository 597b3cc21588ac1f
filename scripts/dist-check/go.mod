// The check of the release archives in dist/ that .ci/run makes after a
// goreleaser snapshot: a program of its own (standard library only), outside
// go.work and every shipped module.
module github.com/sage-mcp/sage/scripts/dist-check

go 1.24
