# bench-lib.sh - what the benches read about a running process from /proc
# (all threads counted), and counts from the test InfluxDB. Source it after
# tests/integration/lib.sh.

# proc_cpu_ns PID: CPU time of all its threads, ns (schedstat: exact, not
# in ticks; threads that already ended are not in it).
proc_cpu_ns() { cat "/proc/$1/task/"*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'; }

# proc_cpu_ticks_ns PID: utime + stime of the whole process (ended threads
# included), in ns, at the clock tick's resolution.
proc_cpu_ticks_ns() {
	awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); printf "%.0f\n", ($12 + $13) * 1e9 / hz}' "/proc/$1/stat"
}

# proc_vcsw PID: voluntary context switches of all its threads.
proc_vcsw() {
	cat "/proc/$1/task/"*/status 2>/dev/null |
		awk '/^voluntary_ctxt_switches:/ {s += $2} END {print s + 0}'
}

# proc_wbytes PID: bytes it caused to be written to storage (/proc/PID/io).
proc_wbytes() { awk '/^write_bytes:/ {print $2}' "/proc/$1/io"; }

# proc_kb PID FIELD: a field of smaps_rollup (Private_Dirty, Rss) in kB.
proc_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/smaps_rollup"; }

# proc_hwm_kb PID: peak RSS so far (VmHWM) in kB.
proc_hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

now_ms() { date +%s%3N; }

# influx_count DB SELECT-EXPR FROM-CLAUSE T0_MS T1_MS: points with a time
# in [T0, T1), summed over every series the FROM names.
influx_count() {
	influx_query "$1" "SELECT $2 FROM $3 WHERE time >= $4ms AND time < $5ms" |
		python3 -c '
import json, sys
r = json.load(sys.stdin)["results"][0]
print(sum(s["values"][0][1] or 0 for s in r.get("series", [])))'
}

# served_count CSV T0_MS T1_MS NAMES: values the simulator served in
# [T0, T1) whose name is in NAMES (a space-separated list).
served_count() {
	awk -F, -v t0="$2" -v t1="$3" -v names=" $4 " \
		'NR > 1 && $1 >= t0 && $1 < t1 && index(names, " " $5 " ") {n++} END {print n + 0}' "$1"
}
