/*
 * ctl_check_json.c - the commissioning report as one JSON object, for
 * commissioning records kept by machines: the same content as the text
 * report, with verdicts as words and numbers that are not finite as null.
 * Readings print at their precision (a float32 as its shortest decimal),
 * as the daemon's outputs do.
 */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_check.h"
#include "base/clock.h"
#include "base/numfmt.h"
#include "base/param.h"

/* Any failed allocation sets oom; the tree is then thrown away whole. */
struct jw {
	bool oom;
};

static cJSON *checked(struct jw *w, cJSON *item)
{
	if (!item)
		w->oom = true;
	return item;
}

static void num(struct jw *w, cJSON *o, const char *k, double v)
{
	checked(w, isfinite(v) ? cJSON_AddNumberToObject(o, k, v) : cJSON_AddNullToObject(o, k));
}

/* A reading at the precision its flags give, not cJSON's 17 digits. */
static void reading(struct jw *w, cJSON *o, const char *k, double v, unsigned flags)
{
	char text[NUMFMT_MAX];

	if (!isfinite(v)) {
		checked(w, cJSON_AddNullToObject(o, k));
		return;
	}
	numfmt_value(text, v, flags);
	checked(w, cJSON_AddRawToObject(o, k, text));
}

static void str(struct jw *w, cJSON *o, const char *k, const char *v)
{
	checked(w, v ? cJSON_AddStringToObject(o, k, v) : cJSON_AddNullToObject(o, k));
}

static cJSON *obj_in(struct jw *w, cJSON *array)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(array, o)) {
		cJSON_Delete(o);
		w->oom = true;
		return NULL;
	}
	return o;
}

static void date(struct jw *w, cJSON *o, const char *k, struct cfg_date d)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", d.year % 10000, d.month % 100, d.day % 100);
	str(w, o, k, buf);
}

static void put_permits(struct jw *w, const struct chk_report *r, cJSON *root)
{
	cJSON *a = checked(w, cJSON_AddArrayToObject(root, "permits"));

	for (size_t i = 0; i < r->cfg->n_permits; i++) {
		const struct cfg_permit *p = &r->cfg->permits[i];
		cJSON *o = obj_in(w, a);
		int64_t left;
		enum chk_permit_state st = chk_permit_state(r, p, &left);

		str(w, o, "number", p->number);
		str(w, o, "holder", p->holder);
		str(w, o, "category", p->category);
		date(w, o, "valid_from", p->valid_from);
		date(w, o, "valid_until", p->valid_until);
		str(w, o, "state", chk_permit_name(st));
		num(w, o, "days_left", (double)left);
		num(w, o, "daily_volume_max_m3", p->has_daily_volume ? p->daily_volume_max_m3 : NAN);
	}
}

static void put_limits(struct jw *w, const struct chk_report *r, const struct cfg_sensor *s,
		       const struct rec_value *v, cJSON *o)
{
	const struct cfg_permit *p = chk_sensor_permit(r->cfg, s);
	const struct cfg_signature *sig;
	cJSON *a = checked(w, cJSON_AddArrayToObject(o, "limits"));

	for (size_t k = 0; p && k < p->n_limits; k++) {
		const struct cfg_limit *l = &p->limits[k];
		cJSON *lo;

		if (l->param != v->param)
			continue;
		lo = obj_in(w, a);
		str(w, lo, "permit", p->number);
		str(w, lo, "basis", config_basis_name(l->basis));
		num(w, lo, "window_min", l->basis == BASIS_ROLLING ? l->window_min : NAN);
		num(w, lo, "min", l->has_min ? l->min : NAN);
		num(w, lo, "max", l->has_max ? l->max : NAN);
		str(w, lo, "verdict", chk_verdict_name(chk_sensor_limit_verdict(r, s, l, v)));
	}
	sig = s->outlet >= 0 ? chk_signature(&r->cfg->outlets[s->outlet], v->param) : NULL;
	if (sig) {
		cJSON *so = checked(w, cJSON_AddObjectToObject(o, "sewage_signature"));

		num(w, so, "above", sig->above);
		str(w, so, "verdict", chk_verdict_name(chk_signature_verdict(r, s, sig, v)));
	}
}

/* "word_orders":{"abcd":{"value":..,"plausible":..},...}: the same
 * registers read in every order, for an implausible reading. */
static void put_orders(struct jw *w, const struct cfg_channel *ch, const struct rec_value *v,
		       cJSON *o)
{
	cJSON *all = checked(w, cJSON_AddObjectToObject(o, "word_orders"));
	struct chk_orders ord;

	chk_channel_orders(ch, v, &ord);
	for (int k = WO_ABCD; k <= WO_DCBA; k++) {
		cJSON *one = checked(w, cJSON_AddObjectToObject(all,
							 config_order_name((enum word_order)k)));

		reading(w, one, "value", ord.v[k], v->flags);
		checked(w, cJSON_AddBoolToObject(one, "plausible", ord.plausible[k]));
	}
}

/* "suggested_word_order": ["abcd"] when some order makes every channel
 * plausible where the configured one does not, else null. */
static void put_suggestion(struct jw *w, const struct chk_sensor *cs, cJSON *o)
{
	cJSON *a;

	if (!cs->orders) {
		checked(w, cJSON_AddNullToObject(o, "suggested_word_order"));
		return;
	}
	a = checked(w, cJSON_AddArrayToObject(o, "suggested_word_order"));
	for (int k = WO_ABCD; k <= WO_DCBA; k++) {
		cJSON *name;

		if (!(cs->orders & (1u << k)))
			continue;
		name = cJSON_CreateString(config_order_name((enum word_order)k));
		if (!name || !cJSON_AddItemToArray(a, name)) {
			cJSON_Delete(name);
			w->oom = true;
		}
	}
}

