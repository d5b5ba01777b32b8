#!/usr/bin/env bash
# fresh-check.sh [PACKAGE...] - proves that `make demo` works as the first
# command on a machine that lacks the build's packages, the way a newcomer
# meets it: removes the given Debian packages (default libcjson-dev, the one
# that once broke it), clones the committed tree afresh into a temp dir and
# runs `make demo` there once. Passes when the demo exits 0, showed
# telemetry and an alert, InfluxDB stored readings and the report of the
# alert was written. Needs root (it removes and reinstalls packages);
# commit before running it, since the clone sees only what is committed.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
PKGS=${*:-libcjson-dev}
ARCH=$(dpkg --print-architecture) # the native package, not a cross one
WORK=$(mktemp -d -t outfall-fresh.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "fresh-check: FAILED: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root: it removes and reinstalls packages"
echo "fresh-check: removing $PKGS"
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get remove -y -q $PKGS > "$WORK/remove.log" 2>&1 ||
	fail "apt-get remove $PKGS (see below)$(tail -n 5 "$WORK/remove.log")"
for p in $PKGS; do
	! dpkg-query -W -f='${Status}' "$p:$ARCH" 2>/dev/null | grep -q "install ok installed" ||
		fail "$p is still installed"
done

echo "fresh-check: cloning $(git -C "$TOP" rev-parse --short HEAD) into a temp dir"
git clone -q "$TOP" "$WORK/outfall" || fail "git clone"
cd "$WORK/outfall" || fail "cd"
echo "fresh-check: make demo (DEMO_SECONDS=${DEMO_SECONDS:=45})"
DEMO_SECONDS=$DEMO_SECONDS make demo < /dev/null > "$WORK/demo.log" 2>&1
rc=$?
tail -n 25 "$WORK/demo.log" | sed 's/^/  | /'
[ "$rc" -eq 0 ] || fail "make demo exited $rc"
grep -q " telemetry " "$WORK/demo.log" || fail "the demo showed no telemetry"
grep -q "ALERT RAISED" "$WORK/demo.log" || fail "the demo showed no alert"
grep -q "outfall_reading parameter=" "$WORK/demo.log" || fail "InfluxDB stored no reading"
grep -q "demo: open it with" "$WORK/demo.log" || fail "the demo wrote no report of its alert"
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p:$ARCH" 2>/dev/null | grep -q "install ok installed" ||
		fail "make demo did not install $p"
done
echo "fresh-check: passed: make demo ran first time with $PKGS missing, and put it back"
