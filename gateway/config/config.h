/*
 * config.h - the gateway and permits configuration (DESIGN §4).
 *
 * config_load() parses both libconfig files, validates everything and either
 * returns a complete, self-consistent struct config or reports every error it
 * found as "file:line: setting: message" and returns none. Nothing here
 * touches serial ports, sockets or the outbox: a loaded config is plain data,
 * so a reload can parse into a new struct and swap only on success.
 *
 * Cross references are resolved to indexes: a sensor's bus, an outlet's
 * permit and sensors, a sensor's outlet. Strings are heap-allocated and owned
 * by the config; config_free() releases everything.
 */
#ifndef OUTFALL_CONFIG_H
#define OUTFALL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/param.h"
#include "base/record.h"

#define CFG_MAX_CHANNELS REC_MAX_VALUES /* channels per sensor */
#define CFG_NAME_MAX 31     /* bytes in a bus, sensor or outlet name */
#define CFG_SIGNATURE_MAX 16 /* parameters in a storm outlet's sewage signature */

enum reg_table { TABLE_HOLDING, TABLE_INPUT };

enum value_type { VT_INT16, VT_UINT16, VT_INT32, VT_UINT32, VT_FLOAT32, VT_FLOAT64 };

/* Byte order of a multi-register value, named as Telegraf and most manuals
 * do: abcd big-endian, cdab word-swapped, badc byte-swapped, dcba
 * little-endian. */
enum word_order { WO_ABCD, WO_CDAB, WO_BADC, WO_DCBA };

enum basis { BASIS_INSTANT, BASIS_ROLLING, BASIS_HOURLY_MEAN, BASIS_DAILY_MEAN };

enum outlet_kind { OUTLET_SEWAGE, OUTLET_STORM };

enum driver_kind { DRIVER_MODBUS, DRIVER_ASCII };

/* What vouches for the wall clock before permit dates are judged. */
enum clock_source { CLOCK_SRC_NTP, CLOCK_SRC_RTC };

/* ASCII line sensors: what ends a line, and how its fields are laid out. */
enum ascii_term { TERM_CRLF, TERM_LF, TERM_CR };
enum ascii_format { ASCII_KV, ASCII_CSV };

#define CFG_ASCII_LINE_MIN 16    /* max_line bounds, bytes without the terminator */
#define CFG_ASCII_LINE_MAX 1024
#define CFG_ASCII_QUERY_MAX 64   /* bytes in a query string */
#define CFG_ASCII_KEY_MAX 31     /* bytes in a kv key */
#define CFG_ASCII_FIELD_MAX 512  /* highest csv field position */

struct cfg_channel {
	int param;             /* enum param */
	enum reg_table table;  /* default holding */
	int reg;               /* 0-based wire address, 0..65535 */
	enum value_type type;  /* default float32 */
	enum word_order order; /* default abcd */
	double scale;          /* default 1.0; value = raw * scale + offset */
	double offset;         /* default 0.0 */
	bool has_range;        /* range given: outside it = out_of_range */
	double range_min;
	double range_max;
	int flatline_s;        /* identical readings for this long = sensor fault;
				* 0 (default) = off; else >= 2 x interval_s */
	char *key;             /* ascii kv: the key naming the value, else NULL */
	int field;             /* ascii csv: 1-based field position, else 0 */
	int line;              /* line in the gateway file, for messages */
};

struct cfg_bus {
	char *name;
	char *device;     /* e.g. /dev/ttyUSB0 */
	int baud;         /* default 9600 */
	char parity;      /* 'N', 'E' or 'O'; default 'N' */
	int data_bits;    /* 5..8, default 8 */
	int stop_bits;    /* 1 or 2, default 1 */
	int timeout_ms;   /* per request, 10..10000, default 500 */
	int retries;      /* extra attempts after a timeout, 0..10, default 2 */
	int line;
};

/* How an ASCII sensor frames and lays out its lines (driver = "ascii"). */
struct cfg_ascii {
	enum ascii_term terminator; /* default CRLF; every variant accepts CR LF */
	enum ascii_format format;   /* default kv */
	char separator;             /* between fields, default ','; a space or
				     * tab means any run of blanks */
	char kv_separator;          /* kv only: between key and value, default '=' */
	char decimal;               /* the numbers' decimal mark: '.' (the
				     * default; 0 reads as '.') or ',' */
	char *query;                /* sent before each read; NULL = the sensor
				     * streams lines on its own */
	size_t query_len;           /* bytes of query, 1..CFG_ASCII_QUERY_MAX */
	int max_line;               /* longest line in bytes without the
				     * terminator, 16..1024, default 256 */
};

