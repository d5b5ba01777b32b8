# cases_grafana.sh - the Grafana dashboard (config/grafana/outfall.json)
# against what outfalld really writes. Sourced by run.sh after lib.sh: uses
# BUILD, WORK, HERE, fresh_run, start_sim, write_config, remember, wait_for,
# influx_query. Grafana itself is not a Debian package: check_grafana.py
# runs every query of the dashboard against the case's influxd instead.

# has_point QUERY: InfluxDB answers QUERY with at least one row.
has_point() { influx_query outfall "$1" | grep -q '"values"'; }

# limits_logged N: the daemon's log says N sets of limit lines were written.
limits_logged() {
	[ "$(grep -c "limit lines of the permits written" "$WORK/daemon.log")" -ge "$1" ]
}

# An exceedance (an alert raised and cleared), a channel out of its range
# (readings with q != "ok"), a rolling limit (window_min), then a reload
# that lowers the COD limit (outfall_limit written twice); long enough for
# minute aggregates and the self-metrics, written every minute.
case_grafana() {
	fresh_run || return 1
	start_sim "$WORK/tty" --scenario exceed --param cod --value 650 --after 6 --for 8 \
		--csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	sed -i 's|{ parameter = "cod"; max = 500.0; basis = "instant"; } );|{ parameter = "cod"; max = 500.0; basis = "instant"; },\n      { parameter = "cod"; max = 1000.0; basis = "rolling"; window_min = 60; } );|' \
		"$WORK/cfg/permits.conf"
	sed -i 's|{ parameter = "temp"; register = 8;|{ parameter = "temp"; range = [0.0, 1.0]; register = 8;|' \
		"$WORK/cfg/outfall.conf"
	grep -q 'window_min = 60' "$WORK/cfg/permits.conf" &&
		grep -q 'range = \[0.0, 1.0\]' "$WORK/cfg/outfall.conf" ||
		{ echo "config not edited"; return 1; }
	"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" > "$WORK/daemon.log" 2>&1 &
	local pid=$!
	remember $pid
	wait_for 20 limits_logged 1 ||
		{ echo "no limits written at start"; return 1; }
	wait_for 30 grep -q "alert cleared: limit_exceeded cod" "$WORK/daemon.log" ||
		{ echo "no cod alert raised and cleared"; return 1; }
	sed -i 's|{ parameter = "cod"; max = 500.0; basis = "instant"; }|{ parameter = "cod"; max = 480.0; basis = "instant"; }|' \
		"$WORK/cfg/permits.conf"
	kill -HUP "$pid"
	wait_for 10 grep -q "reload: done" "$WORK/daemon.log" || { echo "reload failed"; return 1; }
	wait_for 10 limits_logged 2 ||
		{ echo "no limits written after the reload"; return 1; }
	wait_for 100 has_point "SELECT count(\"count\") FROM outfall_aggregate WHERE period = 'minute'" ||
		{ echo "no minute aggregate"; return 1; }
	wait_for 100 has_point "SELECT last(\"queue_depth\") FROM outfall_gateway" ||
		{ echo "no self-metrics"; return 1; }
	kill -TERM "$pid"; wait "$pid" || { echo "outfalld exit $?"; return 1; }
	sleep 1
	python3 "$HERE/check_grafana.py" "$WORK" "$INFLUX_URL" "$HERE/../../config/grafana/outfall.json"
}
