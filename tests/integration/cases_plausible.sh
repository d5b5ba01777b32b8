# cases_plausible.sh - integration cases for plausibility before judgement
# and for what a silent probe may not do to an open alert, against the
# simulator, a real mosquitto and influxd, and outfalld. Sourced by run.sh
# after lib.sh: uses BUILD, WORK, HERE, fresh_run, start_sim, write_config,
# remember, wait_for. Assertions are on what the broker and InfluxDB
# received, in check_plausible.py.

# The installer's commonest mistake on every channel: the probe's floats
# are served abcd and read cdab, the flow meter's served cdab and read
# abcd. Sensor faults (cause implausible, a hint in the log), the readings
# kept with quality invalid, and no permit alert - not a pH "below the
# minimum" on a value of 1e-41, not a day's volume from a counter read as
# 10^9 m3.
case_word_order() {
	fresh_run || return 1
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	sed -i 's/word_order = "abcd"/word_order = "WAS_ABCD"/g; s/word_order = "cdab"/word_order = "abcd"/g; s/word_order = "WAS_ABCD"/word_order = "cdab"/g' \
		"$WORK/cfg/outfall.conf"
	[ "$(grep -c 'word_order = "cdab"' "$WORK/cfg/outfall.conf")" -eq 5 ] &&
		[ "$(grep -c 'word_order = "abcd"' "$WORK/cfg/outfall.conf")" -eq 2 ] ||
		{ echo "word orders not swapped"; return 1; }
	"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" > "$WORK/daemon.log" 2>&1 &
	local pid=$!
	remember $pid
	wait_for 20 grep -q "alert raised: sensor_fault probe1" "$WORK/daemon.log" &&
		wait_for 20 grep -q "alert raised: sensor_fault flow1" "$WORK/daemon.log" ||
		{ echo "no sensor fault for both sensors"; return 1; }
	sleep 15 # a while of wrong readings, for any false permit alert to show
	kill -TERM "$pid"; wait "$pid" || { echo "outfalld exit $?"; return 1; }
	grep -q "sensor_fault probe1 on outlet WS-001: implausible (.*hint: .*word order" \
		"$WORK/daemon.log" || { echo "no word-order hint in the log"; return 1; }
	sleep 1
	python3 "$HERE/check_plausible.py" word_order "$WORK" "$INFLUX_URL"
}

# An exceedance with the probe silent in the middle: COD 650 mg/L from 5 s
# to 35 s, the probe not answering from 12 s to 22 s. One limit_exceeded
# raised and one cleared, with the sensor's silence in its evidence; the
# silence its own sensor_fault, never a clear.
case_exceed_silent() {
	fresh_run || return 1
	start_sim "$WORK/tty" --scenario exceed --param cod --value 650 --after 5 --for 30 \
		--fault-after 12 --fault-for 10 --csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" > "$WORK/daemon.log" 2>&1 &
	local pid=$!
	remember $pid
	wait_for 30 grep -q "alert raised: sensor_fault probe1 .*no_response" "$WORK/daemon.log" ||
		{ echo "the silence gave no sensor fault"; return 1; }
	wait_for 40 grep -q "alert cleared: limit_exceeded cod" "$WORK/daemon.log" ||
		{ echo "no clear after the exceedance"; return 1; }
	sleep 3
	kill -TERM "$pid"; wait "$pid" || { echo "outfalld exit $?"; return 1; }
	sleep 1
	python3 "$HERE/check_plausible.py" exceed_silent "$WORK" "$INFLUX_URL"
}
