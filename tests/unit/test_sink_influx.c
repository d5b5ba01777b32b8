/*
 * test_sink_influx.c - the InfluxDB sink against a small HTTP peer: a forked
 * child listening on 127.0.0.1 (ephemeral port) that records every request
 * it receives in a shared mapping and answers from a scripted list of
 * statuses. The test drives the sink the way the daemon's loop does
 * (pollfds, poll with the next_ms timeout, dispatch) and asserts on what
 * the peer got. A child rather than a thread keeps the test free of
 * <pthread.h> and of cmocka calls off the main thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "clock.h"
#include "config.h"
#include "param.h"
#include "queue.h"
#include "record.h"
#include "sink.h"
#include "sink_influx.h"

#define PEER_MAX_REQ 16
#define PEER_MAX_CONN 4
#define PEER_BODY_MAX (768 * 1024) /* above the sink's 512 KiB cap */
#define PEER_BUF (PEER_BODY_MAX + 8192)
#define PEER_MAX_SCRIPT 8
#define PEER_IDLE_MS 30000         /* an orphaned peer gives up */
#define TS0 1764403217000LL

struct peer_req {
	char method[8];
	char target[512];
	char headers[2048]; /* raw header lines, each ending in CRLF */
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
	int status[PEER_MAX_SCRIPT]; /* statuses to answer (0: none), then 204 */
	int n;
	const char *extra;           /* header lines added to non-2xx */
	const char *body;            /* body of non-2xx */
};

struct peer {
	pid_t pid;
	uint16_t port;
	struct peer_shared *sh;      /* MAP_SHARED */
};

/* ---- the HTTP peer (runs in the child) ----------------------------------- */

static const char *peer_find_header(const char *headers, const char *name, char *out, size_t cap)
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

