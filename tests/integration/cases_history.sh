# cases_history.sh - integration case for the local history: outfalld
# against the simulator with a history section, stopped, then the reading
# rows of its SQLite store compared with what InfluxDB received
# (check_history.py). Sourced by run.sh after lib.sh: uses BUILD, WORK,
# HERE, fresh_run, start_sim, write_config, run_daemon.

case_history() {
	fresh_run || return 1
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	printf 'history: { commit_s = 2; };\n' >> "$WORK/cfg/outfall.conf"
	run_daemon 12 || return 1
	grep -q "history: .*history.sqlite, a transaction every 2 s" "$WORK/daemon.log" ||
		{ echo "the history was not started"; return 1; }
	sleep 1
	python3 "$HERE/check_history.py" "$WORK/cfg/data/history/history.sqlite" "$INFLUX_URL"
}
