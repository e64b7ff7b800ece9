#!/usr/bin/env bash
# Checks the shipped operations files in deploy/ (CTest `deploy.files`):
#   promtool check rules + promtool test rules, the Grafana JSON, the Kubernetes YAML,
#   the example config's TOML, metric names against what serve exposes, and
#   systemd-analyze verify on the unit.
# Usage: check_deploy.sh SOURCE_DIR [PGKEEPER_BINARY]
# Exit 0 ok, 1 a check failed, 77 skipped (promtool missing: CTest SKIP_RETURN_CODE).
set -euo pipefail

src=${1:?usage: check_deploy.sh SOURCE_DIR [PGKEEPER_BINARY]}
binary=${2:-}
deploy="$src/deploy"

if ! command -v promtool >/dev/null; then
  echo "SKIP: promtool not installed (apt-get install prometheus, or scripts/install-deps.sh)"
  exit 77
fi

echo "== promtool check rules"
promtool check rules "$deploy/prometheus/pgkeeper-rules.yml"
echo "== promtool test rules"
# promtool resolves rule_files relative to the working directory.
(cd "$deploy/prometheus" && promtool test rules pgkeeper-rules.test.yml)

echo "== YAML, JSON, TOML and metric names"
python3 "$src/tests/deploy/check_files.py" "$deploy"

echo "== systemd-analyze verify"
if command -v systemd-analyze >/dev/null; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # verify needs ExecStart to exist and the EnvironmentFile is only read at start; point
  # the copy at a binary that exists here, keep every other line as shipped.
  exe=${binary:-/bin/true}
  sed "s#^ExecStart=/usr/local/bin/pgkeeper#ExecStart=$exe#" "$deploy/systemd/pgkeeper.service" >"$tmp/pgkeeper.service"
  out=$(systemd-analyze verify "$tmp/pgkeeper.service" 2>&1) || { echo "$out"; exit 1; }
  # verify returns 0 for some warnings; unknown or misspelt keys must fail the test.
  if grep -qi "unknown\|invalid\|failed to parse\|ignoring" <<<"$out"; then echo "$out"; exit 1; fi
  echo "ok"
else
  echo "skipped: systemd-analyze not installed"
fi
echo "deploy files ok"