static void peer_respond(const struct peer_script *sc, int fd, int status)
{
	char out[1024];
	const char *body = sc->body ? sc->body : "";
	int n;

	if (status == 0)
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
static void peer_word(const char **p, char *out, size_t cap)
{
	size_t n = strcspn(*p, " \r\n");

	snprintf(out, cap, "%.*s", (int)n, *p);
	*p += n;
	*p += strspn(*p, " ");
}

/* Handles one complete request at the start of c->buf, if there is one. */
static bool peer_take_request(struct peer_shared *sh, const struct peer_script *sc,
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
	if (n < PEER_MAX_REQ)
		__atomic_store_n(&sh->n_reqs, n + 1, __ATOMIC_RELEASE);
	peer_respond(sc, c->fd, n < sc->n ? sc->status[n] : 204);
	used = head + blen;
	memmove(c->buf, c->buf + used, c->len - used);
	c->len -= used;
	return true;
}

static void peer_accept(int lfd, struct peer_conn *conns)
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

static void peer_read(struct peer_shared *sh, const struct peer_script *sc, struct peer_conn *c)
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

/* The child: serves until the test kills it (or it has been idle long). */
static void peer_main(int lfd, struct peer_shared *sh, const struct peer_script *sc)
{
	static struct peer_conn conns[PEER_MAX_CONN];

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

static struct peer *peer_start(const struct peer_script *sc)
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

static void peer_stop(struct peer *pr)
{
	kill(pr->pid, SIGKILL);
	waitpid(pr->pid, NULL, 0);
	munmap(pr->sh, sizeof(*pr->sh));
	free(pr);
}

static int peer_count(struct peer *pr)
{
	return __atomic_load_n(&pr->sh->n_reqs, __ATOMIC_ACQUIRE);
}

/* ---- fixture ------------------------------------------------------------- */

struct fx {
	struct peer *peer;
	struct queue *q;
	struct sink sink;
	struct cfg_influx cfg;
	char url[64];
	char secret_path[256];
	uint16_t port; /* nonzero: use this port, not the peer's */
};

static void fx_cfg(struct fx *f, int api)
{
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u/", f->port ? f->port : f->peer->port);
	f->cfg = (struct cfg_influx){
		.enabled = true, .url = f->url, .api = api, .db = "outfall", .org = "acme",
		.bucket = "outfall/raw", .batch_max = 5000, .flush_ms = 10, .timeout_ms = 2000,
	};
}

/* sc NULL: the peer answers 204 to everything. */
static struct fx *fx_new(const struct peer_script *sc, int api)
{
	static const struct peer_script all_204;
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->peer = peer_start(sc ? sc : &all_204);
	f->q = queue_new(4096, 1);
	assert_non_null(f->q);
	fx_cfg(f, api);
	return f;
}

static void fx_open(struct fx *f)
{
	assert_int_equal(sink_influx_new(&f->cfg, "gw-1", f->q, 0, &f->sink), 0);
	sink_influx_set_backoff_ms(&f->sink, 20, 80);
}

static void fx_free(struct fx *f)
{
	if (f->sink.ops)
		f->sink.ops->free(f->sink.impl);
	if (f->peer)
		peer_stop(f->peer);
	queue_free(f->q);
	if (f->secret_path[0])
		unlink(f->secret_path);
	free(f);
}

static void fx_secret(struct fx *f, const char *content)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int n = snprintf(f->secret_path, sizeof(f->secret_path), "%s/test_sink_influx.", dir);
	int fd;

	/* mkstemp wants six trailing capital X */
	assert_true(n > 0 && (size_t)n + 7 <= sizeof(f->secret_path));
	memset(f->secret_path + n, 'X', 6);
	f->secret_path[n + 6] = '\0';
	fd = mkstemp(f->secret_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static struct sink_stats fx_stats(struct fx *f)
{
	struct sink_stats st;

	f->sink.ops->get_stats(f->sink.impl, &st);
	return st;
}

/* Appends n polls of one cod value each: seq 1.., ts TS0 + seq. */
static void fx_append(struct fx *f, int n, int values)
{
	for (int i = 0; i < n; i++) {
		struct record r;

		memset(&r, 0, sizeof(r));
		r.type = REC_POLL;
		r.ts_ms = TS0 + (int64_t)queue_unacked(f->q, 0) + 1;
		snprintf(r.u.poll.outlet, sizeof(r.u.poll.outlet), "WS-001");
		snprintf(r.u.poll.sensor, sizeof(r.u.poll.sensor), "probe 1");
		r.u.poll.n = (uint8_t)values;
		for (int v = 0; v < values; v++)
			r.u.poll.values[v] = (struct rec_value){ .v = 100.5 + v, .param = P_COD,
								 .quality = Q_OK };
		queue_append(f->q, &r);
	}
}

typedef bool (*fx_pred)(struct fx *f, int arg);

static bool fx_acked(struct fx *f, int arg)
{
	(void)arg;
	return queue_unacked(f->q, 0) == 0;
}

static bool fx_errors(struct fx *f, int arg)
{
	return fx_stats(f).errors >= (uint64_t)arg;
}

/* One loop pass as the daemon does it, at most 20 ms asleep. */
static void fx_pass(struct fx *f)
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
static void fx_drive(struct fx *f, fx_pred pred, int arg, int64_t max_ms)
{
	int64_t end = clock_mono_ms() + max_ms;

	while (!pred(f, arg)) {
		assert_true(clock_mono_ms() < end);
		fx_pass(f);
	}
}

static const struct peer_req *fx_req(struct fx *f, int i)
{
	assert_true(i < peer_count(f->peer));
	return &f->peer->sh->reqs[i];
}

static void expect_header(const struct peer_req *rq, const char *name, const char *want)
{
	char v[256];

	assert_non_null(peer_find_header(rq->headers, name, v, sizeof(v)));
	assert_string_equal(v, want);
}

/* The line the sink must write for poll record seq (one value). */
static void expected_lines(char *out, size_t cap, int from, int to)
{
	size_t len = 0;

	out[0] = '\0';
	for (int s = from; s <= to; s++)
		len += (size_t)snprintf(out + len, cap - len,
			"outfall_reading,gateway=gw-1,outlet=WS-001,sensor=probe\\ 1,parameter=cod"
			" value=100.5,q=\"ok\",seq=%di %lld\n", s, TS0 + s);
}

/* ---- cases --------------------------------------------------------------- */

static void test_v1_204(void **state)
{
	struct fx *f = fx_new(NULL, 1);
	char want[4096];
	const struct peer_req *rq;

	(void)state;
	fx_open(f);
	fx_append(f, 3, 1);
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 1);
	rq = fx_req(f, 0);
	assert_string_equal(rq->method, "POST");
	assert_string_equal(rq->target, "/write?db=outfall&precision=ms");
	expect_header(rq, "Content-Type", "text/plain; charset=utf-8");
	assert_null(peer_find_header(rq->headers, "Content-Encoding", want, sizeof(want)));
	assert_null(peer_find_header(rq->headers, "Authorization", want, sizeof(want)));
	expected_lines(want, sizeof(want), 1, 3);
	assert_string_equal(rq->body, want);
	assert_int_equal(queue_unacked(f->q, 0), 0);
	assert_int_equal(fx_stats(f).sent, 3);
	assert_int_equal(fx_stats(f).errors, 0);
	fx_free(f);
}

static void test_v1_basic_auth(void **state)
{
	struct fx *f = fx_new(NULL, 1);

	(void)state;
	fx_secret(f, "s3cret\n");
	f->cfg.db = "plant 1/a&b";
	f->cfg.username = "writer";
	f->cfg.password_file = f->secret_path;
	fx_open(f);
	fx_append(f, 1, 1);
	fx_drive(f, fx_acked, 0, 2000);
	assert_string_equal(fx_req(f, 0)->target, "/write?db=plant%201%2Fa%26b&precision=ms");
	expect_header(fx_req(f, 0), "Authorization", "Basic d3JpdGVyOnMzY3JldA==");
	fx_free(f);
}

static void test_500_then_204(void **state)
{
	static const struct peer_script sc = { { 500 }, 1, NULL, NULL };
	struct fx *f = fx_new(&sc, 1);
	char want[4096];

	(void)state;
	fx_open(f);
	fx_append(f, 2, 1);
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 2);
	expected_lines(want, sizeof(want), 1, 2);
	assert_string_equal(fx_req(f, 0)->body, want);
	assert_string_equal(fx_req(f, 1)->body, want);
	assert_true(fx_req(f, 1)->at_ms - fx_req(f, 0)->at_ms >= 15); /* backed off */
	assert_int_equal(fx_stats(f).retried, 2);
	assert_int_equal(fx_stats(f).errors, 1);
	assert_int_equal(fx_stats(f).sent, 2);
	fx_free(f);
}

/* 404 and 401 keep the data: not acked after the attempt, sent later. */
static void check_kept(int status)
{
	const struct peer_script sc = { { status }, 1, NULL, "{\"error\":\"scripted\"}" };
	struct fx *f = fx_new(&sc, 1);

	fx_open(f);
	fx_append(f, 2, 1);
	fx_drive(f, fx_errors, 1, 2000);
	assert_int_equal(peer_count(f->peer), 1);
	assert_int_equal(queue_unacked(f->q, 0), 2);
	assert_int_equal(fx_stats(f).errors, 1);
	assert_int_equal(fx_stats(f).sent, 0);
	assert_int_equal(fx_stats(f).quarantined, 0);
	fx_drive(f, fx_acked, 0, 2000); /* the database was created meanwhile */
	assert_int_equal(peer_count(f->peer), 2);
	assert_string_equal(fx_req(f, 0)->body, fx_req(f, 1)->body);
	assert_int_equal(fx_stats(f).sent, 2);
	fx_free(f);
}

static void test_404_kept(void **state)
{
	(void)state;
	check_kept(404);
}

static void test_401_kept(void **state)
{
	(void)state;
	check_kept(401);
}

static void test_v2_token(void **state)
{
	struct fx *f = fx_new(NULL, 2);

	(void)state;
	fx_secret(f, "tok-EN==\n");
	f->cfg.token_file = f->secret_path;
	fx_open(f);
	fx_append(f, 1, 1);
	fx_drive(f, fx_acked, 0, 2000);
	assert_string_equal(fx_req(f, 0)->target,
			    "/api/v2/write?org=acme&bucket=outfall%2Fraw&precision=ms");
	expect_header(fx_req(f, 0), "Authorization", "Token tok-EN==");
	fx_free(f);
}

static void test_gzip(void **state)
{
	struct fx *f = fx_new(NULL, 1);
	char want[4096], out[8192];
	const struct peer_req *rq;
	z_stream z;

	(void)state;
	f->cfg.gzip = true;
	fx_open(f);
	fx_append(f, 5, 1);
	fx_drive(f, fx_acked, 0, 2000);
	rq = fx_req(f, 0);
	expect_header(rq, "Content-Encoding", "gzip");
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 31), Z_OK);
	z.next_in = (Bytef *)rq->body;
	z.avail_in = (uInt)rq->body_len;
	z.next_out = (Bytef *)out;
	z.avail_out = sizeof(out) - 1;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	out[z.total_out] = '\0';
	inflateEnd(&z);
	expected_lines(want, sizeof(want), 1, 5);
	assert_string_equal(out, want);
	fx_free(f);
}

