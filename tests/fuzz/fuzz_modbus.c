/*
 * fuzz_modbus.c - Modbus RTU replies through the real driver
 * (drivers/modbus_rtu.c with libmodbus) over a pty, as a slave or a noisy
 * line could send them.
 *
 * The input gives a sensor (slave address, up to 16 channels of any
 * table, register, type and order, so that they group into one or more
 * requests) and the bytes that come back: replies built from the input (a
 * well-formed answer to the expected request, an exception, one with a
 * wrong slave, function or byte count, or raw bytes, each with a correct
 * CRC or not, perhaps with a byte flipped). The harness holds the pty's
 * master end: it writes those bytes, then calls the driver's poll once
 * (quick, no retries) and reads back the requests the driver sent.
 * Properties:
 *  - the result is 0, -ETIMEDOUT, -EBADMSG or -EPROTO (the port is
 *    fine), 0 exactly when every channel was read;
 *  - each request is a well-formed read of the planned registers with a
 *    good CRC, and requests go out in plan order until the first failure
 *    that is not an exception (after a garbled answer the driver's flush
 *    drops the requests on a pty, so those are checked when there);
 *  - every failed request is counted exactly once (timeout, garbled or
 *    exception) and requests counts them all;
 *  - a channel read is a frame with this slave's address, the right
 *    function and byte count and a good CRC, and its value is
 *    decode_channel of that frame's words; a channel not read says
 *    no_response.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "drivers/driver.h"
#include "drivers/modbus_rtu.h"

#define REPLY_MAX 2048
#define PAD 700 /* zeros after the replies: libmodbus never waits for bytes */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

static uint16_t crc16(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xFFFF;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = crc & 1 ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
	}
	return crc;
}

static bool crc_ok(const uint8_t *p, size_t n)
{
	uint16_t c = crc16(p, n);

	return p[n] == (uint8_t)c && p[n + 1] == (uint8_t)(c >> 8);
}

static void put_crc(uint8_t *p, size_t n)
{
	uint16_t c = crc16(p, n);

	p[n] = (uint8_t)c;
	p[n + 1] = (uint8_t)(c >> 8);
}

struct plan {
	struct cfg_sensor s;
	struct cfg_channel ch[CFG_MAX_CHANNELS];
	int order[CFG_MAX_CHANNELS];
	int starts[CFG_MAX_CHANNELS + 1];
	int groups;
	int func[CFG_MAX_CHANNELS]; /* per group */
	int addr[CFG_MAX_CHANNELS];
	int count[CFG_MAX_CHANNELS];
};

static void make_plan(struct fuzz_in *in, struct plan *p)
{
	memset(p, 0, sizeof(*p));
	p->s.slave = 1 + (int)fuzz_pick(in, 247);
	p->s.n_channels = 1 + fuzz_pick(in, CFG_MAX_CHANNELS);
	p->s.channels = p->ch;
	for (size_t i = 0; i < p->s.n_channels; i++) {
		uint8_t b = fuzz_u8(in);

		p->ch[i] = (struct cfg_channel){
			.param = (int)i,
			.table = b & 1 ? TABLE_INPUT : TABLE_HOLDING,
			.type = (enum value_type)((b >> 1) % 6),
			.order = (enum word_order)((b >> 4) % 4),
			.reg = b & 0x40 ? 65500 + (int)fuzz_pick(in, 32) : (int)fuzz_pick(in, 64),
			.scale = 1.0,
			.has_range = b & 0x80,
			.range_min = 0.0,
			.range_max = 1000.0,
		};
	}
	p->groups = modbus_rtu_plan(&p->s, p->order, p->starts);
	for (int g = 0; g < p->groups; g++) {
		const struct cfg_channel *first = &p->ch[p->order[p->starts[g]]];
		const struct cfg_channel *last = &p->ch[p->order[p->starts[g + 1] - 1]];

		p->func[g] = first->table == TABLE_INPUT ? 4 : 3;
		p->addr[g] = first->reg;
		p->count[g] = last->reg + decode_words(last->type) - first->reg;
	}
}

