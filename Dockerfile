# pixscan in a container: the release binary, plus Debian's Chromium for `site --browser`.
#
#   docker build -t pixscan .
#   docker run --rm -v "$PWD:/work" pixscan eml mail/
#   docker run --rm --shm-size=1g pixscan site --browser https://www.example.com/
#
# The build stage follows Cargo.toml's rust-version (1.95) and the committed Cargo.lock.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
 && install -D -m 0755 target/release/pixscan /out/pixscan

FROM debian:bookworm-slim
# chromium: browser mode (`pixscan site --browser`); ca-certificates: HTTPS crawls.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      chromium ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/pixscan /usr/local/bin/pixscan
RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin pixscan
# Chromium's own config and cache go to /tmp, so `docker run --user UID:GID` (a uid without
# a home, e.g. to write reports into the mounted directory) works too.
ENV PIXSCAN_CHROMIUM=/usr/bin/chromium \
    XDG_CONFIG_HOME=/tmp/.config \
    XDG_CACHE_HOME=/tmp/.cache
USER pixscan
WORKDIR /work
ENTRYPOINT ["pixscan"]
CMD ["--help"]
