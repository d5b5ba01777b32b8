/*
 * status.c - the daemon's status snapshot (see status.h): kept current from
 * polls, written atomically as JSON, read back and checked by outfallctl.
 * cJSON is fine here: a snapshot is a few kB every few seconds, far from
 * the per-reading path.
 */
#include "status.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/param.h"

#define JSON_INT_MAX 9007199254740992.0 /* 2^53: the integers a double holds exactly */
#define PID_MAX 4194304.0                /* the kernel's limit (PID_MAX_LIMIT) */

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

int status_init(struct status_snapshot *s, const struct config *cfg, size_t n_sinks,
		size_t max_alerts)
{
	if (cfg->n_sensors > STATUS_MAX_SENSORS || n_sinks > STATUS_MAX_SINKS ||
	    max_alerts > STATUS_MAX_ALERTS)
		return -EINVAL;
	*s = (struct status_snapshot){ 0 };
	s->sensors = calloc(cfg->n_sensors + 1, sizeof(*s->sensors));
	s->sinks = calloc(n_sinks + 1, sizeof(*s->sinks));
	s->alerts = calloc(max_alerts + 1, sizeof(*s->alerts));
	if (!s->sensors || !s->sinks || !s->alerts) {
		status_clear(s);
		return -ENOMEM;
	}
	copy_str(s->gateway, sizeof(s->gateway), cfg->id);
	s->n_sensors = cfg->n_sensors;
	s->n_sinks = n_sinks;
	s->max_alerts = max_alerts;
	for (size_t i = 0; i < cfg->n_sensors; i++) {
		const struct cfg_sensor *cs = &cfg->sensors[i];
		const struct cfg_bus *b = &cfg->buses[cs->bus];
		struct status_sensor *ss = &s->sensors[i];

		copy_str(ss->name, sizeof(ss->name), cs->name);
		copy_str(ss->bus, sizeof(ss->bus), b->name);
		copy_str(ss->device, sizeof(ss->device), b->device);
		ss->slave = cs->slave;
	}
	return 0;
}

void status_clear(struct status_snapshot *s)
{
	if (!s)
		return;
	free(s->sensors);
	free(s->sinks);
	free(s->alerts);
	*s = (struct status_snapshot){ 0 };
}

/* The values are those of the last poll the slave answered: a poll without
 * any answer only moves last_poll, so the last known values stay visible
 * next to their age. */
void status_note_poll(struct status_snapshot *s, int sensor_idx, const struct record *r)
{
	struct status_sensor *ss;
	const struct rec_poll *p;
	bool answered = false;
	size_t n;

	if (!s || !r || r->type != REC_POLL || sensor_idx < 0 ||
	    (size_t)sensor_idx >= s->n_sensors)
		return;
	ss = &s->sensors[sensor_idx];
	p = &r->u.poll;
	n = p->n > CFG_MAX_CHANNELS ? CFG_MAX_CHANNELS : p->n;
	for (size_t i = 0; i < n; i++)
		answered |= p->values[i].quality != Q_NO_RESPONSE;
	ss->last_poll_wall_ms = r->ts_ms;
	if (!answered && ss->last_ok_wall_ms)
		return;
	memcpy(ss->values, p->values, n * sizeof(p->values[0]));
	ss->n_values = (uint8_t)n;
	if (answered)
		ss->last_ok_wall_ms = r->ts_ms;
}

void status_note_sink_health(struct status_sink *ss, const char *last_error,
			     int64_t last_error_wall_ms, int64_t next_retry_mono_ms,
			     int64_t now_wall_ms, int64_t now_mono_ms)
{
	copy_str(ss->last_error, sizeof(ss->last_error), last_error);
	ss->last_error_ms = ss->last_error[0] ? last_error_wall_ms : 0;
	ss->next_retry_ms = 0;
	if (next_retry_mono_ms > 0)
		ss->next_retry_ms = now_wall_ms + (next_retry_mono_ms > now_mono_ms
						   ? next_retry_mono_ms - now_mono_ms : 0);
}

/* ---- writing ------------------------------------------------------------ */

/* Builds a cJSON tree; any failed allocation sets oom and the result is
 * thrown away, so the individual calls need no checks. */
struct jw {
	bool oom;
};