static void test_batch_split(void **state)
{
	struct fx *f = fx_new(NULL, 1);
	char want[4096];

	(void)state;
	f->cfg.batch_max = 4;
	fx_open(f);
	fx_append(f, 10, 1);
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 3);
	expected_lines(want, sizeof(want), 1, 4);
	assert_string_equal(fx_req(f, 0)->body, want);
	expected_lines(want, sizeof(want), 5, 8);
	assert_string_equal(fx_req(f, 1)->body, want);
	expected_lines(want, sizeof(want), 9, 10);
	assert_string_equal(fx_req(f, 2)->body, want);
	assert_int_equal(fx_stats(f).sent, 10);
	fx_free(f);
}

static void test_400_quarantined(void **state)
{
	static const struct peer_script sc = {
		{ 400 }, 1, NULL, "{\"error\":\"partial write: field type conflict\"}"
	};
	struct fx *f = fx_new(&sc, 1);

	(void)state;
	fx_open(f);
	fx_append(f, 3, 1);
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 1);
	assert_int_equal(fx_stats(f).quarantined, 3);
	assert_int_equal(fx_stats(f).errors, 1);
	assert_int_equal(fx_stats(f).sent, 0);
	fx_append(f, 1, 1); /* the pipeline goes on */
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 2);
	assert_int_equal(fx_stats(f).sent, 1);
	fx_free(f);
}

