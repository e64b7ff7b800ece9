#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a full test run: installs what is missing
# (apt), builds, and runs every test (unit and integration) with CTest. Integration tests
# start their own PostgreSQL 15 clusters on free loopback ports in temporary directories.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
# The S3 driver's integration test runs against s3rver (npm registry), installed here once.
./scripts/s3-test-server.sh >/dev/null
./scripts/build.sh
# As root the test clusters, their archive_command and the commands that share a
# repository with them run as `postgres`, which must be able to reach the binary. A clone
# in a 0700 directory (mktemp -d, /root) is made traversable (o+x: enter, not list).
if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$PWD/build/pgkeeper"; then
  path=""
  IFS=/ read -r -a parts <<<"${PWD#/}"
  for part in "${parts[@]}"; do
    path="$path/$part"
    if ! runuser -u postgres -- test -x "$path"; then
      echo "note: chmod o+x $path so that the postgres user can reach build/pgkeeper" >&2
      chmod o+x "$path"
    fi
  done
  if ! runuser -u postgres -- test -x "$PWD/build/pgkeeper"; then
    echo "error: the postgres user cannot execute $PWD/build/pgkeeper" >&2
    echo "hint: the tests run PostgreSQL and pgkeeper's archive_command as postgres; clone where it can" >&2
    exit 2
  fi
fi
cd build
exec ctest -j"${JOBS:-2}" --output-on-failure --timeout 900