/* One reply from the input, appended to buf at *len. */
static void make_reply(struct fuzz_in *in, const struct plan *p, int g, uint8_t *buf,
		       size_t *len)
{
	uint8_t shape = fuzz_u8(in), *r = buf + *len;
	size_t n = 0, room = REPLY_MAX - *len - 2;
	const uint8_t *raw;

	if (room < 300)
		return;
	switch (shape & 3) {
	case 0: /* an answer, perhaps with a wrong slave, function or count */
	case 2:
		r[n++] = (uint8_t)p->s.slave;
		r[n++] = (uint8_t)p->func[g < p->groups ? g : 0];
		r[n++] = (uint8_t)(2 * p->count[g < p->groups ? g : 0]);
		for (int i = 0; i < r[2]; i++)
			r[n++] = fuzz_u8(in);
		if ((shape & 3) == 2)
			r[fuzz_pick(in, 3)] ^= (uint8_t)(1 + fuzz_pick(in, 255));
		break;
	case 1: /* an exception */
		r[n++] = (uint8_t)p->s.slave;
		r[n++] = (uint8_t)(p->func[g < p->groups ? g : 0] | 0x80);
		r[n++] = fuzz_u8(in);
		break;
	default: /* anything */
		n = fuzz_take(in, 255, &raw);
		memcpy(r, raw, n);
		break;
	}
	if (!(shape & 4)) {
		put_crc(r, n);
		n += 2;
	}
	if ((shape & 8) && n)
		r[fuzz_pick(in, (unsigned)n)] ^= (uint8_t)(1 + fuzz_pick(in, 255));
	*len += n;
}

/* A pty whose slave end the driver opens. */
static int open_pty(char *name, size_t cap)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);

	FUZZ_CHECK(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0 &&
		   ptsname_r(m, name, cap) == 0, "no pty: %s", strerror(errno));
	return m;
}

/* The requests the driver wrote, up to want bytes (waiting up to wait_ms
 * for each piece). */
