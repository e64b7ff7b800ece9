#!/usr/bin/env bash
# WAL archiving, side by side with pgBackRest's archive-push, on one cluster in one run:
#  1. per call: wall and CPU time of one archive_command on real (pgbench) 16 MB segments;
#  2. under load: pgbench tps with archive_mode off, pgkeeper sync, pgkeeper async,
#     pgBackRest sync and async (compress-type zst level 3, process-max 2), with the
#     archive backlog (.ready segments) sampled every 0.5 s: peak and at the end.
#
#   bench/wal_archive.sh [PGBENCH_SCALE] [SECONDS] [CLIENTS] [ROUNDS]  (default 20, 30, 2, 3)
#
# Under load, every configuration runs ROUNDS times, in a rotated order each round and
# each after a server restart: on a shared VM throughput drifts by 20-30% over minutes,
# so one run per configuration in a fixed order measures the drift, not archiving. The
# summary gives each configuration's median tps and its cost against archive_mode off.
#   PGK=build-x/pgkeeper bench/wal_archive.sh ...                   (another build)
#
# Needs root (the server runs as `postgres`) and pgbackrest (apt-get install pgbackrest).
# The cluster is its own (initdb in a temporary directory, with a Unix socket, which
# pgBackRest needs): nothing of yours is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE="${1:-20}"
SECONDS_RUN="${2:-30}"
CLIENTS="${3:-2}"
ROUNDS="${4:-3}"
PGK="${PGK:-$PWD/build/pgkeeper}"
[ -x "$PGK" ] || { echo "build first: ./scripts/build.sh" >&2; exit 2; }
command -v pgbackrest >/dev/null || { echo "pgbackrest is missing: apt-get install pgbackrest" >&2; exit 2; }
BIN=/usr/lib/postgresql/15/bin
AS="runuser -u postgres --"

WORK="$(mktemp -d /tmp/pgkeeper-bench-wal.XXXXXX)"
chmod 711 "$WORK"
mkdir -p "$WORK"/{sock,log,spool,pgbr-spool,pgbr-log,pgbr-lock}
chown postgres: "$WORK"/{sock,log,spool,pgbr-spool,pgbr-log,pgbr-lock}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATA="$WORK/data"
trap '$AS $BIN/pg_ctl -D "$DATA" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
export PGHOST="$WORK/sock" PGPORT="$PORT" PGUSER=postgres PGDATABASE=postgres

mkdir "$DATA" && chown postgres: "$DATA" && chmod 700 "$DATA"
$AS $BIN/initdb -D "$DATA" -U postgres --data-checksums >/dev/null 2>&1
cat >>"$DATA/postgresql.conf" <<EOF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$WORK/sock'
wal_level = replica
max_wal_size = 4GB
checkpoint_timeout = 30min
EOF
cat >"$WORK/pgbackrest.conf" <<EOF
[global]
repo1-path=$WORK/pgbr-repo
log-path=$WORK/pgbr-log
lock-path=$WORK/pgbr-lock
spool-path=$WORK/pgbr-spool
compress-type=zst
compress-level=3
process-max=2
log-level-console=warn
log-level-file=off
start-fast=y

[bench]
pg1-path=$DATA
pg1-port=$PORT
pg1-socket-path=$WORK/sock
EOF
chown postgres: "$WORK/pgbackrest.conf"
PGBR="pgbackrest --config=$WORK/pgbackrest.conf --stanza=bench"

restart() { $AS $BIN/pg_ctl -D "$DATA" -l "$WORK/log/server.log" -w restart -o "$1" >/dev/null; }
$AS $BIN/pg_ctl -D "$DATA" -l "$WORK/log/server.log" -w start -o "-c archive_mode=off" >/dev/null
echo "pgbench -i -s $SCALE ..."
$BIN/pgbench -q -i -s "$SCALE" >/dev/null 2>&1
psql() { $BIN/psql -Atq "$@"; }

# --- 1. per call -----------------------------------------------------------------------
# Real segments from a pgbench run, copied into a private pg_wal beside a copy of
# pg_control (wal-push reads the cluster's identity from the data directory).
$BIN/pgbench -T 5 -c "$CLIENTS" -j "$CLIENTS" -N >/dev/null 2>&1
psql -c "SELECT pg_switch_wal()" >/dev/null
mkdir -p "$WORK/calls/global" "$WORK/calls/pg_wal/archive_status"
cp "$DATA/global/pg_control" "$WORK/calls/global/"
ls "$DATA/pg_wal" | grep -E '^[0-9A-F]{24}$' | sort | tail -9 | head -8 | while read -r s; do cp "$DATA/pg_wal/$s" "$WORK/calls/pg_wal/"; done
chown -R postgres: "$WORK/calls"
SEGS=$(ls "$WORK/calls/pg_wal" | grep -E '^[0-9A-F]{24}$')
NSEG=$(echo "$SEGS" | wc -l)

