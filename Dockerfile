# entra-csa in a container, for scheduled drift detection (a Kubernetes
# CronJob: examples/kubernetes/drift-cronjob.yaml). The build stage runs the
# same `cargo build` as .github/workflows/release.yml for Linux (static,
# musl), for the architecture being built (linux/amd64 or linux/arm64: the
# release builds each on its own runner); the image holds only that binary,
# runs as a non-root user and needs no shell.
#
# Both base images are pinned by digest (the tag beside it says what it is)
# and the build stage's Rust is the release's (RUST_TOOLCHAIN in
# release.yml); Dependabot (.github/dependabot.yml) proposes new digests.
FROM rust:1.95.0-alpine3.23@sha256:606fd313a0f49743ee2a7bd49a0914bab7deedb12791f3a846a34a4711db7ed2 AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
ARG ENTRA_CSA_COMMIT=unknown
ENV ENTRA_CSA_COMMIT=${ENTRA_CSA_COMMIT}
# BuildKit sets TARGETARCH; a plain `docker build` takes the machine's.
ARG TARGETARCH
RUN case "${TARGETARCH:-$(uname -m)}" in \
      amd64 | x86_64) target=x86_64-unknown-linux-musl ;; \
      arm64 | aarch64) target=aarch64-unknown-linux-musl ;; \
      *) echo "no release target for the architecture ${TARGETARCH:-$(uname -m)}" >&2; exit 1 ;; \
    esac && \
    cargo build --release --locked --target "$target" && \
    cp "target/$target/release/entra-csa" /entra-csa

FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639
COPY --from=build /entra-csa /usr/local/bin/entra-csa
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/entra-csa"]
CMD ["--help"]
