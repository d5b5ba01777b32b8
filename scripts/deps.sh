#!/bin/sh
# Installs the Debian 12 packages outfall needs to build, test, demo and
# bench, when any is missing (collectd-core is only for make bench's
# side-by-side, which runs its own collectd; its system service is unused). Needs root (or sudo) only if something is missing.
set -eu

PKGS="build-essential pkg-config libmodbus-dev libpaho-mqtt-dev
libcurl4-openssl-dev zlib1g-dev libconfig-dev libcmocka-dev libcjson-dev libsystemd-dev
libsqlite3-dev libssl-dev sqlite3 chromium fonts-wqy-microhei
mosquitto mosquitto-clients influxdb socat curl python3 valgrind procps openssl
clang libclang-rt-dev collectd-core"

# Installed for this machine's architecture (or "all"): a cross-build's
# arm64 copy of a development package does not count for the native build.
ARCH=$(dpkg --print-architecture)
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Architecture} ${Status}\n' "$p" 2>/dev/null |
		grep -Eq "^($ARCH|all) install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
