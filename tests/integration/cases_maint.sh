# cases_maint.sh - integration cases for maintenance mode, operator closes
# and gateway.clock, against the simulator, mosquitto, influxd and a real
# outfalld driven by outfallctl over its control socket. Sourced by run.sh
# after lib.sh and cases_ctl.sh: uses BUILD, WORK, HERE, fresh_run,
# start_sim, write_config, remember, wait_for, run_daemon and the ctl*
# helpers. Assertions on what the sinks received are in check_maint.py.

# maint_daemon [N]: outfalld in the background (appending to daemon.log);
# its pid in DAEMON_PID once it has opened the bus (the Nth start, 1).
maint_daemon() {
	"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" >> "$WORK/daemon.log" 2>&1 &
	DAEMON_PID=$!
	remember $DAEMON_PID
	wait_for 10 sh -c '[ "$(grep -c "opened $1" "$2")" -ge "$3" ]' - "$WORK/tty" \
		"$WORK/daemon.log" "${1:-1}" || { echo "outfalld did not open the bus"; return 1; }
}

# A COD exceedance while probe1 is in maintenance raises nothing; the start
# and end reach the broker and InfluxDB with the reason and planned end; a
# restart in the middle keeps the mode; flow1's short calibration ends by
# itself; too long a request and an unknown sensor are refused.
case_maint_exceed() {
	local C="-c $WORK/cfg/outfall.conf"
	fresh_run || return 1
	start_sim "$WORK/tty" --scenario exceed --param cod --value 650 --after 8 --for 12 \
		--csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	maint_daemon || return 1
	ctl maintenance probe1 on --for 2m --reason "membrane swap" $C
	ctl_rc 0 && ctl_has out '^sensor probe1: maintenance until .*flagged M' || return 1
	ctl maintenance probe1 on --for 9h $C
	ctl_rc 65 && ctl_has err 'longer than alerting.maintenance_max_h = 8 h' || return 1
	ctl maintenance probe9 on $C
	ctl_rc 65 && ctl_has err 'no sensor "probe9" .*sensors: probe1, flow1' || return 1
	ctl maintenance flow1 on --for 5s --calibration --reason "zero point" $C
	ctl_rc 0 || return 1
	ctl status $C
	ctl_has out '^    IN MAINTENANCE since .*reason: membrane swap$' &&
		ctl_has out '^    IN CALIBRATION since .*reason: zero point$' || return 1
	wait_for 10 grep -q "maintenance end: sensor flow1 .*ended by expired" \
		"$WORK/daemon.log" || { echo "flow1's calibration did not end by itself"; return 1; }
	sleep 3
	echo "restarting outfalld in the middle of the exceedance"
	ctl_stop_daemon || return 1
	maint_daemon 2 || return 1
	grep -q "1 sensor was in maintenance before the restart" "$WORK/daemon.log" ||
		{ echo "the restart did not take the mode back"; return 1; }
	sleep 14 # past the exceedance (8 + 12 s after the simulator started)
	ctl status $C
	ctl_has out '^    IN MAINTENANCE since ' || return 1
	ctl maintenance probe1 off --reason "membrane done" $C
	ctl_rc 0 && ctl_has out 'maintenance ended' || return 1
	ctl maintenance probe1 off $C
	ctl_rc 65 && ctl_has err 'not in maintenance' || return 1
	sleep 3
	ctl_stop_daemon || return 1
	ctl maintenance probe1 on $C
	ctl_rc 69 && ctl_has err 'outfalld is not running' || return 1
	sleep 0.5
	python3 "$HERE/check_maint.py" maint "$WORK" "$INFLUX_URL"
}

