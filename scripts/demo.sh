#!/usr/bin/env bash
# demo.sh BUILD - outfall end to end on this machine: a local mosquitto and
# InfluxDB, the sensor simulator serving a COD exceedance on a pty, and
# outfalld between them. Shows telemetry and alerts as they reach the
# broker, then what InfluxDB stored. Stops everything it started.
set -u
BUILD=$(cd "${1:-build}" && pwd)
TOP=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_TO_RUN=${DEMO_SECONDS:-60}
WORK=$(mktemp -d -t outfall-demo.XXXXXX)
. "$TOP/tests/integration/lib.sh"

finish() {
	pkill -P $$ tail 2>/dev/null # the viewer's tail -f
	stop_all
	echo "demo: stopped everything; logs were in $WORK (removed)"
	rm -rf "$WORK"
}
trap finish EXIT
trap 'echo; echo "demo: interrupted"; exit 0' INT TERM

echo "demo: starting mosquitto and influxd on loopback"
start_mosquitto || exit 1
start_influxd || exit 1
curl -sf -XPOST "$INFLUX_URL/query" --data-urlencode "q=CREATE DATABASE outfall" >/dev/null
echo "demo: starting the simulator: probe at slave 1, flow meter at slave 2;"
echo "      COD goes to 650 mg/L (permit limit 500) from t=15 s for 20 s"
start_sim "$WORK/tty" --scenario exceed --param cod --value 650 --after 15 --for 20 \
	--csv "$WORK/sim.csv" || exit 1
mkdir -p "$WORK/cfg"
PROBE_S=2 FLOW_S=2 TIMEOUT_MS=300 write_config "$WORK/cfg" "$WORK/tty"
"$BUILD/outfalld" -n -c "$WORK/cfg/outfall.conf" | tail -n 1

mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -v -t 'outfall/#' > "$WORK/mqtt.log" &
remember $!
tail -n +1 -f "$WORK/mqtt.log" | python3 -u "$TOP/scripts/show.py" &
SHOW=$!
remember $SHOW
"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" 2> "$WORK/daemon.log" &
DAEMON=$!
echo "demo: outfalld running (pid $DAEMON) for $SECONDS_TO_RUN s; Ctrl-C to stop early"
sleep "$SECONDS_TO_RUN"
kill -TERM "$DAEMON"
wait "$DAEMON"
echo "demo: outfalld exited with $?; its log:"
sed 's/^/  | /' "$WORK/daemon.log" | tail -n 15
sleep 1
echo "demo: what InfluxDB stored:"
influx_query outfall "SELECT count(value) FROM outfall_reading GROUP BY parameter" |
	python3 -c 'import json,sys
for s in json.load(sys.stdin)["results"][0].get("series", []):
    print("  outfall_reading parameter=%-13s %d points" % (s["tags"]["parameter"], s["values"][0][1]))'
influx_query outfall "SELECT state, value, \"limit\", permit FROM outfall_alert" |
	python3 -c 'import json,sys
for s in json.load(sys.stdin)["results"][0].get("series", []):
    for v in s["values"]:
        print("  outfall_alert %s value=%s limit=%s permit=%s" % tuple(v[1:5]))'
