# autosre-deploy as a container image: a CI job image or a Cloud Build step
# (docs/ci.md, examples/cloudbuild.yaml).
#
#   docker build -t autosre-deploy .
#   docker run --rm -v "$PWD/config:/workspace/config" autosre-deploy validate
#
# Stage 1 builds the release binary (glibc, Debian 12) without the sandbox
# feature: a pipeline step talks only to Google. Stage 2 is distroless/cc:
# glibc, libgcc and the CA certificates the TLS client loads, and nothing
# else (no shell): https://github.com/GoogleContainerTools/distroless/blob/main/cc/README.md
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --locked --release --no-default-features --bin autosre-deploy \
    && cp target/release/autosre-deploy /autosre-deploy

# Root, as Cloud Build steps run: they write the plan into /workspace.
FROM gcr.io/distroless/cc-debian12
COPY --from=build /autosre-deploy /usr/local/bin/autosre-deploy
WORKDIR /workspace
ENTRYPOINT ["autosre-deploy"]
