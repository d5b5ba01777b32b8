# cases_disk.sh - the disk fills up and config files go bad under the
# running daemon (issue 13). The disk:
# data_dir on a 3 MiB tmpfs that a filler file fills to the last byte for
# half a minute. Sourced by run.sh after lib.sh (BUILD, WORK, HERE,
# fresh_run, start_sim, write_config, remember). Mounting needs root, as
# `make check` runs (it installs packages first); without it the case fails
# saying so. Assertions are on what the broker received against what the
# simulator served (check_disk.py).

case_disk_full() {
	local small="$WORK/small" pid rc
	fresh_run || return 1
	mkdir -p "$small"
	mount -t tmpfs -o size=3m tmpfs "$small" ||
		{ echo "cannot mount a tmpfs for the full disk (run as root)"; return 1; }
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || { umount "$small"; return 1; }
	write_config "$WORK/cfg" "$WORK/tty"
	sed -i "s|data_dir = \"$WORK/cfg/data\"|data_dir = \"$small/data\"|" "$WORK/cfg/outfall.conf"
	"$BUILD/outfalld" -c "$WORK/cfg/outfall.conf" > "$WORK/daemon.log" 2>&1 &
	pid=$!
	remember $pid
	sleep 8
	dd if=/dev/zero of="$small/filler" bs=4k 2>/dev/null # to ENOSPC
	echo "disk full: $(df -k "$small" | awk 'NR == 2 {print $4}') KiB free"
	sleep 30 # the segment's last page fills, then appends fail
	rm -f "$small/filler"
	echo "room again"
	# the data_gap clears once a metrics interval (60 s) passes without a loss
	wait_for 90 grep -q '"kind":"data_gap".*"state":"cleared"\|"state":"cleared".*"kind":"data_gap"' \
		"$WORK/mqtt.log" || echo "no data_gap cleared on MQTT within 90 s"
	sleep 2
	kill -TERM "$pid"; wait "$pid"; rc=$?
	umount "$small"
	[ "$rc" -eq 0 ] || { echo "outfalld exit $rc"; return 1; }
	python3 "$HERE/check_disk.py" "$WORK"
}

# Config files go bad under the running daemon: the gateway file or the
# permits file replaced by a FIFO, a directory, a 2 MiB file, or removed,
# then SIGHUP. Each reload is refused with a line naming the file, the
# running configuration stays - the broker goes on receiving telemetry -
# and a last good reload and SIGTERM (within 5 s) still work. A FIFO as the
# config for `outfalld -n` is refused at once, not waited on.
case_reload_bad_files() {
	local cfg="$WORK/cfg" pid rc t0 t1 n0 n1 f kind
	fresh_run || return 1
	start_sim "$WORK/tty" --csv "$WORK/sim.csv" || return 1
	write_config "$cfg" "$WORK/tty"
	cp "$cfg/outfall.conf" "$WORK/good.conf"
	cp "$cfg/permits.conf" "$WORK/good-permits.conf"
	"$BUILD/outfalld" -c "$cfg/outfall.conf" > "$WORK/daemon.log" 2>&1 &
	pid=$!
	remember $pid
	wait_for 10 grep -q '/telemetry/' "$WORK/mqtt.log" || { echo "no telemetry"; return 1; }
	for f in outfall.conf permits.conf; do
		for kind in fifo dir huge gone; do
			rm -rf "${cfg:?}/$f"
			case $kind in
			fifo) mkfifo "$cfg/$f" ;;
			dir) mkdir "$cfg/$f" ;;
			huge) head -c 2097152 /dev/zero | tr '\0' '#' > "$cfg/$f" ;;
			gone) ;;
			esac
			n0=$(grep -c '/telemetry/' "$WORK/mqtt.log")
			kill -HUP "$pid"
			sleep 3
			n1=$(grep -c '/telemetry/' "$WORK/mqtt.log")
			kill -0 "$pid" 2>/dev/null || { echo "$f as $kind: outfalld ended"; return 1; }
			[ "$n1" -ge $((n0 + 3)) ] ||
				{ echo "$f as $kind: telemetry stopped ($n0 -> $n1)"; return 1; }
			[ "$(grep -c 'the running configuration stays' "$WORK/daemon.log")" -ge 1 ] ||
				{ echo "$f as $kind: no refusal logged"; return 1; }
			echo "$f as $kind: refused, $((n1 - n0)) polls meanwhile"
			rm -rf "${cfg:?}/$f"
		done
		cp "$WORK/good.conf" "$cfg/outfall.conf"
		cp "$WORK/good-permits.conf" "$cfg/permits.conf"
	done
	[ "$(grep -c 'the running configuration stays' "$WORK/daemon.log")" -eq 8 ] ||
		{ echo "want 8 refused reloads:"; grep 'reload' "$WORK/daemon.log"; return 1; }
	kill -HUP "$pid"
	wait_for 5 grep -q 'reload: done' "$WORK/daemon.log" ||
		{ echo "the good reload was not taken"; tail -5 "$WORK/daemon.log"; return 1; }
	t0=$(date +%s%N)
	kill -TERM "$pid"; wait "$pid"; rc=$?
	t1=$(date +%s%N)
	[ "$rc" -eq 0 ] && [ $(((t1 - t0) / 1000000)) -lt 5000 ] ||
		{ echo "SIGTERM: exit $rc after $(((t1 - t0) / 1000000)) ms"; return 1; }
	rm -f "$WORK/fifo.conf"; mkfifo "$WORK/fifo.conf"
	timeout 5 "$BUILD/outfalld" -n -c "$WORK/fifo.conf" > "$WORK/fifo.err" 2>&1; rc=$?
	cat "$WORK/fifo.err"
	[ "$rc" -eq 78 ] || { echo "outfalld -n on a FIFO: exit $rc, want 78"; return 1; }
}
