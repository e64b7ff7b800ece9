#!/usr/bin/env bash
# Logical backup and restore, side by side with pg_dump / pg_restore, on the same cluster
# in one run: wall time, size and peak RSS, on pgbench data (compresses ~40x: its filler
# column is blank) and on data that compresses poorly (random bytes).
#
#   bench/backup_logical.sh [PGBENCH_SCALE] [RANDOM_MB]     (default 100 and 512)
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE="${1:-100}"
RANDOM_MB="${2:-512}"
source bench/lib.sh
bench_start_cluster backup
BIN=/usr/lib/postgresql/15/bin
M="python3 bench/measure.py"

"$BIN/psql" -q -d postgres -c "CREATE DATABASE pgb" -c "CREATE DATABASE rnd"
"$BIN/pgbench" -q -i -s "$SCALE" pgb >/dev/null 2>&1
# ~RANDOM_MB of incompressible bytea in 8 KiB rows.
"$BIN/psql" -q -d rnd -c "CREATE TABLE blobs (id int PRIMARY KEY, b bytea)" \
  -c "INSERT INTO blobs SELECT g, decode(string_agg(md5(random()::text || g || s), ''), 'hex')
      FROM generate_series(1, $RANDOM_MB * 128) g, generate_series(1, 512) s GROUP BY g"
"$BIN/psql" -q -d pgb -c "VACUUM ANALYZE" -d rnd -c "VACUUM ANALYZE" >/dev/null

run() {  # label, output-size-path, command...
  local label="$1" out="$2"; shift 2
  local line
  # Each measurement starts from a checkpointed server and nothing dirty in the page
  # cache, so that one tool does not pay for the writeback of what ran before it.
  "$BIN/psql" -q -d postgres -c "CHECKPOINT" >/dev/null
  sync
  line=$({ $M "$@" >/dev/null; } 2>&1 | grep MEASURE | tail -1)
  local secs rss size
  secs=$(echo "$line" | awk '{print $2}'); rss=$(echo "$line" | awk '{print $3}')
  size=$(du -sb "$out" 2>/dev/null | awk '{print $1}')
  printf "  %-34s %8.2f s %10s bytes  peak RSS %6d MiB\n" "$label" "$secs" "${size:-0}" "$((rss / 1024))"
  echo "$label $secs ${size:-0}" >>"$WORK/results"
}

for db in pgb rnd; do
  size=$("$BIN/psql" -Atq -d "$db" -c "SELECT pg_database_size(current_database())")
  echo "database $db: $((size / 1024 / 1024)) MiB"
  URL="postgresql://postgres@127.0.0.1:$PORT/$db"
  run "pgkeeper backup --jobs 2 (zstd)" "$WORK/repo-$db" "$PGK" backup --db "$URL" --repo "$WORK/repo-$db" --jobs 2 -q
  run "pg_dump -Fc" "$WORK/$db.dump" "$BIN/pg_dump" -Fc -f "$WORK/$db.dump" -d "$db"
  run "pg_dump -Fd -j2" "$WORK/$db.dir" "$BIN/pg_dump" -Fd -j2 -f "$WORK/$db.dir" -d "$db"
  if "$PGK" restore --help >/dev/null 2>&1; then
    run "pgkeeper restore --jobs 2" "/dev/null" "$PGK" restore latest --repo "$WORK/repo-$db" \
      --db "postgresql://postgres@127.0.0.1:$PORT/postgres" --into "${db}_pgk" --jobs 2 -q
  fi
  "$BIN/psql" -q -d postgres -c "CREATE DATABASE ${db}_pgr"
  run "pg_restore -j2 (from -Fd)" "/dev/null" "$BIN/pg_restore" -j2 -d "${db}_pgr" "$WORK/$db.dir"
  echo
done
python3 - "$WORK/results" <<'PY'
import sys, collections
rows = collections.OrderedDict()
order = []
for line in open(sys.argv[1]):
    parts = line.rsplit(" ", 2)
    label, secs, size = parts[0], float(parts[1]), int(parts[2])
    order.append((label, secs, size))
# Pairs per database: first block is pgb, second rnd (same labels).
half = len(order) // 2
for name, block in (("pgbench", order[:half]), ("random", order[half:])):
    d = {l: (s, z) for l, s, z in block}
    pgk = d.get("pgkeeper backup --jobs 2 (zstd)"); fc = d.get("pg_dump -Fc")
    if pgk and fc:
        print(f"{name}: pgkeeper backup takes {pgk[0] / fc[0]:.2f}x the time of pg_dump -Fc at {pgk[1] / max(fc[1], 1):.2f}x its size")
    r = d.get("pgkeeper restore --jobs 2"); pr = d.get("pg_restore -j2 (from -Fd)")
    if r and pr:
        print(f"{name}: pgkeeper restore takes {r[0] / pr[0]:.2f}x the time of pg_restore -j2")
PY
