/*
 * test_sink_influx.c - the InfluxDB sink over a real outbox against the
 * small HTTP peer of influx_peer.h: paths, query strings and headers of v1
 * and v2, gzip, batching by batch_max, flush_ms and the 512 KiB body cap,
 * retries (5xx, 429 with Retry-After, 401, 404, refused connections,
 * timeouts), 413 halving, a 400 that goes away, re-creation, and bad
 * settings. Bad points, the dead-letter file and acks across the two
 * outbox streams are in test_sink_influx_quarantine.c.
 */
#include "influx_peer.h"

#include <zlib.h>

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
	assert_int_equal(outbox_unacked(f->ob, 0), 0);
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
	static const struct peer_script sc = { .status = { 500 }, .n = 1 };
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
	const struct peer_script sc = {
		.status = { status }, .n = 1, .body = "{\"error\":\"scripted\"}",
	};
	struct fx *f = fx_new(&sc, 1);

	fx_open(f);
	fx_append(f, 2, 1);
	fx_drive(f, fx_errors, 1, 2000);
	assert_int_equal(peer_count(f->peer), 1);
	assert_int_equal(outbox_unacked(f->ob, 0), 2);
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

/* A 400 that does not come back (the server had a bad moment): the batch
 * is split and every part accepted, so nothing is quarantined - a record
 * is quarantined only when refused on its own. */
static void test_400_once(void **state)
{
	static const struct peer_script sc = {
		.status = { 400 }, .n = 1,
		.body = "{\"error\":\"partial write: field type conflict\"}",
	};
	struct fx *f = fx_new(&sc, 1);
	char want[4096], got[4096];

	(void)state;
	fx_open(f);
	fx_append(f, 3, 1);
	fx_drive(f, fx_acked, 0, 2000);
	/* [1..3] refused; [1] accepted, so [2..3] must hold the bad point and
	 * is split at once: [2], [3] accepted */
	assert_int_equal(peer_count(f->peer), 4);
	expected_lines(want, sizeof(want), 1, 3);
	assert_string_equal(fx_req(f, 0)->body, want);
	fx_delivered(f, got, sizeof(got));
	assert_string_equal(got, want);
	for (int i = 1; i <= 3; i++) {
		expected_lines(want, sizeof(want), i, i);
		assert_string_equal(fx_req(f, i)->body, want);
	}
	assert_int_equal(fx_stats(f).quarantined, 0);
	assert_int_equal(fx_stats(f).errors, 1);
	assert_int_equal(fx_stats(f).sent, 3);
	assert_int_equal(fx_read_file(f->dir, "deadletter-influx.lp", got, sizeof(got)), -1);
	fx_append(f, 1, 1); /* the pipeline goes on */
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 5);
	assert_int_equal(fx_stats(f).sent, 4);
	fx_free(f);
}

/* 413: the same records again in halves, in order. */
static void test_413_halves(void **state)
{
	static const struct peer_script sc = { .status = { 413 }, .n = 1 };
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
	static const struct peer_script sc = {
		.status = { 429 }, .n = 1, .extra = "Retry-After: 1\r\n",
	};
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
	assert_int_equal(outbox_unacked(f->ob, 0), 2);
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
	assert_int_equal(outbox_unacked(f->ob, 0), 0);
	assert_int_equal(peer_count(f->peer), 1);
	fx_free(f);
}

/* A peer that never answers: the request times out, is retried, lands. */
static void test_timeout(void **state)
{
	static const struct peer_script sc = { .status = { PEER_SILENT }, .n = 1 };
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
	assert_int_equal(outbox_unsent(f->ob, 0), 0);
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
	assert_int_equal(sink_influx_new(&f->cfg, "gw", f->dir, f->ob, 0, &s), -ENOENT);
	assert_null(s.ops);
	fx_secret(f, "\n");
	f->cfg.password_file = f->secret_path;
	assert_int_equal(sink_influx_new(&f->cfg, "gw", f->dir, f->ob, 0, &s), -EINVAL);
	/* a FIFO as the password file: refused at once, never read (alarm
	 * turns a hang into a failure) */
	unlink(f->secret_path);
	assert_int_equal(mkfifo(f->secret_path, 0600), 0);
	alarm(10);
	assert_int_equal(sink_influx_new(&f->cfg, "gw", f->dir, f->ob, 0, &s), -EINVAL);
	alarm(0);
	unlink(f->secret_path);
	assert_null(s.ops);
	fx_cfg(f, 2);
	/* no token */
	assert_int_equal(sink_influx_new(&f->cfg, "gw", f->dir, f->ob, 0, &s), -EINVAL);
	fx_cfg(f, 1);
	f->cfg.url = "ftp://127.0.0.1/";
	assert_int_equal(sink_influx_new(&f->cfg, "gw", f->dir, f->ob, 0, &s), -EINVAL);
	fx_cfg(f, 1);
	assert_int_equal(sink_influx_new(&f->cfg, "gw", NULL, f->ob, 0, &s), -EINVAL);
	assert_int_equal(sink_influx_new(&f->cfg, "gw", "", f->ob, 0, &s), -EINVAL);
	assert_null(s.ops);
	fx_free(f);
}

