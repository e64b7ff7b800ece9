#!/usr/bin/env bash
# Installs s3rver (an S3-compatible server in Node.js) for the S3 integration tests and
# prints the path of its CLI. Idempotent: installs only when missing. The tests start the
# server themselves (tests/harness/s3.h); they find the CLI at build/s3rver or through
# $PGKEEPER_S3RVER. To run
# it by hand (the flag is needed with OpenSSL 3 for paginated listings):
#   node --openssl-legacy-provider "$(scripts/s3-test-server.sh)" --directory /tmp/s3 \
#        --address 127.0.0.1 --port 4568 --configure-bucket test-bucket   # keys S3RVER/S3RVER
#   scripts/s3-test-server.sh            # install if needed, print the CLI path
set -euo pipefail

version=3.7.1
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="$root/build/s3rver"
cli="$prefix/node_modules/s3rver/bin/s3rver.js"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "node/npm not found: installing them with apt-get" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >&2
fi

if [[ ! -f "$cli" ]]; then
  echo "installing s3rver@$version into $prefix" >&2
  mkdir -p "$prefix"
  npm install --prefix "$prefix" "s3rver@$version" --no-audit --no-fund >&2
fi

[[ -f "$cli" ]] || { echo "s3rver CLI not found at $cli after install" >&2; exit 1; }
echo "$cli"
