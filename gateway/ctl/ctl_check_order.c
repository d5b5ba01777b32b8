/*
 * ctl_check_order.c - `outfallctl check`'s plausibility judgement (DESIGN
 * §5) and, for a Modbus sensor whose readings cannot be physical, the
 * word order that would make them so: the registers behind each decoded
 * value are recovered (decode_unraw, exact for what a read can give) and
 * decoded again in the four orders, as `outfallctl read --all-orders`
 * shows them. Pure functions over the report.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl_check.h"
#include "base/numfmt.h"

static bool has_value(const struct rec_value *v)
{
	return v->quality == Q_OK || v->quality == Q_OUT_OF_RANGE || v->quality == Q_INVALID;
}

enum plausibility chk_plausibility(const struct rec_value *v)
{
	enum plausibility why;

	if (!has_value(v))
		return PL_OK; /* nothing was read: not this judgement's business */
	why = param_plausible(v->param, v->v);
	if (why == PL_OK && (v->flags & RV_IMPLAUSIBLE) && v->param == P_VOLUME_TOTAL)
		return PL_JUMP; /* judged so upstream: a counter that leapt */
	return why;
}

static bool in_range(const struct cfg_channel *c, double v)
{
	return !c->has_range || (v >= c->range_min && v <= c->range_max);
}

void chk_channel_orders(const struct cfg_channel *c, const struct rec_value *v,
			struct chk_orders *out)
{
	uint16_t regs[4];

	memset(out, 0, sizeof(*out));
	if (!has_value(v))
		return;
	decode_unraw((v->v - c->offset) / c->scale, c->type, c->order, regs);
	for (int o = WO_ABCD; o <= WO_DCBA; o++) {
		double x = decode_raw(regs, c->type, (enum word_order)o) * c->scale + c->offset;

		out->v[o] = x;
		out->plausible[o] = param_plausible(c->param, x) == PL_OK && in_range(c, x);
		if (out->plausible[o])
			out->mask |= 1u << o;
	}
}

const char *chk_hint(const struct cfg_channel *c, const struct rec_value *v,
		     enum plausibility why)
{
	struct chk_orders o;

	chk_channel_orders(c, v, &o);
	if (o.mask & ~(1u << c->order))
		return "word order?";
	return param_hint(c->param, v->v, why, true);
}

unsigned chk_sensor_orders(const struct chk_report *r, size_t i)
{
	const struct cfg_sensor *s = &r->cfg->sensors[i];
	const struct chk_sensor *cs = &r->sensors[i];
	unsigned mask = 0xf;
	bool wrong = false;

	if (s->driver != DRIVER_MODBUS || !cs->polled)
		return 0;
	for (size_t c = 0; c < s->n_channels; c++) {
		const struct rec_value *v = &cs->poll.values[c];
		struct chk_orders o;

		if (!has_value(v))
			continue;
		chk_channel_orders(&s->channels[c], v, &o);
		mask &= o.mask;
		wrong |= chk_plausibility(v) != PL_OK;
	}
	return wrong ? mask : 0;
}

int chk_orders_text(unsigned mask, char *buf, size_t cap)
{
	size_t len = 0;
	int n = 0;

	buf[0] = '\0';
	for (int o = WO_ABCD; o <= WO_DCBA; o++) {
		int k;

		if (!(mask & (1u << o)))
			continue;
		k = snprintf(buf + len, cap - len, "%s\"%s\"", n ? " or " : "",
			     config_order_name((enum word_order)o));
		if (k < 0 || (size_t)k >= cap - len)
			break;
		len += (size_t)k;
		n++;
	}
	return n;
}

void chk_read_command(const struct chk_report *r, const struct cfg_sensor *s,
		      const struct cfg_channel *c, char *buf, size_t cap)
{
	const struct cfg_bus *b = &r->cfg->buses[s->bus];

	snprintf(buf, cap, "outfallctl read --all-orders --device %s --baud %d --parity %c "
		 "--slave %d%s --register %d --type %s", b->device, b->baud, b->parity, s->slave,
		 c->table == TABLE_INPUT ? " --table input" : "", c->reg,
		 config_type_name(c->type));
}

/* "cod 230 mg/L, ph 7.2 pH" read in order o, for the hint. */
static void values_in_order(const struct chk_report *r, size_t i, int o, char *buf, size_t cap)
{
	const struct cfg_sensor *s = &r->cfg->sensors[i];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t c = 0; c < s->n_channels; c++) {
		const struct rec_value *v = &r->sensors[i].poll.values[c];
		char num[NUMFMT_MAX];
		struct chk_orders ord;
		int k;

		if (!has_value(v))
			continue;
		chk_channel_orders(&s->channels[c], v, &ord);
		numfmt_value(num, ord.v[o], v->flags);
		k = snprintf(buf + len, cap - len, "%s%s %s %s", len ? ", " : "",
			     param_name(s->channels[c].param), num, param_unit(s->channels[c].param));
		if (k < 0 || (size_t)k >= cap - len)
			return;
		len += (size_t)k;
	}
}

/* The configured orders of the channels with a value, as orders_text. */
static unsigned configured_orders(const struct chk_report *r, size_t i)
{
	const struct cfg_sensor *s = &r->cfg->sensors[i];
	unsigned mask = 0;

	for (size_t c = 0; c < s->n_channels; c++)
		if (has_value(&r->sensors[i].poll.values[c]))
			mask |= 1u << s->channels[c].order;
	return mask;
}

void chk_suggest_orders(struct chk_report *r, size_t i)
{
	const struct cfg_sensor *s = &r->cfg->sensors[i];
	char orders[64], now[64], vals[CHK_PROBLEM_LEN / 2];
	bool wrong = false;
	unsigned mask;
	int first = WO_ABCD;

	if (s->driver != DRIVER_MODBUS || !r->sensors[i].polled)
		return;
	for (size_t c = 0; c < s->n_channels; c++)
		wrong |= chk_plausibility(&r->sensors[i].poll.values[c]) != PL_OK;
	if (!wrong)
		return;
	mask = chk_sensor_orders(r, i);
	r->sensors[i].orders = mask;
	if (!mask) {
		chk_problem(r, CK_HINT, "sensor %s: no word order makes every channel plausible: "
			    "check type, register, scale and offset", s->name);
		return;
	}
	while (!(mask & (1u << first)))
		first++;
	chk_orders_text(mask, orders, sizeof(orders));
	chk_orders_text(configured_orders(r, i), now, sizeof(now));
	values_in_order(r, i, first, vals, sizeof(vals));
	chk_problem(r, CK_HINT, "sensor %s: word_order = %s reads plausible values on every "
		    "channel (%s); the config says %s", s->name, orders, vals, now);
}
