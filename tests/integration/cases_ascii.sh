# cases_ascii.sh - integration cases for ASCII line sensors, sourced by
# run.sh (which provides fresh_run, run_daemon, start_sim, WORK, HERE, BUILD
# and the services from lib.sh). The simulator plays an ASCII probe on a
# socat pty pair; outfalld reads it with driver = "ascii"; assertions are on
# what MQTT and InfluxDB received, against the simulator's CSV log.

# write_ascii_config DIR DEVICE FORMAT [QUERY]: one ascii probe (ph, cod,
# temp) at outlet WS-001, kv keys pH/COD/T or csv fields 1/2/3; QUERY as
# written inside the config's quotes (libconfig escapes).
write_ascii_config() {
	local dir=$1 dev=$2 format=$3 query=${4:-} qline="" ph cod temp
	[ -n "$query" ] && qline="query = \"$query\";"
	if [ "$format" = kv ]; then
		ph='key = "pH"'; cod='key = "COD"'; temp='key = "T"'
	else
		ph='field = 1'; cod='field = 2'; temp='field = 3'
	fi
	cat > "$dir/permits.conf" <<CONF
permits = (
  { number = "P-ASCII-1"; holder = "Holder Ltd"; category = "catering";
    valid_from = "2023-03-01"; valid_until = "2099-12-31";
    limits = ( { parameter = "ph"; min = 6.5; max = 9.5; basis = "instant"; } ); }
);
CONF
	cat > "$dir/outfall.conf" <<CONF
gateway: { id = "it-gw-1"; data_dir = "$dir/data"; permits = "permits.conf"; fsync_ms = 1000; };
buses = ( { name = "rs232-0"; device = "$dev"; baud = 9600; timeout_ms = 400;
            retries = 1; } );
sensors = (
  { name = "probe1"; bus = "rs232-0"; driver = "ascii"; format = "$format";
    $qline interval_s = 1;
    channels = (
      { parameter = "ph"; $ph; range = [0.0, 14.0]; },
      { parameter = "cod"; $cod; range = [0.0, 2000.0]; },
      { parameter = "temp"; $temp; } ); }
);
outlets = ( { id = "WS-001"; kind = "sewage"; permit = "P-ASCII-1"; sensors = ["probe1"]; } );
sinks: {
  mqtt: { uri = "tcp://127.0.0.1:$MQTT_PORT"; qos = 1; };
  influx: { url = "$INFLUX_URL"; api = "v1"; db = "outfall"; flush_ms = 200; };
};
CONF
}