struct cfg_sensor {
	char *name;
	int bus;                 /* index into config.buses */
	enum driver_kind driver; /* default modbus */
	int slave;               /* modbus: 1..247; ascii: 0 (not used) */
	struct cfg_ascii ascii;  /* ascii only */
	int interval_s;          /* 1..86400, default 10 */
	int retry_max_s;         /* a silent slave is retried at least this
				  * often; 1..3600, default 15 */
	int gap_s;               /* no good reading of a channel for this long =
				  * data_gap; >= interval_s, default
				  * max(3 x interval_s, 60) */
	int outlet;              /* index into config.outlets, -1 if none */
	struct cfg_channel *channels;
	size_t n_channels;       /* 1..CFG_MAX_CHANNELS */
	int line;
};

struct cfg_limit {
	int param;           /* enum param */
	bool has_min;
	double min;
	bool has_max;
	double max;
	enum basis basis;    /* default instant */
	int window_min;      /* rolling only: 1..1440 */
	double hysteresis_pct; /* default from alerting, 2.0 */
	int raise_after_s;   /* default from alerting, 0 */
	int clear_after_s;   /* default from alerting, 0 */
	bool from_template;  /* filled in from the permit's template, not written in it */
	int line;            /* line in the permits file (the permit's, for template limits) */
};

/* A calendar date, as written in the permit. */
struct cfg_date {
	int year, month, day;
};

struct cfg_permit {
	char *number;        /* 排水许可证 number, unique */
	char *holder;
	char *category;      /* industrial | construction | catering | medical | other */
	struct cfg_date valid_from;
	struct cfg_date valid_until; /* inclusive */
	bool has_daily_volume;
	double daily_volume_max_m3;
	char *template_name; /* NULL, or "GB/T31962-A|B|C" */
	struct cfg_limit *limits;
	size_t n_limits;
	int line;
};

/* One parameter of a storm outlet's sewage signature: a good reading above
 * it means sewage in the storm pipe. */
struct cfg_signature {
	int param;           /* enum param */
	double above;        /* in the parameter's unit, > 0 */
};

struct cfg_outlet {
	char *id;
	enum outlet_kind kind;
	int permit;          /* index into config.permits, -1 for none (storm) */
	int *sensors;        /* indexes into config.sensors */
	size_t n_sensors;
	double flow_noise_m3h; /* flow at or below this is no discharge; 0..1000,
				* default 0.1 */
	/* storm outlets only: */
	struct cfg_signature signature[CFG_SIGNATURE_MAX];
	size_t n_signature;  /* default cod > 100, nh3n > 5 mg/L */
	int rain_hold_min;   /* a rain signal excuses flow for this long after
			      * it was last seen; 0..1440, default 60 */
	int line;
};

struct cfg_mqtt {
	bool enabled;        /* a sinks.mqtt section exists */
	char *uri;           /* tcp:// or mqtt://, ssl:// or mqtts:// (TLS); host[:port] */
	int qos;             /* telemetry qos 0..2, default 1; alerts always 1 */
	char *client_id;     /* default "outfall-<gateway id>" */
	char *username;      /* NULL if none */
	char *password_file; /* NULL if none */
	int keepalive_s;     /* 5..3600, default 30 */
	char *topic_root;    /* default "outfall/<gateway id>"; no + #, no leading/trailing / */
	bool tls;            /* a tls group exists (uri must be ssl:// or mqtts://) */
	char *tls_ca_file;   /* CA bundle; NULL = the system's trust store */
	char *tls_cert_file; /* client certificate, NULL if none; needs tls_key_file */
	char *tls_key_file;  /* its private key, NULL if none */
	bool tls_verify;     /* check the broker's certificate and name; default true */
};

