/*
 * test_control.c - the control channel (daemon/control.c): requests parsed
 * and refused (no header, unknown commands and fields, a field twice or
 * missing or out of place, control characters, bytes that are not UTF-8,
 * a NUL, oversized), formatting and its round trip, durations, replies,
 * and the socket itself: its mode, a request and its answer across it, an
 * oversized datagram, descriptors sent along closed, and what the client
 * says when nobody listens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/control.h"
#include "test_tmpdir.h"

#define HDR CONTROL_MAGIC "\n"

static int parse(const char *msg, struct control_req *rq, char *err)
{
	return control_parse(msg, strlen(msg), rq, err, 160);
}

/* ---- parsing ------------------------------------------------------------ */

static void test_parse_good(void **state)
{
	struct control_req rq;
	char err[160];

	(void)state;
	assert_int_equal(parse(HDR "cmd ping\n", &rq, err), 0);
	assert_int_equal(rq.cmd, CONTROL_PING);
	assert_int_equal(parse(HDR "cmd maintenance\nsensor probe1\nmode calibration\nfor_s 5400\n"
			       "reason 换膜 membrane\n", &rq, err), 0);
	assert_int_equal(rq.cmd, CONTROL_MAINT);
	assert_string_equal(rq.sensor, "probe1");
	assert_int_equal(rq.mode, CONTROL_CALIBRATION);
	assert_int_equal(rq.for_s, 5400);
	assert_string_equal(rq.reason, "换膜 membrane");
	/* the last line may go without its newline; fields in any order */
	assert_int_equal(parse(HDR "mode off\nsensor flow1\ncmd maintenance", &rq, err), 0);
	assert_int_equal(rq.mode, CONTROL_OFF);
	assert_int_equal(rq.for_s, 0);
	assert_string_equal(rq.reason, "");
	assert_int_equal(parse(HDR "cmd alert-close\nid gw/WS-001/cod/instant/1764403217000\n"
			       "reason false: probe fouled\n", &rq, err), 0);
	assert_int_equal(rq.cmd, CONTROL_ALERT_CLOSE);
	assert_string_equal(rq.id, "gw/WS-001/cod/instant/1764403217000");
	assert_int_equal(parse(HDR "cmd history-commit\n", &rq, err), 0);
	assert_int_equal(rq.cmd, CONTROL_HISTORY_COMMIT);
}

struct bad {
	const char *msg;
	const char *err; /* part of the message */
};