static void put_channel(struct jw *w, const struct chk_report *r, const struct cfg_sensor *s,
			size_t c, cJSON *a)
{
	const struct cfg_channel *ch = &s->channels[c];
	const struct rec_value *v = &r->sensors[s - r->cfg->sensors].poll.values[c];
	enum plausibility why = chk_plausibility(v);
	bool has_value = v->quality == Q_OK || v->quality == Q_OUT_OF_RANGE || why != PL_OK;
	cJSON *o = obj_in(w, a), *rng;

	str(w, o, "parameter", param_name(ch->param));
	str(w, o, "unit", param_unit(ch->param));
	reading(w, o, "value", has_value ? v->v : NAN, v->flags);
	str(w, o, "quality", quality_name(v->quality));
	checked(w, cJSON_AddBoolToObject(o, "plausible", why == PL_OK));
	str(w, o, "implausible", why == PL_OK ? NULL : plausibility_name(why));
	if (why != PL_OK)
		str(w, o, "hint", s->driver == DRIVER_MODBUS ? chk_hint(ch, v, why)
				  : param_hint(ch->param, v->v, why, false));
	if (why != PL_OK && s->driver == DRIVER_MODBUS)
		put_orders(w, ch, v, o);
	if (s->driver == DRIVER_MODBUS) {
		str(w, o, "table", ch->table == TABLE_INPUT ? "input" : "holding");
		num(w, o, "register", ch->reg);
		str(w, o, "type", config_type_name(ch->type));
		str(w, o, "word_order", config_order_name(ch->order));
	}
	if (ch->has_range) {
		rng = checked(w, cJSON_AddObjectToObject(o, "range"));
		num(w, rng, "min", ch->range_min);
		num(w, rng, "max", ch->range_max);
		str(w, rng, "verdict", chk_verdict_name(chk_range_verdict(ch, v)));
	} else {
		checked(w, cJSON_AddNullToObject(o, "range"));
	}
	put_limits(w, r, s, v, o);
}

static void put_sensor(struct jw *w, const struct chk_report *r, size_t i, cJSON *a)
{
	const struct config *cfg = r->cfg;
	const struct cfg_sensor *s = &cfg->sensors[i];
	const struct chk_sensor *cs = &r->sensors[i];
	const struct cfg_permit *p = chk_sensor_permit(cfg, s);
	const struct driver_ops *ops = driver_for(s->driver);
	cJSON *o = obj_in(w, a), *ch;

	str(w, o, "name", s->name);
	str(w, o, "bus", cfg->buses[s->bus].name);
	str(w, o, "device", cfg->buses[s->bus].device);
	str(w, o, "driver", ops ? ops->name : NULL);
	num(w, o, "slave", s->driver == DRIVER_MODBUS ? s->slave : NAN);
	str(w, o, "outlet", s->outlet >= 0 ? cfg->outlets[s->outlet].id : NULL);
	str(w, o, "permit", p ? p->number : NULL);
	str(w, o, "result", chk_result_name(cs->rc));
	str(w, o, "result_text", chk_result_text(cs->rc));
	num(w, o, "requests", (double)cs->cnt.requests);
	num(w, o, "timeouts", (double)cs->cnt.timeouts);
	num(w, o, "crc_errors", (double)cs->cnt.crc_errors);
	num(w, o, "exceptions", (double)cs->cnt.exceptions);
	put_suggestion(w, cs, o);
	ch = checked(w, cJSON_AddArrayToObject(o, "channels"));
	for (size_t c = 0; c < s->n_channels; c++)
		put_channel(w, r, s, c, ch);
}

static void put_problems(struct jw *w, const struct chk_report *r, cJSON *root)
{
	static const char *const kinds[] = { "read", "limit", "note", "hint" };
	cJSON *a = checked(w, cJSON_AddArrayToObject(root, "problems"));
	bool ok = !r->lost_problems;

	for (size_t i = 0; i < r->n_problems; i++) {
		cJSON *o = obj_in(w, a);

		str(w, o, "kind", kinds[r->problems[i].kind]);
		str(w, o, "text", r->problems[i].text);
		ok &= r->problems[i].kind == CK_NOTE || r->problems[i].kind == CK_HINT;
	}
	num(w, root, "lost_problems", (double)r->lost_problems);
	checked(w, cJSON_AddBoolToObject(root, "ok", ok));
}

static void put_header(struct jw *w, const struct chk_report *r, cJSON *root)
{
	char when[64], host[256] = "";

	str(w, root, "report", "outfall commissioning report");
	str(w, root, "tool", "outfallctl");
	str(w, root, "version", OUTFALL_VERSION);
	str(w, root, "gateway", r->cfg->id);
	str(w, root, "generated", clock_rfc3339(r->wall_ms, when, sizeof(when)));
	ctl_format_local(r->wall_ms, when, sizeof(when));
	str(w, root, "generated_local", when);
	str(w, root, "timezone", r->cfg->timezone);
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	str(w, root, "host", host);
	str(w, root, "config", r->path);
	str(w, root, "permits_file", r->cfg->permits_path);
}

int chk_print_json(const struct chk_report *r, FILE *out)
{
	struct jw w = { 0 };
	cJSON *root = cJSON_CreateObject(), *a;
	char *text = NULL;

	if (!root)
		return -ENOMEM;
	put_header(&w, r, root);
	put_permits(&w, r, root);
	a = checked(&w, cJSON_AddArrayToObject(root, "sensors"));
	for (size_t i = 0; i < r->cfg->n_sensors; i++)
		put_sensor(&w, r, i, a);
	put_problems(&w, r, root);
	if (!w.oom)
		text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return -ENOMEM;
	fprintf(out, "%s\n", text);
	cJSON_free(text);
	return 0;
}
