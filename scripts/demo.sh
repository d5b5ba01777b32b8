#!/usr/bin/env bash
# demo.sh BUILD - outfall end to end on this machine: a local mosquitto and
# InfluxDB, the sensor simulator serving a COD exceedance on a pty, and
# outfalld between them. Shows telemetry and alerts as they reach the
# broker, then what InfluxDB stored, and writes the inspection report of
# the alert from the gateway's local history (kept under BUILD/demo, which
# outlives the demo). Stops everything it started.
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
grep -q '^history' "$WORK/cfg/outfall.conf" ||
	printf 'history: { dir = "%s/history"; commit_s = 5; };\n' "$WORK" >> "$WORK/cfg/outfall.conf"
"$BUILD/outfalld" -n -c "$WORK/cfg/outfall.conf" | tail -n 1

: > "$WORK/mqtt.log" # there before the viewer's tail opens it, not when the subscriber does
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -v -t 'outfall/#' >> "$WORK/mqtt.log" &
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

# report_of_alert: the inspection report of the demo's alert (the first
# limit_exceeded the broker received), from the history outfalld kept. A
# failure is said, never fatal: the demo has shown what it came to show.
report_of_alert() {
	local id dir html
	id=$(python3 - "$WORK/mqtt.log" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    topic, _, payload = line.rstrip("\n").partition(" ")
    if "/alerts/" in topic and not topic.endswith("/active"):
        try:
            a = json.loads(payload)
        except ValueError:
            continue
        if a.get("state") == "raised" and a.get("kind") == "limit_exceeded":
            print(a["id"])
            break
PY
	)
	if [ -z "$id" ]; then
		echo "demo: no limit_exceeded alert reached the broker, so no report" \
			"(DEMO_SECONDS=$SECONDS_TO_RUN; the exceedance starts at 15 s)"
		return 0
	fi
	dir=${DEMO_REPORT_DIR:-$BUILD/demo}
	mkdir -p "$dir" || { echo "demo: cannot create $dir, so no report"; return 0; }
	dir=$(cd "$dir" && pwd)
	html="$dir/report-$(printf '%s' "$id" | tr -c 'A-Za-z0-9._-' '_').html"
	echo "demo: the inspection report of alert $id:"
	if timeout 60 "$BUILD/outfallctl" report -c "$WORK/cfg/outfall.conf" --alert "$id" \
		-o "$html" --csv > "$WORK/report.out" 2>&1; then
		sed 's/^/  /' "$WORK/report.out"
		echo "demo: open it with:  chromium $html   (or: xdg-open $html)"
	else
		echo "demo: the report failed (exit $?):"
		sed 's/^/  | /' "$WORK/report.out"
	fi
	return 0
}
report_of_alert