# An operator closes a COD alert known to be false while the reading stays
# high: one cleared event with reason closed_by_operator and the note, the
# alert leaves the active set, and it is not raised again meanwhile.
case_alert_close() {
	local C="-c $WORK/cfg/outfall.conf" id
	fresh_run || return 1
	start_sim "$WORK/tty" --scenario exceed --param cod --value 650 --after 3 --for 60 \
		--csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	maint_daemon || return 1
	wait_for 20 grep -q '"state":"raised","kind":"limit_exceeded"' "$WORK/mqtt.log" ||
		{ echo "no COD alert reached the broker"; return 1; }
	id=$(python3 -c 'import json,sys
for l in open(sys.argv[1], encoding="utf-8"):
    t, _, p = l.rstrip("\n").partition(" ")
    if t.endswith("/alerts/WS-001"):
        print(json.loads(p)["id"]); break' "$WORK/mqtt.log")
	echo "closing $id"
	ctl alert close "$id" $C
	ctl_rc 64 && ctl_has err 'reason TEXT is required' || return 1
	ctl alert close "$id" --reason "probe fouled, cleaned" $C
	ctl_rc 0 && ctl_has out "^alert $id closed" || return 1
	ctl alert close "$id" --reason "again" $C
	ctl_rc 65 && ctl_has err 'no open alert has the id' || return 1
	ctl alert close "it-gw-1/WS-001/cod/instant/1" --reason "x" $C
	ctl_rc 65 || return 1
	ctl status $C
	ctl_has out '^open alerts: none$' || return 1
	sleep 6 # COD is still 650: held, not raised again
	ctl_stop_daemon || return 1
	grep -q "control: uid [0-9]*, pid [0-9]* asks: close alert $id, reason: probe fouled" \
		"$WORK/daemon.log" || { echo "the close was not logged with who asked"; return 1; }
	sleep 0.5
	python3 "$HERE/check_maint.py" close "$WORK" "$INFLUX_URL" "$id"
}

# clock_case rtc|ntp: an expired permit on this machine, whose kernel never
# reports NTP sync, with flow recorded.
clock_case() {
	fresh_run || return 1
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	sed -i 's/valid_until = "2028-02-28"/valid_until = "2024-12-31"/' "$WORK/cfg/permits.conf"
	sed -i "s/permits = \"permits.conf\";/permits = \"permits.conf\"; clock = \"$1\";/" \
		"$WORK/cfg/outfall.conf"
	grep -q "clock = \"$1\"" "$WORK/cfg/outfall.conf" &&
		grep -q 2024-12-31 "$WORK/cfg/permits.conf" || { echo "config not edited"; return 1; }
	run_daemon 8 || return 1
	ctl status -c "$WORK/cfg/outfall.conf"
	sleep 0.5
}

case_clock_rtc() {
	clock_case rtc || return 1
	grep -q "permit dates judged: clock=rtc, trusted" "$WORK/daemon.log" ||
		{ echo "no log line saying dates are judged"; return 1; }
	ctl_has out '^permit dates judged: clock=rtc, trusted' || return 1
	grep -q "alert raised: no_valid_permit" "$WORK/daemon.log" ||
		{ echo "no no_valid_permit alert"; return 1; }
	python3 "$HERE/check_maint.py" clock-rtc "$WORK" "$INFLUX_URL"
}

case_clock_ntp() {
	clock_case ntp || return 1
	grep -q 'permit dates NOT judged: clock=ntp and the kernel does not report NTP sync; set gateway.clock = "rtc" if this board has a battery clock' \
		"$WORK/daemon.log" || { echo "no log line saying dates are not judged"; return 1; }
	[ "$(grep -c 'permit dates' "$WORK/daemon.log")" -eq 1 ] ||
		{ echo "the clock line is repeated without a change"; return 1; }
	ctl_has out '^permit dates NOT judged: clock=ntp' || return 1
	! grep -q "alert raised: no_valid_permit" "$WORK/daemon.log" ||
		{ echo "no_valid_permit judged on an unsynced clock"; return 1; }
	python3 "$HERE/check_maint.py" clock-ntp "$WORK" "$INFLUX_URL"
}
