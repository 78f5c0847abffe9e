#!/bin/sh
# Installs the EDPS Website Evidence Collector (WEC) for the `wec` variant of the browser
# bench's A/B (see README, "Tests and benchmark"). WEC is not on the npm registry: SRC is a
# checkout of its public repository EU-EDPS/website-evidence-collector at version 2.1.1
# (commit 7612b35), whose dependencies come from npm by its package-lock. Puppeteer downloads
# no browser: the bench points it at the Chromium pixscan uses. Nothing lands in this repo.
#
#   benches/wec/install.sh SRC DEST    # then DEST/bin/website-evidence-collector.js
set -eu
[ $# -eq 2 ] || { echo "usage: $0 SRC DEST" >&2; exit 2; }
src=$1 dest=$2
version=$(node -p "require('$src/package.json').version")
[ "$version" = 2.1.1 ] || echo "warning: WEC $version, the bench was measured with 2.1.1" >&2
mkdir -p "$dest"
(cd "$src" && tar --exclude=.git --exclude=node_modules -cf - .) | (cd "$dest" && tar -xf -)
cd "$dest"
PUPPETEER_SKIP_DOWNLOAD=1 PUPPETEER_SKIP_CHROMIUM_DOWNLOAD=1 \
  npm ci --omit=dev --ignore-scripts --no-audit --no-fund
echo "installed: $dest/bin/website-evidence-collector.js"
