# cases_disk.sh - the disk fills up under the running daemon (issue 13):
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
