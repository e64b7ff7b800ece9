#!/usr/bin/env bash
# Installs the Debian 12 packages that pgkeeper's build, tests and demo need.
# Idempotent: when everything is present it prints nothing and exits 0.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libpq-dev libzstd-dev liblz4-dev libssl-dev libcurl4-openssl-dev
  libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libcpp-httplib-dev
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  postgresql-15 postgresql-client-15 postgresql-contrib
  # deploy/ checks (promtool, YAML) and serve: time zones for schedules; its tests scrape
  # /metrics with a real Prometheus and render the status page in headless Chromium.
  prometheus python3-yaml tzdata chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 2; }
  SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# The Debian postgresql package creates and starts a system cluster on 5432; pgkeeper
# never uses it (it runs its own embedded clusters), so we do not fight it.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
