# syntax=docker/dockerfile:1
#
# roster as a container image: a static binary on distroless, run as non-root, no shell.
#
#   docker build -t roster .
#   docker run --rm -e ROSTER_SCIM_URL -e ROSTER_SCIM_TOKEN -v "$PWD:/data" -w /data roster plan
#
# The release workflow (.github/workflows/image.yml) builds it natively on an amd64 and
# an arm64 runner and pushes one multi-arch image. CI lints this file with hadolint.

ARG RUST_VERSION=1.95

# Build: Alpine's Rust targets musl, whose binaries are static by default.
FROM rust:${RUST_VERSION}-alpine AS build
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
# Alpine's repositories keep only the current version of a package, so a pinned version
# would stop resolving; the image tag above pins the release line instead.
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev file
WORKDIR /src
COPY . .
# The commit `roster --version` names; without it (and without .git, which is not copied)
# the version says "commit unknown".
ARG ROSTER_BUILD_COMMIT=""
ENV ROSTER_BUILD_COMMIT=${ROSTER_BUILD_COMMIT}
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --profile dist -p roster-cli \
    && cp target/dist/roster /usr/local/bin/roster
# Fail the build if the binary is not static: the runtime image has no libc.
RUN file /usr/local/bin/roster | grep -q 'static' \
    && /usr/local/bin/roster --version

# The image: distroless static (CA certificates, /etc/passwd with `nonroot`, no shell).
FROM gcr.io/distroless/static-debian12:nonroot AS runtime
ARG VERSION=dev
ARG ROSTER_BUILD_COMMIT=""
LABEL org.opencontainers.image.title="roster" \
      org.opencontainers.image.description="Users and groups of a SCIM 2.0 service (Productboard first), kept in a YAML file in git" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${ROSTER_BUILD_COMMIT}"
COPY --from=build /usr/local/bin/roster /usr/local/bin/roster
# distroless's `nonroot` user, by number so that Kubernetes' runAsNonRoot can check it.
USER 65532:65532
WORKDIR /data
ENTRYPOINT ["/usr/local/bin/roster"]
CMD ["--help"]

# For CI systems that run a job's script inside the job's image (GitLab CI): the same
# image plus busybox (`sh` at /busybox/sh) from distroless's debug variant. The release
# pushes it as VERSION-ci; build it with `docker build --target ci .`.
FROM gcr.io/distroless/static-debian12:debug-nonroot AS busybox

FROM runtime AS ci
COPY --from=busybox /busybox /busybox
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/busybox
LABEL org.opencontainers.image.title="roster (CI variant, with busybox)"

# Last, so that a plain `docker build .` makes the image without a shell.
FROM runtime
