#!/usr/bin/env bash
# bench-collectd.sh BUILD - outfalld and collectd 5.12 side by side, in one
# run (DESIGN §9, issue 12). Each polls its own copy of the simulator (two
# slaves on a pty: a probe's 5 values and a flow meter's 2, every second,
# the same register map) and forwards to one local mosquitto and InfluxDB:
#  - outfalld with both sinks (MQTT QoS 1, InfluxDB v1) and the local history;
#  - collectd with its modbus plugin (Modbus RTU on the pty), mqtt (QoS 1)
#    and network plugins, into InfluxDB's collectd listener.
# After a warm-up both are sampled over the same window; readings stored
# are those InfluxDB holds with a timestamp inside the window. Prints CPU
# per reading, private dirty, RSS, voluntary context switches per second,
# device bytes written per hour (/proc/PID/io), and the ratios.
# A third copy of the simulator is polled by serial_floor (outfalld's own
# acquisition, doing nothing with the readings): the CPU any daemon spends
# on the serial line alone, the floor under both, measured in the same run.
# BENCH_SIDE_HISTORY=0 runs outfalld without the local history.
set -u
BUILD=$(cd "${1:-build}" && pwd)
TOP=$(cd "$(dirname "$0")/.." && pwd)
RUN_S=${BENCH_SIDE_SECONDS:-120}
WARM_S=${BENCH_WARM_SECONDS:-15}
COLLECTD=${COLLECTD:-/usr/sbin/collectd}
WORK=$(mktemp -d -t outfall-side.XXXXXX)
RUN=$(mktemp -d -p /dev/shm outfall-side-run.XXXXXX) # run_dir on a RAM disk, as shipped
. "$TOP/tests/integration/lib.sh"
. "$TOP/scripts/bench-lib.sh"
trap 'stop_all; rm -rf "$RUN"; [ -n "${BENCH_KEEP:-}" ] || rm -rf "$WORK"' EXIT

if [ ! -x "$COLLECTD" ] || [ ! -f /usr/lib/collectd/modbus.so ]; then
	echo "side by side: skipped, collectd with its modbus plugin is not installed" \
		"(Debian collectd-core; scripts/deps.sh installs it)"
	exit 0
fi

if [ ! -x "$BUILD/serial_floor" ]; then
	echo "side by side: $BUILD/serial_floor is missing, so the serial line alone is not" \
		"measured (make bench builds it)"
fi

# the channels both read, by the simulator's CSV names
NAMES="cod ph nh3n tp temp flow total_int"

collectd_conf() { # collectd_conf TTY CSV-LISTENER-PORT
	cat <<CONF
Hostname "bench"
FQDNLookup false
BaseDir "$WORK/collectd"
PIDFile "$WORK/collectd/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
Interval 1
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "$WORK/collectd.log"
</Plugin>
LoadPlugin modbus
LoadPlugin mqtt
LoadPlugin network
<Plugin modbus>
$(data cod 0 Float)
$(data ph 2 Float)
$(data nh3n 4 Float)
$(data tp 6 Float)
$(data temp 8 Float)
$(data flow 4112 FloatLE)
$(data volume_total 4120 Int32LE)
  <Host "rs485-0">
    Device "$1"
    Baudrate 9600
    Interval 1
    <Slave 1>
      Instance "probe1"
$(collect cod ph nh3n tp temp)
    </Slave>
    <Slave 2>
      Instance "flow1"
$(collect flow volume_total)
    </Slave>
  </Host>
</Plugin>
<Plugin mqtt>
  <Publish "local">
    Host "127.0.0.1"
    Port $MQTT_PORT
    ClientId "collectd-bench"
    QoS 1
    Prefix "collectd"
  </Publish>
</Plugin>
<Plugin network>
  Server "127.0.0.1" "$2"
</Plugin>
CONF
}

collect() { for d in "$@"; do printf '      Collect "%s"\n' "$d"; done; }

data() { # data NAME REGISTER TYPE: one modbus <Data> block
	printf '  <Data "%s">\n    RegisterBase %s\n    RegisterType %s\n' "$1" "$2" "$3"
	printf '    RegisterCmd ReadHolding\n    Type gauge\n    Instance "%s"\n  </Data>\n' "$1"
}