static void put_num(struct jw *w, cJSON *o, const char *k, double v)
{
	if (!(isfinite(v) ? cJSON_AddNumberToObject(o, k, v) : cJSON_AddNullToObject(o, k)))
		w->oom = true;
}

static void put_str(struct jw *w, cJSON *o, const char *k, const char *v)
{
	if (!cJSON_AddStringToObject(o, k, v))
		w->oom = true;
}

static cJSON *put_array(struct jw *w, cJSON *o, const char *k)
{
	cJSON *a = cJSON_AddArrayToObject(o, k);

	if (!a)
		w->oom = true;
	return a;
}

/* A new object appended to array a; NULL (and oom) if that failed. */
static cJSON *add_object(struct jw *w, cJSON *a)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(a, o)) {
		cJSON_Delete(o);
		w->oom = true;
		return NULL;
	}
	return o;
}

static void put_values(struct jw *w, cJSON *o, const struct status_sensor *ss)
{
	cJSON *a = put_array(w, o, "values");

	for (size_t i = 0; i < ss->n_values && i < CFG_MAX_CHANNELS; i++) {
		const struct rec_value *v = &ss->values[i];
		cJSON *vo = add_object(w, a);

		put_str(w, vo, "parameter", param_name(v->param));
		put_num(w, vo, "v", v->v);
		put_str(w, vo, "unit", param_unit(v->param));
		put_str(w, vo, "q", quality_name(v->quality));
	}
}

/* ---- maintenance and clock (see status.h) ---- */

static void put_bool(struct jw *w, cJSON *o, const char *k, bool v)
{
	if (!cJSON_AddBoolToObject(o, k, v))
		w->oom = true;
}

static void put_maint(struct jw *w, cJSON *o, const struct status_sensor *ss)
{
	cJSON *m;

	if (!ss->maint) {
		if (!cJSON_AddNullToObject(o, "maintenance"))
			w->oom = true;
		return;
	}
	m = cJSON_AddObjectToObject(o, "maintenance");
	if (!m) {
		w->oom = true;
		return;
	}
	put_str(w, m, "mode", maint_mode_name(ss->maint_mode));
	put_num(w, m, "since_ms", (double)ss->maint_since_ms);
	put_num(w, m, "planned_end_ms", (double)ss->maint_end_ms);
	if (ss->maint_reason[0])
		put_str(w, m, "reason", ss->maint_reason);
	else if (!cJSON_AddNullToObject(m, "reason"))
		w->oom = true;
}

static void put_clock(struct jw *w, cJSON *root, const struct status_snapshot *s)
{
	cJSON *c;

	if (!s->has_clock)
		return;
	c = cJSON_AddObjectToObject(root, "clock");
	if (!c) {
		w->oom = true;
		return;
	}
	put_str(w, c, "source", s->clock_rtc ? "rtc" : "ntp");
	put_bool(w, c, "kernel_synced", s->clock_synced);
	put_bool(w, c, "dates_judged", s->dates_judged);
}

static void put_sensor(struct jw *w, cJSON *a, const struct status_sensor *ss)
{
	cJSON *o = add_object(w, a);

	put_str(w, o, "name", ss->name);
	put_str(w, o, "bus", ss->bus);
	put_str(w, o, "device", ss->device);
	put_num(w, o, "slave", ss->slave);
	put_num(w, o, "last_ok_ms", (double)ss->last_ok_wall_ms);
	put_num(w, o, "last_poll_ms", (double)ss->last_poll_wall_ms);
	put_num(w, o, "polls", (double)ss->polls);
	put_num(w, o, "failures", (double)ss->failures);
	put_num(w, o, "timeouts", (double)ss->timeouts);
	put_num(w, o, "crc_errors", (double)ss->crc_errors);
	put_num(w, o, "exceptions", (double)ss->exceptions);
	put_num(w, o, "late", (double)ss->late);
	put_values(w, o, ss);
	put_maint(w, o, ss);
}

