/*
 * uplink_req.c - what an HJ 212 platform asks the logger (6.1, Annex C
 * tables C.1-C.8, C.20-C.22): MN, PW and ST checked first (a wrong one
 * gets 9011 QnRtn 4, 3 or 5, a log line and a count); then 9011 QnRtn=1,
 * the answer, 9012 ExeRtn. The intervals and timeouts a platform sets are
 * kept in data_dir/hj212-<name>.state (temp, fsync, rename, directory
 * fsync) together with the configured values they replaced, so a later
 * change of the config file wins again. Back-fill reads the local history
 * one period (one 2051 window, hour or day) at a time while the reply
 * queue has room.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "sinks/history/history.h"

enum { QN_READY = 1, QN_REFUSED = 2, QN_PW = 3, QN_MN = 4, QN_ST = 5, QN_CN = 8 };
enum { EXE_OK = 1, EXE_FAILED = 2, EXE_BAD_REQUEST = 3, EXE_NO_DATA = 100 };

static const int min_intervals[] = { 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 };

bool uplink_reply(struct uplink *u, const char *p, size_t len)
{
	if (len > sizeof(u->reply) - u->reply_len)
		return false;
	memcpy(u->reply + u->reply_len, p, len);
	u->reply_len += len;
	return true;
}

/* ---- time text ------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* "YYYYMMDDhhmmss" (and "zzz" when digits is 17) as ms, read as UTC; -1 bad. */
static int64_t time_text(const char *s, size_t n, size_t digits)
{
	int v[7] = { 0 }, w[7] = { 4, 2, 2, 2, 2, 2, 3 };
	size_t pos = 0;

	if (!s || n != digits || strspn(s, "0123456789") < n)
		return -1;
	for (int i = 0; i < 7 && pos < n; i++)
		for (int k = 0; k < w[i]; k++)
			v[i] = v[i] * 10 + (s[pos++] - '0');
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 59)
		return -1;
	return ((days_from_civil(v[0], v[1], v[2]) * 24 + v[3]) * 60 + v[4]) * 60000 +
	       (int64_t)v[5] * 1000 + v[6];
}

/* A CP time as wall ms: written in the outlet's local time. */
static int64_t cp_time(const struct hj212_msg *m, const char *key)
{
	size_t n = 0;
	const char *v = hj212_cp_get(m, key, &n);
	int64_t t = time_text(v, n, 14);

	return t < 0 ? -1 : t - (int64_t)uplink_utc_off_min(t) * 60000;
}

/* ---- packets back ------------------------------------------------------------ */

/* One packet (split if need be) into the reply queue, with req's QN, PW
 * and MN; Flag without A. False when it does not fit (logged). */
static bool send_cp(struct uplink *u, const struct hj212_msg *req, int st, int cn,
		    const char *data)
{
	static char buf[HJ_MSG_MAX]; /* loop thread only; keeps the stack small */
	struct hj212_hdr h = { .st = st, .cn = cn, .pw = req->pw, .mn = req->mn,
			       .version = u->cfg.version == 2025 ? HJ212_VERSION_2025
			       : HJ212_VERSION_2017 };
	size_t len[HJ_PARTS_MAX], n = 0, total = 0;
	int rc;

	h.qn_ms = time_text(req->qn, strlen(req->qn), HJ212_QN_LEN); /* read as UTC ... */
	h.utc_offset_min = 0;                                        /* ... written back so */
	rc = hj212_packets(buf, sizeof(buf), &h, data, strlen(data), len, HJ_PARTS_MAX, &n);
	for (size_t i = 0; rc == 0 && i < n; i++)
		total += len[i];
	if (rc < 0 || !uplink_reply(u, buf, total)) {
		uplink_error(u, LOG_WARNING, "reply %d to QN %s not sent: %s", cn, req->qn,
			     rc < 0 ? strerror(-rc) : "reply queue full");
		return false;
	}
	return true;
}