CD_PORT=$(free_port)
INFLUX_EXTRA="[[collectd]]
  enabled = true
  bind-address = \"127.0.0.1:$CD_PORT\"
  database = \"collectd\"
  typesdb = \"/usr/share/collectd/types.db\"
  batch-size = 1000
  batch-timeout = \"1s\""
start_mosquitto && start_influxd || exit 1
curl -sf -XPOST "$INFLUX_URL/query" --data-urlencode "q=CREATE DATABASE outfall" >/dev/null
SIM_LOG=$WORK/sim-o start_sim "$WORK/tty-o" --csv "$WORK/served-o.csv" || exit 1
SIM_LOG=$WORK/sim-c start_sim "$WORK/tty-c" --csv "$WORK/served-c.csv" || exit 1
SIM_LOG=$WORK/sim-f start_sim "$WORK/tty-f" --csv "$WORK/served-f.csv" || exit 1

mkdir -p "$WORK/cfg" "$WORK/collectd"
FSYNC_MS=default FLUSH_MS=1000 write_config "$WORK/cfg" "$WORK/tty-o" # the default intervals
sed -i "s|permits = \"permits.conf\";|permits = \"permits.conf\"; run_dir = \"$RUN\";|" \
	"$WORK/cfg/outfall.conf"
HIST="+ local history"
if [ "${BENCH_SIDE_HISTORY:-1}" = 1 ]; then
	printf 'history: { };\n' >> "$WORK/cfg/outfall.conf" # on, with its defaults
else
	HIST="(history off)"
fi
collectd_conf "$WORK/tty-c" "$CD_PORT" > "$WORK/collectd.conf"
mkdir -p "$WORK/cfg-f"
write_config "$WORK/cfg-f" "$WORK/tty-f"
"$BUILD/serial_floor" "$WORK/cfg-f/outfall.conf" > "$WORK/floor.out" 2>&1 &
FPID=$!
remember $FPID

# its log through a pipe, as the journal takes it (collectd writes its own
# log file, and both are charged for what they write)
"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" 2> >(cat > "$WORK/daemon.log") &
OPID=$!
remember $OPID
"$COLLECTD" -f -C "$WORK/collectd.conf" > "$WORK/collectd.out" 2>&1 &
CPID=$!
remember $CPID

echo "== side by side: outfalld and collectd $("$COLLECTD" -h 2>&1 | awk '/^collectd/ {sub(/,$/, "", $2); print $2; exit}')," \
	"2 slaves (7 values) every 1 s over a pty each, ${WARM_S} s warm-up, ${RUN_S} s measured"
sleep "$WARM_S"
# what each publishes on the broker inside the window, counted by topic root
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t 'collectd/#' -t 'outfall/+/telemetry/#' \
	-F '%t' > "$WORK/mqtt.txt" 2>/dev/null &
SUB=$!
remember $SUB
for p in $OPID $CPID; do
	kill -0 "$p" 2>/dev/null || { echo "side by side: a daemon died at start:";
		tail -5 "$WORK/daemon.log" "$WORK/collectd.log"; exit 1; }
done
T0=$(now_ms)
OC0=$(proc_cpu_ns $OPID); OV0=$(proc_vcsw $OPID); OW0=$(proc_wbytes $OPID)
CC0=$(proc_cpu_ns $CPID); CV0=$(proc_vcsw $CPID); CW0=$(proc_wbytes $CPID)
FC0=$(proc_cpu_ns $FPID)
sleep "$RUN_S"
T1=$(now_ms)
OC1=$(proc_cpu_ns $OPID); OV1=$(proc_vcsw $OPID); OW1=$(proc_wbytes $OPID)
CC1=$(proc_cpu_ns $CPID); CV1=$(proc_vcsw $CPID); CW1=$(proc_wbytes $CPID)
FC1=$(proc_cpu_ns $FPID)
OPD=$(proc_kb $OPID Private_Dirty); ORSS=$(proc_kb $OPID Rss); OHWM=$(proc_hwm_kb $OPID)
CPD=$(proc_kb $CPID Private_Dirty); CRSS=$(proc_kb $CPID Rss); CHWM=$(proc_hwm_kb $CPID)
kill $SUB
# both send what they hold: collectd's network buffer, outfalld's readings
# of the window's last fsync_ms (they reach the sinks once synced, DESIGN §7)
sleep "$(( $("$BUILD/outfalld" -n -c "$WORK/cfg/outfall.conf" 2>/dev/null |
	awk -F'fsync every ' 'NF > 1 {print $2 + 0; exit}') / 1000 + 10 ))"