static void put_sink(struct jw *w, cJSON *a, const struct status_sink *sk)
{
	cJSON *o = add_object(w, a);

	put_str(w, o, "name", sk->name);
	put_num(w, o, "unacked", (double)sk->unacked);
	put_num(w, o, "oldest_unacked_ms", (double)sk->oldest_unacked_ms);
	put_num(w, o, "sent", (double)sk->sent);
	put_num(w, o, "retried", (double)sk->retried);
	put_num(w, o, "errors", (double)sk->errors);
	put_num(w, o, "quarantined", (double)sk->quarantined);
	put_num(w, o, "dropped", (double)sk->dropped);
	if (sk->last_error[0])
		put_str(w, o, "last_error", sk->last_error);
	else if (!cJSON_AddNullToObject(o, "last_error"))
		w->oom = true;
	put_num(w, o, "last_error_ms", (double)sk->last_error_ms);
	put_num(w, o, "next_retry_ms", (double)sk->next_retry_ms);
}

static void put_alert(struct jw *w, cJSON *a, const struct rec_alert *al)
{
	cJSON *o = add_object(w, a);

	put_str(w, o, "id", al->id);
	put_str(w, o, "state", alert_state_name(al->state));
	put_str(w, o, "kind", alert_kind_name(al->kind));
	put_str(w, o, "parameter", param_name(al->param));
	put_str(w, o, "basis", config_basis_name((enum basis)al->basis));
	put_str(w, o, "sensor_health", quality_name(al->sensor_health));
	put_num(w, o, "window_min", al->window_min);
	put_str(w, o, "outlet", al->outlet);
	put_str(w, o, "sensor", al->sensor);
	put_str(w, o, "permit", al->permit);
	put_str(w, o, "holder", al->holder);
	put_num(w, o, "limit", al->limit);
	put_num(w, o, "value", al->value);
	put_num(w, o, "peak", al->peak);
	put_num(w, o, "since_ms", (double)al->since_ms);
	put_num(w, o, "until_ms", (double)al->until_ms);
}

static cJSON *snapshot_json(struct jw *w, const struct status_snapshot *s)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *a;

	if (!root) {
		w->oom = true;
		return NULL;
	}
	put_num(w, root, "format", STATUS_FORMAT);
	put_str(w, root, "gateway", s->gateway);
	put_str(w, root, "version", s->version);
	put_num(w, root, "pid", (double)s->pid);
	if (!cJSON_AddBoolToObject(root, "stopped", s->stopped))
		w->oom = true;
	put_num(w, root, "started_ms", (double)s->started_wall_ms);
	put_num(w, root, "now_ms", (double)s->now_wall_ms);
	put_clock(w, root, s);
	a = put_array(w, root, "sensors");
	for (size_t i = 0; i < s->n_sensors; i++)
		put_sensor(w, a, &s->sensors[i]);
	a = put_array(w, root, "sinks");
	for (size_t i = 0; i < s->n_sinks; i++)
		put_sink(w, a, &s->sinks[i]);
	a = put_array(w, root, "alerts");
	for (size_t i = 0; i < s->n_alerts; i++)
		put_alert(w, a, &s->alerts[i]);
	return root;
}