static struct sink_health fx_health(struct fx *f)
{
	struct sink_health h;

	f->sink.ops->get_health(f->sink.impl, &h);
	return h;
}

/* status: a failed write is the last error, with its time, and the retry
 * it waits for; once delivered nothing is waited for, the error stays. */
static void test_health_last_error_and_retry(void **state)
{
	static const struct peer_script sc = { .status = { 503 }, .n = 1,
					       .body = "{\"error\":\"busy\"}" };
	struct fx *f = fx_new(&sc, 1);
	struct sink_health h;
	int64_t before = clock_wall_ms();

	(void)state;
	fx_open(f);
	h = fx_health(f);
	assert_string_equal(h.last_error, "");
	assert_int_equal(h.last_error_wall_ms, 0);
	assert_int_equal(h.next_retry_ms, 0);
	sink_influx_set_backoff_ms(&f->sink, 5000, 5000); /* a retry we can see */
	fx_append(f, 1, 1);
	fx_drive(f, fx_errors, 1, 2000);
	h = fx_health(f);
	assert_non_null(strstr(h.last_error, "HTTP 503"));
	assert_non_null(strstr(h.last_error, "busy"));
	assert_true(h.last_error_wall_ms >= before && h.last_error_wall_ms <= clock_wall_ms());
	assert_true(h.next_retry_ms > clock_mono_ms());
	assert_true(h.next_retry_ms <= clock_mono_ms() + 5000);
	fx_close_sink(f); /* made again (a changed setting): it starts clean */
	fx_open(f);
	assert_string_equal(fx_health(f).last_error, "");
	fx_drive(f, fx_acked, 0, 3000);
	fx_free(f);
	/* the same sink retries and delivers: the error stays, no retry waits */
	f = fx_new(&sc, 1);
	fx_open(f);
	fx_append(f, 1, 1);
	fx_drive(f, fx_acked, 0, 3000);
	h = fx_health(f);
	assert_non_null(strstr(h.last_error, "HTTP 503"));
	assert_int_equal(h.next_retry_ms, 0);
	fx_free(f);
}

/* A reload keeps the sink unless the token or password file changed. */
static void test_files_changed(void **state)
{
	struct fx *f = fx_new(NULL, 2);
	struct timespec ts[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };
	int fd;

	(void)state;
	fx_secret(f, "tok-1\n");
	f->cfg.token_file = f->secret_path;
	fx_open(f);
	assert_false(f->sink.ops->files_changed(f->sink.impl));
	fd = open(f->secret_path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "tok-2\n", 6), 6); /* same size, another token */
	assert_int_equal(futimens(fd, ts), 0);        /* and an mtime of its own */
	close(fd);
	assert_true(f->sink.ops->files_changed(f->sink.impl));
	fx_close_sink(f);
	fx_open(f);
	assert_false(f->sink.ops->files_changed(f->sink.impl));
	assert_int_equal(unlink(f->secret_path), 0);
	assert_true(f->sink.ops->files_changed(f->sink.impl));
	f->secret_path[0] = '\0';
	fx_close_sink(f);
	f->cfg.token_file = NULL;
	f->cfg.api = 1;
	fx_open(f); /* no secret file: nothing to change */
	assert_false(f->sink.ops->files_changed(f->sink.impl));
	fx_free(f);
}

/* ---- the permits' limits (outfall_limit) -------------------------------- */

/* One outlet on a permit with a Chinese number: ph 6..9 and a 120 m3 cap. */
struct lim_cfg {
	struct cfg_limit limit;
	struct cfg_permit permit;
	struct cfg_outlet outlet;
	struct config cfg;
};