static size_t read_requests(int m, uint8_t *buf, size_t want, int wait_ms)
{
	size_t got = 0;

	while (got < want) {
		struct pollfd pfd = { .fd = m, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, wait_ms) <= 0)
			break;
		n = read(m, buf + got, want - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static void check_request(const struct plan *p, int g, const uint8_t *q)
{
	FUZZ_CHECK(q[0] == p->s.slave && q[1] == p->func[g] &&
		   (q[2] << 8 | q[3]) == p->addr[g] && (q[4] << 8 | q[5]) == p->count[g] &&
		   crc_ok(q, 6), "request %d: %02x %02x %02x%02x %02x%02x", g, q[0], q[1], q[2],
		   q[3], q[4], q[5]);
	FUZZ_CHECK(p->count[g] >= 1 && p->count[g] <= 125, "request %d of %d registers", g,
		   p->count[g]);
}

/* A group read: its frame at r, its values decoded from it. */
static size_t check_read(const struct plan *p, int g, const uint8_t *r, size_t left,
			 const struct rec_poll *out)
{
	size_t flen = 5 + 2 * (size_t)p->count[g];
	uint16_t words[125];

	FUZZ_CHECK(left >= flen, "group %d read past the replies", g);
	FUZZ_CHECK(r[0] == p->s.slave && r[1] == p->func[g] && r[2] == 2 * p->count[g] &&
		   crc_ok(r, flen - 2), "group %d accepted %02x %02x %02x ... (%zu bytes)", g,
		   r[0], r[1], r[2], flen);
	for (int i = 0; i < p->count[g]; i++)
		words[i] = (uint16_t)(r[3 + 2 * i] << 8 | r[4 + 2 * i]);
	for (int k = p->starts[g]; k < p->starts[g + 1]; k++) {
		const struct cfg_channel *c = &p->ch[p->order[k]];
		struct rec_value want = decode_channel(c, &words[c->reg - p->addr[g]]);
		const struct rec_value *got = &out->values[p->order[k]];

		FUZZ_CHECK(got->quality == want.quality && got->flags == want.flags &&
			   got->param == want.param &&
			   (memcmp(&got->v, &want.v, sizeof(double)) == 0 ||
			    (isnan(got->v) && isnan(want.v))),
			   "channel %d: %g q%d, decoded %g q%d", p->order[k], got->v, got->quality,
			   want.v, want.quality);
	}
	return flen;
}

static bool group_read(const struct plan *p, int g, const struct rec_poll *out)
{
	bool any = false, all = true;

	for (int k = p->starts[g]; k < p->starts[g + 1]; k++) {
		bool r = out->values[p->order[k]].quality != Q_NO_RESPONSE;

		any = any || r;
		all = all && r;
	}
	FUZZ_CHECK(any == all, "group %d read in part", g);
	return all;
}

/* Walks the attempted groups over the bytes written: each read one took a
 * good frame, each failed one before the last an exception (the driver
 * goes on after those only). Returns the failed groups. */
static int check_groups(const struct plan *p, int attempted, const uint8_t *r, size_t len,
			int rc, const struct rec_poll *out)
{
	size_t off = 0;
	int ok = 0, failed = 0;

	FUZZ_CHECK(attempted >= 1 && attempted <= p->groups, "%d requests for %d groups",
		   attempted, p->groups);
	for (int g = 0; g < attempted; g++) {
		if (group_read(p, g, out)) {
			off += check_read(p, g, r + off, len - off, out);
			ok++;
			continue;
		}
		failed++;
		if (g + 1 == attempted)
			break;
		FUZZ_CHECK(len - off >= 5 && r[off] == p->s.slave &&
			   r[off + 1] == (p->func[g] | 0x80) && r[off + 2] >= 1 &&
			   r[off + 2] <= 11 && crc_ok(r + off, 3),
			   "group %d failed and the driver went on: not an exception", g);
		off += 5;
	}
	for (int g = attempted; g < p->groups; g++)
		FUZZ_CHECK(!group_read(p, g, out), "group %d read without a request", g);
	if (attempted < p->groups)
		FUZZ_CHECK(rc == -ETIMEDOUT || rc == -EBADMSG, "stopped after %d of %d groups, rc %d",
			   attempted, p->groups, rc);
	FUZZ_CHECK((rc == 0) == (ok == p->groups), "rc %d with %d of %d groups read", rc, ok,
		   p->groups);
	return failed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct plan p;
	static uint8_t replies[REPLY_MAX + PAD], reqs[CFG_MAX_CHANNELS * 8 + 8];
	struct fuzz_in in = { data, size };
	struct cfg_bus bus = { .baud = 9600, .parity = 'N', .data_bits = 8, .stop_bits = 1,
			       .timeout_ms = 50, .retries = 0 };
	struct drv_counters cnt = { 0 };
	struct rec_poll out;
	struct port *port = NULL;
	char name[64];
	size_t len = 0, got;
	int m, rc, failed;

	make_plan(&in, &p);
	for (int g = 0; g <= p.groups && in.n; g++)
		make_reply(&in, &p, g, replies, &len);
	memset(replies + len, 0, PAD);
	m = open_pty(name, sizeof(name));
	bus.device = name;
	rc = modbus_rtu_ops.open(&bus, &port);
	FUZZ_CHECK(rc == 0, "open %s: %s", name, strerror(-rc));
	FUZZ_CHECK(write(m, replies, len + PAD) == (ssize_t)(len + PAD), "write to the pty");
	memset(&out, 0x5a, sizeof(out));
	rc = modbus_rtu_ops.poll(port, &p.s, true, &out, &cnt);
	FUZZ_CHECK(rc == 0 || rc == -ETIMEDOUT || rc == -EBADMSG || rc == -EPROTO,
		   "rc %d (%s) on a working port", rc, strerror(-rc));
	FUZZ_CHECK(out.n == p.s.n_channels, "n %u", out.n);
	for (size_t i = 0; i < p.s.n_channels; i++)
		FUZZ_CHECK(out.values[i].param == i, "channel %zu param", i);
	FUZZ_CHECK(cnt.requests >= 1 && cnt.requests <= (uint64_t)p.groups, "%llu requests",
		   (unsigned long long)cnt.requests);
	/* A garbled answer makes the driver flush the port, which on a pty
	 * also drops the requests still unread on our side: then some may be
	 * missing, never torn. */
	got = read_requests(m, reqs, (size_t)cnt.requests * 8, cnt.crc_errors ? 0 : 500);
	FUZZ_CHECK(cnt.crc_errors ? got % 8 == 0 : got == (size_t)cnt.requests * 8,
		   "%zu request bytes, %llu counted", got, (unsigned long long)cnt.requests);
	for (int g = 0; g < (int)(got / 8); g++)
		check_request(&p, g, reqs + 8 * g);
	failed = check_groups(&p, (int)cnt.requests, replies, len + PAD, rc, &out);
	FUZZ_CHECK(cnt.timeouts + cnt.crc_errors + cnt.exceptions == (uint64_t)failed,
		   "%d failed, counted %llu+%llu+%llu", failed, (unsigned long long)cnt.timeouts,
		   (unsigned long long)cnt.crc_errors, (unsigned long long)cnt.exceptions);
	modbus_rtu_ops.close(port);
	close(m);
	return 0;
}
