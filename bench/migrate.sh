#!/usr/bin/env bash
# Applies N small migrations (default 1,000) with pgkeeper and with a plain psql loop (the
# migrate.sh way: one psql per file in a transaction plus one to record the version), on a
# fresh embedded cluster, and prints the time per migration and pgkeeper's overhead over
# running the same SQL in a single psql session. sqitch is compared too when installed.
#
#   bench/migrate.sh [N]        (needs build/pgkeeper: ./scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000}"
source bench/lib.sh
bench_start_cluster migrate
PSQL="$(command -v psql)"

mkdir -p "$WORK/m"
for i in $(seq 1 "$N"); do
  v=$(printf "%06d" "$i")
  printf 'CREATE TABLE t_%s (id bigint PRIMARY KEY, note text);\nINSERT INTO t_%s VALUES (1, '"'"'x'"'"');\n' "$i" "$i" >"$WORK/m/${v}_step.up.sql"
done

for db in pgk pure loop; do "$PSQL" -q -d postgres -c "CREATE DATABASE $db"; done

t0=$(now); "$PGK" migrate --dir "$WORK/m" --db "postgresql://postgres@127.0.0.1:$PORT/pgk" up -q >/dev/null; t1=$(now)
cat "$WORK"/m/*.up.sql | "$PSQL" -q -d pure -v ON_ERROR_STOP=1 >/dev/null; t2=$(now)
"$PSQL" -q -d loop -c "CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz DEFAULT now())"
t3=$(now)
for f in "$WORK"/m/*.up.sql; do
  v=$(basename "$f" | cut -d_ -f1)
  "$PSQL" -q -d loop -v ON_ERROR_STOP=1 -1 -f "$f" >/dev/null
  "$PSQL" -q -d loop -c "INSERT INTO schema_migrations (version) VALUES ('$v')" >/dev/null
done
t4=$(now)

python3 - "$N" "$t0" "$t1" "$t2" "$t3" "$t4" <<'PY'
import sys
n = int(sys.argv[1]); t0, t1, t2, t3, t4 = map(float, sys.argv[2:])
pgk, pure, loop = (t1 - t0) / n * 1000, (t2 - t1) / n * 1000, (t4 - t3) / n * 1000
print(f"{n} migrations (CREATE TABLE + INSERT each) on a local PostgreSQL 15")
print(f"  pgkeeper migrate up   {pgk:7.2f} ms per migration   total {t1 - t0:6.2f} s")
print(f"  psql loop (migrate.sh){loop:7.2f} ms per migration   total {t4 - t3:6.2f} s")
print(f"  same SQL, one session {pure:7.2f} ms per migration   total {t2 - t1:6.2f} s")
print(f"  pgkeeper overhead     {pgk - pure:7.2f} ms per migration (target < 5 ms)")
print(f"  ratio psql loop / pgkeeper: {loop / pgk:.1f}x")
PY
if command -v sqitch >/dev/null; then
  echo "  sqitch: installed, but not scripted yet (see bench/README.md)"
else
  echo "  sqitch: not installed (apt-get install sqitch to compare)"
fi
