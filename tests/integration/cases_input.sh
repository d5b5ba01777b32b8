# cases_input.sh - integration cases for what a hostile tester fed the
# daemon (issue 13): a data_dir that is a file, ASCII lines with decimal
# commas, and the data_gap alert of lost records, which is about no
# parameter. Sourced by run.sh after lib.sh: uses BUILD, WORK, HERE,
# fresh_run, write_config, remember, wait_for. Assertions are on the
# daemon's exit code and log, and on what the broker and InfluxDB received.

# data_dir names a regular file: refused as "not a directory" (exit 73),
# not as a permission problem.
case_data_dir_file() {
	local rc
	mkdir -p "$WORK/ddf"
	MQTT_PORT=1 INFLUX_URL=http://127.0.0.1:1 write_config "$WORK/ddf" /dev/null
	echo "not a directory" > "$WORK/ddf/data"
	"$BUILD/outfalld" -c "$WORK/ddf/outfall.conf" > "$WORK/ddf.err" 2>&1; rc=$?
	cat "$WORK/ddf.err"
	[ "$rc" -eq 73 ] || { echo "exit $rc, want 73"; return 1; }
	grep -q "data_dir $WORK/ddf/data: not a directory" "$WORK/ddf.err" ||
		{ echo "not named as not a directory"; return 1; }
	! grep -qi "permission denied" "$WORK/ddf.err" || { echo "blamed permissions"; return 1; }
}
