# Sage developer targets. `make test` is the test command (see README.md).
.PHONY: test
test:
	scripts/test.sh