/* A record of ours (back-fill): a new QN, no reply asked (C.20). */
static bool send_new(struct uplink *u, int cn, const char *data)
{
	struct hj212_msg me = { .st = u->cfg.st };
	int64_t qn = uplink_qn_ms(u, HJ_PARTS_MAX); /* each part its own */

	snprintf(me.pw, sizeof(me.pw), "%s", u->cfg.pw);
	snprintf(me.mn, sizeof(me.mn), "%s", u->cfg.mn);
	hj212_qn(me.qn, qn, uplink_utc_off_min(qn));
	return send_cp(u, &me, u->cfg.st, cn, data);
}

static void qn_rtn(struct uplink *u, const struct hj212_msg *req, int code)
{
	char cp[32];

	if (!(req->flag & HJ212_FLAG_A) && code == QN_READY)
		return; /* no reply asked for */
	snprintf(cp, sizeof(cp), "QnRtn=%d", code);
	send_cp(u, req, 91, 9011, cp);
}

static void exe_rtn(struct uplink *u, const struct hj212_msg *req, int code)
{
	char cp[32];

	if (!(req->flag & HJ212_FLAG_A))
		return;
	snprintf(cp, sizeof(cp), "ExeRtn=%d", code);
	send_cp(u, req, 91, 9012, cp);
}

/* The answer of a get (1011, 1061, 1063): ST ours, CN the request's. */
static void answer(struct uplink *u, const struct hj212_msg *req, const char *cp)
{
	qn_rtn(u, req, QN_READY);
	send_cp(u, req, u->cfg.st, req->cn, cp);
	exe_rtn(u, req, EXE_OK);
}

static void refuse(struct uplink *u, const struct hj212_msg *req, int code, const char *why)
{
	u->n.refused++;
	complain(&u->c_rx, clock_mono_ms(), LOG_WARNING, "hj212 %s: refused CN %d (QN %s): %s",
		 u->cfg.name, req->cn, req->qn, why);
	qn_rtn(u, req, code);
}

/* ---- the state file ---------------------------------------------------------- */

struct hj_state {
	int rtd, cfg_rtd, min, cfg_min, timeout, cfg_timeout, retries, cfg_retries;
};