struct cfg_influx {
	bool enabled;        /* a sinks.influx section exists */
	char *url;           /* base URL, e.g. http://127.0.0.1:8086 */
	int api;             /* 1 or 2 */
	char *db;            /* v1 */
	char *org;           /* v2 */
	char *bucket;        /* v2 */
	char *token_file;    /* v2 */
	char *username;      /* v1, optional */
	char *password_file; /* v1, optional */
	int batch_max;       /* points per request, 1..100000, default 5000 */
	int flush_ms;        /* 10..60000, default 1000 */
	int timeout_ms;      /* HTTP request timeout, 100..300000, default 10000 */
	bool gzip;           /* default false */
};

/* The local history (DESIGN §4 `history`; sinks/history/history.h). */
struct cfg_history {
	bool enabled;        /* a history section exists */
	char *dir;           /* default data_dir/history */
	int raw_days;        /* readings kept, 1..3650 days, default 31 */
	int aggregate_days;  /* aggregates, alerts, maintenance, 1..36500,
			      * default 400 */
	int max_mb;          /* the store's size cap, 16..1048576 MiB, default 512 */
	int commit_s;        /* one transaction every commit_s, 1..3600 s,
			      * default 300: what the outbox holds back meanwhile;
			      * nothing is lost by a power cut */
};

/* HJ 212 platforms (DESIGN §4 `sinks.hj212`, domain/hj212.md): one sink
 * each. Every sink has its own outbox cursor and the outbox keeps
 * CFG_MAX_SINKS of them (mqtt, influx, history and the platforms together). */
#define CFG_MAX_SINKS 4
#define CFG_HJ212_NAME_MAX 15  /* [a-z0-9_]: it names the cursor file */
#define CFG_HJ212_MN_LEN 24    /* 0-9 A-F */
#define CFG_HJ212_PW_LEN 6
#define CFG_HJ212_CODE_MAX 15  /* a local factor code, [A-Za-z0-9] */
#define CFG_HJ212_HOST_MAX 253

/* What a platform is sent (send = [...]). */
#define HJS_RTD 0x01   /* 2011 real-time data */
#define HJS_MIN 0x02   /* 2051 minute data */
#define HJS_HOUR 0x04  /* 2061 hourly data */
#define HJS_DAY 0x08   /* 2031 daily data */
#define HJS_ALL (HJS_RTD | HJS_MIN | HJS_HOUR | HJS_DAY)

struct cfg_hj212 {
	char *name;          /* unique among the sinks, names its outbox cursor */
	char *host;          /* name or numeric address */
	int port;            /* 1..65535 */
	int outlet;          /* index into config.outlets: the MN's outlet */
	char mn[CFG_HJ212_MN_LEN + 1];  /* device code, upper-case hex */
	char pw[CFG_HJ212_PW_LEN + 1];  /* from pw or pw_file; wiped by
					 * config_free, never printed */
	char *pw_file;       /* NULL when pw was given inline */
	int st;              /* system code, default 32 (water pollution source) */
	int version;         /* 2017 (default) or 2025: the Flag's version bits */
	bool ack;            /* Flag=5: a record is delivered on its 9014;
			      * false: on the socket write alone. Default true */
	int timeout_s;       /* reply timeout, 1..99 s (OverTime), default 10 */
	int retries;         /* resends before reconnecting, 0..99 (ReCount), default 3 */
	int rtd_interval_s;  /* 2011 every this, 30..3600 s, default 60 */
	int min_interval_min;/* 2051 over this many minutes: 1 2 3 4 5 6 10 12 15
			      * 20 30, default 10 */
	int max_rtd_age_s;   /* 2011 older than this when it would go out is
			      * skipped (counted); 0 = never, default 3600;
			      * period records are never skipped */
	unsigned send;       /* HJS_*, default all */
	char *local_code[P_COUNT]; /* code for a parameter Annex B has none
					* for; NULL: param_hj212() */
	int line;
};

struct cfg_alerting {
	double hysteresis_pct; /* default 2.0 */
	int raise_after_s;     /* default 0 */
	int clear_after_s;     /* default 0 */
	int no_response_polls; /* polls in a row without an answer = sensor
				* fault; 1..1000, default 3 */
	double crc_error_pct;  /* share of garbled answers over the last polls
				* above which a sensor is faulty; 0 = off,
				* 0..100 %, default 10 */
	int expiry_warning_days; /* permit_expiring this many days before
				  * valid_until; 0 = off, 0..365, default 30 */
	double coverage_pct;   /* share of a window or period good readings must
				* cover before its mean is judged; 1..100 %,
				* default 75 */
	int maintenance_max_h; /* longest maintenance or calibration of a
				* sensor; 1..72 h, default 8 */
};

