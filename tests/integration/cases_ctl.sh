# cases_ctl.sh - integration cases for outfallctl (scan, read, check, status
# and the bus lock), against the simulator on a pty and a real outfalld.
# Sourced by run.sh after lib.sh: uses BUILD, WORK, start_sim, write_config,
# remember, wait_for, stop_all. Each case_ctl_* function returns 0 on
# success; everything it starts is remembered and stopped by the next case
# or by run.sh on exit. Assertions are on what outfallctl printed.

# ctl_fresh: an empty WORK with a config for the simulator; nothing running.
# The sinks point at closed ports: only the serial side matters here.
ctl_fresh() {
	stop_all
	rm -rf "${WORK:?}"/*
	mkdir -p "$WORK/cfg"
	MQTT_PORT=1 INFLUX_URL=http://127.0.0.1:1 write_config "$WORK/cfg" "$WORK/tty"
}

# ctl ARGS...: runs outfallctl; stdout in $WORK/ctl.out, stderr in
# $WORK/ctl.err, the exit code in CTL_RC. Never fails itself.
ctl() {
	"$BUILD/outfallctl" "$@" > "$WORK/ctl.out" 2> "$WORK/ctl.err"
	CTL_RC=$?
	return 0
}

# ctl_rc WANT: fails (showing the output) unless the last ctl exited WANT.
ctl_rc() {
	[ "$CTL_RC" -eq "$1" ] && return 0
	echo "outfallctl exit $CTL_RC, want $1; stdout:"; cat "$WORK/ctl.out"
	echo "stderr:"; cat "$WORK/ctl.err"
	return 1
}

# ctl_has out|err REGEX: fails (showing it) unless the last ctl's stdout or
# stderr has a line matching the extended REGEX.
ctl_has() {
	grep -Eq -- "$2" "$WORK/ctl.$1" && return 0
	echo "no line matching /$2/ in outfallctl's std$1:"; cat "$WORK/ctl.$1"
	return 1
}

# ctl_daemon [CONFIG]: outfalld in the background on the simulator; its
# pid in DAEMON_PID once it has opened the bus.
ctl_daemon() {
	local cfg=${1:-$WORK/cfg/outfall.conf}
	"$BUILD/outfalld" -c "$cfg" >> "$WORK/daemon.log" 2>&1 &
	DAEMON_PID=$!
	remember $DAEMON_PID
	wait_for 10 grep -q "opened $WORK/tty" "$WORK/daemon.log" ||
		{ echo "outfalld did not open the bus"; return 1; }
}

# ctl_stop_daemon: SIGTERM to DAEMON_PID and wait for it (exit 0 wanted).
ctl_stop_daemon() {
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID" || { echo "outfalld exit $?"; return 1; }
}

case_ctl_scan() {
	ctl_fresh
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	# register 0: the probe has it, the flow meter (0x1010 map) refuses it
	ctl scan --device "$WORK/tty" --ids 1-4 --timeout-ms 200
	cat "$WORK/ctl.out"
	ctl_rc 0 || return 1
	ctl_has out '^slave   1: answers: holding register 0 = 0x[0-9A-F]{4}' || return 1
	ctl_has out '^slave   2: exception 02 illegal data address: the slave is there' || return 1
	ctl_has out '^summary: 2 of 4 ids present .*; answers: 1; exception: 2; silent: 3-4$' ||
		return 1
	! grep -Eq '^slave   [34]:' "$WORK/ctl.out" || { echo "a silent id got a line"; return 1; }
	# the flow meter's own register: now it answers and the probe refuses
	ctl scan --device "$WORK/tty" --ids 1,2,3 --register 0x1010 --table input
	ctl_rc 0 || return 1
	ctl_has out '^slave   2: answers: input register 4112' || return 1
	ctl_has out 'answers: 2; exception: 1; silent: 3$' || return 1
	# a register the probe does not have
	ctl scan --device "$WORK/tty" --ids 1 --register 100
	ctl_rc 0 || return 1
	ctl_has out '^slave   1: exception 02 illegal data address: .*holding register 100' ||
		return 1
	# nobody home
	ctl scan --device "$WORK/tty" --ids 3-4 --timeout-ms 50
	ctl_rc 69 || return 1
	ctl_has out 'answers: none; exception: none; silent: 3-4' || return 1
	ctl_has out '^hint: nothing answered' || return 1
	# usage errors say what is wrong
	ctl scan --device "$WORK/tty" --ids 5-2
	ctl_rc 64 && ctl_has err 'range 5-2 runs backwards' || return 1
	ctl scan --device "$WORK/nothing-here" --ids 1
	ctl_rc 66 && ctl_has err "cannot open $WORK/nothing-here: No such file" || return 1
	ctl scan --help
	ctl_rc 0 && ctl_has out '^usage: outfallctl scan --device DEV' || return 1
}

# The cdab column of the flow register is what the simulator served, and
# the raw words decode to it; --count reads consecutive values; errors are
# told apart; --watch repeats until Ctrl-C.
case_ctl_read() {
	ctl_fresh
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	ctl read --device "$WORK/tty" --slave 2 --register 0x1010 --type float32 --all-orders
	cat "$WORK/ctl.out"
	ctl_rc 0 || return 1
	ctl_has out '^register +words +abcd +cdab +badc +dcba$' || return 1
	sleep 0.2 # the simulator logs a reply just after sending it
	python3 - "$WORK/ctl.out" "$WORK/sim.csv" <<'PY' || return 1
import csv, struct, sys
rows = [l.split() for l in open(sys.argv[1]) if l.startswith("0x1010 (4112)")]
assert len(rows) == 1, f"want one row for 0x1010, got {rows}"
r = rows[0]  # 0x1010 (4112) W1 W2 abcd cdab badc dcba
w1, w2, cdab = r[2], r[3], float(r[5])
words = struct.unpack(">f", bytes.fromhex(w2 + w1))[0]
assert abs(words - cdab) <= 1e-6 * abs(words), f"words {w1} {w2} decode to {words}, not {cdab}"
served = [float(x["value"]) for x in csv.DictReader(open(sys.argv[2]))
          if x["slave"] == "2" and x["register"] == "4112"]
assert any(abs(v - cdab) <= 1e-6 * abs(v) for v in served), f"cdab {cdab} not in {served}"
assert 3.0 <= cdab <= 6.0, f"flow {cdab} outside the simulator's 3..6"
print(f"cdab {cdab} matches the simulator's log")
PY
	ctl read --device "$WORK/tty" --slave 1 --register 0 --type float32 --count 5
	ctl_rc 0 || return 1
	[ "$(grep -Ec '^0x000[02468] ' "$WORK/ctl.out")" -eq 5 ] ||
		{ echo "want 5 rows:"; cat "$WORK/ctl.out"; return 1; }
	ctl_has out '^0x0002 \(2\) +40[EF][0-9A-F] [0-9A-F]{4} +7\.[0-6]' || return 1 # ph 7.0..7.6
	ctl read --device "$WORK/tty" --slave 1 --register 0 --type uint16 --scale 0.5 \
		--offset 1 --word-order badc
	ctl_rc 0 && ctl_has out 'value = raw x 0.5 \+ 1' && ctl_has out '^register .* badc$' ||
		return 1
	ctl read --device "$WORK/tty" --slave 1 --register 100 --type uint16
	ctl_rc 76 && ctl_has err 'slave 1: exception 02 illegal data address' || return 1
	ctl read --device "$WORK/tty" --slave 9 --register 0 --type int16 --timeout-ms 100
	ctl_rc 69 && ctl_has err 'no answer from slave 9 within 100 ms' || return 1
	ctl read --device "$WORK/tty" --slave 1 --register 0 --type float32 --count 70
	ctl_rc 64 && ctl_has err 'at most 125' || return 1
	ctl read --device "$WORK/tty" --slave 1 --type float32
	ctl_rc 64 && ctl_has err '--register is required' || return 1
	"$BUILD/outfallctl" read --device "$WORK/tty" --slave 1 --register 0 --type float32 \
		--watch 1 > "$WORK/watch.out" 2>&1 &
	local pid=$! rc
	remember $pid
	sleep 2.5
	kill -INT $pid
	wait $pid; rc=$?
	cat "$WORK/watch.out"
	[ "$rc" -eq 0 ] || { echo "--watch exit $rc after Ctrl-C, want 0"; return 1; }
	[ "$(grep -Ec '^[0-9]{2}:[0-9]{2}:[0-9]{2}  0x0000 ' "$WORK/watch.out")" -ge 2 ] ||
		{ echo "--watch did not repeat"; return 1; }
}

# check_json FILE: the JSON report has every channel read ok with a value,
# and the cod limit.
ctl_check_json() {
	python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["gateway"] == "it-gw-1" and r["ok"] is True, r.get("problems")
chans = {c["parameter"]: c for s in r["sensors"] for c in s["channels"]}
want = {"cod", "ph", "nh3n", "tp", "temp", "flow", "volume_total"}
assert set(chans) == want, f"channels {sorted(chans)}"
for p, c in chans.items():
    assert c["quality"] == "ok" and isinstance(c["value"], (float, int)), (p, c)
assert 180 <= chans["cod"]["value"] <= 260 and 7.0 <= chans["ph"]["value"] <= 7.6
cod = [l for l in chans["cod"]["limits"] if l["basis"] == "instant"]
assert cod and cod[0]["max"] == 500 and cod[0]["verdict"] == "ok", chans["cod"]["limits"]
assert chans["cod"]["range"] == {"min": 0, "max": 2000, "verdict": "ok"}
assert r["permits"][0]["state"] == "valid"
print("JSON report: 7 channels ok, cod limit max 500 ok")
PY
}

case_ctl_check() {
	ctl_fresh
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	local p
	ctl check -c "$WORK/cfg/outfall.conf"
	cat "$WORK/ctl.out"
	ctl_rc 0 || return 1
	ctl_has out '^outfall commissioning report$' && ctl_has out '^  gateway  it-gw-1$' &&
		ctl_has out "^  config   $WORK/cfg/outfall.conf$" &&
		ctl_has out '^  date     20[0-9]{2}-[0-9]{2}-[0-9]{2} ' || return 1
	ctl_has out '^sensor probe1: bus rs485-0 .* slave 1, outlet WS-001: answered' || return 1
	for p in cod ph nh3n tp temp flow volume_total; do
		ctl_has out "^  $p +[0-9.]+ [^ ]+ +ok +range " || return 1
	done
	ctl_has out '^  cod .* limits: instant max 500: ok' || return 1
	ctl_has out '^  ph .* limits: instant 6.5..9.5: ok' || return 1
	ctl_has out '^summary: 7 channels on 2 sensors, 7 read with quality ok; no problems found$' ||
		return 1
	ctl check -c "$WORK/cfg/outfall.conf" --json
	ctl_rc 0 && ctl_check_json "$WORK/ctl.out" || return 1
	# a reading above the instant limit: reported, exit 65
	stop_all
	start_sim "$WORK/tty" --scenario exceed --param cod --value 650 --after 0 --for 600 ||
		return 1
	ctl check -c "$WORK/cfg/outfall.conf"
	ctl_rc 65 || return 1
	ctl_has out '^  cod +65[01]\.[0-9]* mg/L .* limits: instant max 500: exceeds' &&
		ctl_has out 'problem: probe1 cod = 65[01].* is above the instant limit max 500 mg/L' ||
		return 1
	# a silent probe: reported, exit 69
	stop_all
	start_sim "$WORK/tty" --scenario fault --fault-slave 1 --after 0 --for 0 || return 1
	ctl check -c "$WORK/cfg/outfall.conf" --json
	ctl_rc 69 || return 1
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
s = {x["name"]: x for x in r["sensors"]}
assert s["probe1"]["result"] == "no_response" and s["flow1"]["result"] == "ok", s
assert all(c["quality"] == "no_response" and c["value"] is None for c in s["probe1"]["channels"])
assert r["ok"] is False and any("probe1" in p["text"] for p in r["problems"])
' "$WORK/ctl.out" || { cat "$WORK/ctl.out"; return 1; }
	# a config error: file:line, exit 78, nothing read
	sed -i 's/word_order = "cdab"; },/word_order = "abdc"; },/' "$WORK/cfg/outfall.conf"
	p=$(grep -n '"abdc"' "$WORK/cfg/outfall.conf" | cut -d: -f1)
	ctl check -c "$WORK/cfg/outfall.conf"
	ctl_rc 78 && ctl_has err "outfall.conf:$p: .*word_order" || return 1
	# a word-order mistake: its own case, run here too so the default list has it
	case_ctl_check_order
}

# The bus lock: a running outfalld owns its bus; outfallctl refuses it
# naming the daemon, a second daemon cannot open it, and the lock goes with
# the process (also after kill -9).
case_ctl_busy() {
	ctl_fresh
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	ctl_daemon || return 1
	ctl read --device "$WORK/tty" --slave 1 --register 0 --type float32
	cat "$WORK/ctl.err"
	ctl_rc 75 || return 1
	ctl_has err "^outfallctl: bus $WORK/tty is in use by outfalld \\(pid $DAEMON_PID[,)].*stop it or use \`outfallctl status\`" ||
		return 1
	[ ! -s "$WORK/ctl.out" ] || { echo "read printed values behind the daemon's back"; return 1; }
	ctl scan --device "$WORK/tty" --ids 1
	ctl_rc 75 && ctl_has err "in use by outfalld \\(pid $DAEMON_PID" || return 1
	ctl check -c "$WORK/cfg/outfall.conf"
	ctl_rc 69 && ctl_has out "problem: bus $WORK/tty is in use by outfalld \\(pid $DAEMON_PID" ||
		return 1
	# a second daemon (its own data_dir) on the same bus gets EBUSY
	mkdir -p "$WORK/cfg2"
	MQTT_PORT=1 INFLUX_URL=http://127.0.0.1:1 write_config "$WORK/cfg2" "$WORK/tty"
	"$BUILD/outfalld" -c "$WORK/cfg2/outfall.conf" > "$WORK/daemon2.log" 2>&1 &
	local second=$!
	remember $second
	wait_for 10 grep -q "cannot open $WORK/tty: Device or resource busy" "$WORK/daemon2.log" ||
		{ echo "second daemon:"; cat "$WORK/daemon2.log"; return 1; }
	kill -TERM $second; wait $second
	# the lock goes with the daemon
	ctl_stop_daemon || return 1
	ctl read --device "$WORK/tty" --slave 1 --register 0 --type float32
	ctl_rc 0 || return 1
	ctl_daemon || return 1
	kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null
	ctl read --device "$WORK/tty" --slave 1 --register 0 --type float32
	ctl_rc 0 || { echo "the lock outlived kill -9"; return 1; }
}

# ctl_status_fixture FILE PID NOW_MS STOPPED: a status.json in the
# documented format (gateway/daemon/status.h), written by hand so the reader is
# held to the format, not to the writer's habits.
ctl_status_fixture() {
	python3 - "$@" <<'PY'
import json, sys
path, pid, now, stopped = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
def v(p, x, u, q="ok"): return {"parameter": p, "v": x, "unit": u, "q": q}
doc = {"format": 1, "gateway": "it-gw-1", "version": "0.1.0", "pid": pid, "stopped": stopped,
       "started_ms": now - 3723000, "now_ms": now,
       "sensors": [
         {"name": "probe1", "bus": "rs485-0", "device": "/dev/ttyUSB0", "slave": 1,
          "last_ok_ms": now - 2000, "last_poll_ms": now - 2000, "polls": 372, "failures": 3,
          "timeouts": 4, "crc_errors": 5, "exceptions": 0,
          "values": [v("cod", 212.5847, "mg/L"), v("ph", 15.5, "pH", "out_of_range")]},
         {"name": "flow1", "bus": "rs485-0", "device": "/dev/ttyUSB0", "slave": 2,
          "last_ok_ms": now - 95000, "last_poll_ms": now - 1000, "polls": 700,
          "failures": 19, "timeouts": 38, "crc_errors": 0, "exceptions": 0, "late": 9,
          "values": [v("flow", 4.25, "m3/h"), v("volume_total", None, "m3", "no_response")]}],
       "sinks": [
         {"name": "mqtt", "unacked": 0, "oldest_unacked_ms": 0, "sent": 1234, "retried": 2,
          "errors": 1, "quarantined": 0, "dropped": 0},
         {"name": "influx", "unacked": 150, "oldest_unacked_ms": now - 303000, "sent": 999,
          "retried": 7, "errors": 4, "quarantined": 1, "dropped": 0}],
       "alerts": [
         {"id": "it-gw-1/WS-001/cod/instant/1", "state": "raised", "kind": "limit_exceeded",
          "parameter": "cod", "basis": "instant", "sensor_health": "ok", "window_min": 0,
          "outlet": "WS-001", "sensor": "probe1", "permit": "浙丽排字第2023-0042号",
          "holder": "丽水某食品有限公司", "limit": 500.0, "value": 612.4, "peak": 650.25,
          "since_ms": now - 600000, "until_ms": 0}]}
json.dump(doc, open(path, "w"), ensure_ascii=False)
PY
}

# status against hand-written status.json files: running, stale, stopped,
# gone, missing, corrupt, found through the config's data_dir.
case_ctl_status() {
	ctl_fresh
	local st="$WORK/cfg/data/status.json" now alive dead
	mkdir -p "$WORK/cfg/data"
	sleep 300 & alive=$!
	remember $alive
	sleep 0 & dead=$!
	wait $dead
	now=$(($(date +%s%N) / 1000000))
	ctl_status_fixture "$st" "$alive" "$now" 0 || return 1
	ctl status -c "$WORK/cfg/outfall.conf"
	cat "$WORK/ctl.out"
	ctl_rc 0 || return 1
	ctl_has out "^outfalld 0.1.0, gateway it-gw-1, pid $alive: running for 1 h 2 min; status written [0-9]+ s ago$" &&
		ctl_has out "^status file $st$" || return 1
	ctl_has out '^sensor probe1 \(bus rs485-0 /dev/ttyUSB0, slave 1\): last answer 2 s ago; 372 polls, 3 failed, 4 timeouts, 5 crc errors, 0 exceptions$' &&
		ctl_has out '^    cod 212.5847 mg/L, ph 15.5 pH \(out_of_range\)$' || return 1
	ctl_has out '^sensor flow1 .*last answer 1 min 35 s ago, NO ANSWER SINCE \(last poll 1 s ago\)' &&
		ctl_has out '^    9 polls started later than the bus timeout \(slaves not answering, or the bus overbooked\)$' &&
		ctl_has out '^    flow 4.25 m3/h, volume_total - \(no_response\)$' || return 1
	[ "$(grep -c 'polls started later' "$WORK/ctl.out")" -eq 1 ] ||
		{ echo "late polls shown for a sensor without any"; return 1; }
	ctl_has out '^sink mqtt: 0 not yet acknowledged, oldest unsent -; 1234 sent' &&
		ctl_has out '^sink influx: 150 not yet acknowledged, oldest unsent 5 min 3 s; 999 sent, 7 retried, 4 errors, 1 quarantined' ||
		return 1
	ctl_has out '^open alerts: 1$' &&
		ctl_has out '^  limit_exceeded cod on outlet WS-001 since .* \(10 min 0 s ago\): value 612.4, peak 650.25, limit 500 mg/L, instant, permit 浙丽排字第2023-0042号, sensor probe1$' ||
		return 1
	ctl status --status "$st" --json
	ctl_rc 0 || return 1
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["state"] == "running" and r["pid_alive"] is True and 0 <= r["age_ms"] < 30000, r
s = r["status"]
assert s["gateway"] == "it-gw-1" and len(s["sensors"]) == 2 and s["sinks"][1]["unacked"] == 150
assert s["sensors"][1]["values"][1]["v"] is None and s["alerts"][0]["limit"] == 500
' "$WORK/ctl.out" || { cat "$WORK/ctl.out"; return 1; }
	# older than 30 s with the process still there: stuck
	ctl_status_fixture "$st" "$alive" $((now - 45000)) 0 || return 1
	ctl status --status "$st"
	ctl_rc 69 && ctl_has out "STALE: pid $alive is there but has not written its status for 4[5-9] s" ||
		return 1
	# fresh, but its process is gone
	ctl_status_fixture "$st" "$dead" "$now" 0 || return 1
	ctl status --status "$st"
	ctl_rc 69 && ctl_has out "NOT RUNNING: .* pid $dead is gone" || return 1
	# a clean stop
	ctl_status_fixture "$st" "$dead" $((now - 5000)) 1 || return 1
	ctl status --status "$st" --json
	ctl_rc 69 && ctl_has out '"state":[[:space:]]*"stopped"' || return 1
	ctl status --status "$st"
	ctl_has out 'NOT RUNNING: it stopped cleanly at' || return 1
	# corrupt: cut in the middle
	head -c 300 "$st" > "$st.cut" && mv "$st.cut" "$st"
	ctl status -c "$WORK/cfg/outfall.conf"
	ctl_rc 65 && ctl_has err "$st is not a complete status snapshot" || return 1
	rm -f "$st"
	ctl status -c "$WORK/cfg/outfall.conf"
	ctl_rc 66 && ctl_has err "no status at $st" || return 1
	ctl status -c "$WORK/cfg/outfall.conf" --status "$st"
	ctl_rc 64 || return 1
}

# status from a real outfalld: needs the daemon to write status.json
# (status_write every few seconds, and once with stopped at shutdown).
case_ctl_status_daemon() {
	ctl_fresh
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	ctl_daemon || return 1
	wait_for 15 test -s "$WORK/cfg/data/status.json" ||
		{ echo "outfalld wrote no status.json"; return 1; }
	sleep 3
	ctl status -c "$WORK/cfg/outfall.conf"
	cat "$WORK/ctl.out"
	ctl_rc 0 || return 1
	ctl_has out "^outfalld [0-9.]+, gateway it-gw-1, pid $DAEMON_PID: running for " || return 1
	ctl_has out '^sensor probe1 \(bus rs485-0 .*slave 1\): last answer [0-9]+ s ago; [1-9][0-9]* polls, 0 failed' &&
		ctl_has out '^    cod [0-9.]+ mg/L, ph 7\.[0-9]+ pH, nh3n [0-9.]+ mg/L, tp [0-9.]+ mg/L, temp [0-9.]+ degC$' &&
		ctl_has out '^sensor flow1 .*last answer [0-9]+ s ago' &&
		ctl_has out '^    flow [3-6]\.?[0-9]* m3/h, volume_total 123[0-9]{2} m3$' || return 1
	ctl_has out '^sink mqtt: [0-9]+ not yet acknowledged' &&
		ctl_has out '^sink influx: [0-9]+ not yet acknowledged' &&
		ctl_has out '^open alerts: none$' || return 1
	ctl_stop_daemon || return 1
	ctl status -c "$WORK/cfg/outfall.conf"
	ctl_rc 69 && ctl_has out 'NOT RUNNING: it stopped cleanly at' || return 1
}

# The commonest installer mistake: the simulator serves abcd, the config
# says cdab on every probe channel. Probe readings are implausible (a
# swapped float may by chance look plausible: then it is still not judged,
# its sensor's word order being in doubt), so nothing is judged against the
# permit; the report says to run `outfallctl read --all-orders` and names
# abcd as the order that reads plausibly, in text and JSON; the command it
# gives shows the true values in abcd.
case_ctl_check_order() {
	ctl_fresh
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	sed -i '/name = "probe1"/,/name = "flow1"/ s/word_order = "abcd"/word_order = "cdab"/' \
		"$WORK/cfg/outfall.conf"
	[ "$(grep -c 'word_order = "cdab"' "$WORK/cfg/outfall.conf")" -eq 7 ] ||
		{ echo "config not edited"; cat "$WORK/cfg/outfall.conf"; return 1; }
	local p cmd bad=0
	ctl check -c "$WORK/cfg/outfall.conf"
	cat "$WORK/ctl.out"
	ctl_rc 69 || return 1
	for p in cod ph nh3n tp temp; do
		ctl_has out "^  $p .*\[holding 0x000[02468] float32 cdab\]$" || return 1
		grep -Eq "^  $p +[^ ]+ [^ ]+ +implausible " "$WORK/ctl.out" || continue
		bad=$((bad + 1))
		ctl_has out "^  problem: probe1 $p = .* cannot be physical \(.*\): word order\? not judged against the permit; run \`outfallctl read --all-orders\` to see its registers in every word order: outfallctl read --all-orders --device $WORK/tty --baud 9600 --parity N --slave 1 --register [02468] --type float32$" ||
			return 1
	done
	[ "$bad" -ge 1 ] || { echo "no implausible probe reading"; return 1; }
	ctl_has out '^  cod .* limits: instant max 500: (no value to judge|not judged, word order in doubt)  \[' &&
		ctl_has out '^  ph .* limits: instant 6.5..9.5: (no value to judge|not judged, word order in doubt)  \[' ||
		return 1
	ctl_has out '^  flow +[3-6][0-9.]* m3/h +ok ' || return 1
	ctl_has out '^  hint: sensor probe1: word_order = "abcd" reads plausible values on every channel \(cod [0-9.]+ mg/L, ph 7\.[0-9]+ pH, nh3n [0-9.]+ mg/L, tp [0-9.]+ mg/L, temp [0-9.]+ degC\); the config says "cdab"$' ||
		return 1
	! grep -Eq 'the instant limit|: (exceeds|below|ok)(;|  \[)|hint: sensor flow1' "$WORK/ctl.out" ||
		{ echo "a probe reading was judged, or flow1 got a hint"; return 1; }
	ctl_has out "^summary: 7 channels on 2 sensors, $((7 - bad)) read with quality ok; $bad problems? found$" ||
		return 1
	# the command the report gives shows the true values in the abcd column
	# (the first one given, pointed at ph's register)
	cmd=$(grep -o 'outfallctl read --all-orders --device [^`]* --register [02468] --type float32$' \
		"$WORK/ctl.out" | head -n 1)
	cmd=${cmd#outfallctl }
	ctl ${cmd% --register *} --register 2 --type float32
	ctl_rc 0 && ctl_has out '^0x0002 \(2\) +40[EF][0-9A-F] [0-9A-F]{4} +7\.[0-6][0-9]* ' ||
		return 1
	ctl check -c "$WORK/cfg/outfall.conf" --json
	ctl_rc 69 || return 1
	python3 - "$WORK/ctl.out" "$bad" <<'PY' || { cat "$WORK/ctl.out"; return 1; }
import json, sys
r = json.load(open(sys.argv[1]))
bad = int(sys.argv[2])
s = {x["name"]: x for x in r["sensors"]}
assert s["probe1"]["suggested_word_order"] == ["abcd"], s["probe1"]["suggested_word_order"]
assert s["flow1"]["suggested_word_order"] is None
implausible = 0
for c in s["probe1"]["channels"]:
    assert all(l["verdict"] in ("no_value", "in_doubt")
               for l in c["limits"] if l["basis"] == "instant"), c
    if c["plausible"]:
        assert "word_orders" not in c and c["implausible"] is None, c
        continue
    implausible += 1
    assert c["implausible"] and c["hint"] == "word order?", c
    orders = c["word_orders"]
    assert set(orders) == {"abcd", "cdab", "badc", "dcba"}, orders
    assert orders["abcd"]["plausible"] is True and orders["cdab"]["plausible"] is False, c
assert implausible >= 1
ph = [c for c in s["probe1"]["channels"] if c["parameter"] == "ph"][0]
if "word_orders" in ph:
    assert 7.0 <= ph["word_orders"]["abcd"]["value"] <= 7.6, ph
    # the shortest decimal of the float32, not its 17 digits
    assert len(repr(ph["word_orders"]["abcd"]["value"])) <= 10, ph
for c in s["flow1"]["channels"]:
    assert c["plausible"] is True and "word_orders" not in c, c
kinds = [p["kind"] for p in r["problems"]]
assert kinds.count("read") == implausible and kinds.count("hint") == 1, kinds
assert "limit" not in kinds, kinds
hint = [p["text"] for p in r["problems"] if p["kind"] == "hint"][0]
assert 'word_order = "abcd"' in hint and 'the config says "cdab"' in hint, hint
assert r["ok"] is False
print(f"JSON report: abcd suggested for probe1 ({implausible} implausible readings), "
      "nothing judged against the permit")
PY
}
