/*
 * influx_peer.h - what test_sink_influx.c and test_sink_influx_quarantine.c
 * share: a small HTTP peer standing in for InfluxDB, and a fixture that
 * runs the sink over a real outbox in a fresh directory.
 *
 * The peer is a forked child listening on 127.0.0.1 (ephemeral port) that
 * records every request it receives, and the status it answered, in a
 * shared mapping. It answers from a scripted list of statuses, then by a
 * rule: a body holding the script's marker string is refused (400 unless
 * told otherwise), any other gets 204. A child rather than a thread keeps
 * the tests free of <pthread.h> and of cmocka calls off the main thread.
 *
 * The fixture drives the sink the way the daemon's loop does (pollfds, poll
 * with the next_ms timeout, dispatch). The outbox syncs every append
 * (fsync_ms 0), so records are visible to the sink at once.
 * Helpers are static inline so that each test binary uses what it needs.
 */
#ifndef OUTFALL_TEST_INFLUX_PEER_H
#define OUTFALL_TEST_INFLUX_PEER_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_tmpdir.h"
#include "base/clock.h"
#include "base/param.h"
#include "base/record.h"
#include "config/config.h"
#include "outbox/outbox.h"
#include "sinks/influx/influx.h"
#include "sinks/sink.h"

#define PEER_MAX_REQ 64
#define PEER_MAX_CONN 4
#define PEER_BODY_MAX (768 * 1024) /* above the sink's 512 KiB cap */
#define PEER_BUF (PEER_BODY_MAX + 8192)
#define PEER_MAX_SCRIPT 8
#define PEER_IDLE_MS 30000         /* an orphaned peer gives up */
#define PEER_SILENT 0              /* script: do not answer (the client times out) */
#define PEER_RULE (-1)             /* script: answer by the marker rule */
#define TS0 1764403217000LL

struct peer_req {
	char method[8];
	char target[512];
	char headers[2048]; /* raw header lines, each ending in CRLF */
	int status;         /* what the peer answered, PEER_SILENT if nothing */
	size_t body_len;
	int64_t at_ms;      /* monotonic arrival */
	char body[PEER_BODY_MAX + 1];
};

/* Shared between the test and the peer child. The child fills reqs[n]
 * before publishing n_reqs = n + 1 (release); the test reads n_reqs with
 * acquire and only then the request. */
struct peer_shared {
	int n_reqs;
	struct peer_req reqs[PEER_MAX_REQ];
};

struct peer_conn {
	int fd;
	size_t len;
	char buf[PEER_BUF];
};

struct peer_script {
	int status[PEER_MAX_SCRIPT]; /* answers to the first n requests, then PEER_RULE */
	int n;
	const char *extra;           /* header lines added to non-2xx */
	const char *body;            /* body of non-2xx */
	const char *marker;          /* PEER_RULE refuses a body holding this */
	int reject;                  /* ... with this status; 0 means 400 */
};

struct peer {
	pid_t pid;
	uint16_t port;
	struct peer_shared *sh;      /* MAP_SHARED */
};

/* ---- the HTTP peer (runs in the child) ----------------------------------- */

static inline const char *peer_find_header(const char *headers, const char *name, char *out,
					   size_t cap)
{
	size_t nl = strlen(name);

	for (const char *p = headers; *p; p = strchr(p, '\n') + 1) {
		const char *eol = strstr(p, "\r\n");

		if (!eol)
			eol = p + strlen(p);
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1;

			while (*v == ' ')
				v++;
			snprintf(out, cap, "%.*s", (int)(eol - v), v);
			return out;
		}
		if (!strchr(p, '\n'))
			break;
	}
	return NULL;
}

static inline int peer_status(const struct peer_script *sc, int n, const struct peer_req *rq)
{
	int st = n < sc->n ? sc->status[n] : PEER_RULE;

	if (st != PEER_RULE)
		return st;
	if (sc->marker && memmem(rq->body, rq->body_len, sc->marker, strlen(sc->marker)))
		return sc->reject ? sc->reject : 400;
	return 204;
}

static inline void peer_respond(const struct peer_script *sc, int fd, int status)
{
	char out[1024];
	const char *body = sc->body ? sc->body : "";
	int n;

	if (status == PEER_SILENT)
		return; /* let the client time out */
	if (status == 204)
		n = snprintf(out, sizeof(out), "HTTP/1.1 204 No Content\r\n\r\n");
	else
		n = snprintf(out, sizeof(out), "HTTP/1.1 %d Scripted\r\nContent-Length: %zu\r\n"
			     "Content-Type: application/json\r\n%s\r\n%s", status, strlen(body),
			     sc->extra ? sc->extra : "", body);
	if (n <= 0 || (size_t)n >= sizeof(out) || write(fd, out, (size_t)n) != n)
		_exit(3);
}

