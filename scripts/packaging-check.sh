#!/usr/bin/env bash
# packaging-check.sh - checks what `make install` lays out, or what
# `make deb` built, without systemd running as PID 1:
#
#   scripts/packaging-check.sh [BUILD]     install BUILD's binaries with
#       PREFIX=/usr into a temp dir; check the file list, the unit
#       (systemd-analyze verify and security), the sysusers.d and tmpfiles.d
#       files (applied to a scratch root), the man pages (groff and man
#       warnings, options against --help), `outfalld -n` on the installed
#       examples (refused until their placeholders are filled in, then
#       accepted), and that versions and build dependencies agree.
#   scripts/packaging-check.sh --deb FILE  the package's files, control
#       fields and maintainer scripts (dpkg-deb; nothing is installed).
#
# Prints "packaging: N passed, M failed" and exits 1 on any failure.
# Installs systemd, groff-base and man-db when a tool is missing.
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
MAX_EXPOSURE=2.0
VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
PASS=0
FAIL=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

ok() { PASS=$((PASS + 1)); echo "ok   $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
note() { echo "     $*"; }

# check DESCRIPTION CMD...: runs CMD; its output is shown only on failure.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		bad "$desc"
		[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/     | /'
	fi
}

# quiet CMD...: succeeds when CMD succeeds and writes nothing to stderr.
quiet() {
	local err
	err=$("$@" 2>&1 >/dev/null) && [ -z "$err" ] && return 0
	printf '%s\n' "${err:-exit status $?}"
	return 1
}

need_tools() {
	local missing="" p
	command -v systemd-analyze >/dev/null || missing="$missing systemd"
	command -v groff >/dev/null || missing="$missing groff-base"
	command -v man >/dev/null || missing="$missing man-db"
	[ -z "$missing" ] && return 0
	echo "packaging: installing:$missing"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	$sudo apt-get update -q >/dev/null &&
		$sudo apt-get install -y -q --no-install-recommends $missing >/dev/null
	for p in systemd-analyze groff man; do
		command -v $p >/dev/null || { bad "tool $p missing"; return 1; }
	done
}

# ---- the installed tree -------------------------------------------------

expected_files() {
	cat <<-EOF
	lib/systemd/system/outfalld.service
	usr/lib/sysusers.d/outfall.conf
	usr/lib/tmpfiles.d/outfall.conf
	usr/sbin/outfalld
	usr/share/doc/outfall/examples/outfall.conf.example
	usr/share/doc/outfall/examples/permits.conf.example
	usr/share/man/man5/outfall.conf.5
	usr/share/man/man8/outfalld.8
	EOF
	if [ "$HAVE_CTL" = yes ]; then
		echo usr/bin/outfallctl
		echo usr/share/man/man1/outfallctl.1
	fi
}

check_layout() {
	local f missing=0
	while read -r f; do
		[ -s "$DEST/$f" ] || { bad "installed: $f missing or empty"; missing=1; }
	done < <(expected_files)
	[ $missing -eq 0 ] && ok "installed: every expected file, non-empty"
	(cd "$DEST" && find . -type f | sed 's|^\./||' | sort) > "$TMP/got"
	expected_files | sort > "$TMP/want"
	check "installed: nothing else" diff -u "$TMP/want" "$TMP/got"
	check "installed: outfalld executable" test -x "$DEST/usr/sbin/outfalld"
	if [ "$HAVE_CTL" = yes ]; then
		check "installed: outfallctl executable" test -x "$DEST/usr/bin/outfallctl"
	else
		note "outfallctl is not built in $BUILD: its binary and page were not expected"
	fi
}

# unit_exec KEY: the program of the unit's KEY= line (first word).
unit_exec() {
	sed -n "s/^$1=[-@:+!]*\([^ ]*\).*/\1/p" "$UNIT" | head -n 1
}

check_unit() {
	local pre start score verify_unit="$TMP/verify/outfalld.service"
	check "unit: no @placeholder@ left" sh -c "! grep -n '@[a-z]*@' '$UNIT'"
	start=$(unit_exec ExecStart)
	pre=$(unit_exec ExecStartPre)
	check "unit: ExecStart= is /usr/sbin/outfalld ($start)" test "$start" = /usr/sbin/outfalld
	check "unit: ExecStartPre= is /usr/sbin/outfalld ($pre)" test "$pre" = /usr/sbin/outfalld
	check "unit: ExecStartPre= runs outfalld -n" grep -q '^ExecStartPre=.* -n ' "$UNIT"
	check "unit: the ExecStart= binary is installed" test -x "$DEST$start"

	# verify checks that ExecStart= exists on this machine: point a copy
	# of the unit at the installed tree. Man pages come from the tree too.
	mkdir -p "$TMP/verify"
	sed "s|/usr/sbin/outfalld|$DEST/usr/sbin/outfalld|g" "$UNIT" > "$verify_unit"
	if [ "$HAVE_CTL" = yes ]; then
		check "unit: systemd-analyze verify, with its man pages" \
			quiet env MANPATH="$DEST/usr/share/man" systemd-analyze verify "$verify_unit"
	else
		check "unit: systemd-analyze verify (man pages not checked: no outfallctl)" \
			quiet systemd-analyze verify --man=no "$verify_unit"
	fi

	systemd-analyze security --offline=true --no-pager "$UNIT" > "$TMP/security" 2>&1
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$TMP/security")
	if [ -z "$score" ]; then
		bad "unit: systemd-analyze security gave no score"
		sed 's/^/     | /' "$TMP/security" | tail -n 5
	elif awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'; then
		ok "unit: security exposure $score <= $MAX_EXPOSURE"
	else
		bad "unit: security exposure $score > $MAX_EXPOSURE"
		grep '✗' "$TMP/security" | sed 's/^/     | /'
	fi
}

# The sysusers.d and tmpfiles.d files, applied to a scratch root as the
# package's postinst applies them to /.
check_users_dirs() {
	local root="$TMP/root"
	mkdir -p "$root/etc"
	check "sysusers.d: systemd-sysusers applies it" \
		systemd-sysusers --root="$root" "$DEST/usr/lib/sysusers.d/outfall.conf"
	check "sysusers.d: user outfall, nologin, home /var/lib/outfall" \
		grep -q '^outfall:x:[0-9]*:[0-9]*:[^:]*:/var/lib/outfall:/usr/sbin/nologin$' \
		"$root/etc/passwd"
	check "sysusers.d: outfall is in group dialout" \
		grep -Eq '^dialout:x:[0-9]+:(.*,)?outfall(,.*)?$' "$root/etc/group"
	if [ "$(id -u)" -ne 0 ]; then
		note "tmpfiles.d: not applied (needs root to chown)"
		return
	fi
	check "tmpfiles.d: systemd-tmpfiles --create applies it" \
		systemd-tmpfiles --root="$root" --create "$DEST/usr/lib/tmpfiles.d/outfall.conf"
	local uid
	uid=$(sed -n 's/^outfall:x:\([0-9]*\):.*/\1/p' "$root/etc/passwd")
	check "tmpfiles.d: /etc/outfall 0755 root" \
		test "$(stat -c '%a %u' "$root/etc/outfall" 2>&1)" = "755 0"
	check "tmpfiles.d: /var/lib/outfall 0750 outfall" \
		test "$(stat -c '%a %u' "$root/var/lib/outfall" 2>&1)" = "750 $uid"
}

# man_text PAGE: the page as plain ASCII text.
man_text() {
	groff -man -t -Tascii -P-cbou "$1" 2>/dev/null
}

check_man_page() {
	local page=$1 sect=${1##*.} name
	name=$(basename "$page" ".$sect")
	check "man $name($sect): groff -ww without warnings" \
		quiet groff -man -t -Tutf8 -ww -z "$page"
	check "man $name($sect): man --warnings without warnings" \
		quiet env LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page"
	check "man $name($sect): .TH names it, section $sect, outfall $VERSION" \
		grep -Eqi "^\.TH \"?$name\"? $sect [^ ]+ \"outfall $VERSION\"" "$page"
}

# Every option in the -h/--help output also appears in the page.
check_options() {
	local what=$1 page=$2 help=$3 opt missing=""
	man_text "$page" > "$TMP/page.txt"
	for opt in $(printf '%s\n' "$help" | grep -oE '(^|[][ ,|])--?[A-Za-z][-A-Za-z]*' |
		sed 's/^[][ ,|]//' | sort -u); do
		grep -qe "$opt\b" "$TMP/page.txt" || missing="$missing $opt"
	done
	check "man: $what options in the page${missing:+ (missing:$missing)}" test -z "$missing"
}

check_man() {
	local page verb
	for page in "$DEST"/usr/share/man/man*/*; do
		check_man_page "$page"
	done
	check_options "outfalld -h" "$DEST/usr/share/man/man8/outfalld.8" \
		"$("$DEST/usr/sbin/outfalld" -h 2>&1)"
	[ "$HAVE_CTL" = yes ] || return
	for verb in scan read check status; do
		check_options "outfallctl $verb --help" "$DEST/usr/share/man/man1/outfallctl.1" \
			"$("$DEST/usr/bin/outfallctl" "$verb" --help 2>&1)"
	done
}

# run_n DIR: outfalld -n on DIR/outfall.conf (under $RUNNER, an emulator
# for another architecture's package, when set).
RUNNER=""
run_n() {
	$RUNNER "$DEST/usr/sbin/outfalld" -n -c "$1/outfall.conf" > "$1/out" 2>&1 ||
		{ cat "$1/out"; return 1; }
}

# refuses_unedited DIR: outfalld -n on the examples as shipped exits 78 and
# names each CHANGE-ME placeholder, with what to write and where it comes
# from; an unedited example must never run as a real gateway.
refuses_unedited() {
	local rc=0
	$RUNNER "$DEST/usr/sbin/outfalld" -n -c "$1/outfall.conf" > "$1/out" 2>&1 || rc=$?
	if [ "$rc" -ne 78 ] ||
		! grep -q '^.*outfall.conf:[0-9]*: gateway.id: is still the example.s placeholder "CHANGE-ME": ' "$1/out" ||
		! grep -q '^.*permits.conf:[0-9]*: permits\[0\].number: is still the example.s placeholder "CHANGE-ME": copy the permit number exactly as printed on the discharge permit' "$1/out"; then
		echo "exit $rc, want 78 with the placeholder messages:"
		cat "$1/out"
		return 1
	fi
}

# fill_in DIR: the placeholders filled in, as an installer would.
fill_in() {
	sed -i 's/CHANGE-ME/site-0001/g' "$1/outfall.conf" "$1/permits.conf"
}

check_configs() {
	local ex="$DEST/usr/share/doc/outfall/examples" cfg="$TMP/cfg" man="$TMP/mancfg"
	mkdir -p "$cfg" "$man"
	cp "$ex/outfall.conf.example" "$cfg/outfall.conf"
	cp "$ex/permits.conf.example" "$cfg/permits.conf"
	check "examples: outfalld -n refuses them until the placeholders are filled in" \
		refuses_unedited "$cfg"
	fill_in "$cfg"
	check "examples: outfalld -n accepts them once filled in" run_n "$cfg"
	# The example in outfall.conf(5), gateway file and permits file.
	man_text "$DEST/usr/share/man/man5/outfall.conf.5" > "$TMP/conf5.txt"
	awk '/^ *gateway: [{] id/,/^ *sinks: [{]/' "$TMP/conf5.txt" | sed 's/^ *//' > "$man/outfall.conf"
	awk '/^ *permits = [(] [{]/,/^ *[}] [)];/' "$TMP/conf5.txt" | sed 's/^ *//' > "$man/permits.conf"
	check "examples: outfalld -n accepts the one in outfall.conf(5)" run_n "$man"
	check "outfalld -V is $VERSION" \
		test "$("$DEST/usr/sbin/outfalld" -V 2>&1)" = "outfalld $VERSION"
}

check_debian_sources() {
	local changelog_version dev missing=""
	changelog_version=$(sed -n '1s/^outfall (\([^)]*\)).*/\1/p' debian/changelog)
	check "debian/changelog is at $VERSION ($changelog_version)" \
		test "$changelog_version" = "$VERSION"
	while read -r dev; do
		grep -qE "^ $dev( |,|$)" debian/control || missing="$missing $dev"
	done < <(grep -oE '[a-z0-9.+-]+-dev\b' scripts/deps.sh | sort -u)
	check "debian/control Build-Depends has deps.sh's -dev packages${missing:+ (missing:$missing)}" \
		test -z "$missing"
}

check_tree() {
	BUILD=${1:-build}
	DEST="$TMP/dest"
	UNIT="$DEST/lib/systemd/system/outfalld.service"
	HAVE_CTL=no
	[ -x "$BUILD/outfallctl" ] && HAVE_CTL=yes
	need_tools || return
	if ! ${MAKE:-make} --no-print-directory -s install DESTDIR="$DEST" PREFIX=/usr \
		BUILD="$BUILD" > "$TMP/install.log" 2>&1; then
		bad "make install DESTDIR=... PREFIX=/usr"
		sed 's/^/     | /' "$TMP/install.log" | tail -n 20
		return
	fi
	ok "make install DESTDIR=... PREFIX=/usr"
	check_layout
	check_unit
	check_users_dirs
	check_man
	check_configs
	check_debian_sources
}

# ---- a built package ----------------------------------------------------

check_deb() {
	local deb=$1 x="$TMP/deb" f
	[ -f "$deb" ] || { bad "no package at $deb"; return; }
	dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's|^\./||' > "$TMP/list"
	for f in usr/sbin/outfalld lib/systemd/system/outfalld.service \
		usr/lib/sysusers.d/outfall.conf usr/lib/tmpfiles.d/outfall.conf \
		usr/share/doc/outfall/examples/outfall.conf.example \
		usr/share/doc/outfall/examples/permits.conf.example \
		usr/share/doc/outfall/copyright usr/share/man/man5/outfall.conf.5.gz \
		usr/share/man/man8/outfalld.8.gz; do
		check "deb: has /$f" grep -qx "$f" "$TMP/list"
	done
	if grep -qx usr/bin/outfallctl "$TMP/list"; then
		check "deb: has outfallctl(1)" grep -qx usr/share/man/man1/outfallctl.1.gz "$TMP/list"
	else
		note "deb: no outfallctl in this package"
	fi
	check "deb: Package outfall, Version $VERSION" \
		test "$(dpkg-deb -f "$deb" Package Version | tr '\n' ' ')" = "Package: outfall Version: $VERSION "
	check "deb: depends on systemd (sysusers)" sh -c "dpkg-deb -f '$deb' Depends | grep -q systemd"
	mkdir -p "$x"
	dpkg-deb -e "$deb" "$x/DEBIAN"
	dpkg-deb -x "$deb" "$x"
	check "deb: postinst creates the user, then the directories" \
		awk '/systemd-sysusers/ { u = NR } /systemd-tmpfiles/ && !t { t = NR }
			END { exit !(u && t && u < t) }' "$x/DEBIAN/postinst"
	check "deb: postinst enables the unit" grep -q deb-systemd-helper "$x/DEBIAN/postinst"
	check "deb: unit runs /usr/sbin/outfalld" \
		grep -q '^ExecStart=/usr/sbin/outfalld ' "$x/lib/systemd/system/outfalld.service"
	local arch
	arch=$(dpkg-deb -f "$deb" Architecture)
	case "$arch" in
	"$(dpkg --print-architecture)") RUNNER="" ;;
	arm64) RUNNER=qemu-aarch64 ;;
	armhf) RUNNER=qemu-arm ;;
	*) RUNNER=none ;;
	esac
	if [ -n "$RUNNER" ] && ! command -v "$RUNNER" >/dev/null; then
		note "deb: outfalld -n not run: a $arch package, and no ${RUNNER} here"
		return
	fi
	mkdir -p "$TMP/debcfg"
	cp "$x/usr/share/doc/outfall/examples/outfall.conf.example" "$TMP/debcfg/outfall.conf"
	cp "$x/usr/share/doc/outfall/examples/permits.conf.example" "$TMP/debcfg/permits.conf"
	DEST=$x
	check "deb: its outfalld -n refuses its examples until filled in${RUNNER:+ (under $RUNNER)}" \
		refuses_unedited "$TMP/debcfg"
	fill_in "$TMP/debcfg"
	check "deb: its outfalld -n accepts its examples once filled in${RUNNER:+ (under $RUNNER)}" \
		run_n "$TMP/debcfg"
}

if [ "${1:-}" = "--deb" ]; then
	[ $# -eq 2 ] || { echo "usage: $0 --deb FILE.deb" >&2; exit 64; }
	check_deb "$2"
else
	check_tree "${1:-build}"
fi
echo "packaging: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
