/*
 * reload.h - what a reload compares, as pure functions over two loaded
 * configs (reload_diff.c): the lines that tell the operator what changed,
 * and whether a sink's settings are the same, so that its connection and
 * counters can be kept. The daemon's SIGHUP handling itself is
 * daemon_reload() in internal.h (reload.c).
 */
#ifndef OUTFALL_RELOAD_H
#define OUTFALL_RELOAD_H

#include <stdbool.h>

#include "config/config.h"

#define RELOAD_LINE_MAX 512 /* bytes of one line incl. NUL; longer ones are cut */

/* One line, without "reload: " and without a newline; valid during the call. */
typedef void (*reload_line_fn)(void *ctx, const char *line);

/*
 * Calls fn once per change from old to nc that an operator would want to
 * see, in the order gateway, alerting, buses, sensors and their channels,
 * outlets, permits and their limits, sinks; for example
 *   permit 浙丽排字第2023-0042号: cod instant max 500 -> 400 mg/L
 *   sensor probe1: interval 10 -> 5 s
 *   sensor probe1: channel ph added (holding register 2)
 *   sink mqtt: uri tcp://10.0.0.2:1883 -> tcp://10.0.0.3:1883
 * Things are matched by name (bus, sensor, outlet id, permit number), a
 * channel by parameter, a limit by parameter, basis and window. Secrets
 * are never printed: only the paths of their files. Returns the number of
 * lines (0: nothing this function knows of changed).
 */
int reload_diff(const struct config *old, const struct config *nc, reload_line_fn fn,
		void *ctx);

enum reload_sink { RELOAD_MQTT, RELOAD_INFLUX, RELOAD_HISTORY };

/* True when HJ 212 platform name has the same settings in old and nc,
 * and what it reads besides (outlet, data_dir, history) is the same. */
bool reload_hj212_same(const struct config *old, const struct config *nc, const char *name);

/*
 * True when the sink of kind which, made for old, would be made the same
 * for nc: present in both with equal settings, the same gateway id (topics,
 * tags, client id) and, for InfluxDB, the same data_dir (its dead-letter
 * file). The contents of secret and certificate files are the sink's own
 * to check (sink_ops.files_changed).
 */
bool reload_sink_same(const struct config *old, const struct config *nc,
		      enum reload_sink which);

#endif