/* Copies the next space-delimited word of *p into out. */
static inline void peer_word(const char **p, char *out, size_t cap)
{
	size_t n = strcspn(*p, " \r\n");

	snprintf(out, cap, "%.*s", (int)n, *p);
	*p += n;
	*p += strspn(*p, " ");
}

/* Handles one complete request at the start of c->buf, if there is one. */
static inline bool peer_take_request(struct peer_shared *sh, const struct peer_script *sc,
				     struct peer_conn *c)
{
	char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
	int n = __atomic_load_n(&sh->n_reqs, __ATOMIC_RELAXED);
	struct peer_req *rq = &sh->reqs[n < PEER_MAX_REQ ? n : PEER_MAX_REQ - 1];
	char cl[32] = "0";
	const char *line = c->buf;
	size_t head, blen, used;

	if (!end)
		return false;
	*end = '\0';
	head = (size_t)(end - c->buf) + 4;
	peer_find_header(strstr(c->buf, "\r\n") + 2, "Content-Length", cl, sizeof(cl));
	blen = strtoul(cl, NULL, 10);
	if (blen > PEER_BODY_MAX)
		_exit(4);
	if (c->len < head + blen) {
		*end = '\r';
		return false;
	}
	peer_word(&line, rq->method, sizeof(rq->method));
	peer_word(&line, rq->target, sizeof(rq->target));
	snprintf(rq->headers, sizeof(rq->headers), "%s\r\n", strstr(c->buf, "\r\n") + 2);
	memcpy(rq->body, c->buf + head, blen);
	rq->body[blen] = '\0';
	rq->body_len = blen;
	rq->at_ms = clock_mono_ms();
	rq->status = peer_status(sc, n, rq);
	if (n < PEER_MAX_REQ)
		__atomic_store_n(&sh->n_reqs, n + 1, __ATOMIC_RELEASE);
	peer_respond(sc, c->fd, rq->status);
	used = head + blen;
	memmove(c->buf, c->buf + used, c->len - used);
	c->len -= used;
	return true;
}

static inline void peer_accept(int lfd, struct peer_conn *conns)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	for (int i = 0; fd >= 0 && i < PEER_MAX_CONN; i++) {
		if (conns[i].fd < 0) {
			conns[i].fd = fd;
			conns[i].len = 0;
			return;
		}
	}
	if (fd >= 0)
		close(fd);
}

static inline void peer_read(struct peer_shared *sh, const struct peer_script *sc,
			     struct peer_conn *c)
{
	ssize_t n = read(c->fd, c->buf + c->len, PEER_BUF - c->len);

	if (n <= 0) {
		close(c->fd);
		c->fd = -1;
		return;
	}
	c->len += (size_t)n;
	while (peer_take_request(sh, sc, c))
		;
}

/* The child: serves until the test kills it (or it has been idle long).
 * Its connection buffers are heap: the child never returns to free them. */
