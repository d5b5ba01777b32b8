#!/usr/bin/env bash
# report-screenshots.sh [BUILD] - remakes doc/report-alert.png and
# doc/report-day.png, the README's pictures of `outfallctl report`: the
# integration fixture (tests/integration/cases_report.sh: a local mosquitto
# and influxd, the simulator serving COD 650 mg/L against the limit 500 for
# 8 s, outfalld keeping its history) gives an alert report (English) and the
# day's report (Chinese), each rendered by headless Chromium and cropped by
# the window size. Needs what `make check` needs (scripts/deps.sh) and a
# build: `make && scripts/report-screenshots.sh build`.
set -u
BUILD=$(cd "${1:-build}" && pwd)
TOP=$(cd "$(dirname "$0")/.." && pwd)
HERE="$TOP/tests/integration"
WORK=$(mktemp -d -t outfall-shots.XXXXXX)
. "$HERE/lib.sh"
. "$HERE/cases_report.sh"
trap 'stop_all; rm -rf "$WORK"' EXIT

# As run.sh's fresh_run: the services, and the broker's log of the run.
fresh_run() {
	mkdir -p "$WORK/cfg"
	start_mosquitto && start_influxd || return 1
	curl -sf -XPOST "$INFLUX_URL/query" --data-urlencode "q=CREATE DATABASE outfall" >/dev/null
	mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -c -i shots-sub -q 1 -v -t 'outfall/#' \
		> "$WORK/mqtt.log" 2>/dev/null &
	remember $!
}

# shot HTML PNG HEIGHT: the page's top HEIGHT pixels, 1000 wide.
shot() {
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
		--user-data-dir="$WORK/profile" --window-size="1000,$3" \
		--screenshot="$2" "file://$1" > "$WORK/chromium.log" 2>&1 ||
		{ echo "chromium failed:"; tail -n 5 "$WORK/chromium.log"; return 1; }
	echo "$2: $(stat -c %s "$2") bytes"
}

echo "report-screenshots: running the fixture (about 30 s)"
report_fixture || exit 1
id=$(python3 "$HERE/check_report.py" alert-id "$WORK") || exit 1
day=$(TZ=Asia/Shanghai date +%F) # the outlet's timezone in write_config
"$BUILD/outfallctl" report -c "$WORK/cfg/outfall.conf" --alert "$id" --lang en \
	-o "$WORK/alert.html" || exit 1
"$BUILD/outfallctl" report -c "$WORK/cfg/outfall.conf" --outlet WS-001 --day "$day" \
	--lang zh -o "$WORK/day.html" || exit 1
shot "$WORK/alert.html" "$TOP/doc/report-alert.png" "${ALERT_HEIGHT:-1500}" || exit 1
shot "$WORK/day.html" "$TOP/doc/report-day.png" "${DAY_HEIGHT:-2750}" || exit 1