static void lim_cfg_init(struct lim_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->limit = (struct cfg_limit){ .param = P_PH, .has_min = true, .min = 6,
				       .has_max = true, .max = 9, .basis = BASIS_INSTANT };
	c->permit = (struct cfg_permit){ .number = "浙丽排字第2023-0042号", .limits = &c->limit,
					 .n_limits = 1, .has_daily_volume = true,
					 .daily_volume_max_m3 = 120 };
	c->outlet = (struct cfg_outlet){ .id = "WS-001", .permit = 0 };
	c->cfg = (struct config){ .id = "gw-1", .permits = &c->permit, .n_permits = 1,
				  .outlets = &c->outlet, .n_outlets = 1 };
}

/* The two lines the sink must send for lim_cfg at ts. */
static void lim_expected(char *out, size_t cap, long long ts)
{
	snprintf(out, cap,
		 "outfall_limit,gateway=gw-1,outlet=WS-001,parameter=ph,basis=instant,"
		 "permit=浙丽排字第2023-0042号 min=6,max=9 %lld\n"
		 "outfall_limit,gateway=gw-1,outlet=WS-001,parameter=volume,basis=daily,"
		 "permit=浙丽排字第2023-0042号 max=120 %lld\n", ts, ts);
}

static bool fx_requests(struct fx *f, int n)
{
	return peer_count(f->peer) >= n;
}

/* Sent on their own request before the batch; not counted as records,
 * and not sent again. */
static void test_limits_before_batch(void **state)
{
	struct fx *f = fx_new(NULL, 1);
	struct lim_cfg c;
	char want[4096];

	(void)state;
	lim_cfg_init(&c);
	fx_open(f);
	assert_int_equal(sink_influx_set_limits(&f->sink, &c.cfg, TS0), 2);
	fx_append(f, 2, 1);
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 2);
	lim_expected(want, sizeof(want), TS0);
	assert_string_equal(fx_req(f, 0)->target, "/write?db=outfall&precision=ms");
	assert_string_equal(fx_req(f, 0)->body, want);
	expected_lines(want, sizeof(want), 1, 2);
	assert_string_equal(fx_req(f, 1)->body, want);
	assert_int_equal(fx_stats(f).sent, 2);
	fx_append(f, 1, 1);
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 3);
	expected_lines(want, sizeof(want), 3, 3);
	assert_string_equal(fx_req(f, 2)->body, want);
	fx_free(f);
}

/* Alone (no records at all), refused with 503 and then 500: retried with
 * backoff until a 2xx, then never again; a batch after them goes alone. */
static void test_limits_retried(void **state)
{
	static const struct peer_script sc = { .status = { 503, 500 }, .n = 2 };
	struct fx *f = fx_new(&sc, 1);
	struct lim_cfg c;
	char want[4096];

	(void)state;
	lim_cfg_init(&c);
	fx_open(f);
	assert_int_equal(sink_influx_set_limits(&f->sink, &c.cfg, TS0), 2);
	fx_drive(f, fx_requests, 3, 2000);
	lim_expected(want, sizeof(want), TS0);
	for (int i = 0; i < 3; i++)
		assert_string_equal(fx_req(f, i)->body, want);
	assert_int_equal(fx_req(f, 2)->status, 204);
	assert_true(fx_req(f, 1)->at_ms - fx_req(f, 0)->at_ms >= 15); /* backed off */
	assert_int_equal(fx_stats(f).errors, 2);
	for (int i = 0; i < 20; i++)
		fx_pass(f);
	assert_int_equal(peer_count(f->peer), 3);
	fx_append(f, 1, 1);
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 4);
	assert_int_equal(fx_stats(f).sent, 1);
	fx_free(f);
}

/* A failed batch, then limits given while it waits to be retried: the
 * limits go first, then the batch, each once delivered. */
static void test_limits_after_failed_batch(void **state)
{
	static const struct peer_script sc = { .status = { 500 }, .n = 1 };
	struct fx *f = fx_new(&sc, 1);
	struct lim_cfg c;
	char want[4096];

	(void)state;
	lim_cfg_init(&c);
	fx_open(f);
	fx_append(f, 2, 1);
	fx_drive(f, fx_errors, 1, 2000);
	assert_int_equal(sink_influx_set_limits(&f->sink, &c.cfg, TS0 + 7), 2);
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 3);
	lim_expected(want, sizeof(want), TS0 + 7);
	assert_string_equal(fx_req(f, 1)->body, want);
	expected_lines(want, sizeof(want), 1, 2);
	assert_string_equal(fx_req(f, 0)->body, want);
	assert_string_equal(fx_req(f, 2)->body, want);
	assert_int_equal(fx_stats(f).sent, 2);
	assert_int_equal(fx_stats(f).retried, 2);
	fx_free(f);
}

