# cases_reload.sh - integration cases for what a reload keeps and for the
# retry cap of a silent slave, against the simulator, a real mosquitto and
# influxd, and outfalld. Sourced by run.sh after lib.sh: uses BUILD, WORK,
# HERE, fresh_run, start_sim, write_config, remember, wait_for. Assertions
# are on what the broker (its log and a subscriber) and InfluxDB received,
# in check_reload.py.

# now_ms: wall clock ms, as the daemon stamps its records.
now_ms() { date +%s%3N; }

# sent_of SINK: the sink's "sent" counter in status.json, or nothing.
sent_of() {
	python3 - "$WORK/cfg/data/status.json" "$1" <<'PY' 2>/dev/null
import json, sys
s = json.load(open(sys.argv[1]))
print(next(k["sent"] for k in s["sinks"] if k["name"] == sys.argv[2]))
PY
}

# A reload with a changed rolling limit keeps the rolling window and the
# MQTT connection. COD 450 mg/L stays under a one-minute rolling limit of
# 460; after 55 s (the window covered) the limit becomes 400. The window
# carried over, the very next reading raises the alert - a window started
# afresh would need 45 s of readings (coverage 75 %) first. The broker
# sees one connection and no "offline"; the sinks' counters go on.
case_reload_rolling() {
	fresh_run || return 1
	start_sim "$WORK/tty" --scenario exceed --param cod --value 450 --after 0 --for 0 \
		--csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	sed -i 's|{ parameter = "cod"; max = 500.0; basis = "instant"; } );|{ parameter = "cod"; max = 500.0; basis = "instant"; },\n      { parameter = "cod"; max = 460.0; basis = "rolling"; window_min = 1; } );|' \
		"$WORK/cfg/permits.conf"
	grep -q "max = 460.0; basis = \"rolling\"" "$WORK/cfg/permits.conf" ||
		{ echo "permit not edited"; return 1; }
	"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" > "$WORK/daemon.log" 2>&1 &
	local pid=$! before after
	remember $pid
	sleep 55
	grep -q "alert raised: limit_exceeded cod" "$WORK/daemon.log" &&
		{ echo "450 mg/L raised against a 460 mg/L limit"; return 1; }
	wait_for 15 test -s "$WORK/cfg/data/status.json" || { echo "no status.json"; return 1; }
	before=$(sent_of influx)
	sed -i 's|max = 460.0; basis = "rolling"|max = 400.0; basis = "rolling"|' \
		"$WORK/cfg/permits.conf"
	now_ms > "$WORK/reload_ms"
	kill -HUP "$pid"
	wait_for 5 grep -q "reload: done" "$WORK/daemon.log" || { echo "reload failed"; return 1; }
	wait_for 20 grep -q "alert raised: limit_exceeded cod" "$WORK/daemon.log" ||
		{ echo "no rolling alert after the reload"; return 1; }
	sleep 12 # a status.json written after the reload
	after=$(sent_of influx)
	echo "influx sent: $before before the reload, $after after"
	[ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ] ||
		{ echo "the sink's counter did not go on"; return 1; }
	kill -TERM "$pid"; wait "$pid" || { echo "outfalld exit $?"; return 1; }
	sleep 1
	grep -q "reload: permit 浙丽排字第2023-0042号: cod rolling 1 min max 460 -> 400 mg/L" \
		"$WORK/daemon.log" || { echo "the change was not logged"; return 1; }
	grep -q "reload: sinks unchanged, connections kept" "$WORK/daemon.log" ||
		{ echo "kept sinks not logged"; return 1; }
	python3 "$HERE/check_reload.py" rolling "$WORK" "$INFLUX_URL"
}

# A slave silent for 45 s (the simulator's fault window) is noticed within
# about 15 s of its return: its retry delay is capped at retry_max_s
# (default 15 s) instead of doubling to 32 s and more.
case_retry_cap() {
	fresh_run || return 1
	start_sim "$WORK/tty" --scenario fault --fault-slave 1 --after 5 --for 45 \
		--csv "$WORK/sim.csv" || return 1
	echo $(($(now_ms) + 50000)) > "$WORK/back_ms" # 'ready' + after + for
	write_config "$WORK/cfg" "$WORK/tty"
	"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" > "$WORK/daemon.log" 2>&1 &
	local pid=$!
	remember $pid
	sleep 72
	kill -TERM "$pid"; wait "$pid" || { echo "outfalld exit $?"; return 1; }
	sleep 1
	python3 "$HERE/check_reload.py" retry_cap "$WORK" "$INFLUX_URL"
}
