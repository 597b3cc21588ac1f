# sage-daemon image: a static binary on distroless, run as non-root.
#
#   docker build --build-arg VERSION=1.2.3 -t sage-daemon:1.2.3 .
#
# The binary is built from the repository root so go.work applies (the daemon
# uses the workspace modules shared/ and migrations/). deploy's tests
# parse the `go build` line below and run it, so keep the flags on that line.
#
# There is no `# syntax=` line: the builder's own Dockerfile frontend is used,
# so a build pulls nothing but the two base images (BuildKit is needed for
# RUN --mount: the default builder since Docker 23).

ARG GO_VERSION=1.26.8
# The base images, as build arguments (docker-compose.yml passes them on from
# the environment or .env). Defaults: the official images. Any stand-ins work
# that provide the same: a Go toolchain on PATH with GOPATH=/go, and a runtime
# with a non-root user 65532 (scripts/compose-test.sh builds local ones).
ARG SAGE_BUILD_IMAGE=golang:${GO_VERSION}-bookworm
ARG SAGE_RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

# The build stage runs natively and cross-compiles for the target platform.
FROM --platform=$BUILDPLATFORM ${SAGE_BUILD_IMAGE} AS build
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
ENV CGO_ENABLED=0
# Module downloads first, for layer caching; then the sources.
COPY go.work* ./
COPY bench/go.* bench/
COPY bridge/go.* bridge/
COPY daemon/go.* daemon/
COPY deploy/go.* deploy/
COPY installer/go.* installer/
COPY migrations/go.* migrations/
COPY shared/go.* shared/
COPY e2e/go.* e2e/
COPY testkit/go.* testkit/
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -ldflags "-s -w -X github.com/sage-mcp/sage/shared/version.Version=${VERSION}" -o /out/sage-daemon ./daemon/cmd/sage-daemon
# The data directory, owned by the image's non-root user (65532).
RUN mkdir -p /out/data

FROM ${SAGE_RUNTIME_IMAGE}
ARG VERSION=dev
LABEL org.opencontainers.image.title="sage-daemon" \
      org.opencontainers.image.description="Sage: long-term memory for Claude Code" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build /out/sage-daemon /usr/local/bin/sage-daemon
# Listen on every interface of the container (publish it on loopback only);
# the web console on its own port.
ENV SAGE_DATA_DIR=/data \
    SAGE_LISTEN=0.0.0.0:17800 \
    SAGE_CONSOLE_LISTEN=0.0.0.0:17801
VOLUME ["/data"]
EXPOSE 17800 17801
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/sage-daemon", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/sage-daemon"]
CMD ["serve"]
