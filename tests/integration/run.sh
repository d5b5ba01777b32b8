#!/usr/bin/env bash
# run.sh BUILD - integration tests against real parts: mosquitto and influxd
# on free loopback ports in a temp dir, the simulator on a socat pty pair,
# and outfalld. Assertions are on what the broker and InfluxDB received.
set -u
BUILD=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d -t outfall-it.XXXXXX)
. "$HERE/lib.sh"
. "$HERE/cases_ascii.sh"
. "$HERE/cases_ctl.sh"
. "$HERE/cases_reload.sh"
. "$HERE/cases_plausible.sh"
. "$HERE/cases_maint.sh"
. "$HERE/cases_history.sh"
. "$HERE/cases_report.sh"
. "$HERE/cases_grafana.sh"
. "$HERE/cases_hj212.sh"
. "$HERE/cases_input.sh"
. "$HERE/cases_disk.sh"
. "$HERE/cases_sim.sh"
passed=0
failed=0
failed_names=
trap 'stop_all; rm -rf "$WORK"' EXIT

result() { # result NAME STATUS
	if [ "$2" -eq 0 ]; then
		echo "ok - $1"; passed=$((passed + 1))
	else
		echo "FAILED - $1 (logs follow)"; failed=$((failed + 1))
		failed_names="$failed_names $1"
		tail -n 30 "$WORK"/daemon.log "$WORK"/sim.err 2>/dev/null
	fi
}

# run_daemon SECONDS: runs outfalld, then SIGTERM; fails unless exit 0 within 5 s.
run_daemon() {
	"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" > "$WORK/daemon.log" 2>&1 &
	local pid=$! t0 t1 rc
	sleep "$1"
	t0=$(date +%s%N)
	kill -TERM "$pid"
	wait "$pid"; rc=$?
	t1=$(date +%s%N)
	echo "outfalld stopped in $(((t1 - t0) / 1000000)) ms, exit $rc"
	[ "$rc" -eq 0 ] && [ $(((t1 - t0) / 1000000)) -lt 5000 ]
}

