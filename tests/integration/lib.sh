# lib.sh - shared helpers for the integration tests, the demo and the benches: start a
# real mosquitto and influxd on free loopback ports inside a temp dir, wait
# for them, and stop everything started, by PID. Source it; set WORK first.

PIDS=""

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

remember() { PIDS="$PIDS $1"; }

stop_all() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
		kill -CONT "$p" 2>/dev/null # a stopped process acts on SIGTERM only then
	done
	for p in $PIDS; do
		for _ in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null
	done
	PIDS=""
}

# wait_for SECONDS CMD...: retries CMD every 0.1 s until it succeeds.
wait_for() {
	local n=$(($1 * 10)); shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

start_mosquitto() {
	MQTT_PORT=$(free_port)
	cat > "$WORK/mosquitto.conf" <<CONF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $WORK/
log_dest file $WORK/mosquitto.log
user $(id -un)
${MOSQUITTO_EXTRA:-}
CONF
	restart_mosquitto
}

# restart_mosquitto: the broker again, same port and persistence file.
restart_mosquitto() {
	mosquitto -c "$WORK/mosquitto.conf" 2>/dev/null &
	MQTT_PID=$!
	remember $MQTT_PID
	wait_for 10 mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t ping -m ping ||
		{ echo "mosquitto did not start (see $WORK/mosquitto.log)"; return 1; }
}

start_influxd() {
	INFLUX_PORT=$(free_port)
	local rpc; rpc=$(free_port)
	mkdir -p "$WORK/influx"
	cat > "$WORK/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"
[meta]
  dir = "$WORK/influx/meta"
[data]
  dir = "$WORK/influx/data"
  wal-dir = "$WORK/influx/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$INFLUX_PORT"
  log-enabled = false
[monitor]
  store-enabled = false
${INFLUX_EXTRA:-}
CONF
	INFLUX_URL="http://127.0.0.1:$INFLUX_PORT"
	restart_influxd
}

# restart_influxd: InfluxDB again, same ports and data.
restart_influxd() {
	influxd -config "$WORK/influxdb.conf" >> "$WORK/influxd.log" 2>&1 &
	INFLUX_PID=$!
	remember $INFLUX_PID
	wait_for 30 curl -sf "$INFLUX_URL/ping" ||
		{ echo "influxd did not start (see $WORK/influxd.log)"; return 1; }
}

influx_query() { # influx_query DB QUERY -> JSON on stdout
	curl -sfG "$INFLUX_URL/query" --data-urlencode "db=$1" \
		--data-urlencode "epoch=ms" --data-urlencode "q=$2"
}

# start_sim LINK ARGS...: the simulator on a fresh pty pair, LINK for the daemon.
# Its stdout and stderr go to $SIM_LOG.out and .err ($WORK/sim by default).
start_sim() {
	local link=$1 log=${SIM_LOG:-$WORK/sim}; shift
	"$BUILD/outfall-sim" --pty "$link" "$@" > "$log.out" 2> "$log.err" &
	SIM_PID=$!
	remember $SIM_PID
	wait_for 10 grep -q ready "$log.out" ||
		{ echo "simulator did not start:"; cat "$log.err"; return 1; }
}

# write_config DIR DEVICE: a gateway + permits config for the local services
# (gateway id $GW_ID, it-gw-1 by default). Telemetry is synced every
# FSYNC_MS (1000: tests see readings at once; "default" leaves the daemon's
# default, as a bench measuring it needs).
write_config() {
	local dir=$1 dev=$2 fsync=""
	[ "${FSYNC_MS:-1000}" = default ] || fsync="fsync_ms = ${FSYNC_MS:-1000};"
	cat > "$dir/permits.conf" <<CONF
permits = (
  { number = "浙丽排字第2023-0042号"; holder = "丽水某食品有限公司";
    category = "catering"; valid_from = "2023-03-01"; valid_until = "2028-02-28";
    daily_volume_max_m3 = 120.0;
    limits = (
      { parameter = "ph";  min = 6.5; max = 9.5; basis = "instant"; },
      { parameter = "cod"; max = 500.0; basis = "instant"; } ); }
);
CONF
	cat > "$dir/outfall.conf" <<CONF
gateway: { id = "${GW_ID:-it-gw-1}"; data_dir = "$dir/data"; timezone = "Asia/Shanghai";
           permits = "permits.conf"; $fsync };
buses = ( { name = "rs485-0"; device = "$dev"; baud = 9600; parity = "N";
            data_bits = 8; stop_bits = 1; timeout_ms = ${TIMEOUT_MS:-200}; retries = 1; } );
sensors = (
  { name = "probe1"; bus = "rs485-0"; driver = "modbus"; slave = 1; interval_s = ${PROBE_S:-1};
    channels = (
      { parameter = "cod"; table = "holding"; register = 0; type = "float32";
        word_order = "abcd"; range = [0.0, 2000.0]; },
      { parameter = "ph"; table = "holding"; register = 2; type = "float32";
        word_order = "abcd"; range = [0.0, 14.0]; },
      { parameter = "nh3n"; register = 4; type = "float32"; word_order = "abcd"; },
      { parameter = "tp"; register = 6; type = "float32"; word_order = "abcd"; },
      { parameter = "temp"; register = 8; type = "float32"; word_order = "abcd"; } ); },
  { name = "flow1"; bus = "rs485-0"; driver = "modbus"; slave = 2; interval_s = ${FLOW_S:-1};
    channels = (
      { parameter = "flow"; register = 0x1010; type = "float32"; word_order = "cdab"; },
      { parameter = "volume_total"; register = 0x1018; type = "uint32";
        word_order = "cdab"; } ); }
);
outlets = ( { id = "WS-001"; kind = "sewage"; permit = "浙丽排字第2023-0042号";
              sensors = ["probe1", "flow1"]; } );
sinks: {
  mqtt: { uri = "tcp://127.0.0.1:$MQTT_PORT"; qos = 1; };
  influx: { url = "$INFLUX_URL"; api = "v1"; db = "outfall"; flush_ms = ${FLUSH_MS:-200}; };
};
CONF
}
