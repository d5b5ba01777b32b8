#!/bin/sh
# Runs libFuzzer harnesses built by `make fuzz-build`, one after the other.
#   tests/fuzz/run.sh [--smoke] BUILD SECONDS NAME...
# Each harness first runs every input of its seed corpus tests/fuzz/corpus/NAME
# (regressions: a crash found once stays fixed), then fuzzes for SECONDS.
# Without --smoke new inputs are kept in BUILD/corpus/NAME for the next run;
# with --smoke they go to a scratch directory that is emptied first, so the
# run starts from the seeds alone. A crashing input is saved as
# BUILD/crashes/NAME-crash-<sha1>; add it to the seed corpus once fixed.
# Prints the executions of each harness; exits 1 if any harness failed.
set -u

smoke=0
if [ "${1:-}" = "--smoke" ]; then
	smoke=1
	shift
fi
[ $# -ge 3 ] || { echo "usage: $0 [--smoke] BUILD SECONDS NAME..." >&2; exit 2; }
build=$1
seconds=$2
shift 2
here=$(dirname "$0")
failed=""

mkdir -p "$build/crashes" "$build/logs" "$build/tmp"
for name in "$@"; do
	if [ "$smoke" -eq 1 ]; then
		work="$build/smoke/$name"
		rm -rf "$work"
	else
		work="$build/corpus/$name"
	fi
	mkdir -p "$work"
	seeds="$here/corpus/$name"
	[ -d "$seeds" ] || seeds=""
	dict=""
	[ -f "$here/$name.dict" ] && dict="-dict=$here/$name.dict"
	log="$build/logs/$name.log"
	# shellcheck disable=SC2086
	UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$here/ubsan.supp" \
	LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0" \
	TMPDIR="$build/tmp" "$build/$name" -max_total_time="$seconds" -timeout=20 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$build/crashes/$name-" $dict "$work" $seeds >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	corpus=$(ls "$work" | wc -l)
	if [ "$rc" -eq 0 ]; then
		printf 'fuzz: %-22s ok   %10s executions in %ss, %s new inputs kept\n' \
			"$name" "${execs:-?}" "$seconds" "$corpus"
	else
		printf 'fuzz: %-22s FAIL (exit %s), log %s:\n' "$name" "$rc" "$log"
		grep -E 'property failed|ERROR: |SUMMARY: |^  [^ ]|Test unit written' "$log" | head -n 20
		failed="$failed $name"
	fi
done
[ -z "$failed" ] || { echo "fuzz: failed:$failed"; exit 1; }
exit 0
