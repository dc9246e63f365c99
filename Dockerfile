# entra-csa in a container, for scheduled drift detection (a Kubernetes
# CronJob: examples/kubernetes/drift-cronjob.yaml). The build stage runs the
# same `cargo build` as .github/workflows/release.yml for Linux (static,
# musl); the image holds only that binary, runs as a non-root user and needs
# no shell.
FROM rust:1-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
ARG ENTRA_CSA_COMMIT=unknown
ENV ENTRA_CSA_COMMIT=${ENTRA_CSA_COMMIT}
RUN cargo build --release --locked --target x86_64-unknown-linux-musl

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/target/x86_64-unknown-linux-musl/release/entra-csa /usr/local/bin/entra-csa
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/entra-csa"]
CMD ["--help"]
