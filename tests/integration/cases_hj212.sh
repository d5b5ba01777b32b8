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

# outfalld reports to `outfallctl hj212 listen` (the commissioning aid):
# listen printed the 2081 and 2011s with the values the simulator served,
# decoded and judged good, and answered each with its 9014; outfalld got
# them (nothing resent, nothing retried, the outbox drained). Then
# SIGINT ends listen cleanly with its count.
case_hj212_listen() {
	local port lpid rc
	fresh_run || return 1
	port=$(free_port)
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	hj212_config "$port"
	"$BUILD/outfallctl" hj212 listen --port "$port" --pw 123456 --mn "$HJ_MN" \
		> "$WORK/listen.out" 2> "$WORK/listen.err" &
	lpid=$!
	remember $lpid
	wait_for 5 grep -q "^listening on 127.0.0.1:$port" "$WORK/listen.out" ||
		{ echo "listen did not start"; cat "$WORK/listen.err"; return 1; }
	run_daemon 75 || return 1
	kill -INT "$lpid"
	wait "$lpid"; rc=$?
	[ "$rc" -eq 0 ] || { echo "listen exited $rc on SIGINT"; return 1; }
	! grep -q "no 9014 for QN" "$WORK/daemon.log" ||
		{ echo "outfalld waited for a 9014:"; grep "9014" "$WORK/daemon.log"; return 1; }
	TZ=Asia/Shanghai python3 "$HERE/check_hj212.py" listen "$WORK/listen.out" \
		"$WORK/sim.csv" "$WORK/cfg/data/status.json" ||
		{ tail -n 40 "$WORK/listen.out"; return 1; }
}

# decode: the standard's Annex A packet is good (exit 0); a bad CRC is
# named with the right one, a wrong length with the segment's, a missing
# field by name (exit 65); encode's packets for given values decode good
# and carry them (flow in L/s); no packet at all is exit 66.
case_hj212_decode() {
	local ctl="$BUILD/outfallctl" seg rc out="$WORK/decode.out"
	rm -rf "${WORK:?}"/*
	mkdir -p "$WORK/cfg"
	seg="QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=$HJ_MN;Flag=5;CP=&&RtdInterval=30&&"
	printf '##0101%s1C80\r\n' "$seg" | "$ctl" hj212 decode > "$out"; rc=$?
	[ "$rc" -eq 0 ] && grep -q "^line 1: good: CN 1062" "$out" &&
		grep -q "^  CP    RtdInterval=30$" "$out" ||
		{ echo "Annex A packet: exit $rc"; cat "$out"; return 1; }
	printf '##0101%s1C81\r\n\n##0100%s1C80\r\n##0091%s\r\n' "$seg" "$seg" \
		"QN=20160801085857223;ST=32;CN=1062;MN=$HJ_MN;Flag=5;CP=&&RtdInterval=30&&1100" |
		"$ctl" hj212 decode > "$out"; rc=$?
	[ "$rc" -eq 65 ] &&
		grep -q "^  error: bad CRC: the packet says 1C81, the data segment's CRC (Annex A) is 1C80$" "$out" &&
		grep -q "^  error: length mismatch: the length field says 100 bytes, the data segment has 101 " "$out" &&
		grep -q "^  error: data segment: no PW field$" "$out" &&
		grep -q "^3 packets, 3 bad$" "$out" ||
		{ echo "bad packets: exit $rc"; cat "$out"; return 1; }
	MQTT_PORT=1 INFLUX_URL=http://127.0.0.1:1 write_config "$WORK/cfg" "$WORK/tty"
	sed -i '/^  influx: /d; $d' "$WORK/cfg/outfall.conf"
	printf '  hj212 = ( { name = "city"; host = "127.0.0.1"; port = 9; mn = "%s"; pw = "123456"; } );\n};\n' \
		"$HJ_MN" >> "$WORK/cfg/outfall.conf"
	"$ctl" hj212 encode -c "$WORK/cfg/outfall.conf" --values cod=41.2,ph=7.31,flow=63 \
		> "$WORK/enc.out" 2> "$WORK/enc.err" || { cat "$WORK/enc.err"; return 1; }
	"$ctl" hj212 decode --pw 123456 --mn "$HJ_MN" < "$WORK/enc.out" > "$out"; rc=$?
	[ "$rc" -eq 0 ] && grep -q "^line 1: good: CN 2081" "$out" &&
		grep -q "^line 2: good: CN 2011" "$out" &&
		grep -q "^        w00000 (flow): Rtd=17.50 Flag=N$" "$out" &&
		grep -q "^        w01018 (cod): Rtd=41.2 Flag=N$" "$out" &&
		[ "$(grep -c $'\r$' "$WORK/enc.out")" -eq 2 ] ||
		{ echo "encode | decode: exit $rc"; cat "$WORK/enc.out" "$out"; return 1; }
	"$ctl" hj212 decode < /dev/null 2>/dev/null; rc=$?
	[ "$rc" -eq 66 ] || { echo "no input: exit $rc"; return 1; }
}