static int state_write(const struct uplink *u, const struct hj_state *s)
{
	char tmp[HJ_PATH_MAX], dir[HJ_PATH_MAX], text[256], *slash;
	int n = snprintf(text, sizeof(text), "rtd_interval_s %d %d\nmin_interval_min %d %d\n"
			 "timeout_s %d %d\nretries %d %d\n", s->rtd, s->cfg_rtd, s->min,
			 s->cfg_min, s->timeout, s->cfg_timeout, s->retries, s->cfg_retries);
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", u->state_path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)n) != n || fsync(fd) < 0)
		rc = errno ? -errno : -EIO;
	close(fd);
	if (rc == 0 && rename(tmp, u->state_path) < 0)
		rc = -errno;
	snprintf(dir, sizeof(dir), "%s", u->state_path);
	slash = strrchr(dir, '/');
	if (rc == 0 && slash) {
		*slash = '\0';
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	if (rc < 0)
		unlink(tmp);
	return rc;
}

static void state_save(struct uplink *u)
{
	struct hj_state s = { u->cfg.rtd_interval_s, u->rtd_cfg, u->cfg.min_interval_min,
			      u->min_cfg, u->cfg.timeout_s, u->timeout_cfg, u->cfg.retries,
			      u->retries_cfg };
	int rc = state_write(u, &s);

	if (rc < 0)
		uplink_error(u, LOG_ERR, "%s: cannot save what the platform set: %s; it holds "
			     "until a restart", u->state_path, strerror(-rc));
}

/* One "key platform_value config_value" line: the platform's value wins
 * while the config still says what it said then. */
static void state_apply(struct uplink *u, const char *key, int v, int was, int *cur)
{
	if (was != *cur)
		return; /* the config changed since: it wins */
	if (v != *cur)
		log_notice("hj212 %s: %s %d, as the platform set it (the config says %d)",
			   u->cfg.name, key, v, *cur);
	*cur = v;
}

void uplink_state_load(struct uplink *u)
{
	FILE *f;
	char key[32];
	int v, was;

	u->rtd_cfg = u->cfg.rtd_interval_s;
	u->min_cfg = u->cfg.min_interval_min;
	u->timeout_cfg = u->cfg.timeout_s;
	u->retries_cfg = u->cfg.retries;
	f = fopen(u->state_path, "re");
	if (!f)
		return;
	while (fscanf(f, "%31s %d %d", key, &v, &was) == 3) {
		if (strcmp(key, "rtd_interval_s") == 0 && v >= 30 && v <= 3600)
			state_apply(u, key, v, was, &u->cfg.rtd_interval_s);
		else if (strcmp(key, "min_interval_min") == 0 && v >= 1 && v <= 30)
			state_apply(u, key, v, was, &u->cfg.min_interval_min);
		else if (strcmp(key, "timeout_s") == 0 && v >= 1 && v <= 99)
			state_apply(u, key, v, was, &u->cfg.timeout_s);
		else if (strcmp(key, "retries") == 0 && v >= 0 && v <= 99)
			state_apply(u, key, v, was, &u->cfg.retries);
	}
	fclose(f);
}

/* ---- the requests -------------------------------------------------------------- */

static bool cp_int(const struct hj212_msg *m, const char *key, int lo, int hi, int *out)
{
	size_t n = 0;
	const char *v = hj212_cp_get(m, key, &n);
	int x = 0;

	if (!v || n == 0 || n > 5 || strspn(v, "0123456789") < n)
		return false;
	for (size_t i = 0; i < n; i++)
		x = x * 10 + (v[i] - '0');
	if (x < lo || x > hi)
		return false;
	*out = x;
	return true;
}

static void get_time(struct uplink *u, const struct hj212_msg *m)
{
	char cp[96], t[15];
	size_t n = 0;
	const char *pol = hj212_cp_get(m, "PolId", &n);
	int64_t now = u->wall();

	hj212_time14(t, now, uplink_utc_off_min(now));
	if (pol && n > 0 && n < 16)
		snprintf(cp, sizeof(cp), "PolId=%.*s;SystemTime=%s", (int)n, pol, t);
	else
		snprintf(cp, sizeof(cp), "SystemTime=%s", t);
	answer(u, m, cp);
}

/* 1012: the clock is NTP's (or the RTC's), never a platform's. */
static void set_time(struct uplink *u, const struct hj212_msg *m)
{
	int64_t t = cp_time(m, "SystemTime");

	if (t < 0) {
		refuse(u, m, QN_REFUSED, "SystemTime missing or malformed");
		return;
	}
	u->n.requests++;
	log_notice("hj212 %s: the platform would set the clock to %+.3f s from ours; "
		   "outfalld never sets the clock (NTP does): refused with ExeRtn=%d",
		   u->cfg.name, (double)(t - u->wall()) / 1000.0, EXE_BAD_REQUEST);
	qn_rtn(u, m, QN_READY);
	exe_rtn(u, m, EXE_BAD_REQUEST);
}

static bool min_ok(int v)
{
	for (size_t i = 0; i < sizeof(min_intervals) / sizeof(min_intervals[0]); i++)
		if (min_intervals[i] == v)
			return true;
	return false;
}

/* 1062, 1064, 1000: one or two numbers, checked, kept. */
static void set_value(struct uplink *u, const struct hj212_msg *m)
{
	int a = 0, b = 0;
	bool ok;

	if (m->cn == 1062)
		ok = cp_int(m, "RtdInterval", 30, 3600, &a);
	else if (m->cn == 1064)
		ok = cp_int(m, "MinInterval", 1, 30, &a) && min_ok(a);
	else
		ok = cp_int(m, "OverTime", 1, 99, &a) && cp_int(m, "ReCount", 1, 99, &b);
	if (!ok) {
		refuse(u, m, QN_REFUSED, "value missing or outside the standard's range");
		return;
	}
	u->n.requests++;
	if (m->cn == 1062)
		u->cfg.rtd_interval_s = a;
	else if (m->cn == 1064)
		u->cfg.min_interval_min = a;
	else {
		u->cfg.timeout_s = a;
		u->cfg.retries = b;
	}
	log_notice("hj212 %s: the platform set %s %d%s%.0d", u->cfg.name,
		   m->cn == 1062 ? "rtd_interval_s" : m->cn == 1064 ? "min_interval_min" :
		   "timeout_s", a, m->cn == 1000 ? ", retries " : "", m->cn == 1000 ? b : 0);
	state_save(u);
	qn_rtn(u, m, QN_READY);
	exe_rtn(u, m, EXE_OK);
}

static void get_value(struct uplink *u, const struct hj212_msg *m)
{
	char cp[48];

	u->n.requests++;
	if (m->cn == 1061)
		snprintf(cp, sizeof(cp), "RtdInterval=%d", u->cfg.rtd_interval_s);
	else
		snprintf(cp, sizeof(cp), "MinInterval=%d", u->cfg.min_interval_min);
	answer(u, m, cp);
}

static void backfill_start(struct uplink *u, const struct hj212_msg *m)
{
	int64_t begin = cp_time(m, "BeginTime"), end = cp_time(m, "EndTime");
	int period = m->cn == 2051 ? AGG_MINUTE : m->cn == 2061 ? AGG_HOUR : AGG_DAY;

	if (begin < 0 || end < 0 || end < begin) {
		refuse(u, m, QN_REFUSED, "BeginTime/EndTime missing, malformed or reversed");
		return;
	}
	if (!u->history_dir) {
		refuse(u, m, QN_REFUSED, "no local history is kept (no history section)");
		return;
	}
	if (u->bf.active) {
		refuse(u, m, QN_REFUSED, "a back-fill is already under way");
		return;
	}
	u->n.requests++;
	qn_rtn(u, m, QN_READY);
	u->bf = (struct hj_backfill){ .active = true, .cn = m->cn, .period = period,
				      .next_ms = begin, .end_ms = end };
	u->bf.req = *m;
	u->bf.req.n_kv = 0; /* its CP points into the read buffer: not kept */
	u->bf.req.cp = NULL;
	u->bf.req.cp_len = 0;
	log_notice("hj212 %s: back-fill %d from the local history requested (QN %s)",
		   u->cfg.name, m->cn, m->qn);
	uplink_backfill_step(u);
}

void uplink_request(struct uplink *u, const struct hj212_msg *m, int64_t now_ms)
{
	if (time_text(m->qn, strlen(m->qn), HJ212_QN_LEN) < 0) {
		u->n.refused++; /* a reply must carry its QN: there is none to give */
		complain(&u->c_rx, now_ms, LOG_WARNING, "hj212 %s: refused CN %d: QN \"%s\" is "
			 "not a time; no reply", u->cfg.name, m->cn, m->qn);
		return;
	}
	if (strcmp(m->mn, u->cfg.mn) != 0) {
		refuse(u, m, QN_MN, "MN is not this outlet's");
		return;
	}
	if (strcmp(m->pw, u->cfg.pw) != 0) {
		refuse(u, m, QN_PW, "wrong PW");
		return;
	}
	if (m->st != u->cfg.st) {
		refuse(u, m, QN_ST, "ST is not this logger's");
		return;
	}
	switch (m->cn) {
	case 1011:
		u->n.requests++;
		get_time(u, m);
		break;
	case 1012:
		set_time(u, m);
		break;
	case 1061:
	case 1063:
		get_value(u, m);
		break;
	case 1000:
	case 1062:
	case 1064:
		set_value(u, m);
		break;
	case 2051:
	case 2061:
	case 2031:
		backfill_start(u, m);
		break;
	default:
		refuse(u, m, QN_CN, "not a request this logger answers");
	}
}

/* ---- back-fill ------------------------------------------------------------------ */

struct bf_rows {
	struct rec_aggregate a[HJ_BF_GROUP]; /* one per period start */
	int64_t start[HJ_BF_GROUP];
	int n;
};

static int bf_row(const struct hist_aggregate *h, void *arg)
{
	struct bf_rows *r = arg;
	int k = r->n - 1;

	if (k < 0 || r->start[k] != h->ts_ms) {
		if (r->n == HJ_BF_GROUP)
			return 1;
		k = r->n++;
		r->start[k] = h->ts_ms;
		memset(&r->a[k], 0, sizeof(r->a[k]));
		r->a[k].end_ms = h->end_ms;
		r->a[k].period = h->period;
	}
	if (r->a[k].n < REC_MAX_VALUES)
		r->a[k].params[r->a[k].n++] = h->p;
	return 0;
}

struct bf_flags {
	const struct uplink *u;
	char f[P_COUNT];
};

static int bf_reading(const struct hist_reading *r, void *arg)
{
	struct bf_flags *b = arg;
	char f = uplink_value_flag(b->u, &r->v);

	if (r->v.param < P_COUNT && uplink_flag_rank(f) > uplink_flag_rank(b->f[r->v.param]))
		b->f[r->v.param] = f;
	return 0;
}

/* The period record of [start, end) from the history into the reply queue;
 * false when the history could not be read. */
static bool bf_one(struct uplink *u, struct history *h, int64_t start, int64_t end)
{
	static struct bf_rows rows;
	static struct hj_minwin w;
	struct bf_flags fl = { .u = u };
	char data[HJ212_SEG_MAX * HJ_PARTS_MAX], flags[REC_MAX_VALUES];
	int len;

	rows.n = 0;
	if (history_aggregates(h, u->outlet, u->bf.period, start, end, bf_row, &rows) < 0 ||
	    history_readings(h, u->outlet, -1, start, end, bf_reading, &fl) < 0)
		return false;
	if (rows.n == 0)
		return true;
	uplink_mw_begin(&w, u->outlet, start, end);
	for (int i = 0; i < rows.n; i++) {
		for (int k = 0; k < rows.a[i].n; k++) {
			const struct rec_agg_param *ap = &rows.a[i].params[k];

			flags[k] = fl.f[ap->param] ? fl.f[ap->param] : ap->count ? 'N' : 'D';
		}
		uplink_mw_add(&w, &rows.a[i], flags);
	}
	uplink_mw_finish(&w);
	u->fmt.utc_offset_min = uplink_utc_off_min(start);
	len = hj212_cp_period(data, sizeof(data), &u->fmt, start, &w.a, w.flags, NULL);
	if (len < 0)
		return true; /* cannot be encoded: skipped */
	if (!send_new(u, u->bf.cn, data))
		return false;
	u->bf.sent++;
	u->n.backfilled++;
	return true;
}

/* The period (a 2051 window of min_interval_min, an hour, a day) holding t. */
static void bf_window(const struct uplink *u, int64_t t, int64_t *start, int64_t *end)
{
	int64_t off = (int64_t)uplink_utc_off_min(t) * 60000, span;

	switch (u->bf.period) {
	case AGG_MINUTE:
		span = (int64_t)u->cfg.min_interval_min * 60000;
		*start = t + off - (((t + off) % span) + span) % span - off;
		*end = *start + span;
		break;
	case AGG_HOUR:
		*start = uplink_period_start(AGG_HOUR, t);
		*end = *start + 3600000;
		break;
	default: /* the next local midnight, whatever the day's length */
		*start = uplink_period_start(AGG_DAY, t);
		*end = uplink_period_start(AGG_DAY, *start + 36 * 3600000LL);
	}
}

void uplink_backfill_step(struct uplink *u)
{
	struct history *h = NULL;
	char err[256];

	if (!u->bf.active || sizeof(u->reply) - u->reply_len < 2 * HJ_MSG_MAX)
		return;
	if (history_open(u->history_dir, &h, err, sizeof(err)) < 0) {
		uplink_error(u, LOG_WARNING, "back-fill: %s", err);
		exe_rtn(u, &u->bf.req, EXE_FAILED);
		u->bf.active = false;
		return;
	}
	while (u->bf.next_ms <= u->bf.end_ms &&
	       sizeof(u->reply) - u->reply_len >= 2 * HJ_MSG_MAX) {
		int64_t start, end;

		bf_window(u, u->bf.next_ms, &start, &end);
		if (!bf_one(u, h, start, end))
			break;
		u->bf.next_ms = end;
	}
	history_close(h);
	if (u->bf.next_ms > u->bf.end_ms) {
		log_notice("hj212 %s: back-fill %d: %u record%s sent", u->cfg.name, u->bf.cn,
			   u->bf.sent, u->bf.sent == 1 ? "" : "s");
		exe_rtn(u, &u->bf.req, u->bf.sent ? EXE_OK : EXE_NO_DATA);
		u->bf.active = false;
	}
}
