# The wizard as a small container image: built with Debian's Rust image,
# run as a non-root user on Debian slim (CA certificates for SAP's hosts, curl
# for the health check). Pages, styles and migrations are in the binary.
# Build: docker build -t taskcenter-wizard .
# Run:   docker run -p 8080:8080 -v tcw-data:/data taskcenter-wizard
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src src
COPY migrations migrations
COPY templates templates
COPY static static
COPY examples examples
COPY tests tests
RUN cargo build --release --locked --bin taskcenter-wizard \
 && strip target/release/taskcenter-wizard

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data wizard \
 && mkdir -p /data && chown wizard /data
COPY --from=build /src/target/release/taskcenter-wizard /usr/local/bin/taskcenter-wizard
WORKDIR /data
USER wizard
ENV WIZARD_LISTEN=0.0.0.0:8080 \
    WIZARD_DATABASE=/data/taskcenter-wizard.db
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/taskcenter-wizard"]
