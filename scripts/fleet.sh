#!/usr/bin/env bash
# fleet.sh [-b BUILD] N - what an agency runs, on one machine: N gateways
# (outfalld, each with its own simulator, config and data dir; 2 slaves,
# 7 values a second; both sinks and the local history on) against one
# mosquitto and one InfluxDB on 127.0.0.1, for FLEET_SECONDS (default 180)
# with the broker down for FLEET_OUTAGE_SECONDS (default 30) in the middle.
# Then the simulators stop, the gateways drain their outboxes, and it
# reports, per sink and in total: readings served (the simulators' CSVs) vs
# stored in InfluxDB and vs received over MQTT (distinct seq), which must
# be equal; the CPU of the broker, of InfluxDB and of all the gateways.
#   scripts/fleet.sh 50          (make all first; BUILD defaults to build)
set -u
BUILD=build
if [ "${1:-}" = "-b" ]; then BUILD=$2; shift 2; fi
N=${1:?usage: fleet.sh [-b BUILD] N}
BUILD=$(cd "$BUILD" && pwd)
TOP=$(cd "$(dirname "$0")/.." && pwd)
RUN_S=${FLEET_SECONDS:-180}
OUT_S=${FLEET_OUTAGE_SECONDS:-30}
DRAIN_MAX_S=${FLEET_DRAIN_SECONDS:-180}
WORK=$(mktemp -d -t outfall-fleet.XXXXXX)
. "$TOP/tests/integration/lib.sh"
. "$TOP/scripts/bench-lib.sh"
trap 'stop_all; [ -n "${FLEET_KEEP:-}" ] || rm -rf "$WORK"' EXIT
NAMES="cod ph nh3n tp temp flow total_int" # the channels write_config reads

ticks_ns() { proc_cpu_ticks_ns "$1" 2>/dev/null || echo 0; }
sum_ticks_ns() { local s=0 p; for p in "$@"; do s=$((s + $(ticks_ns "$p" | cut -d. -f1))); done; echo $s; }

echo "== fleet: $N gateways, one broker, one InfluxDB, ${RUN_S} s, the broker down ${OUT_S} s in the middle"
# the counting subscriber may be away while the backlog comes: keep all
# that is queued for it (mosquitto keeps only 1000 by default)
MOSQUITTO_EXTRA="max_queued_messages 0"
start_mosquitto && start_influxd || exit 1
curl -sf -XPOST "$INFLUX_URL/query" --data-urlencode "q=CREATE DATABASE outfall" >/dev/null
# every telemetry message, through the outage too: a persistent QoS 1 session
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -c -i fleet-counter \
	-t 'outfall/+/telemetry/#' -F '%t %p' > "$WORK/mqtt.txt" 2> "$WORK/sub.err" &
SUB=$!
remember $SUB

SIMS="" GWS=""
for i in $(seq 1 "$N"); do
	g=$WORK/gw-$i
	mkdir -p "$g"
	SIM_LOG=$g/sim start_sim "$g/tty" --seed "$i" --csv "$g/served.csv" || exit 1
	SIMS="$SIMS $SIM_PID"
	GW_ID=$(printf 'fleet-%03d' "$i") FLUSH_MS=1000 write_config "$g" "$g/tty"
	printf 'history: { };\n' >> "$g/outfall.conf"
	"$BUILD/outfalld" -c "$g/outfall.conf" 2> "$g/daemon.log" &
	GWS="$GWS $!"
	remember $!
done
T_START=$(now_ms)
M0=$(sum_ticks_ns $MQTT_PID); I0=$(sum_ticks_ns $INFLUX_PID); G0=$(sum_ticks_ns $GWS)

sleep $(((RUN_S - OUT_S) / 2))
echo "fleet: broker down at +$((($(now_ms) - T_START) / 1000)) s"
M1=$(sum_ticks_ns $MQTT_PID)
kill -TERM "$MQTT_PID"; wait "$MQTT_PID" 2>/dev/null
sleep "$OUT_S"
restart_mosquitto || exit 1
echo "fleet: broker back at +$((($(now_ms) - T_START) / 1000)) s"
M2=$(sum_ticks_ns $MQTT_PID)
sleep $((RUN_S - OUT_S - (RUN_S - OUT_S) / 2))
T_END=$(now_ms)
M3=$(sum_ticks_ns $MQTT_PID); I1=$(sum_ticks_ns $INFLUX_PID); G1=$(sum_ticks_ns $GWS)
PDS=0; for p in $GWS; do PDS=$((PDS + $(proc_kb "$p" Private_Dirty))); done
BRSS=$(proc_kb "$MQTT_PID" Rss); IRSS=$(proc_kb "$INFLUX_PID" Rss)
kill -TERM $SIMS; wait $SIMS 2>/dev/null
echo "fleet: simulators stopped at +$((($(now_ms) - T_START) / 1000)) s; the gateways drain"

# Readings served vs stored, per gateway, up to a cut-off between two
# polls ~3 s before the simulators stopped (a poll cut short by the stop
# is neither): the same readings must be in InfluxDB and on MQTT.
count() { # count [--final]: 0 when every gateway's counts match
	python3 "$TOP/scripts/fleet_count.py" "$@" --work "$WORK" --n "$N" --influx "$INFLUX_URL" \
		--end-ms "$T_END" --names "$NAMES"
}
DRAIN_T0=$(now_ms)
for _ in $(seq 1 $((DRAIN_MAX_S / 2))); do
	count --influx-only && break
	sleep 2
done
DRAIN_S=$((($(now_ms) - DRAIN_T0) / 1000))
sleep 5 # MQTT's tail
kill -TERM $SUB; wait $SUB 2>/dev/null
count --final
RC=$?
python3 - <<PY
n, run = $N, ($T_END - $T_START) / 1000
def cpu(ns): return f"{ns / 1e9:.1f} s CPU ({ns / 1e9 / run * 100:.1f} % of one core)"
print(f"over {run:.0f} s, the outage and the catch-up after it included "
      f"(the InfluxDB check took {$DRAIN_S} s more after the simulators stopped):")
print(f"  broker:    {cpu($M1 - $M0 + $M3 - $M2)}, RSS at the end $BRSS kB")
print(f"  InfluxDB:  {cpu($I1 - $I0)}, RSS at the end $IRSS kB")
print(f"  gateways:  {cpu($G1 - $G0)} in all, {($G1 - $G0) / 1e9 / run / n * 1000:.1f} ms "
      f"per second each; private dirty {$PDS // n} kB each")
PY
exit $RC
