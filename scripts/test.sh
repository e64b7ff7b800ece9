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
cd build
exec ctest -j"${JOBS:-2}" --output-on-failure --timeout 900