int status_to_json(const struct status_snapshot *s, char **out)
{
	struct jw w = { 0 };
	cJSON *root = snapshot_json(&w, s);
	char *text = w.oom ? NULL : cJSON_PrintUnformatted(root);

	cJSON_Delete(root);
	if (!text)
		return -ENOMEM;
	*out = text;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int write_file(const char *tmp, const char *text)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc;

	if (fd < 0)
		return -errno;
	rc = write_all(fd, text, strlen(text));
	if (rc == 0)
		rc = write_all(fd, "\n", 1);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

int status_write(const char *path, const struct status_snapshot *s)
{
	char tmp[4096];
	char *text = NULL;
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int rc;

	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	rc = status_to_json(s, &text);
	if (rc < 0)
		return rc;
	rc = write_file(tmp, text);
	free(text);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* ---- reading ------------------------------------------------------------ */

/* Each getter returns true when key k of o holds a value of the right kind
 * and size, and stores it; false leaves *out alone. */
static bool get_str(const cJSON *o, const char *k, char *dst, size_t cap)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
	size_t n;

	if (!cJSON_IsString(it) || !it->valuestring)
		return false;
	n = strlen(it->valuestring);
	if (n >= cap)
		return false;
	memcpy(dst, it->valuestring, n + 1);
	return true;
}

/* An integral number in [min, max]. */
static bool get_int(const cJSON *o, const char *k, double min, double max, double *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
	double v;

	if (!cJSON_IsNumber(it))
		return false;
	v = it->valuedouble;
	if (!(v >= min && v <= max) || v != floor(v))
		return false;
	*out = v;
	return true;
}

static bool get_i64(const cJSON *o, const char *k, int64_t *out)
{
	double v;

	if (!get_int(o, k, -JSON_INT_MAX, JSON_INT_MAX, &v))
		return false;
	*out = (int64_t)v;
	return true;
}

static bool get_u64(const cJSON *o, const char *k, uint64_t *out)
{
	double v;

	if (!get_int(o, k, 0.0, JSON_INT_MAX, &v))
		return false;
	*out = (uint64_t)v;
	return true;
}

/* Any number; null for one that was not finite. */
static bool get_real(const cJSON *o, const char *k, double *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	if (cJSON_IsNull(it)) {
		*out = NAN;
		return true;
	}
	if (!cJSON_IsNumber(it))
		return false;
	*out = it->valuedouble;
	return true;
}

typedef const char *(*name_fn)(int v);

/* A name out of name(0..count-1), stored as its index. */
static bool get_enum(const cJSON *o, const char *k, name_fn name, int count, uint8_t *out)
{
	char buf[64];

	if (!get_str(o, k, buf, sizeof(buf)))
		return false;
	for (int i = 0; i < count; i++) {
		if (strcmp(buf, name(i)) == 0) {
			*out = (uint8_t)i;
			return true;
		}
	}
	return false;
}

static const char *basis_name(int b)
{
	return config_basis_name((enum basis)b);
}

static bool get_values(const cJSON *o, struct status_sensor *ss)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "values");
	const cJSON *it;
	size_t n = 0;

	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > CFG_MAX_CHANNELS)
		return false;
	cJSON_ArrayForEach(it, a) {
		struct rec_value *v = &ss->values[n++];
		bool ok = cJSON_IsObject(it);

		ok = ok && get_enum(it, "parameter", param_name, P_COUNT, &v->param);
		ok = ok && get_real(it, "v", &v->v);
		ok = ok && get_enum(it, "q", quality_name, Q_COUNT, &v->quality);
		if (!ok)
			return false;
	}
	ss->n_values = (uint8_t)n;
	return true;
}

/* "maintenance": absent or null for none (an older daemon writes none). */
static bool get_maint(const cJSON *o, struct status_sensor *ss)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "maintenance");
	const cJSON *reason;
	bool ok;

	if (!m || cJSON_IsNull(m))
		return true;
	reason = cJSON_GetObjectItemCaseSensitive(m, "reason");
	ok = cJSON_IsObject(m) && get_enum(m, "mode", maint_mode_name, MM_COUNT, &ss->maint_mode);
	ok = ok && get_i64(m, "since_ms", &ss->maint_since_ms);
	ok = ok && get_i64(m, "planned_end_ms", &ss->maint_end_ms);
	ok = ok && (cJSON_IsNull(reason) ||
		    get_str(m, "reason", ss->maint_reason, sizeof(ss->maint_reason)));
	ss->maint = ok;
	return ok;
}

/* "clock": absent from an older daemon's file. */
static bool get_clock(const cJSON *root, struct status_snapshot *s)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "clock");
	const cJSON *synced, *judged;
	char src[8];

	if (!c)
		return true;
	synced = cJSON_GetObjectItemCaseSensitive(c, "kernel_synced");
	judged = cJSON_GetObjectItemCaseSensitive(c, "dates_judged");
	if (!cJSON_IsObject(c) || !get_str(c, "source", src, sizeof(src)) ||
	    (strcmp(src, "ntp") != 0 && strcmp(src, "rtc") != 0) || !cJSON_IsBool(synced) ||
	    !cJSON_IsBool(judged))
		return false;
	s->has_clock = true;
	s->clock_rtc = strcmp(src, "rtc") == 0;
	s->clock_synced = cJSON_IsTrue(synced);
	s->dates_judged = cJSON_IsTrue(judged);
	return true;
}

