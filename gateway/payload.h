/*
 * payload.h - MQTT JSON payloads (DESIGN §6), pure.
 *
 * Written into a caller-owned buffer of fixed capacity with a small JSON
 * writer rather than cJSON: the telemetry payload is on the per-reading hot
 * path and must not allocate. Strings are escaped per RFC 8259 and UTF-8 is
 * passed through. Values print as %.10g (sensor values carry at most about
 * 7-9 significant digits), NaN/Inf as null.
 * Each function returns the payload length, or -ENOSPC.
 */
#ifndef OUTFALL_PAYLOAD_H
#define OUTFALL_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

/* {"ts","seq","outlet","sensor","values":{"cod":{"v":..,"unit":..,"q":..}}} */
int payload_telemetry(char *buf, size_t cap, const struct record *r);
/* The alert event of DESIGN §6, with "until" on cleared events. */
int payload_alert(char *buf, size_t cap, const char *gateway, const struct record *r);
/* {"state":"online","version":..,"started":..}; state "offline" for LWT. */
int payload_status(char *buf, size_t cap, const char *state, const char *version,
		   int64_t started_ms);

/* The MQTT topic for a record under root ("outfall/<id>"). */
int payload_topic(char *buf, size_t cap, const char *root, const struct record *r);

#endif