static void test_parse_bad(void **state)
{
	static const struct bad cases[] = {
		{ "", "not an outfall-control 1 request" },
		{ "outfall-control 2\ncmd ping\n", "not an outfall-control 1" },
		{ "cmd ping\n", "not an outfall-control 1" },
		{ HDR, "no command" },
		{ HDR "cmd reboot\n", "unknown command \"reboot\"" },
		{ HDR "cmd ping\nbogus 1\n", "unknown field \"bogus\"" },
		{ HDR "cmd ping\ncmd ping\n", "cmd given twice" },
		{ HDR "cmd ping\n\n", "an empty line" },
		{ HDR "cmd ping\nsensor x\n", "ping: sensor does not belong" },
		{ HDR "cmd maintenance\nmode maintenance\n", "maintenance: sensor is missing" },
		{ HDR "cmd maintenance\nsensor p\n", "maintenance: mode is missing" },
		{ HDR "cmd maintenance\nsensor p\nmode on\n", "is not maintenance, calibration" },
		{ HDR "cmd maintenance\nsensor p\nmode off\nfor_s 60\n",
		  "maintenance off: for_s does not belong" },
		{ HDR "cmd maintenance\nsensor p\nmode maintenance\nid x\n", "id does not belong" },
		{ HDR "cmd maintenance\nsensor p\nmode maintenance\nfor_s 0\n", "out of range" },
		{ HDR "cmd maintenance\nsensor p\nmode maintenance\nfor_s 2592001\n",
		  "out of range" },
		{ HDR "cmd maintenance\nsensor p\nmode maintenance\nfor_s -5\n", "not a number" },
		{ HDR "cmd maintenance\nsensor p\nmode maintenance\nfor_s 1e3\n", "not a number" },
		{ HDR "cmd maintenance\nsensor p\nmode maintenance\nfor_s 999999999999\n",
		  "not a number" },
		{ HDR "cmd maintenance\nsensor 0123456789012345678901234567890123\n"
		      "mode off\n", "sensor: longer than 31 bytes" },
		{ HDR "cmd maintenance\nsensor p\nmode off\nreason a\tb\n",
		  "reason: a control character" },
		{ HDR "cmd maintenance\nsensor p\nmode off\nreason a\rb\n",
		  "reason: a control character" },
		{ HDR "cmd maintenance\nsensor p\nmode off\nreason \xff\xfe\n", "not UTF-8" },
		{ HDR "cmd maintenance\nsensor p\nmode off\nreason \xc0\xaf\n", "not UTF-8" },
		{ HDR "cmd maintenance\nsensor p\nmode off\nreason \xed\xa0\x80\n", "not UTF-8" },
		{ HDR "cmd maintenance\nsensor p\nmode off\nreason \xe6\x8d\n", "not UTF-8" },
		{ HDR "cmd maintenance\nsensor p\nmode off\nreason\n", "reason: empty" },
		{ HDR "cmd alert-close\nid x\n", "alert-close: reason is missing" },
		{ HDR "cmd alert-close\nreason r\n", "alert-close: id is missing" },
		{ HDR "cmd alert-close\nid x\nreason r\nmode off\n", "mode does not belong" },
		{ HDR "cmd history-commit\nsensor p\n", "history-commit: sensor does not belong" },
	};
	struct control_req rq;
	char err[160];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i].msg, &rq, err);

		if (rc != -EINVAL || !strstr(err, cases[i].err))
			fail_msg("case %zu: rc %d, \"%s\", want \"%s\"", i, rc, err, cases[i].err);
	}
}

static void test_parse_nul_and_oversized(void **state)
{
	static const char nul[] = HDR "cmd ping\0sensor x\n";
	char big[CONTROL_MSG_MAX + 2], err[160];
	struct control_req rq;
	size_t n;

	(void)state;
	assert_int_equal(control_parse(nul, sizeof(nul) - 1, &rq, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "NUL"));
	n = (size_t)snprintf(big, sizeof(big), HDR "cmd maintenance\nsensor p\nmode off\nreason ");
	memset(big + n, 'a', sizeof(big) - n);
	assert_int_equal(control_parse(big, CONTROL_MSG_MAX + 1, &rq, err, sizeof(err)),
			 -EMSGSIZE);
	assert_non_null(strstr(err, "longer than 1024 bytes"));
	/* exactly the maximum is parsed (and refused only for its long reason) */
	assert_int_equal(control_parse(big, CONTROL_MSG_MAX, &rq, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "reason: longer than"));
	/* a tiny error buffer is not overrun */
	assert_int_equal(control_parse("x", 1, &rq, err, 4), -EINVAL);
	assert_int_equal(strlen(err), 3);
}

/* ---- formatting --------------------------------------------------------- */

