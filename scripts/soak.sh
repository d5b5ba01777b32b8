#!/usr/bin/env bash
# soak.sh BUILD [SECONDS] - runs outfalld against the simulator with both
# sinks on loopback and samples its memory once a minute, to show that it
# stays flat. Prints: elapsed s, polls seen on MQTT, RSS kB, private dirty kB.
set -u
BUILD=$(cd "${1:-build}" && pwd)
RUN_S=${2:-3600}
TOP=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d -t outfall-soak.XXXXXX)
. "$TOP/tests/integration/lib.sh"
trap 'stop_all; rm -rf "$WORK"' EXIT

start_mosquitto && start_influxd || exit 1
curl -sf -XPOST "$INFLUX_URL/query" --data-urlencode "q=CREATE DATABASE outfall" >/dev/null
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t 'outfall/+/telemetry/#' > "$WORK/mqtt.log" &
remember $!
start_sim "$WORK/tty" || exit 1
mkdir -p "$WORK/cfg"
write_config "$WORK/cfg" "$WORK/tty"
"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" 2> "$WORK/daemon.log" &
PID=$!
remember $PID
echo "elapsed_s polls rss_kb private_dirty_kb"
for ((t = 0; t <= RUN_S; t += 60)); do
	[ "$t" -gt 0 ] && sleep 60
	kill -0 "$PID" 2>/dev/null || { echo "outfalld died"; tail "$WORK/daemon.log"; exit 1; }
	echo "$t $(wc -l < "$WORK/mqtt.log") $(awk '/^Rss:/ {print $2}' "/proc/$PID/smaps_rollup") $(awk '/^Private_Dirty:/ {print $2}' "/proc/$PID/smaps_rollup")"
done
kill -TERM "$PID"; wait "$PID"
echo "outfalld exit $?"
grep -E "stats" "$WORK/daemon.log" | tail -n 3
