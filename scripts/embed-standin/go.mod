// A stand-in for text-embeddings-inference in scripts/compose-test.sh (no
// image can be pulled there): a program of its own, standard library only,
// outside go.work and every shipped module.
module github.com/sage-mcp/sage/scripts/embed-standin

go 1.24