/* 413: the same records again in halves, in order. */
static void test_413_halves(void **state)
{
	static const struct peer_script sc = { { 413 }, 1, NULL, NULL };
	struct fx *f = fx_new(&sc, 1);
	char want[4096];

	(void)state;
	f->cfg.batch_max = 8;
	fx_open(f);
	fx_append(f, 8, 1);
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 3);
	expected_lines(want, sizeof(want), 1, 8);
	assert_string_equal(fx_req(f, 0)->body, want);
	expected_lines(want, sizeof(want), 1, 4);
	assert_string_equal(fx_req(f, 1)->body, want);
	expected_lines(want, sizeof(want), 5, 8);
	assert_string_equal(fx_req(f, 2)->body, want);
	fx_free(f);
}

static void test_429_retry_after(void **state)
{
	static const struct peer_script sc = { { 429 }, 1, "Retry-After: 1\r\n", NULL };
	struct fx *f = fx_new(&sc, 1);

	(void)state;
	fx_open(f);
	fx_append(f, 1, 1);
	fx_drive(f, fx_acked, 0, 3000);
	assert_int_equal(peer_count(f->peer), 2);
	assert_true(fx_req(f, 1)->at_ms - fx_req(f, 0)->at_ms >= 950);
	fx_free(f);
}

/* Nothing listens: errors counted, nothing acked, nothing lost. */
static void test_connection_refused(void **state)
{
	struct fx *f = fx_new(NULL, 1);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	(void)state;
	/* bound, never listening: connecting to it is refused */
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	f->port = ntohs(sa.sin_port);
	fx_cfg(f, 1);
	fx_open(f);
	fx_append(f, 2, 1);
	fx_drive(f, fx_errors, 2, 2000);
	assert_int_equal(queue_unacked(f->q, 0), 2);
	assert_int_equal(fx_stats(f).sent, 0);
	assert_int_equal(fx_stats(f).retried, 4);
	fx_free(f);
	close(fd);
}

/* A record that does not fit the 512 KiB body waits for the next request. */
static void test_body_cap(void **state)
{
	struct fx *f = fx_new(NULL, 1);
	size_t total = 0, lines = 0;

	(void)state;
	f->cfg.batch_max = 100000;
	fx_open(f);
	fx_append(f, 400, REC_MAX_VALUES);
	fx_drive(f, fx_acked, 0, 3000);
	assert_int_equal(peer_count(f->peer), 2);
	for (int i = 0; i < 2; i++) {
		const struct peer_req *rq = fx_req(f, i);

		assert_true(rq->body_len <= 512 * 1024);
		assert_int_equal(rq->body[rq->body_len - 1], '\n');
		total += rq->body_len;
		for (size_t k = 0; k < rq->body_len; k++)
			lines += rq->body[k] == '\n';
	}
	assert_int_equal(lines, 400 * REC_MAX_VALUES);
	assert_true(strstr(fx_req(f, 1)->body, "seq=400i") != NULL);
	assert_true(total > 512 * 1024);
	assert_int_equal(fx_stats(f).sent, 400);
	fx_free(f);
}

