# cases_hj212.sh - integration cases for the HJ 212 uplink: outfalld
# against the simulator, reporting to a strict platform written in the
# tests (check_hj212.py peer: it validates every frame with its own Annex A
# CRC, checked against 1C80 first, and answers 9014), with assertions on
# what that platform RECEIVED. Sourced by run.sh after lib.sh: uses BUILD,
# WORK, HERE, fresh_run, start_sim, write_config, run_daemon, free_port,
# remember.

HJ_MN=010000A8900016F000169DC0

# hj212_config PORT1 [PORT2]: write_config without InfluxDB (a sink slot
# for the second platform), a history for back-fill, platforms city (and
# province) at 127.0.0.1.
hj212_config() {
	local f="$WORK/cfg/outfall.conf" p
	write_config "$WORK/cfg" "$WORK/tty"
	sed -i '/^  influx: /d; $d' "$f"
	{
		printf '  hj212 = (\n'
		printf '    { name = "city"; host = "127.0.0.1"; port = %s; mn = "%s"; pw = "123456";\n' \
			"$1" "$HJ_MN"
		printf '      rtd_interval_s = 30; min_interval_min = 1; timeout_s = 2; retries = 3; }'
		for p in ${2:-}; do
			printf ',\n    { name = "province"; host = "localhost"; port = %s; mn = "%s";\n' \
				"$p" "$HJ_MN"
			printf '      pw = "123456"; rtd_interval_s = 30; min_interval_min = 1; timeout_s = 2; }'
		done
		printf '\n  );\n};\nhistory: { commit_s = 2; };\n'
	} >> "$f"
}

# hj212_peer PORT LOG ARGS...: the platform, in the background.
hj212_peer() {
	local port=$1 log=$2; shift 2
	python3 "$HERE/check_hj212.py" peer "$port" "$log" "$@" > "$log.out" 2>&1 &
	remember $!
	wait_for 5 grep -q listening "$log.out"
}

# Values equal to what the simulator served, two 9014 withheld (resent
# with the same QN), requests and a back-fill answered; a second platform
# that is down all along changes nothing for the first.
case_hj212_values() {
	local port down
	fresh_run || return 1
	port=$(free_port)
	down=$(free_port)
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	hj212_config "$port" "$down"
	hj212_peer "$port" "$WORK/city.jsonl" --withhold 2 --requests || return 1
	"$BUILD/outfalld" -n -c "$WORK/cfg/outfall.conf" > "$WORK/n.out" 2>&1 ||
		{ cat "$WORK/n.out"; return 1; }
	grep -q "sink hj212 city: 127.0.0.1:$port, MN $HJ_MN, ST 32, HJ 212-2017, Flag=5" \
		"$WORK/n.out" || { echo "-n does not show the platform"; cat "$WORK/n.out"; return 1; }
	run_daemon 140 || return 1
	grep -q "hj212 province: .*connect" "$WORK/daemon.log" ||
		{ echo "no log line for the platform that is down"; return 1; }
	TZ=Asia/Shanghai python3 "$HERE/check_hj212.py" values "$WORK/city.jsonl" "$WORK/sim.csv" &&
		TZ=Asia/Shanghai python3 "$HERE/check_hj212.py" requests "$WORK/city.jsonl" &&
		python3 "$HERE/check_hj212.py" silent "$WORK/province.jsonl"
}

# The platform closes the connection mid-stream and is down 30 s: the
# backlog arrives after, in order, without a hole.
case_hj212_outage() {
	local port
	fresh_run || return 1
	port=$(free_port)
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	hj212_config "$port"
	hj212_peer "$port" "$WORK/city.jsonl" --close-after 4 --down 30 || return 1
	run_daemon 150 || return 1
	TZ=Asia/Shanghai python3 "$HERE/check_hj212.py" backlog "$WORK/city.jsonl"
}
