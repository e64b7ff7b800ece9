#!/usr/bin/env bash
# Physical backup and restore, side by side with pgBackRest (process-max 2, zstd level 3)
# and pg_basebackup, on one archiving cluster in one run: wall time and size of a full
# backup, of an incremental after `pgbench -T`, and of a restore into an empty directory
# (files only; recovery time is PostgreSQL's and the same for both).
#
#   bench/backup_physical.sh [PGBENCH_SCALE] [PGBENCH_SECONDS]     (default 100 and 60)
#
# Needs root (the cluster and both tools run as `postgres`) and the Debian package
# pgbackrest. Both tools archive every WAL segment (archive_command runs both), so each
# backup waits for its WAL the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE="${1:-100}"
SECONDS_RUN="${2:-60}"
PGK="$PWD/${PGK_BUILD:-build}/pgkeeper"
BIN=/usr/lib/postgresql/15/bin
M="python3 $PWD/bench/measure.py"
[ -x "$PGK" ] || { echo "build first: ./scripts/build.sh" >&2; exit 2; }
command -v pgbackrest >/dev/null || { echo "install pgbackrest (apt-get install pgbackrest)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run as root (the cluster runs as postgres)" >&2; exit 2; }

WORK="$(mktemp -d /tmp/pgkeeper-bench-physical.XXXXXX)"
chmod 711 "$WORK"
AS_PG="runuser -u postgres --"
as_pg() { $AS_PG "$@"; }
cleanup() {
  [ -n "${KEEP:-}" ] && { echo "kept $WORK"; return; }
  for d in "$WORK/data" "$WORK/restore-pgk" "$WORK/restore-pgbr"; do
    [ -f "$d/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$d" stop -m immediate >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/sock" "$WORK/repo-pgk" "$WORK/repo-pgbr" "$WORK/pgbr-log" "$WORK/basebackup"
chown postgres: "$WORK/sock" "$WORK/repo-pgk" "$WORK/repo-pgbr" "$WORK/pgbr-log" "$WORK/basebackup"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PGHOST="$WORK/sock" PGPORT="$PORT" PGUSER=postgres

cat >"$WORK/pgbackrest.conf" <<CONF
[global]
repo1-path=$WORK/repo-pgbr
log-path=$WORK/pgbr-log
process-max=2
compress-type=zst
compress-level=3
start-fast=y
log-level-console=warn
[bench]
pg1-path=$WORK/data
pg1-port=$PORT
pg1-socket-path=$WORK/sock
CONF
chmod 644 "$WORK/pgbackrest.conf"
PGBR="pgbackrest --config=$WORK/pgbackrest.conf --stanza=bench"

mkdir -m 700 "$WORK/data" && chown postgres: "$WORK/data"
as_pg "$BIN/initdb" -D "$WORK/data" --data-checksums -A trust -U postgres >/dev/null
cat >>"$WORK/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$WORK/sock'
wal_level = replica
archive_mode = on
archive_command = '$PGK wal-push %p --repo $WORK/repo-pgk && $PGBR archive-push %p'
max_wal_size = 4GB
CONF
touch "$WORK/server.log" && chown postgres: "$WORK/server.log"
as_pg "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w start >/dev/null
as_pg $PGBR stanza-create >/dev/null
echo "pgbench -i -s $SCALE ..."
"$BIN/pgbench" -q -i -s "$SCALE" postgres >/dev/null 2>&1
# Each backup must not wait for the archiving backlog of the load that preceded it.
archived() {
  local seg
  seg=$("$BIN/psql" -Atq -c "SELECT pg_walfile_name(pg_current_wal_lsn())")
  "$BIN/psql" -q -c "SELECT pg_switch_wal()" >/dev/null
  until [ "$("$BIN/psql" -Atq -c "SELECT coalesce(last_archived_wal, '') >= '$seg' FROM pg_stat_archiver")" = t ]; do
    sleep 0.5
  done
}
"$BIN/psql" -q -c "CHECKPOINT" >/dev/null
archived
echo "cluster: $(du -sh "$WORK/data" | cut -f1)"

run() {  # label, size-path, command...
  local label="$1" out="$2"; shift 2
  local secs size
  # Start each measurement with nothing dirty: the previous step's writeback (pgbench,
  # a backup's repository) must not be charged to whoever happens to run next.
  sync
  if ! $M "$@" >"$WORK/run.out" 2>&1; then
    echo "  $label FAILED:" >&2
    tail -5 "$WORK/run.out" >&2
    exit 1
  fi
  secs=$(grep MEASURE "$WORK/run.out" | tail -1 | awk '{print $2}')
  size=$(du -sb "$out" 2>/dev/null | awk '{print $1}')
  printf "  %-44s %8.2f s %14s bytes\n" "$label" "$secs" "${size:-0}"
  echo "$label|$secs|${size:-0}" >>"$WORK/results"
}
newest() { ls -d "$1"/* 2>/dev/null | sort | tail -1; }

echo "full backups:"
run "pgkeeper backup --mode full -j2 (zstd 3)" "$WORK/repo-pgk/backups" \
  $AS_PG "$PGK" backup --type physical --mode full --jobs 2 --level 3 -q --repo "$WORK/repo-pgk" \
  --db "host=$WORK/sock port=$PORT user=postgres dbname=postgres"
run "pgbackrest --type=full (process-max 2, zst 3)" "$WORK/repo-pgbr/backup/bench" $AS_PG $PGBR --type=full backup
run "pg_basebackup -Ft -z (gzip, 1 process)" "$WORK/basebackup" \
  $AS_PG "$BIN/pg_basebackup" -D "$WORK/basebackup/b" -Ft -z -X none -c fast
echo "pgbench -T $SECONDS_RUN ..."
"$BIN/pgbench" -T "$SECONDS_RUN" -c 2 postgres >/dev/null 2>&1
archived
echo "incremental backups:"
before=$(du -sb "$WORK/repo-pgk/backups" | awk '{print $1}')
run "pgkeeper backup --mode incr -j2" "$WORK/repo-pgk/backups" \
  $AS_PG "$PGK" backup --type physical --mode incr --jobs 2 --level 3 -q --repo "$WORK/repo-pgk" \
  --db "host=$WORK/sock port=$PORT user=postgres dbname=postgres"
incr_pgk=$(( $(du -sb "$WORK/repo-pgk/backups" | awk '{print $1}') - before ))
before=$(du -sb "$WORK/repo-pgbr/backup/bench" | awk '{print $1}')
run "pgbackrest --type=incr" "$WORK/repo-pgbr/backup/bench" $AS_PG $PGBR --type=incr backup
incr_pgbr=$(( $(du -sb "$WORK/repo-pgbr/backup/bench" | awk '{print $1}') - before ))
echo "  incremental sizes: pgkeeper $incr_pgk bytes, pgbackrest $incr_pgbr bytes"
echo "restores (files only, into an empty directory):"
run "pgkeeper restore --pgdata -j2" "$WORK/restore-pgk" \
  "$PGK" restore --repo "$WORK/repo-pgk" --pgdata "$WORK/restore-pgk" --jobs 2 -q
mkdir -p "$WORK/restore-pgbr" && chown postgres: "$WORK/restore-pgbr" && chmod 700 "$WORK/restore-pgbr"
run "pgbackrest restore (process-max 2)" "$WORK/restore-pgbr" $AS_PG $PGBR --pg1-path="$WORK/restore-pgbr" restore
# The floor under both restores: writing as many bytes to this disk, durably, with dd.
restored=$(du -sb "$WORK/restore-pgk" | awk '{print $1}')
rm -rf "$WORK/restore-pgbr"
run "disk floor: dd of the same bytes + fdatasync" "" \
  dd if=/dev/zero of="$WORK/dd-floor" bs=4M count=$(( (restored + 4194303) / 4194304 )) conv=fdatasync status=none
rm -f "$WORK/dd-floor"

python3 - "$WORK/results" <<'PY'
import sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1])]
d = {r[0]: (float(r[1]), int(r[2])) for r in rows}
def ratio(a, b, what):
    if a in d and b in d:
        print(f"{what}: pgkeeper {d[a][0] / d[b][0]:.2f}x pgBackRest's time")
ratio("pgkeeper backup --mode full -j2 (zstd 3)", "pgbackrest --type=full (process-max 2, zst 3)", "full backup")
ratio("pgkeeper backup --mode incr -j2", "pgbackrest --type=incr", "incremental backup")
ratio("pgkeeper restore --pgdata -j2", "pgbackrest restore (process-max 2)", "restore")
floor = "disk floor: dd of the same bytes + fdatasync"
if floor in d:
    for a in ("pgkeeper restore --pgdata -j2", "pgbackrest restore (process-max 2)"):
        if a in d:
            print(f"{a.split()[0]} restore: {d[a][0] / d[floor][0]:.2f}x the disk floor")
PY
