// Package ranking holds the parts of retrieval that need no database:
// fusing the candidate lists of the retrievers, collapsing repeats,
// dropping near-duplicates and rendering a context block. daemon/postgres
// brings the candidates and loads the memories.
package ranking
