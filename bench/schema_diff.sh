#!/usr/bin/env bash
# Diff of two identical databases with N tables (default 1,000; each with a primary key,
# a foreign key, an index, a default and a comment): `pgkeeper schema diff` against
# `pg_dump --schema-only` of both plus diff(1), side by side, on a fresh embedded cluster.
#
#   bench/schema_diff.sh [N]        (needs build/pgkeeper: ./scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000}"
source bench/lib.sh
bench_start_cluster schema
BIN=/usr/lib/postgresql/15/bin

python3 - "$N" >"$WORK/schema.sql" <<'PY'
import sys
n = int(sys.argv[1])
print("CREATE TABLE parent (id bigint PRIMARY KEY);")
for i in range(n):
    print(f"CREATE TABLE t_{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, parent_id bigint REFERENCES parent,"
          f" name text NOT NULL DEFAULT 'x', created_at timestamptz DEFAULT now());")
    print(f"CREATE INDEX t_{i}_name ON t_{i} (name);")
    print(f"COMMENT ON TABLE t_{i} IS 'table {i}';")
PY
for db in a b; do
  "$BIN/psql" -q -d postgres -c "CREATE DATABASE $db"
  "$BIN/psql" -q -d "$db" -v ON_ERROR_STOP=1 -f "$WORK/schema.sql" >/dev/null
done
URL_A="postgresql://postgres@127.0.0.1:$PORT/a"
URL_B="postgresql://postgres@127.0.0.1:$PORT/b"

"$PGK" schema diff "$URL_A" "$URL_B" >/dev/null  # warm the caches for both
t0=$(now); "$PGK" schema diff "$URL_A" "$URL_B" >/dev/null; t1=$(now)
"$BIN/pg_dump" --schema-only -d a >"$WORK/a.sql"; "$BIN/pg_dump" --schema-only -d b >"$WORK/b.sql"
diff "$WORK/a.sql" "$WORK/b.sql" >/dev/null || true; t2=$(now)

python3 - "$N" "$t0" "$t1" "$t2" <<'PY'
import sys
n = int(sys.argv[1]); t0, t1, t2 = map(float, sys.argv[2:])
print(f"diff of two identical databases with {n} tables (PK, FK, identity, index, default, comment each)")
print(f"  pgkeeper schema diff            {t1 - t0:6.2f} s   (target < 2 s)")
print(f"  pg_dump --schema-only x2 + diff {t2 - t1:6.2f} s")
print(f"  ratio: {(t2 - t1) / (t1 - t0):.1f}x")
PY