static void test_format_round_trip(void **state)
{
	struct control_req rq = { .cmd = CONTROL_MAINT, .sensor = "probe1",
				  .mode = CONTROL_MAINTENANCE, .for_s = 7200,
				  .reason = "校准 pH" }, back;
	struct control_req close = { .cmd = CONTROL_ALERT_CLOSE, .mode = -1, .id = "a/b/c",
				     .reason = "false" };
	char buf[CONTROL_MSG_MAX + 1], err[160];
	int n;

	(void)state;
	n = control_format(&rq, buf, sizeof(buf));
	assert_true(n > 0);
	assert_string_equal(buf, HDR "cmd maintenance\nsensor probe1\nmode maintenance\n"
			    "for_s 7200\nreason 校准 pH\n");
	assert_int_equal(control_parse(buf, (size_t)n, &back, err, sizeof(err)), 0);
	assert_string_equal(back.sensor, "probe1");
	assert_int_equal(back.for_s, 7200);
	assert_string_equal(back.reason, rq.reason);
	n = control_format(&close, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(control_parse(buf, (size_t)n, &back, err, sizeof(err)), 0);
	assert_int_equal(back.cmd, CONTROL_ALERT_CLOSE);
	assert_string_equal(back.id, "a/b/c");
	n = control_format(&(struct control_req){ .cmd = CONTROL_HISTORY_COMMIT, .mode = -1 }, buf,
			   sizeof(buf));
	assert_string_equal(buf, HDR "cmd history-commit\n");
	assert_int_equal(control_parse(buf, (size_t)n, &back, err, sizeof(err)), 0);
	assert_int_equal(back.cmd, CONTROL_HISTORY_COMMIT);
	/* what cannot be sent */
	strcpy(rq.reason, "two\nlines");
	assert_int_equal(control_format(&rq, buf, sizeof(buf)), -EINVAL);
	strcpy(rq.reason, "ok");
	rq.mode = CONTROL_OFF;
	assert_int_equal(control_format(&rq, buf, sizeof(buf)), -EINVAL); /* off with for_s */
	rq.for_s = 0;
	assert_true(control_format(&rq, buf, sizeof(buf)) > 0);
	rq.sensor[0] = '\0';
	assert_int_equal(control_format(&rq, buf, sizeof(buf)), -EINVAL);
	close.reason[0] = '\0'; /* a close needs its reason */
	assert_int_equal(control_format(&close, buf, sizeof(buf)), -EINVAL);
	rq.cmd = 7;
	assert_int_equal(control_format(&rq, buf, sizeof(buf)), -EINVAL);
	rq = (struct control_req){ .cmd = CONTROL_PING, .mode = -1 };
	assert_int_equal(control_format(&rq, buf, 10), -ENOSPC);
	assert_string_equal(buf, "");
}

/* ---- durations and replies ---------------------------------------------- */

static void test_durations(void **state)
{
	static const struct {
		const char *s;
		int rc;
		int64_t ms;
	} cases[] = {
		{ "90s", 0, 90000 },       { "30m", 0, 1800000 },     { "2h", 0, 7200000 },
		{ "1h30m", 0, 5400000 },   { "45min", 0, 2700000 },   { "1h1m1s", 0, 3661000 },
		{ "720h", 0, 2592000000 }, { "721h", -ERANGE, 0 },    { "0s", -ERANGE, 0 },
		{ "0h0m", -ERANGE, 0 },    { "", -EINVAL, 0 },        { "90", -EINVAL, 0 },
		{ "h", -EINVAL, 0 },       { "2d", -EINVAL, 0 },      { "-5m", -EINVAL, 0 },
		{ "1.5h", -EINVAL, 0 },    { "2h ", -EINVAL, 0 },     { " 2h", -EINVAL, 0 },
		{ "99999999999h", -EINVAL, 0 },
	};
	char err[160];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ms = -1;
		int rc = control_parse_duration(cases[i].s, &ms, err, sizeof(err));

		if (rc != cases[i].rc || (rc == 0 && ms != cases[i].ms) || (rc != 0 && ms != -1))
			fail_msg("\"%s\": rc %d ms %lld, want %d %lld (%s)", cases[i].s, rc,
				 (long long)ms, cases[i].rc, (long long)cases[i].ms, err);
	}
}

static void test_replies(void **state)
{
	const char *msg;
	bool ok;
	int code;

	(void)state;
	assert_int_equal(control_parse_reply("ok\nsensor probe1: done", &ok, &code, &msg), 0);
	assert_true(ok);
	assert_string_equal(msg, "sensor probe1: done");
	assert_int_equal(control_parse_reply("error unknown\nno such sensor", &ok, &code, &msg), 0);
	assert_false(ok);
	assert_int_equal(code, CONTROL_E_UNKNOWN);
	assert_string_equal(msg, "no such sensor");
	assert_int_equal(control_parse_reply("ok", &ok, &code, &msg), 0);
	assert_string_equal(msg, "");
	assert_int_equal(control_parse_reply("error bogus\nx", &ok, &code, &msg), -EBADMSG);
	assert_int_equal(control_parse_reply("okay\n", &ok, &code, &msg), -EBADMSG);
	assert_int_equal(control_parse_reply("", &ok, &code, &msg), -EBADMSG);
	for (int c = 0; c < CONTROL_CODE_COUNT; c++)
		assert_string_not_equal(control_code_name(c), "?");
	assert_string_equal(control_code_name(CONTROL_CODE_COUNT), "?");
}

