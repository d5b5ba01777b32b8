# cases_sim.sh - the simulator's options the benches lean on, checked
# through outfallctl scan and the simulator's CSV: many slaves on one line
# (--probes, --flows), the line's transfer time (--wire-time), a repeating
# exceedance (--repeat). Sourced by run.sh (needs its WORK, BUILD, HERE).

# sim_scan IDS: one outfallctl scan of the simulated bus, stdout to scan.out.
sim_scan() {
	"$BUILD/outfallctl" scan --device "$WORK/tty" --ids "$1" --timeout-ms 100 \
		> "$WORK/scan.out" 2>&1
}

case_sim_many() {
	fresh_run || return 1 # no simulator, tty or CSV of an earlier case
	start_sim "$WORK/tty" --probes 3 --flows 2 --slave-flow 101 --wire-time \
		--scenario exceed --param cod --value 650 --after 0 --for 0.5 --repeat 1 \
		--csv "$WORK/sim.csv" || return 1
	sim_scan 1-4,100-103
	grep -q 'answers: 1-3; exception: 101-102; silent: 4, 100, 103' "$WORK/scan.out" ||
		{ echo "scan saw another bus:"; cat "$WORK/scan.out"; return 1; }
	for _ in $(seq 12); do
		sim_scan 1 || { cat "$WORK/scan.out"; return 1; }
		sleep 0.2
	done
	python3 - "$WORK/sim.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
first = {r["slave"]: float(r["value"]) for r in reversed(rows[:3])}
assert sorted(first) == ["1", "2", "3"], f"first three replies were from {sorted(first)}"
assert len(set(first.values())) == 3, f"three probes served the same value: {first}"
t = [int(r["wall_ms"]) for r in rows[:3]]
gaps = [b - a for a, b in zip(t, t[1:])]
# register 0 of one slave: 8 + 3.5 + 7 bytes at 9600 8N1 = 19.3 ms a reply
assert min(gaps) >= 18, f"replies {gaps} ms apart: no wire time"
cod = [float(r["value"]) for r in rows[3:] if r["slave"] == "1"]
high = [v >= 650 for v in cod]
flips = sum(1 for a, b in zip(high, high[1:]) if a != b)
assert len(cod) >= 10 and flips >= 3, f"cod over 2.4 s: {cod}: the window did not repeat"
print(f"ok: 3 probes, replies {gaps} ms apart, cod crossed 650 {flips} times")
PY
}

# case_buses_side_by_side: three buses of 12 probes each on their own
# simulator, every 1 s, with the line's transfer time (about 38 ms a poll
# at 9600 baud): each bus is about half busy, the three together more than
# a line's worth, so they must be polled side by side. Every sensor is
# polled once a second, and no poll starts later than the bus's timeout
# (200 ms) after the one-second step from its last: consecutive polls of
# a sensor at most 1200 ms apart.
case_buses_side_by_side() {
	local b k sep
	fresh_run || return 1
	for b in 0 1 2; do
		SIM_LOG=$WORK/sim-$b start_sim "$WORK/tty-$b" --probes 12 --flows 0 --wire-time \
			--csv "$WORK/served-$b.csv" || return 1
	done
	{
		printf 'gateway: { id = "it-gw-1"; data_dir = "%s/data"; ' "$WORK/cfg"
		printf 'timezone = "Asia/Shanghai"; permits = "permits.conf"; };\nbuses = (\n'
		for b in 0 1 2; do
			sep=','; [ "$b" -eq 2 ] && sep=''
			printf '  { name = "rs485-%d"; device = "%s/tty-%d"; baud = 9600; ' "$b" "$WORK" "$b"
			printf 'timeout_ms = 200; retries = 1; }%s\n' "$sep"
		done
		printf ');\nsensors = (\n'
		for b in 0 1 2; do
			for k in $(seq 1 12); do
				sep=','; [ "$b" -eq 2 ] && [ "$k" -eq 12 ] && sep=''
				printf '  { name = "p%d_%d"; bus = "rs485-%d"; slave = %d; ' "$b" "$k" "$b" "$k"
				printf 'interval_s = 1; channels = (\n'
				printf '    { parameter = "cod"; register = 0; type = "float32"; },\n'
				printf '    { parameter = "ph"; register = 2; type = "float32"; },\n'
				printf '    { parameter = "nh3n"; register = 4; type = "float32"; },\n'
				printf '    { parameter = "tp"; register = 6; type = "float32"; },\n'
				printf '    { parameter = "temp"; register = 8; type = "float32"; } ); }%s\n' "$sep"
			done
		done
		printf ');\nsinks: { influx: { url = "%s"; api = "v1"; db = "outfall"; }; };\n' \
			"$INFLUX_URL"
	} > "$WORK/cfg/outfall.conf"
	printf 'permits = ( );\n' > "$WORK/cfg/permits.conf"
	run_daemon 14 || return 1
	python3 - "$WORK"/served-*.csv <<'PY'
import csv, sys
polls, last = {}, {}  # (bus, slave) -> start of each poll; its last request
for bus, path in enumerate(sys.argv[1:]):
    with open(path) as f:
        for row in csv.DictReader(f):
            key, ms = (bus, int(row["slave"])), int(row["wall_ms"])
            if key not in last or ms - last[key] > 500:  # a poll's rows come together
                polls.setdefault(key, []).append(ms)
            last[key] = ms
assert len(polls) == 36, f"{len(polls)} sensors answered, not 36"
start = min(t[0] for t in polls.values())
t0, t1 = start + 2000, start + 11000  # after the start, before the stop
bad = []
for key, t in sorted(polls.items()):
    inside = [ms for ms in t if t0 <= ms < t1]
    gaps = [b - a for a, b in zip(t, t[1:]) if a >= t0 and b < t1]
    if len(inside) < 8 or max(gaps, default=0) > 1200:
        bad.append(f"bus {key[0]} slave {key[1]}: {len(inside)} polls in 9 s, "
                   f"gaps up to {max(gaps, default=0)} ms")
assert not bad, "polls late or missing:\n" + "\n".join(bad[:10])
worst = max(b - a for t in polls.values() for a, b in zip(t, t[1:]) if a >= t0 and b < t1)
print(f"ok: 36 sensors on 3 buses, each polled every 1 s; longest gap {worst} ms")
PY
}
