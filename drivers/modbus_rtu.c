/*
 * modbus_rtu.c - Modbus RTU driver (see modbus_rtu.h): plans grouped reads,
 * runs them through libmodbus with bounded timeouts and retries, and decodes
 * the words with decode.c.
 *
 * A bus has one master. An open port holds an exclusive flock() on its
 * device, which the kernel drops when the process dies (kill -9 included),
 * and sets TIOCEXCL so unprivileged programs (a terminal, a stray cat)
 * cannot even open it. A second outfalld, or outfallctl, gets -EBUSY
 * instead of interleaving its frames with ours. outfallctl takes the same
 * lock the same way (gateway/ctl/ctl_bus.c).
 */
#include "modbus_rtu.h"

#include <errno.h>
#include <fcntl.h>
#include <modbus.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "buslock.h"
#include "decode.h"

#define MAX_READ_REGS 125 /* Modbus limit for function 03/04 */

struct port {
	modbus_t *mb;
	int timeout_ms;
	int retries;
};

static int rtu_open(const struct cfg_bus *bus, struct port **out)
{
	struct port *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	p->mb = modbus_new_rtu(bus->device, bus->baud, bus->parity, bus->data_bits,
			       bus->stop_bits);
	if (!p->mb) {
		err = errno ? -errno : -EINVAL;
		goto free_port;
	}
	p->timeout_ms = bus->timeout_ms;
	p->retries = bus->retries;
	modbus_set_response_timeout(p->mb, (uint32_t)(bus->timeout_ms / 1000),
				    (uint32_t)(bus->timeout_ms % 1000) * 1000);
	err = buslock_probe(bus->device);
	if (err < 0)
		goto free_modbus;
	if (modbus_connect(p->mb) < 0) {
		err = errno ? -errno : -EIO;
		goto free_modbus;
	}
	err = buslock_claim(modbus_get_socket(p->mb));
	if (err < 0)
		goto close_modbus;
	*out = p;
	return 0;

close_modbus:
	modbus_close(p->mb);
free_modbus:
	modbus_free(p->mb);
free_port:
	free(p);
	return err;
}

static void rtu_close(struct port *p)
{
	if (!p)
		return;
	/* let others open it at once, even where the device outlives us */
	buslock_release(modbus_get_socket(p->mb));
	modbus_close(p->mb);
	modbus_free(p->mb);
	free(p);
}

static int channel_end(const struct cfg_channel *c)
{
	return c->reg + decode_words(c->type);
}

static bool before(const struct cfg_channel *a, const struct cfg_channel *b)
{
	return a->table != b->table ? a->table < b->table : a->reg < b->reg;
}

int modbus_rtu_plan(const struct cfg_sensor *s, int order[CFG_MAX_CHANNELS],
		    int starts[CFG_MAX_CHANNELS + 1])
{
	int n = (int)s->n_channels;
	int groups = 0;

	if (s->n_channels > CFG_MAX_CHANNELS) /* order[] and starts[] hold that many */
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		int j = i;

		while (j > 0 && before(&s->channels[i], &s->channels[order[j - 1]])) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (int i = 0; i < n; i++) {
		const struct cfg_channel *c = &s->channels[order[i]];
		const struct cfg_channel *first;

		if (i > 0) {
			const struct cfg_channel *prev = &s->channels[order[i - 1]];

			first = &s->channels[order[starts[groups - 1]]];
			if (prev->table == c->table && channel_end(prev) == c->reg &&
			    channel_end(c) - first->reg <= MAX_READ_REGS)
				continue;
		}
		starts[groups++] = i;
	}
	starts[groups] = n;
	return groups;
}

/* Maps a libmodbus errno to the driver's result codes. */
static int classify(int e, struct drv_counters *cnt)
{
	if (e == ETIMEDOUT) {
		cnt->timeouts++;
		return -ETIMEDOUT;
	}
	if (e >= EMBXILFUN && e <= EMBXGTAR) {
		cnt->exceptions++;
		return -EPROTO;
	}
	/* libmodbus gives MODBUS_ENOBASE itself for an exception reply with
	 * code 0, which no slave may send: garbled, like one above 11 */
	if ((e >= EMBBADCRC && e <= EMBBADSLAVE) || e == MODBUS_ENOBASE) {
		cnt->crc_errors++;
		return -EBADMSG;
	}
	return e > 0 ? -e : -EIO;
}

/* One request with retries: 0, or a classified -errno. */
static int read_words(struct port *p, enum reg_table table, int addr, int count,
		      bool quick, uint16_t *words, struct drv_counters *cnt)
{
	int attempts = quick ? 1 : 1 + p->retries;
	int rc = -EIO;

	for (int i = 0; i < attempts; i++) {
		int got;

		cnt->requests++;
		if (table == TABLE_INPUT)
			got = modbus_read_input_registers(p->mb, addr, count, words);
		else
			got = modbus_read_registers(p->mb, addr, count, words);
		if (got == count)
			return 0;
		rc = got < 0 ? classify(errno, cnt) : -EBADMSG;
		if (rc == -EBADMSG)
			modbus_flush(p->mb); /* drop the rest of a garbled frame */
		if (rc != -ETIMEDOUT && rc != -EBADMSG)
			break; /* an exception or a dead port: retrying won't help */
	}
	return rc;
}

static int poll_group(struct port *p, const struct cfg_sensor *s, const int *idx, int n,
		      bool quick, struct rec_poll *out, struct drv_counters *cnt)
{
	const struct cfg_channel *first = &s->channels[idx[0]];
	int count = channel_end(&s->channels[idx[n - 1]]) - first->reg;
	uint16_t words[MAX_READ_REGS];
	int rc = read_words(p, first->table, first->reg, count, quick, words, cnt);

	if (rc < 0)
		return rc;
	for (int i = 0; i < n; i++) {
		const struct cfg_channel *c = &s->channels[idx[i]];

		out->values[idx[i]] = decode_channel(c, &words[c->reg - first->reg]);
	}
	return 0;
}

static int rtu_poll(struct port *p, const struct cfg_sensor *s, bool quick,
		    struct rec_poll *out, struct drv_counters *cnt)
{
	int order[CFG_MAX_CHANNELS], starts[CFG_MAX_CHANNELS + 1];
	int groups = modbus_rtu_plan(s, order, starts);
	int result = 0;

	if (groups < 0) /* more channels than out->values holds */
		return groups;
	out->n = (uint8_t)s->n_channels;
	for (size_t i = 0; i < s->n_channels; i++)
		out->values[i] = (struct rec_value){ .v = 0.0,
						     .param = (uint8_t)s->channels[i].param,
						     .quality = Q_NO_RESPONSE };
	if (modbus_set_slave(p->mb, s->slave) < 0)
		return -EINVAL;
	for (int g = 0; g < groups; g++) {
		int rc = poll_group(p, s, &order[starts[g]], starts[g + 1] - starts[g],
				    quick, out, cnt);

		if (rc == 0)
			continue;
		result = rc;
		if (rc != -EPROTO)
			break; /* silence or a dead port: the other groups would fail too */
	}
	return result;
}

const struct driver_ops modbus_rtu_ops = {
	.name = "modbus",
	.open = rtu_open,
	.close = rtu_close,
	.poll = rtu_poll,
};