/* ---- the socket --------------------------------------------------------- */

struct sock_env {
	char dir[64];
	char path[128];
	int fd;
};

static int sock_setup(void **state)
{
	struct sock_env *e = calloc(1, sizeof(*e));

	if (!e)
		return -1;
	strcpy(e->dir, "/tmp/test_control.XXXXXX");
	if (!mkdtemp(e->dir)) {
		free(e);
		return -1;
	}
	snprintf(e->path, sizeof(e->path), "%s/%s", e->dir, CONTROL_SOCKET);
	e->fd = -1;
	*state = e;
	return 0;
}

static int sock_teardown(void **state)
{
	struct sock_env *e = *state;

	control_close(e->fd, e->dir);
	test_rm_tree(e->dir);
	free(e);
	return 0;
}

/* A child asks with control_call and exits with what it got back:
 * 0 when the reply was want, else 1; a negative rc as 100 + -rc. */
static pid_t ask(const char *path, const char *req, size_t len, const char *want, int timeout)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char reply[CONTROL_MSG_MAX + 1];
		int rc = control_call(path, req, len, reply, sizeof(reply), timeout);

		_exit(rc < 0 ? 100 + -rc : strcmp(reply, want) != 0);
	}
	return pid;
}

static int child_status(pid_t pid)
{
	int st = 0;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* Waits up to 2 s for a datagram on fd. */
static ssize_t recv_wait(int fd, char *buf, size_t cap, struct control_peer *peer)
{
	for (int i = 0; i < 200; i++) {
		ssize_t n = control_recv(fd, buf, cap, peer);

		if (n != -EAGAIN)
			return n;
		usleep(10000);
	}
	return -EAGAIN;
}

static void test_socket_round_trip(void **state)
{
	struct sock_env *e = *state;
	char buf[CONTROL_MSG_MAX + 1], req[CONTROL_MSG_MAX + 1];
	struct control_req rq = { .cmd = CONTROL_PING, .mode = -1 }, got;
	struct control_peer peer;
	struct stat sb;
	int n, flags;
	pid_t pid;

	assert_int_equal(control_open(e->dir, &e->fd), 0);
	assert_int_equal(stat(e->path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0660);
	flags = fcntl(e->fd, F_GETFL);
	assert_true(flags & O_NONBLOCK);
	assert_true(fcntl(e->fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(control_recv(e->fd, buf, sizeof(buf), &peer), -EAGAIN);
	n = control_format(&rq, req, sizeof(req));
	pid = ask(e->path, req, (size_t)n, "ok\noutfalld here", 3000);
	assert_int_equal(recv_wait(e->fd, buf, sizeof(buf), &peer), n);
	assert_true(peer.has_cred);
	assert_int_equal(peer.pid, pid);
	assert_int_equal(peer.uid, getuid());
	assert_int_equal(control_parse(buf, (size_t)n, &got, NULL, 0), 0);
	assert_int_equal(got.cmd, CONTROL_PING);
	assert_int_equal(control_reply(e->fd, &peer, true, 0, "outfalld here"), 0);
	assert_int_equal(child_status(pid), 0);
	/* an error reply */
	pid = ask(e->path, req, (size_t)n, "error state\nsensor p is not in maintenance", 3000);
	assert_int_equal(recv_wait(e->fd, buf, sizeof(buf), &peer), n);
	assert_int_equal(control_reply(e->fd, &peer, false, CONTROL_E_STATE,
				       "sensor p is not in maintenance"), 0);
	assert_int_equal(child_status(pid), 0);
	/* no answer in time */
	pid = ask(e->path, req, (size_t)n, "", 200);
	assert_int_equal(child_status(pid), 100 + ETIMEDOUT);
	assert_int_equal(recv_wait(e->fd, buf, sizeof(buf), &peer), n);
	/* the client is gone: the reply is lost, the daemon goes on */
	assert_true(control_reply(e->fd, &peer, true, 0, "late") < 0);
}

static void test_socket_oversized_and_fds(void **state)
{
	struct sock_env *e = *state;
	char big[CONTROL_MSG_MAX + 100], buf[CONTROL_MSG_MAX + 1];
	struct control_peer peer;
	struct sockaddr_un to = { .sun_family = AF_UNIX }, me = { .sun_family = AF_UNIX };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = buf, .iov_len = 4 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
			     .msg_controllen = sizeof(cm.b) };
	struct cmsghdr *c;
	int fd, sent, probe;

	assert_int_equal(control_open(e->dir, &e->fd), 0);
	memset(big, 'x', sizeof(big));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(sa_family_t)), 0);
	strcpy(to.sun_path, e->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	/* one byte over: refused whole, and the next one is read cleanly */
	assert_int_equal(send(fd, big, CONTROL_MSG_MAX + 1, 0), CONTROL_MSG_MAX + 1);
	assert_int_equal(send(fd, big, sizeof(big), 0), (ssize_t)sizeof(big));
	assert_int_equal(send(fd, "ping", 4, 0), 4);
	assert_int_equal(control_recv(e->fd, buf, sizeof(buf), &peer), -EMSGSIZE);
	assert_int_equal(control_recv(e->fd, buf, sizeof(buf), &peer), -EMSGSIZE);
	assert_true(peer.addr_len > sizeof(sa_family_t)); /* can be told so */
	assert_int_equal(control_recv(e->fd, buf, sizeof(buf), &peer), 4);
	assert_string_equal(buf, "ping");
	/* a descriptor sent along is closed, not kept */
	sent = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(sent >= 0);
	memset(&cm, 0, sizeof(cm));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sent, sizeof(int));
	memcpy(buf, "ping", 4);
	assert_int_equal(sendmsg(fd, &mh, 0), 4);
	close(sent);
	assert_int_equal(control_recv(e->fd, buf, sizeof(buf), &peer), 4);
	probe = open("/dev/null", O_RDONLY | O_CLOEXEC); /* the lowest free number */
	assert_true(probe >= 0);
	assert_int_equal(probe, sent); /* the received copy did not take it */
	close(probe);
	close(fd);
}

static void test_socket_nobody(void **state)
{
	struct sock_env *e = *state;
	char reply[64];
	int fd;

	/* no socket at all */
	assert_int_equal(control_call(e->path, "x", 1, reply, sizeof(reply), 200), -ENOENT);
	/* a socket a crashed daemon left: refused; and replaced on the next start */
	assert_int_equal(control_open(e->dir, &fd), 0);
	close(fd);
	assert_int_equal(control_call(e->path, "x", 1, reply, sizeof(reply), 200), -ECONNREFUSED);
	assert_int_equal(control_open(e->dir, &e->fd), 0);
	/* something else in its place is not ours to remove */
	control_close(e->fd, e->dir);
	e->fd = -1;
	assert_int_equal(access(e->path, F_OK), -1);
	assert_int_equal(mkdir(e->path, 0700), 0);
	assert_int_equal(control_open(e->dir, &fd), -EEXIST);
	rmdir(e->path);
	/* a path a unix address cannot hold */
	assert_int_equal(control_open("/tmp/" "0123456789012345678901234567890123456789"
				      "0123456789012345678901234567890123456789"
				      "0123456789012345678901234567890123456789", &fd),
			 -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_nul_and_oversized),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_replies),
		cmocka_unit_test_setup_teardown(test_socket_round_trip, sock_setup, sock_teardown),
		cmocka_unit_test_setup_teardown(test_socket_oversized_and_fds, sock_setup,
						sock_teardown),
		cmocka_unit_test_setup_teardown(test_socket_nobody, sock_setup, sock_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
