#!/usr/bin/env bash
# bench-scale.sh BUILD - one gateway with many sensors (DESIGN §9, issue 12).
#  1. CPU per reading as the reading rate grows: 2 sensors on 1 bus, 16 on 1,
#     64 on 4 (half probes with 5 values, half flow meters with 2, every
#     1 s), over plain ptys, both sinks and the history on: fixed costs
#     should be spread over more readings; private dirty memory beside it
#     (target <= 4 MiB with 64 sensors).
#  2. Poll timing with the line's real transfer time (outfall-sim
#     --wire-time, 9600 baud: about 38 ms per poll): how late each poll
#     starts after its due time, against the bus timeout (200 ms). Due
#     times are the schedule's (acquire.c, spread): a bus's sensors first
#     due in groups of as many polls as fit in the bus timeout at the baud
#     rate, group j of m at start + j/m s (start being the first poll on
#     record), then every interval; a poll's start is when the simulator
#     read its request (its CSV).
set -u
BUILD=$(cd "${1:-build}" && pwd)
TOP=$(cd "$(dirname "$0")/.." && pwd)
RUN_S=${BENCH_SCALE_SECONDS:-30}
WARM_S=${BENCH_WARM_SECONDS:-10}
TIMEOUT_MS=200
WORK=$(mktemp -d -t outfall-scale.XXXXXX)
. "$TOP/tests/integration/lib.sh"
. "$TOP/scripts/bench-lib.sh"
trap 'stop_all; [ -n "${BENCH_KEEP:-}" ] || rm -rf "$WORK"' EXIT

# scale_config DIR BUSES PER_BUS: BUSES buses at DIR/tty-B, each with
# PER_BUS/2 probes (slaves 1..) and PER_BUS/2 flow meters (slaves 101..);
# probe k and flow meter k of a bus make one outlet.
scale_config() {
	local dir=$1 buses=$2 half=$(($3 / 2)) b k sep
	cat > "$dir/permits.conf" <<CONF
permits = (
  { number = "bench-permit-1"; holder = "bench"; category = "catering";
    valid_from = "2023-03-01"; valid_until = "2099-02-28"; daily_volume_max_m3 = 1000.0;
    limits = ( { parameter = "cod"; max = 500.0; basis = "instant"; },
               { parameter = "ph"; min = 6.0; max = 9.0; basis = "instant"; } ); }
);
CONF
	{
		printf 'gateway: { id = "bench-scale"; data_dir = "%s/data"; ' "$dir"
		printf 'timezone = "Asia/Shanghai"; permits = "permits.conf"; };\nbuses = (\n'
		for b in $(seq 0 $((buses - 1))); do
			sep=','; [ "$b" -eq $((buses - 1)) ] && sep=''
			printf '  { name = "rs485-%d"; device = "%s/tty-%d"; baud = 9600; ' "$b" "$dir" "$b"
			printf 'timeout_ms = %d; retries = 1; }%s\n' "$TIMEOUT_MS" "$sep"
		done
		printf ');\nsensors = (\n'
		for b in $(seq 0 $((buses - 1))); do
			for k in $(seq 1 $half); do
				sep=','; [ "$b" -eq $((buses - 1)) ] && [ "$k" -eq $half ] && sep=''
				printf '  { name = "p%d_%d"; bus = "rs485-%d"; driver = "modbus"; ' "$b" "$k" "$b"
				printf 'slave = %d; interval_s = 1; channels = (\n' "$k"
				printf '    { parameter = "cod"; register = 0; type = "float32"; },\n'
				printf '    { parameter = "ph"; register = 2; type = "float32"; },\n'
				printf '    { parameter = "nh3n"; register = 4; type = "float32"; },\n'
				printf '    { parameter = "tp"; register = 6; type = "float32"; },\n'
				printf '    { parameter = "temp"; register = 8; type = "float32"; } ); },\n'
				printf '  { name = "f%d_%d"; bus = "rs485-%d"; driver = "modbus"; ' "$b" "$k" "$b"
				printf 'slave = %d; interval_s = 1; channels = (\n' $((100 + k))
				printf '    { parameter = "flow"; register = 0x1010; type = "float32"; '
				printf 'word_order = "cdab"; },\n'
				printf '    { parameter = "volume_total"; register = 0x1018; type = "uint32"; '
				printf 'word_order = "cdab"; } ); }%s\n' "$sep"
			done
		done
		printf ');\noutlets = (\n'
		for b in $(seq 0 $((buses - 1))); do
			for k in $(seq 1 $half); do
				sep=','; [ "$b" -eq $((buses - 1)) ] && [ "$k" -eq $half ] && sep=''
				printf '  { id = "WS-%d-%02d"; kind = "sewage"; permit = "bench-permit-1"; ' "$b" "$k"
				printf 'sensors = ["p%d_%d", "f%d_%d"]; }%s\n' "$b" "$k" "$b" "$k" "$sep"
			done
		done
		printf ');\nsinks: {\n  mqtt: { uri = "tcp://127.0.0.1:%s"; qos = 1; };\n' "$MQTT_PORT"
		printf '  influx: { url = "%s"; api = "v1"; db = "outfall"; };\n};\n' "$INFLUX_URL"
		printf 'history: { };\n'
	} > "$dir/outfall.conf"
}

