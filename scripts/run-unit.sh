#!/bin/sh
# Runs the cmocka unit-test binaries given as arguments (under valgrind when
# VALGRIND=1) and prints one closing "N passed, N failed" line.
set -u
passed=0
failed=0
# an ASan build's leak check knows the library leak the valgrind run knows
LSAN_OPTIONS="suppressions=$(dirname "$0")/../tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
for t in "$@"; do
	if [ "${VALGRIND:-0}" = 1 ]; then
		valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
			--suppressions="$(dirname "$0")/../tests/paho.supp" \
			--track-fds=no "$t"
	else
		"$t"
	fi
	rc=$?
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
	else
		echo "FAILED: $t (exit $rc)"
		failed=$((failed + 1))
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
