#!/usr/bin/env bash
# bench.sh BUILD - prints outfall's performance figures (DESIGN §9):
#  1. in-process pipeline cost per reading (build/bench);
#  2. the whole daemon against the simulator with both sinks on loopback:
#     CPU per reading forwarded, private dirty memory and RSS;
#  3. bytes the daemon writes per hour (bench-disk.sh), and the history's
#     own figures (build/history_bench): transaction
#     time, bytes per reading, the time to query a day of one parameter;
#  4. outfalld and collectd side by side in one run (bench-collectd.sh),
#     alert latency (bench-alerts.sh), one gateway with 64 sensors on 4
#     buses (bench-scale.sh), each with its own broker and InfluxDB;
#  5. backlog drains to the local InfluxDB and broker.
# BENCH_SECONDS, BENCH_DISK_SECONDS, BENCH_SIDE_SECONDS, BENCH_ALERT_SECONDS
# and BENCH_SCALE_SECONDS set the measuring windows (scripts/fleet.sh N is the
# fleet run: N gateways against one broker and InfluxDB).
set -u
BUILD=$(cd "${1:-build}" && pwd)
TOP=$(cd "$(dirname "$0")/.." && pwd)
RUN_S=${BENCH_SECONDS:-30}
WORK=$(mktemp -d -t outfall-bench.XXXXXX)
. "$TOP/tests/integration/lib.sh"
. "$TOP/scripts/bench-lib.sh"
trap 'stop_all; rm -rf "$WORK"' EXIT

echo "== pipeline (decode -> compliance -> JSON + line protocol -> outbox append), in-process"
mkdir -p "$WORK/example"
cp "$TOP/config/outfall.conf.example" "$WORK/example/outfall.conf"
cp "$TOP/config/permits.conf.example" "$WORK/example/permits.conf"
# the examples refuse to load until their placeholders are filled in
sed -i 's/CHANGE-ME/bench-0001/g' "$WORK/example/outfall.conf" "$WORK/example/permits.conf"
"$BUILD/bench" "$WORK/example/outfall.conf"

echo "== whole daemon: 2 slaves (7 channels) every 1 s over a pty, MQTT + InfluxDB, ${RUN_S} s"
start_mosquitto && start_influxd || exit 1
curl -sf -XPOST "$INFLUX_URL/query" --data-urlencode "q=CREATE DATABASE outfall" >/dev/null
start_sim "$WORK/tty" || exit 1
mkdir -p "$WORK/cfg"
FSYNC_MS=default FLUSH_MS=1000 write_config "$WORK/cfg" "$WORK/tty"  # the default intervals
"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" 2> "$WORK/daemon.log" &
PID=$!
remember $PID
sleep 5 # steady state: leave start-up (TLS library init, connects) out
T0=$(now_ms); C0=$(proc_cpu_ns $PID)
sleep "$RUN_S"
T1=$(now_ms); C1=$(proc_cpu_ns $PID)
PD=$(proc_kb $PID Private_Dirty); RSS=$(proc_kb $PID Rss)
# the readings of the window, once its last fsync_ms (20 s) has been synced
# and sent: the daemon holds telemetry that long before the sinks see it
sleep 25
N=$(influx_count outfall "count(value)" outfall_reading "$T0" "$T1")
kill -TERM "$PID"; wait "$PID"
python3 - "$C0" "$C1" "$N" "$PD" "$RSS" <<'PY'
import sys
c0, c1, n, pd, rss = map(int, sys.argv[1:])
cpu = (c1 - c0) / 1e9
print(f"daemon: {n} readings of the window forwarded to both sinks, {cpu:.3f} s CPU in it (all threads)")
if n:
    print(f"daemon: {cpu * 1000 / n:.4f} ms CPU per reading (target <= 0.05 ms; collectd ~0.2 ms)")
print(f"daemon memory: private dirty {pd} kB (target <= 2048 kB), RSS {rss} kB")
PY

# Disk: the bytes the daemon causes to be written per hour at the shipped
# settings, over BENCH_DISK_SECONDS (default 600: two history commits).
"$TOP/scripts/bench-disk.sh" "$BUILD"
echo "== history: a day of raw readings written and queried (temp store)"
"$BUILD/history_bench" "$WORK/history-bench"

"$TOP/scripts/bench-collectd.sh" "$BUILD"
"$TOP/scripts/bench-alerts.sh" "$BUILD"
"$TOP/scripts/bench-scale.sh" "$BUILD"

DRAIN_N=${BENCH_DRAIN_N:-1000000}
echo "== backlog drain: 100000 records (5 values each) to the local InfluxDB"
"$BUILD/drain" influx "$INFLUX_URL" outfall 100000
echo "== backlog drain: $DRAIN_N records (5 values each) to the local InfluxDB"
"$BUILD/drain" influx "$INFLUX_URL" outfall "$DRAIN_N"
echo "== backlog drain: $DRAIN_N records to the local broker (QoS 1)"
"$BUILD/drain" mqtt "tcp://127.0.0.1:$MQTT_PORT" "$DRAIN_N"

# ---- HJ 212 uplink (issue 11) ------------------------------------------
# Packets per second encoded for a 7-parameter outlet (2011 and 2051), and
# a backlog of minutes (a poll and a minute aggregate each) drained by the
# real hj212 sink to a platform in the bench process on loopback that
# answers every 9014: ack = true (one packet per round trip) and false.
echo "== HJ 212: packets encoded, and a backlog drained to a loopback platform"
"$BUILD/hj212_bench" "${BENCH_HJ212_MINUTES:-20000}"
