/*
 * payload_fixture.h - what test_payload.c and test_payload_alert.c share:
 * the records of DESIGN §6's examples, cJSON accessors that fail the test
 * on a wrong type, and the every-capacity ENOSPC check. Helpers are static
 * inline so that each test binary uses what it needs.
 */
#ifndef OUTFALL_PAYLOAD_FIXTURE_H
#define OUTFALL_PAYLOAD_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/param.h"
#include "config/config.h"
#include "encode/encode.h"

#define T0 1764403217123LL /* 2025-11-29T08:00:17.123Z */
#define PERMIT "浙丽排字第2023-0042号"
#define HOLDER "丽水某食品有限公司"

static inline void set(char *dst, size_t cap, const char *s)
{
	int n = snprintf(dst, cap, "%s", s);

	assert_true(n >= 0 && (size_t)n < cap);
}

static inline struct record poll_rec(void)
{
	struct record r = { .seq = 42, .ts_ms = T0, .type = REC_POLL };

	set(r.u.poll.outlet, sizeof(r.u.poll.outlet), "WS-001");
	set(r.u.poll.sensor, sizeof(r.u.poll.sensor), "probe1");
	r.u.poll.n = 1;
	r.u.poll.values[0] = (struct rec_value){ .v = 612.4, .param = P_COD, .quality = Q_OK };
	return r;
}

static inline struct record alert_rec(void)
{
	struct record r = { .seq = 1042, .ts_ms = 1764403217000LL, .type = REC_ALERT };
	struct rec_alert *a = &r.u.alert;

	set(a->id, sizeof(a->id), "ls-ws-000123/WS-001/cod/instant/1764403217000");
	a->state = ALERT_RAISED;
	a->kind = AK_LIMIT_EXCEEDED;
	a->param = P_COD;
	a->basis = BASIS_INSTANT;
	a->sensor_health = Q_OK;
	set(a->outlet, sizeof(a->outlet), "WS-001");
	set(a->sensor, sizeof(a->sensor), "probe1");
	set(a->permit, sizeof(a->permit), PERMIT);
	set(a->holder, sizeof(a->holder), HOLDER);
	a->limit = 500.0;
	a->value = 612.4;
	a->peak = 612.4;
	a->since_ms = 1764403217000LL;
	return r;
}

/* Encodes with a generous buffer and parses the result; caller frees. */
static inline cJSON *parse(const char *json, int n)
{
	cJSON *doc;

	assert_true(n > 0);
	assert_int_equal(strlen(json), (size_t)n);
	doc = cJSON_Parse(json);
	if (!doc)
		fail_msg("not JSON: %s", json);
	return doc;
}

static inline const char *str(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(it))
		fail_msg("%s is not a string", key);
	return it->valuestring;
}

static inline double num(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(it))
		fail_msg("%s is not a number", key);
	return it->valuedouble;
}

static inline void assert_null_item(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNull(it))
		fail_msg("%s is not null", key);
}

/* Every capacity short of length + 1 fails cleanly, never writing past cap;
 * length + 1 succeeds with the same text. */
static inline void check_every_cap(int (*enc)(char *, size_t, const void *), const void *arg)
{
	char full[PAYLOAD_MAX];
	char buf[PAYLOAD_MAX + 1];
	int n = enc(full, sizeof(full), arg);

	assert_true(n > 0);
	for (size_t cap = 0; cap <= (size_t)n; cap++) {
		memset(buf, 'X', sizeof(buf));
		assert_int_equal(enc(buf, cap, arg), -ENOSPC);
		assert_true(buf[cap] == 'X');
		if (cap)
			assert_int_equal(buf[0], '\0');
	}
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(enc(buf, (size_t)n + 1, arg), n);
	assert_string_equal(buf, full);
}

static inline int enc_alert(char *b, size_t c, const void *r)
{
	return payload_alert(b, c, "gw", r);
}

#endif