# run_case NAME BUSES PER_BUS [SIM ARGS...]: simulators, then the daemon;
# after the warm-up samples it over RUN_S. Leaves $dir, T0, T1, PID, C0,
# C1, PD, RSS and the daemon running.
run_case() {
	local name=$1 buses=$2 per=$3 b; shift 3
	dir=$WORK/$name
	mkdir -p "$dir"
	SIMS=""
	for b in $(seq 0 $((buses - 1))); do
		SIM_LOG=$dir/sim-$b start_sim "$dir/tty-$b" --probes $((per / 2)) \
			--flows $((per / 2)) --slave-flow 101 --csv "$dir/served-$b.csv" "$@" || exit 1
		SIMS="$SIMS $SIM_PID"
	done
	scale_config "$dir" "$buses" "$per"
	"$BUILD/outfalld" -c "$dir/outfall.conf" 2> "$dir/daemon.log" &
	PID=$!
	remember $PID
	sleep "$WARM_S"
	kill -0 $PID 2>/dev/null || { echo "scale: outfalld died:"; tail -5 "$dir/daemon.log"; exit 1; }
	T0=$(now_ms); C0=$(proc_cpu_ns $PID)
	sleep "$RUN_S"
	T1=$(now_ms); C1=$(proc_cpu_ns $PID)
	PD=$(proc_kb $PID Private_Dirty); RSS=$(proc_kb $PID Rss)
}

# stop_daemon: the daemon, then its simulators.
stop_daemon() {
	kill -TERM "$PID"; wait "$PID" 2>/dev/null
	kill -TERM $SIMS; wait $SIMS 2>/dev/null
}

start_mosquitto && start_influxd || exit 1
curl -sf -XPOST "$INFLUX_URL/query" --data-urlencode "q=CREATE DATABASE outfall" >/dev/null

echo "== scale: CPU per reading as the rate grows (every 1 s, plain ptys, both sinks + history, ${RUN_S} s each)"
printf '%-24s %12s %16s %18s %10s\n' "sensors" "readings/s" "CPU ms/reading" "private dirty kB" "RSS kB"
for c in "2 1 2" "16 1 16" "64 4 16"; do
	set -- $c
	run_case "rate-$1" "$2" "$3"
	sleep 3 # the last flush
	stop_daemon
	N=$(influx_count outfall "count(value)" outfall_reading "$T0" "$T1")
	python3 -c '
import sys
label, n, cpu, t0, t1, pd, rss = sys.argv[1:]
n, secs = int(n), (int(t1) - int(t0)) / 1000
per = f"{int(cpu) / 1e6 / n:.4f}" if n else "-"
print(f"{label:24} {n / secs:12.1f} {per:>16} {pd:>18} {rss:>10}")' \
		"$1 on $2 bus(es)" "$N" "$((C1 - C0))" "$T0" "$T1" "$PD" "$RSS"
done
echo "(target: private dirty <= 4096 kB with 64 sensors; CPU per reading falling as the rate grows)"

echo "== scale: poll timing at 9600 baud with the line's transfer time (--wire-time), ${RUN_S} s"
for c in "16 1 16" "64 4 16"; do
	set -- $c
	run_case "wire-$1" "$2" "$3" --wire-time
	stop_daemon
	python3 - "$1 sensors on $2 bus(es)" "$T0" "$T1" "$TIMEOUT_MS" "$3" \
		"$WORK/wire-$1"/served-*.csv <<'PY'
import csv, statistics, sys
label, t0, t1, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
per_bus = int(sys.argv[5])
polls, last = {}, {}  # (bus, slave) -> start of each poll; its last request
# acquire.c's group: POLL_WIRE_BYTES 48 at 9600 baud + POLL_TURN_MS 2
group = max(1, timeout // (48 * 11 * 1000 // 9600 + 2))
groups = -(-per_bus // group)
def offset(slave):  # config order on a bus: probe 1, flow 101, probe 2, ...
    k = 2 * (slave - 1) if slave < 100 else 2 * (slave - 101) + 1
    return 1000 * (k // group) // groups
for bus, path in enumerate(sys.argv[6:]):
    with open(path) as f:
        for row in csv.DictReader(f):
            key, ms = (bus, row["slave"]), int(row["wall_ms"])
            # a poll may take several requests (a flow meter's two blocks):
            # one poll is the requests less than half an interval apart
            if key not in last or ms - last[key] > 500:
                polls.setdefault(key, []).append(ms)
            last[key] = ms
start = min(t[0] for t in polls.values())  # the first sensor of a bus is due at start
late, done, due = [], 0, 0
for (bus, slave), t in polls.items():
    first = start + offset(int(slave))
    for k, ms in enumerate(t):
        if t0 <= ms < t1:
            late.append(ms - (first + k * 1000))
            done += 1
    due += -(-(t1 - first) // 1000) - -(-(t0 - first) // 1000)  # k with t0 <= due < t1
late.sort()
over = sum(1 for x in late if x > timeout)
print(f"{label}: {done} polls started in the window, {due} due; start after due time: "
      f"median {statistics.median(late):.0f} ms, worst {late[-1]:.0f} ms; "
      f"{over} of {len(late)} later than the bus timeout ({timeout} ms)")
PY
done
