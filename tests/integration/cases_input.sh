# cases_input.sh - integration cases for what a hostile tester fed the
# daemon (issue 13): a data_dir that is a file, ASCII lines with decimal
# commas, and the data_gap alert of lost records, which is about no
# parameter. Sourced by run.sh after lib.sh: uses BUILD, WORK, HERE,
# fresh_run, write_config, write_ascii_config (cases_ascii.sh), remember,
# wait_for, and socat. Assertions are on the daemon's exit code and log,
# and on what the broker and InfluxDB received.

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

# The outbox loses records (each telemetry segment may grow to 2 KiB only:
# RLIMIT_FSIZE, with SIGXFSZ ignored, makes its writes fail with EFBIG
# while the small alert segment still takes the alert): its data_gap alert
# is about no parameter - the log says so, the MQTT event's parameter is
# null, the InfluxDB point has no parameter tag - and none says flow.
case_outbox_gap_no_parameter() {
	fresh_run || return 1
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	write_config "$WORK/cfg" "$WORK/tty"
	(trap '' XFSZ; ulimit -f 2; exec "$BUILD/outfalld" -c "$WORK/cfg/outfall.conf") \
		> >(cat > "$WORK/daemon.log") 2>&1 &
	local pid=$!
	remember $pid
	wait_for 60 grep -q "alert raised: data_gap" "$WORK/daemon.log" ||
		{ echo "no data_gap raised"; return 1; }
	grep "alert raised: data_gap" "$WORK/daemon.log"
	grep -q "alert raised: data_gap (not about a parameter) on outlet -" "$WORK/daemon.log" ||
		{ echo "the log line does not say it is about no parameter"; return 1; }
	wait_for 10 grep -q '"kind":"data_gap"' "$WORK/mqtt.log" ||
		{ echo "no data_gap event on MQTT"; return 1; }
	sleep 1
	kill -TERM "$pid"; wait "$pid"
	python3 - "$WORK" "$INFLUX_URL" <<'PY'
import json, sys, urllib.parse, urllib.request
work, url = sys.argv[1:3]
fails = []
events = [json.loads(l.split(" ", 1)[1]) for l in open(work + "/mqtt.log", encoding="utf-8")
          if '"kind":"data_gap"' in l]
for e in events:
    if e["parameter"] is not None or e["unit"] is not None or e["limit"] is not None:
        fails.append("MQTT event about a parameter: %s" % e)
q = urllib.parse.urlencode({"db": "outfall", "q":
    "SELECT * FROM outfall_alert WHERE kind = 'data_gap'"})
res = json.load(urllib.request.urlopen(url + "/query?" + q))
series = res["results"][0].get("series", [])
rows = [dict(zip(s["columns"], v)) for s in series for v in s["values"]]
if not rows:
    fails.append("no data_gap point in InfluxDB")
for row in rows:
    if row.get("parameter") not in (None, ""):
        fails.append("InfluxDB point with parameter %r" % row["parameter"])
for l in open(work + "/daemon.log", encoding="utf-8"):
    if "data_gap" in l and "alert" in l and ("flow" in l or " nan" in l):
        fails.append("log line: " + l.strip())
print("%d MQTT events, %d InfluxDB points of the outbox's data_gap" % (len(events), len(rows)))
for f in fails:
    print("FAIL:", f)
sys.exit(1 if fails else 0)
PY
}

# An ASCII probe that writes decimal commas ("pH=7,31;COD=231,5;T=21,3"),
# played by a shell loop on a socat pty pair. Set for the point, the daemon
# names the decimal comma and reads no value; after a reload with
# decimal = "," it reads 7.31, 231.5 and 21.3.
case_ascii_decimal_comma() {
	fresh_run || return 1
	socat pty,raw,echo=0,link="$WORK/tty" pty,raw,echo=0,link="$WORK/probe" \
		2> "$WORK/socat.err" &
	remember $!
	wait_for 10 test -e "$WORK/probe" || { echo "no pty pair"; return 1; }
	(while sleep 0.3; do printf 'pH=7,31;COD=231,5;T=21,3\r\n'; done > "$WORK/probe") &
	remember $!
	write_ascii_config "$WORK/cfg" "$WORK/tty" kv
	sed -i 's/format = "kv";/format = "kv"; separator = ";";/' "$WORK/cfg/outfall.conf"
	"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" > "$WORK/daemon.log" 2>&1 &
	local pid=$!
	remember $pid
	wait_for 20 grep -q "sensor probe1 (ascii on rs232-0): numbers with a decimal comma" \
		"$WORK/daemon.log" || { echo "the decimal comma was not named"; return 1; }
	grep -q '"ph":{"v":[0-9]' "$WORK/mqtt.log" && { echo "a value was read"; return 1; }
	sed -i 's/separator = ";";/separator = ";"; decimal = ",";/' "$WORK/cfg/outfall.conf"
	kill -HUP "$pid"
	wait_for 10 grep -q "reload: done" "$WORK/daemon.log" || { echo "reload failed"; return 1; }
	wait_for 20 grep -q '"ph":{"v":7.31,' "$WORK/mqtt.log" ||
		{ echo "pH 7,31 not read as 7.31"; return 1; }
	grep -m 1 '"ph":{"v":7.31,' "$WORK/mqtt.log"
	grep -q '"cod":{"v":231.5,' "$WORK/mqtt.log" && grep -q '"temp":{"v":21.3,' "$WORK/mqtt.log" ||
		{ echo "COD or T not read"; return 1; }
	kill -TERM "$pid"; wait "$pid" || { echo "outfalld exit $?"; return 1; }
}
