#!/usr/bin/env bash
# Install what tests/browser needs besides Python packages: Debian's headless Chromium,
# which Playwright drives through `executable_path` (never `playwright install`, which
# downloads browsers from a CDN). Used by `make test`.
set -eu
CHROMIUM="${HORN_TEST_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "Missing $CHROMIUM: install it (Debian: apt-get install chromium)." >&2
    exit 1
  fi
  echo "Installing chromium for tests/browser."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
"$CHROMIUM" --version 2>/dev/null