struct config {
	char *path;          /* the gateway file as given */
	char *permits_path;  /* gateway.permits (default "permits.conf"), resolved
			      * relative to path's directory */
	char *id;            /* gateway.id */
	char *data_dir;      /* default /var/lib/outfall */
	char *run_dir;       /* gateway.run_dir: status.json, rewritten every
			      * few seconds, best on a RAM disk (/run/outfall)
			      * to spare the SD card; default data_dir */
	char *timezone;      /* default Asia/Shanghai */
	enum clock_source clock; /* gateway.clock: "ntp" (default) judges permit
				  * dates once the kernel reports NTP sync;
				  * "rtc" trusts the system clock */
	int fsync_ms;        /* telemetry fdatasync batch: the power-loss window,
			      * 0..600000 ms, default 20000 (alerts: at once) */
	int max_backlog_mb;  /* disk cap of the outbox, 16..65536 MiB, default 64 */
	struct cfg_alerting alerting;
	struct cfg_bus *buses;
	size_t n_buses;
	struct cfg_sensor *sensors;
	size_t n_sensors;
	struct cfg_outlet *outlets;
	size_t n_outlets;
	struct cfg_permit *permits;
	size_t n_permits;
	struct cfg_mqtt mqtt;
	struct cfg_influx influx;
	struct cfg_history history;
	struct cfg_hj212 *hj212; /* sinks.hj212, one per platform */
	size_t n_hj212;
	bool strict;         /* loaded with config_opts.strict: a reload should
			      * be checked as strictly */
};

/*
 * Loads and validates path (and the permits file it names). On success
 * returns 0 and stores a new config in *out (caller owns it, config_free).
 * On failure writes every error to err, one "file:line: setting: message"
 * per line, returns the number of errors (> 0) and leaves *out untouched.
 * Warnings (unknown settings, an ignored hj212 sink, no sinks at all) go to
 * err too but do not fail the load. err NULL means stderr. Returns -ENOMEM
 * if memory ran out, -EINVAL when path or out is NULL.
 */
int config_load(const char *path, struct config **out, FILE *err);

/* How config_load_opts() loads; all zero (or a NULL pointer) is config_load(). */
struct config_opts {
	bool strict;           /* every warning counts as an error (outfalld --strict) */
	bool has_today;        /* judge permit validity against today below instead
				* of the wall clock in gateway.timezone (tests) */
	struct cfg_date today;
	int warnings;          /* out: warnings reported, errors under strict too */
};

/*
 * config_load() with options. Besides the errors, it warns (file:line, on
 * err) about what is legal but probably a mistake: a limit more than 10x
 * from its GB/T 31962 grade or outside the instrument range of the channel
 * that measures it, a register that looks like a manual's 1-based 3xxxx or
 * 4xxxx number, an unknown setting close to a known one, a permit that is
 * expired or not yet valid today. Non-ASCII punctuation outside quoted
 * strings (an input method's full-width quotes, say) and the examples'
 * "CHANGE-ME" placeholders are always errors. opts may be NULL.
 */
int config_load_opts(const char *path, struct config_opts *opts, struct config **out,
		     FILE *err);

/* True when two platforms' settings are the same (a reload keeps the sink). */
bool config_hj212_same(const struct cfg_hj212 *a, const struct cfg_hj212 *b);

/* Prints the -n summary: buses, sensors, channels, outlets, permits. */
void config_print_summary(const struct config *cfg, FILE *out);

void config_free(struct config *cfg); /* NULL is a no-op */

/* Small lookups used by the daemon and tools; -1 when absent. */
int config_find_sensor(const struct config *cfg, const char *name);
int config_find_outlet(const struct config *cfg, const char *id);

const char *config_type_name(enum value_type t);
const char *config_order_name(enum word_order o);
const char *config_basis_name(enum basis b);

/* Days since 1970-01-01 of a date (proleptic Gregorian). */
int64_t config_date_days(struct cfg_date d);

#endif