/* Below batch_max nothing goes out before flush_ms. */
static void test_flush_timer(void **state)
{
	struct fx *f = fx_new(NULL, 1);
	int64_t t0;

	(void)state;
	f->cfg.flush_ms = 200;
	fx_open(f);
	fx_append(f, 1, 1);
	t0 = clock_mono_ms();
	fx_drive(f, fx_acked, 0, 2000);
	assert_true(fx_req(f, 0)->at_ms - t0 >= 190);
	fx_free(f);
}

/* flush() alone delivers within its budget, without the daemon's loop. */
static void test_flush(void **state)
{
	struct fx *f = fx_new(NULL, 1);

	(void)state;
	f->cfg.flush_ms = 60000;
	fx_open(f);
	fx_append(f, 7, 1);
	f->sink.ops->flush(f->sink.impl, 2000);
	assert_int_equal(queue_unacked(f->q, 0), 0);
	assert_int_equal(peer_count(f->peer), 1);
	fx_free(f);
}

/* A peer that never answers: the request times out, is retried, lands. */
static void test_timeout(void **state)
{
	static const struct peer_script sc = { { 0 }, 1, NULL, NULL };
	struct fx *f = fx_new(&sc, 1);
	int64_t t0;

	(void)state;
	f->cfg.timeout_ms = 300;
	fx_open(f);
	fx_append(f, 1, 1);
	t0 = clock_mono_ms();
	fx_drive(f, fx_acked, 0, 3000);
	assert_int_equal(peer_count(f->peer), 2);
	assert_int_equal(fx_stats(f).errors, 1);
	assert_true(clock_mono_ms() - t0 >= 300);
	fx_free(f);
}

/* A sink freed with a batch read but unsent (a reload): the next instance
 * on the same queue sends it. */
static void test_recreate_resends(void **state)
{
	struct fx *f = fx_new(NULL, 1);
	char want[4096];

	(void)state;
	f->cfg.flush_ms = 60000;
	fx_open(f);
	fx_append(f, 3, 1);
	fx_pass(f); /* reads the records into its batch, waits for flush_ms */
	assert_int_equal(queue_unsent(f->q, 0), 0);
	f->sink.ops->free(f->sink.impl);
	f->cfg.flush_ms = 10;
	fx_open(f);
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 1);
	expected_lines(want, sizeof(want), 1, 3);
	assert_string_equal(fx_req(f, 0)->body, want);
	fx_free(f);
}

/* Polls without values have nothing to write: acked without a request. */
static void test_empty_polls(void **state)
{
	struct fx *f = fx_new(NULL, 1);

	(void)state;
	fx_open(f);
	fx_append(f, 2, 0);
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 0);
	fx_append(f, 1, 1); /* seq 3 */
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 1);
	assert_non_null(strstr(fx_req(f, 0)->body, "seq=3i"));
	fx_free(f);
}

static void test_bad_settings(void **state)
{
	struct fx *f = fx_new(NULL, 1);
	struct sink s = { NULL, NULL };

	(void)state;
	f->cfg.username = "writer";
	f->cfg.password_file = "/nonexistent/outfall-test-password";
	assert_int_equal(sink_influx_new(&f->cfg, "gw", f->q, 0, &s), -ENOENT);
	assert_null(s.ops);
	fx_secret(f, "\n");
	f->cfg.password_file = f->secret_path;
	assert_int_equal(sink_influx_new(&f->cfg, "gw", f->q, 0, &s), -EINVAL);
	fx_cfg(f, 2);
	assert_int_equal(sink_influx_new(&f->cfg, "gw", f->q, 0, &s), -EINVAL); /* no token */
	fx_cfg(f, 1);
	f->cfg.url = "ftp://127.0.0.1/";
	assert_int_equal(sink_influx_new(&f->cfg, "gw", f->q, 0, &s), -EINVAL);
	assert_null(s.ops);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_204),
		cmocka_unit_test(test_v1_basic_auth),
		cmocka_unit_test(test_500_then_204),
		cmocka_unit_test(test_404_kept),
		cmocka_unit_test(test_401_kept),
		cmocka_unit_test(test_v2_token),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_batch_split),
		cmocka_unit_test(test_400_quarantined),
		cmocka_unit_test(test_413_halves),
		cmocka_unit_test(test_429_retry_after),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_flush_timer),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_recreate_resends),
		cmocka_unit_test(test_empty_polls),
		cmocka_unit_test(test_bad_settings),
	};

	/* a proxy from the environment must not see 127.0.0.1 requests */
	static const char *const proxies[] = { "http_proxy", "HTTP_PROXY", "https_proxy",
					       "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
	for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
		unsetenv(proxies[i]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
