// The checks of scripts/compose-test.sh: a program of its own (standard
// library only), outside go.work and every shipped module.
module github.com/sage-mcp/sage/scripts/compose-check

go 1.24
