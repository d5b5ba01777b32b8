#!/usr/bin/env bash
# cross-arm64.sh - builds outfall for arm64 (Raspberry Pi 3/4/5 with a 64-bit
# OS) on a Debian 12 amd64 machine with Debian's cross toolchain, into
# build/arm64 (ARM64_BUILD=... to change), and checks that the binaries are
# aarch64 ELF files. The first run adds the arm64 architecture to dpkg and
# installs gcc-aarch64-linux-gnu and the arm64 -dev packages (needs root or
# sudo and a Debian mirror); later runs only build. With qemu-user
# installed it also runs the arm64 `outfalld -n` on the example configs.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
BUILD=${ARM64_BUILD:-build/arm64}
TRIPLET=aarch64-linux-gnu
PKGS="gcc-$TRIPLET binutils-$TRIPLET libc6-dev:arm64 libmodbus-dev:arm64
libpaho-mqtt-dev:arm64 libcurl4-openssl-dev:arm64 libconfig-dev:arm64
libcjson-dev:arm64 libsystemd-dev:arm64 zlib1g-dev:arm64
libsqlite3-dev:arm64 libssl-dev:arm64"
start=$(date +%s)

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	export DEBIAN_FRONTEND=noninteractive
	echo "cross-arm64: installing:$missing"
	dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
	$SUDO apt-get update -q
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -q --no-install-recommends $missing
fi

# pkg-config must see the arm64 .pc files only, not the build machine's.
export PKG_CONFIG_LIBDIR=/usr/lib/$TRIPLET/pkgconfig:/usr/share/pkgconfig
make --no-print-directory -j"$(nproc)" BUILD="$BUILD" CC="$TRIPLET-gcc" AR="$TRIPLET-ar" all

status=0
for bin in "$BUILD"/outfalld "$BUILD"/outfall-sim "$BUILD"/outfallctl; do
	[ -e "$bin" ] || continue
	desc=$(file -b "$bin")
	case "$desc" in
	"ELF 64-bit LSB"*"ARM aarch64"*) echo "cross-arm64: $bin: $desc" ;;
	*) echo "cross-arm64: $bin is not an aarch64 binary: $desc"; status=1 ;;
	esac
done
[ -e "$BUILD/outfalld" ] || { echo "cross-arm64: no $BUILD/outfalld"; status=1; }

# With qemu-user installed (not needed for the build), run the arm64 binary
# on the example configs against the arm64 libraries just installed.
if [ $status -eq 0 ] && command -v qemu-aarch64 >/dev/null; then
	cfg=$(mktemp -d)
	cp config/outfall.conf.example "$cfg/outfall.conf"
	cp config/permits.conf.example "$cfg/permits.conf"
	sed -i 's/CHANGE-ME/site-0001/g' "$cfg/outfall.conf" "$cfg/permits.conf" # placeholders
	if qemu-aarch64 "$BUILD/outfalld" -n -c "$cfg/outfall.conf" > "$cfg/out" 2>&1; then
		echo "cross-arm64: under qemu-aarch64: $(tail -n 1 "$cfg/out")"
	else
		echo "cross-arm64: under qemu-aarch64, outfalld -n failed:"
		cat "$cfg/out"
		status=1
	fi
	rm -rf "$cfg"
fi
echo "cross-arm64: $(( $(date +%s) - start )) s"
exit $status
