/*
 * lineproto.h - InfluxDB line protocol encoding (DESIGN §6), pure.
 *
 * Appends points to a caller-owned buffer with a hard capacity. Escaping:
 * measurement: comma, space; tag keys/values and field keys: comma, '=',
 * space; string field values: '"' and '\\'. Newlines in names are replaced
 * by spaces before escaping (line protocol cannot carry them). Timestamps in
 * ms (the writer uses precision=ms).
 */
#ifndef OUTFALL_LINEPROTO_H
#define OUTFALL_LINEPROTO_H

#include <stddef.h>

#include "record.h"

struct lp_buf {
	char *data;  /* owned by the caller */
	size_t len;  /* bytes used, excluding the terminating NUL */
	size_t cap;  /* capacity of data in bytes */
};

/*
 * Appends the point(s) for one record: a poll gives one outfall_reading line
 * per value, an alert one outfall_alert line. gateway is the gateway id tag.
 * Returns the number of lines appended, or -ENOSPC leaving buf->len as it
 * was (nothing partial is ever left behind).
 */
int lp_append_record(struct lp_buf *buf, const char *gateway, const struct record *r);

#endif