# check_ascii MODE: MODE is stream, query or garbage. Every good reading on
# MQTT and in InfluxDB is a value the simulator served; enough polls were
# good; query mode delivered (nearly) every answer; garbage mode counted
# framing errors.
check_ascii() {
	python3 - "$1" "$WORK" "$INFLUX_URL" <<'PY'
import csv, json, re, sys, urllib.parse, urllib.request

mode, work, url = sys.argv[1:4]
fails = []

def check(cond, msg):
    if not cond:
        fails.append(msg)

served, lines = {}, {}
with open(f"{work}/sim.csv", newline="") as f:
    for row in csv.DictReader(f):
        served.setdefault(row["name"], set()).add(float(row["value"]))
        lines.setdefault(row["wall_ms"], {})[row["name"]] = float(row["value"])
check(len(lines) >= 5, f"the simulator served only {len(lines)} lines")

def was_served(p, v):
    return any(abs(v - s) <= 1e-9 * max(1.0, abs(s)) for s in served.get(p, ()))

tel = {}
with open(f"{work}/mqtt.log", encoding="utf-8") as f:
    for line in f:
        topic, _, payload = line.rstrip("\n").partition(" ")
        if "/telemetry/" in topic:
            m = json.loads(payload)
            tel[m["seq"]] = m
good_polls = 0
for m in tel.values():
    check(m["sensor"] == "probe1" and m["outlet"] == "WS-001", f"telemetry from {m['sensor']}")
    vals = m["values"]
    if all(vals.get(p, {}).get("q") == "ok" for p in ("ph", "cod", "temp")):
        good_polls += 1
    for p, v in vals.items():
        if v["q"] == "ok":
            check(was_served(p, v["v"]), f"MQTT {p}={v['v']} was never served")
check(good_polls >= 5, f"only {good_polls} fully good polls on MQTT")

qs = urllib.parse.urlencode({"db": "outfall", "epoch": "ms",
                             "q": "SELECT * FROM outfall_reading"})
with urllib.request.urlopen(f"{url}/query?{qs}", timeout=10) as r:
    res = json.load(r)["results"][0]
rows = []
for s in res.get("series", []):
    rows += [dict(zip(s["columns"], v)) for v in s["values"]]
ok = [r for r in rows if r["q"] == "ok"]
check(len(ok) >= 3 * good_polls * 0.95, f"InfluxDB has {len(ok)} good readings")
for r in ok:
    check(was_served(r["parameter"], r["value"]),
          f"InfluxDB {r['parameter']}={r['value']} was never served")

if mode == "query":
    # each poll asked once and the probe answered once: every answer arrived
    got = {(m["values"]["ph"]["v"], m["values"]["cod"]["v"], m["values"]["temp"]["v"])
           for m in tel.values() if all(v["q"] == "ok" for v in m["values"].values())}
    want = {(l["ph"], l["cod"], l["temp"]) for l in lines.values()}
    check(len(want - got) <= 1, f"{len(want - got)} of {len(want)} answers never arrived")
if mode == "garbage":
    with open(f"{work}/daemon.log", encoding="utf-8", errors="replace") as f:
        m = re.findall(r"stats: \d+ polls, \d+ failed, \d+ timeouts, (\d+) crc errors", f.read())
    check(m and int(m[-1]) >= 3, f"framing errors counted: {m}")
    alerts = [json.loads(p) for t, _, p in
              (l.rstrip("\n").partition(" ") for l in open(f"{work}/mqtt.log", encoding="utf-8"))
              if t == "outfall/it-gw-1/alerts/WS-001"]
    check(any(a["kind"] == "sensor_fault" and "/probe1/crc_errors/" in a["id"] and
              a["state"] == "raised" for a in alerts), "no sensor_fault for framing errors")
for f in fails:
    print(f"  FAIL: {f}")
sys.exit(1 if fails else 0)
PY
}

# A streaming kv probe: a line every 200 ms, polled every second.
case_ascii_kv() {
	fresh_run || return 1
	start_sim "$WORK/tty" --ascii kv --ascii-interval-ms 200 --csv "$WORK/sim.csv" || return 1
	write_ascii_config "$WORK/cfg" "$WORK/tty" kv
	run_daemon 9 || return 1
	sleep 0.5
	check_ascii stream
}

# A csv probe that answers "READ\r\n" with one line.
case_ascii_query() {
	fresh_run || return 1
	start_sim "$WORK/tty" --ascii csv --ascii-query 'READ\r\n' --csv "$WORK/sim.csv" ||
		return 1
	write_ascii_config "$WORK/cfg" "$WORK/tty" csv 'READ\r\n'
	run_daemon 9 || return 1
	sleep 0.5
	check_ascii query
}

# Every third line spoiled (control bytes, 1100 bytes long, malformed
# numbers): framing errors are counted, good lines still arrive, the daemon
# stops cleanly.
case_ascii_garbage() {
	fresh_run || return 1
	start_sim "$WORK/tty" --ascii kv --ascii-interval-ms 150 --scenario garbage --every 3 \
		--csv "$WORK/sim.csv" || return 1
	write_ascii_config "$WORK/cfg" "$WORK/tty" kv
	run_daemon 10 || return 1
	sleep 0.5
	grep -m 1 "stats:" "$WORK/daemon.log"
	check_ascii garbage
}
