#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to the pgkeeper tour: installs what is
# missing (apt), builds, and runs `pgkeeper demo` on an embedded PostgreSQL cluster.
# Extra arguments go to `pgkeeper demo` (e.g. --keep).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh >/dev/null
exec ./build/pgkeeper demo "$@"
