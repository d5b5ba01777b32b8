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
