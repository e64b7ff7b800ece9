#!/usr/bin/env bash
# Configures and builds pgkeeper into ./build (the executable is build/pgkeeper).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}"
cmake -S . -B build -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
cmake --build build -j"${JOBS:-2}"
