# Shared setup for the benchmark scripts (sourced, not run): a fresh embedded cluster in
# a temporary directory, torn down on exit, with PG* variables pointing at it.
#   bench_start_cluster NAME     sets WORK, PORT, PGK, and exports PGPASSFILE/PGHOST/PGPORT/PGUSER
PGK="${PGK:-$PWD/${PGK_BUILD:-build}/pgkeeper}"
[ -x "$PGK" ] || { echo "build first: ./scripts/build.sh" >&2; exit 2; }

bench_start_cluster() {
  WORK="$(mktemp -d "/tmp/pgkeeper-bench-$1.XXXXXX")"
  chmod 711 "$WORK"
  trap '"$PGK" local destroy --dir "$WORK/cluster" --yes >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
  "$PGK" local start --dir "$WORK/cluster" >/dev/null
  PORT=$("$PGK" local status --dir "$WORK/cluster" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["port"])')
  export PGPASSFILE="$WORK/cluster/pgpass" PGHOST=127.0.0.1 PGPORT="$PORT" PGUSER=postgres
}

now() { date +%s.%N; }
