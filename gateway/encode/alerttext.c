/*
 * alerttext.c - an alert event as a line of text for the daemon's log
 * (see alerttext.h), from the same evidence rules as the MQTT and InfluxDB
 * encoders (evidence.c).
 */
#include "alerttext.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "base/numfmt.h"
#include "base/param.h"

struct text {
	char *buf;
	size_t cap, len;
	bool cut;
};

static void __attribute__((format(printf, 2, 3))) add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->cut)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->cap - t->len) {
		t->cut = true;
		t->len = strlen(t->buf);
		return;
	}
	t->len += (size_t)n;
}

/* A fixed-size field of the record, which may fill it without a NUL, for
 * "%.*s"; OR_DASH shows an empty one as "-". */
#define FIELD(f) (int)strnlen((f), sizeof(f)), (f)
#define OR_DASH(f) (f)[0] ? (int)strnlen((f), sizeof(f)) : 1, (f)[0] ? (f) : "-"

/* What the alert is about, after its kind: " cod", " probe1", " (not about
 * a parameter)" or nothing. */
static void add_subject(struct text *t, const struct rec_alert *a, const struct enc_evidence *ev)
{
	if (a->kind == AK_SENSOR_FAULT || a->kind == AK_MAINTENANCE)
		add(t, " %.*s", FIELD(a->sensor));
	else if (a->kind == AK_PERMIT_EXPIRING)
		return; /* the permit, named at the end */
	else if (ev->param)
		add(t, " %s", param_name(a->param));
	else
		add(t, " (not about a parameter)");
}

/* "cod, ph": the parameters a sensor fault affects. */
static void add_params(struct text *t, const struct rec_alert *a)
{
	for (int i = 0; i < a->n_params && i < REC_MAX_VALUES; i++)
		add(t, "%s%s", i ? ", " : "", param_name(a->params[i]));
}

/* The kind's own figures, in its own terms. */
static void add_detail(struct text *t, const struct rec_alert *a, const struct enc_evidence *ev)
{
	char value[NUMFMT_MAX], limit[NUMFMT_MAX];
	const char *cause = fault_cause_name(a->cause);

	if (ev->fault) {
		add(t, "%s (", cause ? cause : "?");
		add_params(t, a);
		add(t, "), %d polls missed", (int)a->polls_missed);
		if (strnlen(a->note, sizeof(a->note)))
			add(t, ", hint: %.*s", FIELD(a->note));
	} else if (ev->gap) {
		/* about no parameter: records the outbox could not keep */
		add(t, ev->param ? "no good data for %d s" : "data lost over %d s", (int)a->gap_s);
		if (isfinite(a->coverage_pct))
			add(t, ", coverage %.1f %%", a->coverage_pct);
	} else if (ev->expiry) {
		add(t, "%d days left", (int)a->days_left);
	} else {
		numfmt_value(value, a->value, a->value_flags);
		add(t, "value %s", value);
		if (ev->limit) {
			numfmt_f64(limit, a->limit);
			add(t, ", limit %s%s%s", limit, ev->unit ? " " : "",
			    ev->unit ? param_unit(a->param) : "");
		}
		if (a->unhealthy)
			add(t, ", sensor unhealthy meanwhile");
	}
}

int encode_alert_text(char *buf, size_t cap, const struct rec_alert *a)
{
	struct text t = { .buf = buf, .cap = cap };
	struct enc_evidence ev;
	const char *reason = clear_reason_name(a->reason);

	if (cap == 0)
		return -ENOSPC;
	buf[0] = '\0';
	enc_evidence(a, &ev);
	add(&t, "%s: %s", alert_state_name(a->state), alert_kind_name(a->kind));
	add_subject(&t, a, &ev);
	add(&t, " on outlet %.*s: ", OR_DASH(a->outlet));
	add_detail(&t, a, &ev);
	if (reason)
		add(&t, ", reason %s", reason);
	add(&t, ", permit %.*s (%.*s)", OR_DASH(a->permit), FIELD(a->id));
	return t.cut ? -ENOSPC : 0;
}
