# cases_report.sh - integration cases for the inspection report
# (outfallctl report) in a real browser: outfalld keeps a local history of
# a COD exceedance served by the simulator, the report is rendered by
# headless Chromium, and the dumped DOM and the screenshot are checked
# against the history store and the test's config (check_report.py).
# Sourced by run.sh after lib.sh: uses BUILD, WORK, HERE, fresh_run,
# start_sim, write_config, remember, wait_for.

# report_fixture: a run that leaves WORK/history with an exceedance of COD
# (650 mg/L against the instant limit 500) raised and cleared, and the
# broker's log of it. Also used by scripts/report-screenshots.sh.
report_fixture() {
	fresh_run || return 1
	start_sim "$WORK/tty" --scenario exceed --param cod --value 650 --after 5 --for 8 \
		--csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	printf 'history: { dir = "%s/history"; commit_s = 1; };\n' "$WORK" >> "$WORK/cfg/outfall.conf"
	"$BUILD/outfalld" -n -c "$WORK/cfg/outfall.conf" > /dev/null || return 1
	"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" > "$WORK/daemon.log" 2>&1 &
	local pid=$!
	remember $pid
	wait_for 40 grep -q "alert cleared: limit_exceeded cod" "$WORK/daemon.log" ||
		{ echo "no cod alert raised and cleared"; return 1; }
	sleep 4 # readings after the clear, for the context
	kill -TERM "$pid"; wait "$pid" || { echo "outfalld exit $?"; return 1; }
	[ -s "$WORK/history/history.sqlite" ] || { echo "no history store"; return 1; }
	wait_for 5 python3 "$HERE/check_report.py" alert-id "$WORK" ||
		{ python3 "$HERE/check_report.py" alert-id "$WORK"; return 1; }
}

# report_render NAME ARGS...: outfallctl report ARGS -o WORK/NAME.html --csv,
# then Chromium's DOM and screenshot of it as WORK/NAME.dom, WORK/NAME.png.
report_render() {
	local name=$1; shift
	"$BUILD/outfallctl" report -c "$WORK/cfg/outfall.conf" "$@" \
		-o "$WORK/$name.html" --csv > "$WORK/$name.out" 2>&1 ||
		{ echo "outfallctl report $* failed: $?"; cat "$WORK/$name.out"; return 1; }
	cat "$WORK/$name.out"
	python3 "$HERE/check_report.py" render "$WORK/$name.html" "$WORK/$name"
}

case_report_alert() {
	local id
	report_fixture || return 1
	id=$(python3 "$HERE/check_report.py" alert-id "$WORK") || return 1
	report_render alert --alert "$id" --lang en || return 1
	python3 "$HERE/check_report.py" alert "$WORK" "$WORK/alert.html" "$WORK/alert.dom" \
		"$WORK/alert.png" "$id"
}

case_report_day() {
	local day
	report_fixture || return 1
	day=$(TZ=Asia/Shanghai date +%F) # the outlet's timezone in write_config
	report_render day --outlet WS-001 --day "$day" --lang zh || return 1
	python3 "$HERE/check_report.py" day "$WORK" "$WORK/day.html" "$WORK/day.dom" \
		"$WORK/day.png" "$day"
}

# case_report_live: the report of an alert raised seconds ago, while
# outfalld runs with commit_s = 300 and its history has committed nothing
# yet: outfallctl report first asks the daemon to commit (history-commit
# on the control socket), so the report holds the alert and its readings.
case_report_live() {
	local id pid
	fresh_run || return 1
	start_sim "$WORK/tty" --scenario exceed --param cod --value 650 --after 5 --for 8 \
		--csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	printf 'history: { dir = "%s/history"; commit_s = 300; };\n' "$WORK" \
		>> "$WORK/cfg/outfall.conf"
	"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" > "$WORK/daemon.log" 2>&1 &
	pid=$!
	remember $pid
	wait_for 40 grep -q "alert cleared: limit_exceeded cod" "$WORK/daemon.log" ||
		{ echo "no cod alert raised and cleared"; return 1; }
	sleep 2
	id=$(python3 "$HERE/check_report.py" alert-id "$WORK") || return 1
	report_render alert --alert "$id" --lang en || return 1
	python3 "$HERE/check_report.py" alert "$WORK" "$WORK/alert.html" "$WORK/alert.dom" \
		"$WORK/alert.png" "$id" || return 1
	kill -TERM "$pid"
	wait "$pid"
}