fresh_run() { # fresh_run: new services' state for one case
	stop_all
	rm -rf "$WORK"/*
	mkdir -p "$WORK/cfg"
	start_mosquitto && start_influxd || return 1
	curl -sf -XPOST "$INFLUX_URL/query" --data-urlencode "q=CREATE DATABASE outfall" >/dev/null
	# a persistent session: messages published while it reconnects wait for it
	mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -c -i it-sub -q 1 -v -t 'outfall/#' \
		> "$WORK/mqtt.log" 2>/dev/null &
	remember $!
}

case_exceed() {
	fresh_run || return 1
	start_sim "$WORK/tty" --scenario exceed --param cod --value 650 --after 6 --for 8 \
		--csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	run_daemon 22 || return 1
	sleep 0.5
	python3 "$HERE/check.py" exceed "$WORK" "$INFLUX_URL"
}

case_silent_slave() {
	fresh_run || return 1
	start_sim "$WORK/tty" --scenario fault --fault-slave 1 --after 0 --for 0 \
		--csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	run_daemon 12 || return 1
	sleep 0.5
	python3 "$HERE/check.py" fault "$WORK" "$INFLUX_URL"
}

case_bad_config() {
	local rc
	mkdir -p "$WORK/bad"
	MQTT_PORT=1 INFLUX_URL=http://127.0.0.1:1 write_config "$WORK/bad" /dev/null
	sed -i 's/word_order = "cdab"; },/word_order = "abdc"; },/' "$WORK/bad/outfall.conf"
	local line; line=$(grep -n '"abdc"' "$WORK/bad/outfall.conf" | cut -d: -f1)
	"$BUILD/outfalld" -n -c "$WORK/bad/outfall.conf" > /dev/null 2> "$WORK/bad.err"; rc=$?
	cat "$WORK/bad.err"
	[ "$rc" -eq 78 ] || { echo "exit $rc, want 78"; return 1; }
	grep -q "outfall.conf:$line: .*word_order" "$WORK/bad.err" ||
		{ echo "no file:$line in the message"; return 1; }
	"$BUILD/outfalld" -c "$WORK/bad/outfall.conf" > /dev/null 2>&1; rc=$?
	[ "$rc" -eq 78 ] || { echo "daemon exit $rc, want 78"; return 1; }
}

case_device_appears_later() {
	fresh_run || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" > "$WORK/daemon.log" 2>&1 &
	local pid=$!
	remember $pid
	sleep 3
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	wait_for 40 grep -q '"flow":{"v":[0-9]' "$WORK/mqtt.log" ||
		{ echo "no reading after the device appeared"; return 1; }
	grep -q "cannot open" "$WORK/daemon.log" || { echo "missing device not logged"; return 1; }
	kill -0 $pid
}

# Outage: InfluxDB, then the broker, go away for a while and come back; every
# reading the simulator served arrives at both, by value and in order.
case_outage() {
	fresh_run || return 1
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" > "$WORK/daemon.log" 2>&1 &
	local pid=$!
	remember $pid
	sleep 4
	echo "stopping influxd for 6 s"
	kill "$INFLUX_PID"; wait "$INFLUX_PID" 2>/dev/null
	sleep 6
	restart_influxd || return 1
	sleep 3
	echo "stopping mosquitto for 6 s"
	kill "$MQTT_PID"; wait "$MQTT_PID" 2>/dev/null
	sleep 6
	restart_mosquitto || return 1
	sleep 8
	kill -STOP "$SIM_PID" # no new values from here on
	sleep 3
	kill -TERM "$pid"; wait "$pid" || { echo "outfalld exit $?"; return 1; }
	sleep 1
	python3 "$HERE/check.py" complete "$WORK" "$INFLUX_URL"
}

# Crash: kill -9 at 20 random moments, restarting each time; every reading
# logged as read is in InfluxDB, and repeats are identical points.
case_crash() {
	fresh_run || return 1
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	local i pid
	for i in $(seq 20); do
		"$BUILD/outfalld" -v -c "$WORK/cfg/outfall.conf" >> "$WORK/daemon.log" 2>&1 &
		pid=$!
		sleep "$(python3 -c 'import random; print(round(random.uniform(0.3, 2.5), 2))')"
		kill -9 "$pid"; wait "$pid" 2>/dev/null
	done
	"$BUILD/outfalld" -v -c "$WORK/cfg/outfall.conf" >> "$WORK/daemon.log" 2>&1 &
	pid=$!
	sleep 6
	kill -TERM "$pid"; wait "$pid" || { echo "outfalld exit $?"; return 1; }
	sleep 1
	python3 "$HERE/check.py" crash "$WORK" "$INFLUX_URL"
}

# A corrupt outbox (torn segment tail, garbage cursor) never stops the daemon.
case_corrupt_outbox() {
	fresh_run || return 1
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	run_daemon 3 || return 1
	local ob="$WORK/cfg/data/outbox" seg
	seg=$(ls "$ob"/seg-*.log | tail -n 1)
	printf '\261\377\377garbage-after-a-torn-write' >> "$seg"
	printf 'not a cursor' > "$ob/cursor-influx"
	run_daemon 4 || return 1
	grep -Eiq "truncat|corrupt" "$WORK/daemon.log" || { echo "corruption not reported"; return 1; }
	grep -q "cursor-influx is corrupt" "$WORK/daemon.log" || { echo "cursor not reported"; return 1; }
	sleep 1
	python3 "$HERE/check.py" readings "$WORK" "$INFLUX_URL"
}

# Reload during a run: an invalid file is refused with file:line and changes
# nothing; a valid one (the sensors' interval and a pH limit) is swapped in.
# No record is lost, no alert repeated; each SIGHUP is a reload event on
# MQTT, in InfluxDB and in the local history.
case_reload() {
	fresh_run || return 1
	start_sim "$WORK/tty" --scenario exceed --param cod --value 650 --after 4 --for 16 \
		--csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	printf 'history: { commit_s = 2; };\n' >> "$WORK/cfg/outfall.conf"
	"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" > "$WORK/daemon.log" 2>&1 &
	local pid=$! line
	remember $pid
	wait_for 15 grep -q "alert raised" "$WORK/daemon.log" || { echo "no alert"; return 1; }
	cp "$WORK/cfg/outfall.conf" "$WORK/good.conf"
	sed -i 's/word_order = "cdab"; },/word_order = "abdc"; },/' "$WORK/cfg/outfall.conf"
	line=$(grep -n '"abdc"' "$WORK/cfg/outfall.conf" | cut -d: -f1)
	kill -HUP "$pid"
	wait_for 5 grep -q "the running configuration stays" "$WORK/daemon.log" ||
		{ echo "invalid reload not refused"; return 1; }
	grep -q "outfall.conf:$line: .*word_order" "$WORK/daemon.log" ||
		{ echo "no file:$line for the invalid reload"; return 1; }
	sed 's/interval_s = 1;/interval_s = 2;/' "$WORK/good.conf" > "$WORK/cfg/outfall.conf"
	sed -i 's/min = 6.5; max = 9.5;/min = 6.5; max = 9.0;/' "$WORK/cfg/permits.conf"
	kill -HUP "$pid"
	wait_for 5 grep -q "reload: done" "$WORK/daemon.log" || { echo "valid reload failed"; return 1; }
	grep -q "reload: sensor probe1: interval 1 -> 2 s" "$WORK/daemon.log" &&
		grep -q "reload: sinks unchanged, connections kept" "$WORK/daemon.log" ||
		{ echo "what the reload changed and kept was not logged"; return 1; }
	wait_for 30 grep -q "alert cleared" "$WORK/daemon.log" || { echo "no clear"; return 1; }
	sleep 6 # polls every 2 s now: enough values served to judge (check.py wants 100)
	kill -STOP "$SIM_PID" # no new values from here on
	sleep 3
	kill -TERM "$pid"; wait "$pid" || { echo "outfalld exit $?"; return 1; }
	sleep 1
	python3 "$HERE/check.py" reload "$WORK" "$INFLUX_URL"
}

# A rolling-mean exceedance: COD 450 mg/L stays under the instant limit
# (500) but its one-minute mean passes the rolling limit (400): exactly one
# raised and one cleared alert, with the window in the evidence.
case_rolling() {
	fresh_run || return 1
	start_sim "$WORK/tty" --scenario exceed --param cod --value 450 --after 5 --for 70 \
		--csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	sed -i 's|{ parameter = "cod"; max = 500.0; basis = "instant"; } );|{ parameter = "cod"; max = 500.0; basis = "instant"; },\n      { parameter = "cod"; max = 400.0; basis = "rolling"; window_min = 1; } );|' \
		"$WORK/cfg/permits.conf"
	grep -q rolling "$WORK/cfg/permits.conf" || { echo "permit not edited"; return 1; }
	"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" > "$WORK/daemon.log" 2>&1 &
	local pid=$!
	remember $pid
	wait_for 100 grep -q "alert cleared: limit_exceeded cod" "$WORK/daemon.log" ||
		{ echo "no rolling alert raised and cleared"; return 1; }
	kill -TERM "$pid"; wait "$pid" || { echo "outfalld exit $?"; return 1; }
	sleep 1
	python3 "$HERE/check.py" rolling "$WORK" "$INFLUX_URL"
}

# A storm outlet with flow and no rain: one storm_sewage alert.
case_storm() {
	fresh_run || return 1
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	sed -i 's|outlets = ( { id = "WS-001"; kind = "sewage"; permit = "浙丽排字第2023-0042号";|outlets = ( { id = "YS-001"; kind = "storm"; sensors = ["flow1"]; },\n            { id = "WS-001"; kind = "sewage"; permit = "浙丽排字第2023-0042号";|; s|sensors = \["probe1", "flow1"\]; } );|sensors = ["probe1"]; } );|' \
		"$WORK/cfg/outfall.conf"
	"$BUILD/outfalld" -n -c "$WORK/cfg/outfall.conf" > /dev/null || return 1
	"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" > "$WORK/daemon.log" 2>&1 &
	local pid=$!
	remember $pid
	wait_for 20 grep -q "alert raised: storm_sewage" "$WORK/daemon.log" ||
		{ echo "no storm_sewage alert"; return 1; }
	sleep 5
	kill -TERM "$pid"; wait "$pid" || { echo "outfalld exit $?"; return 1; }
	sleep 1
	python3 "$HERE/check.py" storm "$WORK" "$INFLUX_URL"
}

for c in ${CASES:-case_bad_config case_exceed case_silent_slave case_device_appears_later \
	case_outage case_crash case_corrupt_outbox case_reload \
	case_ascii_kv case_ascii_query case_ascii_garbage \
	case_ctl_scan case_ctl_read case_ctl_check case_ctl_busy case_ctl_status \
	case_ctl_status_daemon case_rolling case_storm case_reload_rolling case_retry_cap \
	case_word_order case_exceed_silent \
	case_maint_exceed case_alert_close case_clock_rtc case_clock_ntp case_grafana \
	case_report_alert case_report_day case_report_live case_history \
	case_hj212_values case_hj212_outage case_hj212_decode case_hj212_listen \
	case_data_dir_file case_outbox_gap_no_parameter case_ascii_decimal_comma case_disk_full \
	case_reload_bad_files case_sim_many case_buses_side_by_side}; do
	echo "--- ${c#case_}"
	$c
	result "${c#case_}" $?
done
echo "integration: $passed passed, $failed failed${failed_names:+:$failed_names}"
[ "$failed" -eq 0 ]
