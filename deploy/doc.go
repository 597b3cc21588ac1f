// Package deploy checks Sage's deployment files without a container engine:
// the Dockerfile (its build line is run as written, on a copy of the build
// context filtered by .dockerignore, and the binary's healthcheck is
// exercised against a real PostgreSQL), docker-compose.yml and its override,
// .env.example against the variables the daemon reads, goreleaser.yaml and
// the README's configuration table.
//
// The package holds the small parsers those tests need: a Dockerfile
// reader (ParseDockerfile), shell-style word splitting with variable
// expansion (SplitWords) and the .env.example reader (ParseEnvExample).
package deploy