/* A second set replaces one not yet sent; one given while a set is in
 * flight follows it. */
static void test_limits_replaced(void **state)
{
	struct fx *f = fx_new(NULL, 1);
	struct lim_cfg c;
	char want[4096];

	(void)state;
	lim_cfg_init(&c);
	fx_open(f);
	assert_int_equal(sink_influx_set_limits(&f->sink, &c.cfg, TS0), 2);
	c.limit.max = 8.5;
	assert_int_equal(sink_influx_set_limits(&f->sink, &c.cfg, TS0 + 1), 2);
	fx_pass(f); /* the request is under way */
	c.limit.max = 9;
	assert_int_equal(sink_influx_set_limits(&f->sink, &c.cfg, TS0 + 2), 2);
	fx_drive(f, fx_requests, 2, 2000);
	for (int i = 0; i < 10; i++)
		fx_pass(f);
	assert_int_equal(peer_count(f->peer), 2);
	assert_non_null(strstr(fx_req(f, 0)->body, "min=6,max=8.5 1764403217001\n"));
	lim_expected(want, sizeof(want), TS0 + 2);
	assert_string_equal(fx_req(f, 1)->body, want);
	/* no permit any more: a set not yet sent is dropped */
	assert_int_equal(sink_influx_set_limits(&f->sink, &c.cfg, TS0 + 3), 2);
	c.outlet.permit = -1;
	assert_int_equal(sink_influx_set_limits(&f->sink, &c.cfg, TS0 + 4), 0);
	for (int i = 0; i < 10; i++)
		fx_pass(f);
	assert_int_equal(peer_count(f->peer), 2);
	fx_free(f);
}

/* A 400 refuses them for good: logged, dropped, the records go on. */
static void test_limits_refused(void **state)
{
	static const struct peer_script sc = {
		.status = { 400 }, .n = 1, .body = "{\"error\":\"field type conflict\"}",
	};
	struct fx *f = fx_new(&sc, 1);
	struct lim_cfg c;
	char want[4096];

	(void)state;
	lim_cfg_init(&c);
	fx_open(f);
	assert_int_equal(sink_influx_set_limits(&f->sink, &c.cfg, TS0), 2);
	fx_append(f, 1, 1);
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 2);
	expected_lines(want, sizeof(want), 1, 1);
	assert_string_equal(fx_req(f, 1)->body, want);
	assert_int_equal(fx_stats(f).quarantined, 0);
	assert_int_equal(fx_stats(f).errors, 1);
	assert_non_null(strstr(fx_health(f).last_error, "limit lines"));
	fx_free(f);
}

/* Gzip'ed like everything else; a sink that is not InfluxDB's refuses. */
static void test_limits_gzip_and_wrong_sink(void **state)
{
	struct fx *f = fx_new(NULL, 1);
	struct lim_cfg c;
	char want[4096], out[8192];
	const struct peer_req *rq;
	static const struct sink_ops other = { .name = "influx" };
	struct sink not_influx = { &other, NULL };
	z_stream z;

	(void)state;
	lim_cfg_init(&c);
	f->cfg.gzip = true;
	fx_open(f);
	assert_int_equal(sink_influx_set_limits(&not_influx, &c.cfg, TS0), -EINVAL);
	assert_int_equal(sink_influx_set_limits(&f->sink, NULL, TS0), -EINVAL);
	assert_int_equal(sink_influx_set_limits(&f->sink, &c.cfg, TS0), 2);
	fx_drive(f, fx_requests, 1, 2000);
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
	lim_expected(want, sizeof(want), TS0);
	assert_string_equal(out, want);
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
		cmocka_unit_test(test_400_once),
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
		cmocka_unit_test(test_health_last_error_and_retry),
		cmocka_unit_test(test_files_changed),
		cmocka_unit_test(test_limits_before_batch),
		cmocka_unit_test(test_limits_retried),
		cmocka_unit_test(test_limits_after_failed_batch),
		cmocka_unit_test(test_limits_replaced),
		cmocka_unit_test(test_limits_refused),
		cmocka_unit_test(test_limits_gzip_and_wrong_sink),
	};

	fx_unset_proxies();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