static bool get_sensor(const cJSON *o, struct status_sensor *ss)
{
	double slave = 0;
	bool ok = cJSON_IsObject(o);

	ok = ok && get_str(o, "name", ss->name, sizeof(ss->name));
	ok = ok && get_str(o, "bus", ss->bus, sizeof(ss->bus));
	ok = ok && get_str(o, "device", ss->device, sizeof(ss->device));
	ok = ok && get_int(o, "slave", 0, 255, &slave);
	ok = ok && get_i64(o, "last_ok_ms", &ss->last_ok_wall_ms);
	ok = ok && get_i64(o, "last_poll_ms", &ss->last_poll_wall_ms);
	ok = ok && get_u64(o, "polls", &ss->polls);
	ok = ok && get_u64(o, "failures", &ss->failures);
	ok = ok && get_u64(o, "timeouts", &ss->timeouts);
	ok = ok && get_u64(o, "crc_errors", &ss->crc_errors);
	ok = ok && get_u64(o, "exceptions", &ss->exceptions);
	ok = ok && (!cJSON_HasObjectItem(o, "late") || get_u64(o, "late", &ss->late)); /* 1.x */
	ok = ok && get_values(o, ss);
	ok = ok && get_maint(o, ss);
	ss->slave = (int)slave;
	return ok;
}

/* last_error (a string or null), last_error_ms, next_retry_ms: each may be
 * absent (an older daemon), but one that is there must be right. */
static bool get_sink_health(const cJSON *o, struct status_sink *sk)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "last_error");

	if (e && !cJSON_IsNull(e) && !get_str(o, "last_error", sk->last_error,
					      sizeof(sk->last_error)))
		return false;
	if (cJSON_GetObjectItemCaseSensitive(o, "last_error_ms") &&
	    !get_i64(o, "last_error_ms", &sk->last_error_ms))
		return false;
	return !cJSON_GetObjectItemCaseSensitive(o, "next_retry_ms") ||
	       get_i64(o, "next_retry_ms", &sk->next_retry_ms);
}

static bool get_sink(const cJSON *o, struct status_sink *sk)
{
	bool ok = cJSON_IsObject(o);

	ok = ok && get_str(o, "name", sk->name, sizeof(sk->name));
	ok = ok && get_u64(o, "unacked", &sk->unacked);
	ok = ok && get_i64(o, "oldest_unacked_ms", &sk->oldest_unacked_ms);
	ok = ok && get_u64(o, "sent", &sk->sent);
	ok = ok && get_u64(o, "retried", &sk->retried);
	ok = ok && get_u64(o, "errors", &sk->errors);
	ok = ok && get_u64(o, "quarantined", &sk->quarantined);
	ok = ok && get_u64(o, "dropped", &sk->dropped);
	return ok && get_sink_health(o, sk);
}

static bool get_alert(const cJSON *o, struct rec_alert *a)
{
	double window = 0;
	bool ok = cJSON_IsObject(o);

	ok = ok && get_str(o, "id", a->id, sizeof(a->id));
	ok = ok && get_enum(o, "state", alert_state_name, 2, &a->state);
	ok = ok && get_enum(o, "kind", alert_kind_name, AK_COUNT, &a->kind);
	ok = ok && get_enum(o, "parameter", param_name, P_COUNT, &a->param);
	ok = ok && get_enum(o, "basis", basis_name, BASIS_DAILY_MEAN + 1, &a->basis);
	ok = ok && get_enum(o, "sensor_health", quality_name, Q_COUNT, &a->sensor_health);
	ok = ok && get_int(o, "window_min", 0, INT32_MAX, &window);
	ok = ok && get_str(o, "outlet", a->outlet, sizeof(a->outlet));
	ok = ok && get_str(o, "sensor", a->sensor, sizeof(a->sensor));
	ok = ok && get_str(o, "permit", a->permit, sizeof(a->permit));
	ok = ok && get_str(o, "holder", a->holder, sizeof(a->holder));
	ok = ok && get_real(o, "limit", &a->limit);
	ok = ok && get_real(o, "value", &a->value);
	ok = ok && get_real(o, "peak", &a->peak);
	ok = ok && get_i64(o, "since_ms", &a->since_ms);
	ok = ok && get_i64(o, "until_ms", &a->until_ms);
	a->window_min = (int32_t)window;
	return ok;
}