OM=$(grep -c '^outfall/' "$WORK/mqtt.txt"); CM=$(grep -c '^collectd/' "$WORK/mqtt.txt")
ON=$(influx_count outfall "count(value)" outfall_reading "$T0" "$T1")
CN=$(influx_count collectd "count(value)" "/^modbus/" "$T0" "$T1")
OS=$(served_count "$WORK/served-o.csv" "$T0" "$T1" "$NAMES")
CS=$(served_count "$WORK/served-c.csv" "$T0" "$T1" "$NAMES")
FS=$(served_count "$WORK/served-f.csv" "$T0" "$T1" "$NAMES")

python3 - "$RUN_S" "$ON" "$OS" "$((OC1 - OC0))" "$((OV1 - OV0))" "$((OW1 - OW0))" \
	"$OPD" "$ORSS" "$OHWM" "$CN" "$CS" "$((CC1 - CC0))" "$((CV1 - CV0))" \
	"$((CW1 - CW0))" "$CPD" "$CRSS" "$CHWM" "$T0" "$T1" "$OM" "$CM" "$FS" "$((FC1 - FC0))" \
	"$HIST" <<'PY'
import sys
a = list(map(int, sys.argv[1:-1]))
hist = sys.argv[-1]
secs = (a[18] - a[17]) / 1000
def figs(n, served, cpu, vcs, wb, pd, rss, hwm, mqtt):
    return {"stored": n, "served": served, "cpu": cpu / 1e6 / n if n else float("nan"),
            "pd": pd, "rss": rss, "hwm": hwm, "vcs": vcs / secs, "wb": wb * 3600 / secs,
            "mqtt": mqtt}
o = figs(*a[1:9], a[19])
c = figs(*a[9:17], a[20])
def ratio(x, y):
    return f"{x / y:.2f}" if y else "-"
rows = [
    ("readings served by its simulator", "served", "{:d}", False),
    ("readings stored in InfluxDB (in the window)", "stored", "{:d}", False),
    ("MQTT messages seen (outfalld: one per poll)", "mqtt", "{:d}", False),
    ("CPU per reading stored, ms (all threads)", "cpu", "{:.4f}", True),
    ("private dirty, kB", "pd", "{:d}", True),
    ("RSS now, kB", "rss", "{:d}", True),
    ("peak RSS, kB", "hwm", "{:d}", True),
    ("voluntary context switches per s", "vcs", "{:.1f}", True),
    ("device bytes written per hour, MB", "wb", "{:.2f}", False),
]
print(f"{'':46} {'outfalld':>10} {'collectd':>10} {'ratio':>6}")
for label, k, fmt, with_ratio in rows:
    ov, cv = o[k], c[k]
    if k == "wb":
        ov, cv = ov / 1e6, cv / 1e6
    print(f"{label:46} {fmt.format(ov):>10} {fmt.format(cv):>10} "
          f"{ratio(ov, cv) if with_ratio else '':>6}")
print(f"window {secs:.1f} s; outfalld: MQTT + InfluxDB {hist}; collectd: "
      "modbus (RTU) + mqtt + network -> InfluxDB's collectd listener")
if secs < 300 and hist.startswith("+"):
    print("(the history commits every 300 s by default: a shorter window may hold no "
          "commit, so outfalld's bytes per hour may leave the history out)")
if o["stored"] and c["stored"]:
    r = o["cpu"] / c["cpu"]
    verdict = "meets" if r <= 0.25 else f"misses (by {r / 0.25:.1f}x)"
    print(f"CPU per reading, outfalld / collectd = {r:.2f}: {verdict} the target <= 0.25")
    if a[21]:
        f = a[22] / 1e6 / a[21]
        print(f"the serial line alone (outfalld's acquisition, readings thrown away, "
              f"{a[21]} read): {f:.4f} ms per reading = {f / c['cpu']:.2f} x collectd")
PY