static inline void peer_main(int lfd, struct peer_shared *sh, const struct peer_script *sc)
{
	struct peer_conn *conns = calloc(PEER_MAX_CONN, sizeof(*conns));

	if (!conns)
		_exit(5);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (int i = 0; i < PEER_MAX_CONN; i++)
		conns[i].fd = -1;
	for (;;) {
		struct pollfd pfds[1 + PEER_MAX_CONN];

		pfds[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (int i = 0; i < PEER_MAX_CONN; i++)
			pfds[1 + i] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
		if (poll(pfds, 1 + PEER_MAX_CONN, PEER_IDLE_MS) == 0)
			_exit(0);
		if (pfds[0].revents)
			peer_accept(lfd, conns);
		for (int i = 0; i < PEER_MAX_CONN; i++)
			if (conns[i].fd >= 0 && pfds[1 + i].revents)
				peer_read(sh, sc, &conns[i]);
	}
}

static inline struct peer *peer_start(const struct peer_script *sc)
{
	struct peer *pr = calloc(1, sizeof(*pr));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int lfd;

	assert_non_null(pr);
	pr->sh = mmap(NULL, sizeof(*pr->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		      -1, 0);
	assert_true(pr->sh != MAP_FAILED);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	pr->port = ntohs(sa.sin_port);
	fflush(NULL);
	pr->pid = fork();
	assert_true(pr->pid >= 0);
	if (pr->pid == 0) {
		peer_main(lfd, pr->sh, sc);
		_exit(0);
	}
	close(lfd);
	return pr;
}

static inline void peer_stop(struct peer *pr)
{
	kill(pr->pid, SIGKILL);
	waitpid(pr->pid, NULL, 0);
	munmap(pr->sh, sizeof(*pr->sh));
	free(pr);
}

static inline int peer_count(struct peer *pr)
{
	return __atomic_load_n(&pr->sh->n_reqs, __ATOMIC_ACQUIRE);
}

/* ---- fixture ------------------------------------------------------------- */

struct fx {
	struct peer *peer;
	struct outbox *ob;
	struct sink sink;
	struct cfg_influx cfg;
	char dir[256];         /* the outbox, and the default data_dir */
	const char *data_dir;  /* handed to the sink; dir unless a test says */
	char url[64];
	char secret_path[256];
	uint16_t port;         /* nonzero: use this port, not the peer's */
	int appended;          /* records appended: the next gets seq appended + 1 */
};

/* A name in TMPDIR ending in the six capital X that mkstemp and mkdtemp
 * replace (written with memset). */
static inline void fx_template(char *buf, size_t cap, const char *stem)
{
	const char *dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int n = snprintf(buf, cap, "%s/%s.", dir, stem);

	assert_true(n > 0 && (size_t)n + 7 <= cap);
	memset(buf + n, 'X', 6);
	buf[n + 6] = '\0';
}

static inline void fx_cfg(struct fx *f, int api)
{
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u/", f->port ? f->port : f->peer->port);
	f->cfg = (struct cfg_influx){
		.enabled = true, .url = f->url, .api = api, .db = "outfall", .org = "acme",
		.bucket = "outfall/raw", .batch_max = 5000, .flush_ms = 10, .timeout_ms = 2000,
	};
}

static inline void fx_open_outbox(struct fx *f)
{
	struct outbox_opts o;

	outbox_opts_default(&o);
	o.fsync_ms = 0; /* every append visible to the sink at once */
	assert_int_equal(outbox_open(f->dir, &o, 1, clock_mono_ms(), &f->ob), 0);
}

/* sc NULL: the peer answers 204 to everything. */
static inline struct fx *fx_new(const struct peer_script *sc, int api)
{
	static const struct peer_script all_204;
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->peer = peer_start(sc ? sc : &all_204);
	fx_template(f->dir, sizeof(f->dir), "test_sink_influx");
	assert_non_null(mkdtemp(f->dir));
	f->data_dir = f->dir;
	fx_open_outbox(f);
	fx_cfg(f, api);
	return f;
}

static inline void fx_open(struct fx *f)
{
	assert_int_equal(sink_influx_new(&f->cfg, "gw-1", f->data_dir, f->ob, 0, &f->sink), 0);
	sink_influx_set_backoff_ms(&f->sink, 20, 80);
}

static inline void fx_close_sink(struct fx *f)
{
	if (f->sink.ops)
		f->sink.ops->free(f->sink.impl);
	f->sink = (struct sink){ NULL, NULL };
}

static inline void fx_free(struct fx *f)
{
	fx_close_sink(f);
	if (f->peer)
		peer_stop(f->peer);
	outbox_close(f->ob);
	test_rm_tree(f->dir);
	if (f->secret_path[0])
		unlink(f->secret_path);
	free(f);
}

static inline void fx_secret(struct fx *f, const char *content)
{
	int fd;

	fx_template(f->secret_path, sizeof(f->secret_path), "test_sink_influx");
	fd = mkstemp(f->secret_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static inline struct sink_stats fx_stats(struct fx *f)
{
	struct sink_stats st;

	f->sink.ops->get_stats(f->sink.impl, &st);
	return st;
}

/* Appends r; the outbox must give it the next seq. */
static inline void fx_put(struct fx *f, const struct record *r)
{
	uint64_t seq = 0;

	assert_int_equal(outbox_append(f->ob, r, clock_mono_ms(), &seq), 0);
	assert_int_equal(seq, (uint64_t)++f->appended);
}

/* A poll of sensor with values cod 100.5, 101.5, ...: ts TS0 + its seq. */
static inline struct record fx_poll(struct fx *f, const char *sensor, int values)
{
	struct record r;

	memset(&r, 0, sizeof(r));
	r.type = REC_POLL;
	r.ts_ms = TS0 + f->appended + 1;
	snprintf(r.u.poll.outlet, sizeof(r.u.poll.outlet), "WS-001");
	snprintf(r.u.poll.sensor, sizeof(r.u.poll.sensor), "%s", sensor);
	r.u.poll.n = (uint8_t)values;
	for (int v = 0; v < values; v++)
		r.u.poll.values[v] = (struct rec_value){ .v = 100.5 + v, .param = P_COD,
							 .quality = Q_OK };
	return r;
}

/* Appends n polls of sensor "probe 1" with values each. */
static inline void fx_append(struct fx *f, int n, int values)
{
	for (int i = 0; i < n; i++) {
		struct record r = fx_poll(f, "probe 1", values);

		fx_put(f, &r);
	}
}

typedef bool (*fx_pred)(struct fx *f, int arg);

static inline bool fx_acked(struct fx *f, int arg)
{
	(void)arg;
	return outbox_unacked(f->ob, 0) == 0;
}

static inline bool fx_errors(struct fx *f, int arg)
{
	return fx_stats(f).errors >= (uint64_t)arg;
}

/* One loop pass as the daemon does it, at most 20 ms asleep. */
static inline void fx_pass(struct fx *f)
{
	struct pollfd pfds[SINK_MAX_FDS];
	int64_t now = clock_mono_ms();
	int n = f->sink.ops->pollfds(f->sink.impl, pfds, SINK_MAX_FDS);
	int64_t next = f->sink.ops->next_ms(f->sink.impl, now);
	int64_t wait = next - now;
	int rc;

	rc = poll(pfds, (nfds_t)n, (int)(wait < 0 ? 0 : wait > 20 ? 20 : wait));
	assert_true(rc >= 0);
	f->sink.ops->dispatch(f->sink.impl, pfds, rc > 0 ? n : 0, clock_mono_ms());
}

/* Drives the sink until pred holds; fails the test after max_ms. */
static inline void fx_drive(struct fx *f, fx_pred pred, int arg, int64_t max_ms)
{
	int64_t end = clock_mono_ms() + max_ms;

	while (!pred(f, arg)) {
		assert_true(clock_mono_ms() < end);
		fx_pass(f);
	}
}

static inline const struct peer_req *fx_req(struct fx *f, int i)
{
	assert_true(i < peer_count(f->peer));
	return &f->peer->sh->reqs[i];
}

static inline void expect_header(const struct peer_req *rq, const char *name, const char *want)
{
	char v[256];

	assert_non_null(peer_find_header(rq->headers, name, v, sizeof(v)));
	assert_string_equal(v, want);
}

/* Appends to out the line the sink must write for one-value poll seq of
 * sensor (escaped as in line protocol). */
static inline void expected_line(char *out, size_t cap, const char *sensor, int seq)
{
	size_t len = strlen(out);

	assert_true(len < cap);
	snprintf(out + len, cap - len,
		 "outfall_reading,gateway=gw-1,outlet=WS-001,sensor=%s,parameter=cod"
		 " value=100.5,q=\"ok\",seq=%di %lld\n", sensor, seq, TS0 + seq);
}

/* The lines for one-value polls from..to of sensor "probe 1". */
static inline void expected_lines(char *out, size_t cap, int from, int to)
{
	out[0] = '\0';
	for (int s = from; s <= to; s++)
		expected_line(out, cap, "probe\\ 1", s);
}

/* What the peer accepted: the bodies it answered 2xx, in arrival order. */
static inline void fx_delivered(struct fx *f, char *out, size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; i < peer_count(f->peer); i++) {
		const struct peer_req *rq = fx_req(f, i);

		if (rq->status < 200 || rq->status >= 300)
			continue;
		assert_true(len + rq->body_len < cap);
		memcpy(out + len, rq->body, rq->body_len + 1);
		len += rq->body_len;
	}
}

/* Reads file name of dir into buf (NUL-terminated); its length, or -1 if
 * it does not exist. */
static inline ssize_t fx_read_file(const char *dir, const char *name, char *buf, size_t cap)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return n;
}

static inline void fx_unset_proxies(void)
{
	/* a proxy from the environment must not see 127.0.0.1 requests */
	static const char *const proxies[] = { "http_proxy", "HTTP_PROXY", "https_proxy",
					       "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };

	for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
		unsetenv(proxies[i]);
}

#endif