/* The array at k with at most max elements: 0 and *arr, *n; -EBADMSG. */
static int get_array(const cJSON *root, const char *k, size_t max, const cJSON **arr,
		     size_t *n)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, k);
	int size;

	if (!cJSON_IsArray(a))
		return -EBADMSG;
	size = cJSON_GetArraySize(a);
	if (size < 0 || (size_t)size > max)
		return -EBADMSG;
	*arr = a;
	*n = (size_t)size;
	return 0;
}

static int get_lists(const cJSON *root, struct status_snapshot *s)
{
	const cJSON *sensors, *sinks, *alerts, *it;
	size_t ns, nk, na, i;

	if (get_array(root, "sensors", STATUS_MAX_SENSORS, &sensors, &ns) < 0 ||
	    get_array(root, "sinks", STATUS_MAX_SINKS, &sinks, &nk) < 0 ||
	    get_array(root, "alerts", STATUS_MAX_ALERTS, &alerts, &na) < 0)
		return -EBADMSG;
	s->sensors = calloc(ns + 1, sizeof(*s->sensors));
	s->sinks = calloc(nk + 1, sizeof(*s->sinks));
	s->alerts = calloc(na + 1, sizeof(*s->alerts));
	if (!s->sensors || !s->sinks || !s->alerts)
		return -ENOMEM;
	i = 0;
	cJSON_ArrayForEach(it, sensors)
		if (!get_sensor(it, &s->sensors[i++]))
			return -EBADMSG;
	i = 0;
	cJSON_ArrayForEach(it, sinks)
		if (!get_sink(it, &s->sinks[i++]))
			return -EBADMSG;
	i = 0;
	cJSON_ArrayForEach(it, alerts)
		if (!get_alert(it, &s->alerts[i++]))
			return -EBADMSG;
	s->n_sensors = ns;
	s->n_sinks = nk;
	s->n_alerts = s->max_alerts = na;
	return 0;
}

static int parse_snapshot(const cJSON *root, struct status_snapshot *s)
{
	const cJSON *stopped = cJSON_GetObjectItemCaseSensitive(root, "stopped");
	double format = 0, pid = 0;
	bool ok = cJSON_IsObject(root) && cJSON_IsBool(stopped);

	ok = ok && get_int(root, "format", 0, 1000, &format) && format == STATUS_FORMAT;
	ok = ok && get_str(root, "gateway", s->gateway, sizeof(s->gateway));
	ok = ok && get_str(root, "version", s->version, sizeof(s->version));
	ok = ok && get_int(root, "pid", 0, PID_MAX, &pid);
	ok = ok && get_i64(root, "started_ms", &s->started_wall_ms);
	ok = ok && get_i64(root, "now_ms", &s->now_wall_ms);
	ok = ok && get_clock(root, s);
	if (!ok)
		return -EBADMSG;
	s->pid = (int64_t)pid;
	s->stopped = cJSON_IsTrue(stopped);
	return get_lists(root, s);
}

/* The whole file plus a NUL: 0 and *buf (caller frees), *len without it. */
static int read_all(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	size_t got = 0;
	char *p;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size < 0 ||
	    (uint64_t)sb.st_size > STATUS_MAX_BYTES) {
		close(fd);
		return -EBADMSG;
	}
	p = malloc((size_t)sb.st_size + 1);
	while (p && got < (size_t)sb.st_size) {
		ssize_t n = read(fd, p + got, (size_t)sb.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* shrank under us, or an error: not a whole file */
		got += (size_t)n;
	}
	close(fd);
	if (!p)
		return -ENOMEM;
	p[got] = '\0';
	*buf = p;
	*len = got;
	return 0;
}

int status_read(const char *path, struct status_snapshot *out)
{
	struct status_snapshot s = { 0 };
	char *buf = NULL;
	size_t len = 0;
	cJSON *root;
	int rc = read_all(path, &buf, &len);

	if (rc < 0)
		return rc;
	/* the NUL is passed on so trailing garbage after the object is refused */
	root = cJSON_ParseWithLengthOpts(buf, len + 1, NULL, true);
	free(buf);
	if (!root)
		return -EBADMSG;
	rc = parse_snapshot(root, &s);
	cJSON_Delete(root);
	if (rc < 0) {
		status_clear(&s);
		return rc;
	}
	*out = s;
	return 0;
}
