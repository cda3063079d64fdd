#!/usr/bin/env bash
# Install what tests/deploy needs besides Python packages: Debian's docker-compose (to
# validate docker-compose.yml; no Docker engine is needed), redis-cli and pg_isready
# (to run the compose healthchecks natively). Used by `make test`.
set -eu
missing=()
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v redis-cli >/dev/null || missing+=(redis-tools)
command -v pg_isready >/dev/null || missing+=(postgresql-client)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "Missing ${missing[*]}: install them (Debian: apt-get install ${missing[*]})." >&2
    exit 1
  fi
  echo "Installing ${missing[*]} for tests/deploy."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
docker-compose version --short
