#!/usr/bin/env bash
# bench-disk.sh BUILD [SECONDS] - the bytes the whole daemon causes to be
# written to storage (/proc/PID/io write_bytes, counted as pages are
# dirtied) per hour, at two slaves polled every second with the shipped
# settings: telemetry synced every fsync_ms (default 20 s), cursors every
# 5 min, status.json on a RAM disk (run_dir, as the example config and the
# systemd unit have it), both sinks on loopback and the local history
# committing every commit_s (BENCH_COMMIT_S, default 300; 0: no history,
# to see what the outbox and cursors cost alone). SECONDS
# (BENCH_DISK_SECONDS, default 600) should hold whole history commits.
set -u
BUILD=$(cd "${1:-build}" && pwd)
TOP=$(cd "$(dirname "$0")/.." && pwd)
DISK_S=${2:-${BENCH_DISK_SECONDS:-600}}
COMMIT_S=${BENCH_COMMIT_S:-300}
WORK=$(mktemp -d -t outfall-bench-disk.XXXXXX)
RUN=$(mktemp -d -p /dev/shm outfall-bench-run.XXXXXX)
. "$TOP/tests/integration/lib.sh"
. "$TOP/scripts/bench-lib.sh"
trap 'stop_all; rm -rf "$WORK" "$RUN"' EXIT

echo "== disk: bytes written by the whole daemon per hour, 2 slaves every 1 s, shipped settings, ${DISK_S} s"
start_mosquitto && start_influxd || exit 1
curl -sf -XPOST "$INFLUX_URL/query" --data-urlencode "q=CREATE DATABASE outfall" >/dev/null
start_sim "$WORK/tty" || exit 1
mkdir -p "$WORK/cfg"
FSYNC_MS=default FLUSH_MS=1000 write_config "$WORK/cfg" "$WORK/tty"
sed -i "s|permits = \"permits.conf\";|permits = \"permits.conf\"; run_dir = \"$RUN\";|" \
	"$WORK/cfg/outfall.conf"
[ "$COMMIT_S" = 0 ] ||
	printf 'history: { commit_s = %d; };\n' "$COMMIT_S" >> "$WORK/cfg/outfall.conf"
# its log through a pipe, as systemd's journal takes it: written to a file
# by the daemon, each line would cost the card a page it does not cost
"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" 2> >(cat > "$WORK/daemon.log") &
PID=$!
remember $PID
sleep 5
H0=$(proc_wbytes $PID)
sleep "$DISK_S"
H1=$(proc_wbytes $PID)
kill -TERM "$PID"; wait "$PID"
python3 - "$H0" "$H1" "$DISK_S" "$COMMIT_S" <<'PY'
import sys
h0, h1, s, c = map(int, sys.argv[1:])
on = (h1 - h0) * 3600 / s
hist = f"the history at commit_s {c}" if c else "no history"
print(f"disk: {on / 1e6:.2f} MB/h written by the daemon with both sinks and {hist} "
      f"(target <= 3 MB/h in total); a power cut loses at most the last "
      f"fsync_ms (20 s) of telemetry, never an alert")
PY