percall() {  # label, command prefix (run as postgres in $WORK/calls, segment path appended)
  local label="$1"; shift
  local t0 cpu0 t1 cpu1
  t0=$(date +%s.%N)
  cpu0=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  for s in $SEGS; do (cd "$WORK/calls" && $AS "$@" "$WORK/calls/pg_wal/$s") >/dev/null; done
  t1=$(date +%s.%N)
  # CPU of waited-for children (cutime+cstime), in clock ticks.
  cpu1=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  python3 -c "import os; t=os.sysconf('SC_CLK_TCK'); print(f'  {\"$label\":<40} {($t1-$t0)/$NSEG*1000:7.1f} ms wall {($cpu1-$cpu0)/t/$NSEG*1000:7.1f} ms CPU per segment')"
}
echo "per call, $NSEG segments of 16 MB from pgbench -N:"
mkdir -p "$WORK/pgk-calls" && chown postgres: "$WORK/pgk-calls"
percall "pgkeeper wal-push (zstd 1)" "$PGK" wal-push --repo "$WORK/pgk-calls"
rm -rf "$WORK/pgk-calls"/*
percall "pgkeeper wal-push (zstd 3)" "$PGK" wal-push --repo "$WORK/pgk-calls" --level 3
du -sb "$WORK/pgk-calls" | awk '{printf "    stored: %d bytes\n", $1}'
mkdir -p "$WORK/pgbr-repo" && chown postgres: "$WORK/pgbr-repo"
psql -c "ALTER SYSTEM SET archive_command = 'true'" -c "SELECT pg_reload_conf()" >/dev/null
$AS $PGBR stanza-create >/dev/null
percall "pgbackrest archive-push (zst 3)" $PGBR archive-push
du -sb "$WORK/pgbr-repo/archive" | awk '{printf "    stored: %d bytes\n", $1}'

# --- 2. under load ---------------------------------------------------------------------
sample_backlog() {  # prints "peak" of .ready files while pgbench runs (file $WORK/peak)
  local peak=0 n
  while [ -e "$WORK/running" ]; do
    n=$(ls "$DATA/pg_wal/archive_status" 2>/dev/null | grep -c '\.ready$' || true)
    [ "$n" -gt "$peak" ] && peak=$n
    sleep 0.5
  done
  echo "$peak" >"$WORK/peak"
}

load() {  # label, archive_command ('' = archive_mode off)
  local label="$1" cmd="$2" tps end drain t0
  psql -c "CHECKPOINT" >/dev/null
  touch "$WORK/running"
  sample_backlog &
  local lsn0 lsn1
  lsn0=$(psql -c "SELECT pg_current_wal_insert_lsn()")
  # Asynchronous commit: the client is not held up by the WAL flush, so pgbench writes
  # WAL as fast as the CPU allows and archiving is what is measured.
  tps=$(PGOPTIONS="-c synchronous_commit=off" $BIN/pgbench -T "$SECONDS_RUN" -c "$CLIENTS" -j "$CLIENTS" -N 2>/dev/null |
        awk '/^tps/ {print $3}')
  lsn1=$(psql -c "SELECT pg_current_wal_insert_lsn()")
  rm -f "$WORK/running"; wait
  end=$(ls "$DATA/pg_wal/archive_status" | grep -c '\.ready$' || true)
  t0=$(date +%s.%N)
  if [ -n "$cmd" ]; then
    while [ "$(ls "$DATA/pg_wal/archive_status" | grep -c '\.ready$' || true)" -gt 0 ]; do sleep 0.2; done
  fi
  drain=$(python3 -c "print(f'{$(date +%s.%N)-$t0:.1f}')")
  local mbs
  mbs=$(psql -c "SELECT round(pg_wal_lsn_diff('$lsn1', '$lsn0') / 1048576.0 / $SECONDS_RUN, 1)")
  printf "  %-40s %8.1f tps %6s MB/s WAL   backlog peak %3s, at end %3s segments, drained in %5s s\n" \
    "$label" "$tps" "$mbs" "$(cat "$WORK/peak")" "$end" "$drain"
  echo "$label|$tps|$(cat "$WORK/peak")" >>"$WORK/load-results"
}

echo "pgbench -N -T $SECONDS_RUN -c $CLIENTS (synchronous_commit off), scale $SCALE, $ROUNDS rounds:"
mkdir -p "$WORK/pgk-repo" && chown postgres: "$WORK/pgk-repo"
setcmd() { psql -c "ALTER SYSTEM SET archive_command = \$\$$1\$\$" >/dev/null; }
configs=("archive_mode off" "pgkeeper wal-push (sync)" "pgkeeper wal-push --async --jobs 2"
         "pgbackrest archive-push (sync)" "pgbackrest archive-push (async)")
apply() {  # one configuration, then a restart (every run starts from the same state)
  case "$1" in
    "archive_mode off") restart "-c archive_mode=off"; return ;;
    "pgkeeper wal-push (sync)") setcmd "'$PGK' wal-push %p --repo '$WORK/pgk-repo'" ;;
    "pgkeeper wal-push --async --jobs 2")
      setcmd "'$PGK' wal-push %p --repo '$WORK/pgk-repo' --async --spool '$WORK/spool' --jobs 2" ;;
    "pgbackrest archive-push (sync)") setcmd "$PGBR archive-push %p" ;;
    "pgbackrest archive-push (async)") setcmd "$PGBR --archive-async archive-push %p" ;;
  esac
  restart "-c archive_mode=on"
}
: >"$WORK/load-results"
for ((r = 0; r < ROUNDS; r++)); do
  for ((i = 0; i < ${#configs[@]}; i++)); do
    c="${configs[$(( (i + r) % ${#configs[@]} ))]}"
    apply "$c"
    if [ "$c" = "archive_mode off" ]; then load "$c" ""; else load "$c" x; fi
  done
done
python3 - "$WORK/load-results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    label, tps, peak = line.rstrip("\n").rsplit("|", 2)
    runs.setdefault(label, []).append((float(tps), int(peak)))
base = statistics.median(t for t, _ in runs.get("archive_mode off", [(0, 0)]))
print("median of the rounds:")
for label, rs in runs.items():
    tps = statistics.median(t for t, _ in rs)
    cost = f"{(1 - tps / base) * 100:+5.1f}% tps cost" if base and label != "archive_mode off" else ""
    print(f"  {label:<40} {tps:8.1f} tps  backlog peak {max(p for _, p in rs):2d} segments  {cost}")
PY
