/*
 * control.c - the control channel (see control.h): the request and reply
 * text, durations, and the datagram socket on both of its ends.
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"

enum field { F_CMD, F_SENSOR, F_MODE, F_FOR, F_REASON, F_ID, F_COUNT };

static const char *const field_names[F_COUNT] = { "cmd", "sensor", "mode", "for_s", "reason",
						  "id" };
static const char *const cmd_names[CONTROL_CMD_COUNT] = { "ping", "maintenance",
							   "alert-close", "history-commit" };
static const char *const mode_names[CONTROL_MODE_COUNT] = { "off", "maintenance",
							     "calibration" };
static const char *const code_names[CONTROL_CODE_COUNT] = { "usage", "range", "unknown",
							     "state", "internal" };

/* The fields each command needs and may have, as bit masks. */
static const unsigned need[CONTROL_CMD_COUNT] = {
	[CONTROL_PING] = 1u << F_CMD,
	[CONTROL_MAINT] = 1u << F_CMD | 1u << F_SENSOR | 1u << F_MODE,
	[CONTROL_ALERT_CLOSE] = 1u << F_CMD | 1u << F_ID | 1u << F_REASON,
	[CONTROL_HISTORY_COMMIT] = 1u << F_CMD,
};
static const unsigned allow[CONTROL_CMD_COUNT] = {
	[CONTROL_PING] = 1u << F_CMD,
	[CONTROL_MAINT] = 1u << F_CMD | 1u << F_SENSOR | 1u << F_MODE | 1u << F_FOR |
			  1u << F_REASON,
	[CONTROL_ALERT_CLOSE] = 1u << F_CMD | 1u << F_ID | 1u << F_REASON,
	[CONTROL_HISTORY_COMMIT] = 1u << F_CMD,
};

const char *control_mode_name(int mode)
{
	return mode >= 0 && mode < CONTROL_MODE_COUNT ? mode_names[mode] : "?";
}

const char *control_code_name(int code)
{
	return code >= 0 && code < CONTROL_CODE_COUNT ? code_names[code] : "?";
}

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (cap) {
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap); /* a cut message is still a message */
		va_end(ap);
	}
	return -EINVAL;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid:
 * no overlong forms, surrogates or code points past U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* Text a value may be: UTF-8 without control characters. */
static bool text_ok(const char *v, size_t n)
{
	const unsigned char *s = (const unsigned char *)v;

	for (size_t i = 0; i < n;) {
		size_t k = s[i] < 0x20 || s[i] == 0x7f ? 0 : utf8_seq(s + i, n - i);

		if (!k)
			return false;
		i += k;
	}
	return true;
}

static int name_index(const char *const *names, int count, const char *v, size_t n)
{
	for (int i = 0; i < count; i++)
		if (strlen(names[i]) == n && memcmp(names[i], v, n) == 0)
			return i;
	return -1;
}

/* A value into a field of cap bytes. */
static int put_text(char *dst, size_t cap, const char *key, const char *v, size_t n, char *err,
		    size_t errcap)
{
	if (n >= cap)
		return fail(err, errcap, "%s: longer than %zu bytes", key, cap - 1);
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

static int parse_for(const char *v, size_t n, int64_t *out, char *err, size_t errcap)
{
	int64_t s = 0;

	if (n == 0 || n > 8)
		return fail(err, errcap, "for_s: not a number of seconds");
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return fail(err, errcap, "for_s: not a number of seconds");
		s = s * 10 + (v[i] - '0');
	}
	if (s < 1 || s > CONTROL_FOR_MAX_S)
		return fail(err, errcap, "for_s: %lld is out of range (1..%d)", (long long)s,
			    CONTROL_FOR_MAX_S);
	*out = s;
	return 0;
}

static int put_field(struct control_req *rq, int f, const char *v, size_t n, char *err,
		     size_t errcap)
{
	switch (f) {
	case F_CMD:
		rq->cmd = name_index(cmd_names, CONTROL_CMD_COUNT, v, n);
		return rq->cmd < 0 ? fail(err, errcap, "unknown command \"%.*s\"", (int)n, v) : 0;
	case F_MODE:
		rq->mode = name_index(mode_names, CONTROL_MODE_COUNT, v, n);
		return rq->mode < 0 ? fail(err, errcap, "mode: \"%.*s\" is not maintenance, "
					   "calibration or off", (int)n, v) : 0;
	case F_FOR:
		return parse_for(v, n, &rq->for_s, err, errcap);
	case F_SENSOR:
		return put_text(rq->sensor, sizeof(rq->sensor), "sensor", v, n, err, errcap);
	case F_REASON:
		return put_text(rq->reason, sizeof(rq->reason), "reason", v, n, err, errcap);
	default:
		return put_text(rq->id, sizeof(rq->id), "id", v, n, err, errcap);
	}
}

/* One "key value" line of n bytes. */
static int parse_line(struct control_req *rq, const char *line, size_t n, unsigned *seen,
		      char *err, size_t errcap)
{
	const char *sp = memchr(line, ' ', n);
	size_t klen = sp ? (size_t)(sp - line) : n;
	const char *v = sp ? sp + 1 : line + n;
	size_t vlen = n - klen - (sp != NULL);
	int f = name_index(field_names, F_COUNT, line, klen);

	if (f < 0)
		return text_ok(line, klen) ? fail(err, errcap, "unknown field \"%.*s\"", (int)klen,
						  line)
					   : fail(err, errcap, "a field name that is not text");
	if (*seen & 1u << f)
		return fail(err, errcap, "%s given twice", field_names[f]);
	*seen |= 1u << f;
	if (!text_ok(v, vlen))
		return fail(err, errcap, "%s: a control character or bytes that are not UTF-8",
			    field_names[f]);
	if (vlen == 0)
		return fail(err, errcap, "%s: empty", field_names[f]);
	return put_field(rq, f, v, vlen, err, errcap);
}

/* The fields the command wants, and no other. */
static int check_fields(const struct control_req *rq, unsigned seen, char *err, size_t errcap)
{
	unsigned missing, extra;

	if (!(seen & 1u << F_CMD))
		return fail(err, errcap, "no command");
	missing = need[rq->cmd] & ~seen;
	extra = seen & ~allow[rq->cmd];
	if (rq->cmd == CONTROL_MAINT && rq->mode == CONTROL_OFF)
		extra |= seen & 1u << F_FOR;
	for (int f = 0; f < F_COUNT; f++) {
		if (missing & 1u << f)
			return fail(err, errcap, "%s: %s is missing", cmd_names[rq->cmd],
				    field_names[f]);
		if (extra & 1u << f)
			return fail(err, errcap, "%s%s: %s does not belong", cmd_names[rq->cmd],
				    rq->cmd == CONTROL_MAINT && rq->mode == CONTROL_OFF ? " off" : "",
				    field_names[f]);
	}
	return 0;
}

int control_parse(const char *msg, size_t len, struct control_req *rq, char *err, size_t errcap)
{
	size_t magic = strlen(CONTROL_MAGIC), off;
	unsigned seen = 0;
	int rc;

	if (len > CONTROL_MSG_MAX) {
		fail(err, errcap, "request longer than %d bytes", CONTROL_MSG_MAX);
		return -EMSGSIZE;
	}
	*rq = (struct control_req){ .cmd = -1, .mode = -1 };
	if (memchr(msg, '\0', len))
		return fail(err, errcap, "a NUL byte in the request");
	if (len < magic + 1 || memcmp(msg, CONTROL_MAGIC, magic) != 0 || msg[magic] != '\n')
		return fail(err, errcap, "not an outfall-control 1 request");
	for (off = magic + 1; off < len;) {
		const char *nl = memchr(msg + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (msg + off)) : len - off;

		if (n == 0)
			return fail(err, errcap, "an empty line");
		rc = parse_line(rq, msg + off, n, &seen, err, errcap);
		if (rc < 0)
			return rc;
		off += n + (nl != NULL);
	}
	return check_fields(rq, seen, err, errcap);
}

/* ---- formatting --------------------------------------------------------- */

struct tbuf {
	char *p;
	size_t cap, len;
	bool full;
};

static void tb_put(struct tbuf *t, const char *key, const char *v)
{
	int n;

	if (t->full)
		return;
	n = snprintf(t->p + t->len, t->cap - t->len, "%s %s\n", key, v);
	if (n < 0 || (size_t)n >= t->cap - t->len)
		t->full = true;
	else
		t->len += (size_t)n;
}

static bool value_ok(const char *v, size_t cap)
{
	size_t n = strnlen(v, cap);

	return n > 0 && n < cap && text_ok(v, n);
}

int control_format(const struct control_req *rq, char *buf, size_t cap)
{
	struct tbuf t = { .p = buf, .cap = cap < CONTROL_MSG_MAX + 1 ? cap : CONTROL_MSG_MAX + 1 };
	char num[24];
	bool maint = rq->cmd == CONTROL_MAINT, close = rq->cmd == CONTROL_ALERT_CLOSE;

	if (rq->cmd < 0 || rq->cmd >= CONTROL_CMD_COUNT ||
	    (maint && (!value_ok(rq->sensor, sizeof(rq->sensor)) || rq->mode < 0 ||
		       rq->mode >= CONTROL_MODE_COUNT || rq->for_s < 0 ||
		       rq->for_s > CONTROL_FOR_MAX_S || (rq->mode == CONTROL_OFF && rq->for_s))) ||
	    (close && (!value_ok(rq->id, sizeof(rq->id)) ||
		       !value_ok(rq->reason, sizeof(rq->reason)))) ||
	    (rq->reason[0] && !value_ok(rq->reason, sizeof(rq->reason))))
		return -EINVAL;
	if (!cap)
		return -ENOSPC;
	buf[0] = '\0';
	tb_put(&t, CONTROL_MAGIC "\ncmd", cmd_names[rq->cmd]);
	if (maint) {
		tb_put(&t, "sensor", rq->sensor);
		tb_put(&t, "mode", mode_names[rq->mode]);
		snprintf(num, sizeof(num), "%lld", (long long)rq->for_s);
		if (rq->for_s)
			tb_put(&t, "for_s", num);
	}
	if (close)
		tb_put(&t, "id", rq->id);
	if ((maint || close) && rq->reason[0])
		tb_put(&t, "reason", rq->reason);
	if (t.full) {
		buf[0] = '\0';
		return -ENOSPC;
	}
	return (int)t.len;
}

int control_parse_duration(const char *s, int64_t *ms, char *err, size_t errcap)
{
	int64_t total = 0;
	const char *p = s;

	if (!*s)
		return fail(err, errcap, "an empty duration");
	while (*p) {
		int64_t n = 0, unit;
		const char *d = p;

		while (*p >= '0' && *p <= '9' && p - d < 9)
			n = n * 10 + (*p++ - '0');
		if (p == d)
			return fail(err, errcap, "\"%s\" is not a duration like 90s, 30m, 2h or 1h30m",
				    s);
		if (*p == 'h')
			unit = 3600, p++;
		else if (strncmp(p, "min", 3) == 0)
			unit = 60, p += 3;
		else if (*p == 'm')
			unit = 60, p++;
		else if (*p == 's')
			unit = 1, p++;
		else
			return fail(err, errcap, "\"%s\": each number needs a unit: s, m or h", s);
		total += n * unit;
		if (total > CONTROL_FOR_MAX_S) {
			fail(err, errcap, "\"%s\" is longer than %d days", s,
			     CONTROL_FOR_MAX_S / 86400);
			return -ERANGE;
		}
	}
	if (total == 0) {
		fail(err, errcap, "\"%s\" is no time at all", s);
		return -ERANGE;
	}
	*ms = total * 1000;
	return 0;
}

int control_parse_reply(const char *reply, bool *ok, int *code, const char **msg)
{
	const char *nl = strchr(reply, '\n');
	size_t n = nl ? (size_t)(nl - reply) : strlen(reply);

	if (n == 2 && memcmp(reply, "ok", 2) == 0) {
		*ok = true;
		*code = -1;
	} else if (n > 6 && memcmp(reply, "error ", 6) == 0) {
		int c = name_index(code_names, CONTROL_CODE_COUNT, reply + 6, n - 6);

		if (c < 0)
			return -EBADMSG;
		*ok = false;
		*code = c;
	} else {
		return -EBADMSG;
	}
	*msg = nl ? nl + 1 : reply + n;
	return 0;
}

/* ---- the socket --------------------------------------------------------- */

static int socket_path(const char *dir, struct sockaddr_un *a, socklen_t *len)
{
	int n;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	n = snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s", dir, CONTROL_SOCKET);
	if (n < 0 || (size_t)n >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
	return 0;
}

int control_open(const char *dir, int *fd_out)
{
	struct sockaddr_un a;
	struct stat sb;
	socklen_t len;
	int one = 1, fd, rc = socket_path(dir, &a, &len);

	if (rc < 0)
		return rc;
	/* a socket left by a crash is ours to replace; anything else is not */
	if (lstat(a.sun_path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode))
			return -EEXIST;
		if (unlink(a.sun_path) < 0)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* the sender's pid and uid, for the log; without them it still works */
	(void)setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, len) < 0 || chmod(a.sun_path, 0660) < 0) {
		rc = -errno;
		close(fd);
		unlink(a.sun_path);
		return rc;
	}
	*fd_out = fd;
	return 0;
}

void control_close(int fd, const char *dir)
{
	struct sockaddr_un a;
	socklen_t len;

	if (fd < 0)
		return;
	close(fd);
	if (socket_path(dir, &a, &len) == 0)
		unlink(a.sun_path);
}

/* Credentials are taken; descriptors someone sent are closed unread. */
static void take_cmsgs(struct msghdr *mh, struct control_peer *peer)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			peer->has_cred = true;
			peer->pid = uc.pid;
			peer->uid = uc.uid;
		} else if (c->cmsg_type == SCM_RIGHTS) {
			size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < n; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
				close(fd);
			}
		}
	}
}

ssize_t control_recv(int fd, char *buf, size_t cap, struct control_peer *peer)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = buf, .iov_len = cap - 1 };
	struct msghdr mh = { .msg_name = &peer->addr, .msg_namelen = sizeof(peer->addr),
			     .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
			     .msg_controllen = sizeof(cm.b) };
	ssize_t n;

	memset(peer, 0, sizeof(*peer));
	n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	peer->addr_len = mh.msg_namelen;
	take_cmsgs(&mh, peer);
	if ((mh.msg_flags & MSG_TRUNC) || (size_t)n > CONTROL_MSG_MAX) {
		buf[0] = '\0';
		return -EMSGSIZE;
	}
	buf[n] = '\0';
	return n;
}

int control_reply(int fd, const struct control_peer *peer, bool ok, int code, const char *msg)
{
	char buf[CONTROL_MSG_MAX + 1];
	int n = ok ? snprintf(buf, sizeof(buf), "ok\n%s", msg)
		   : snprintf(buf, sizeof(buf), "error %s\n%s", control_code_name(code), msg);

	if (peer->addr_len <= sizeof(sa_family_t))
		return -EDESTADDRREQ; /* an unbound sender cannot be answered */
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(buf))
		n = (int)sizeof(buf) - 1; /* the message is cut, never the code */
	if (sendto(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL,
		   (const struct sockaddr *)&peer->addr, peer->addr_len) < 0)
		return -errno;
	return 0;
}

int control_call(const char *path, const char *req, size_t len, char *reply, size_t cap,
		 int timeout_ms)
{
	struct sockaddr_un me = { .sun_family = AF_UNIX }, to = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	int64_t end = clock_mono_ms() + timeout_ms;
	ssize_t n;
	int fd, rc = 0;

	if (strlen(path) >= sizeof(to.sun_path))
		return -ENAMETOOLONG;
	memcpy(to.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* an abstract address of the kernel's choosing, for the reply */
	if (bind(fd, (struct sockaddr *)&me, sizeof(sa_family_t)) < 0 ||
	    connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0 ||
	    send(fd, req, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		rc = -errno;
		goto out;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	for (;;) {
		int64_t left = end - clock_mono_ms();
		int p = left > 0 ? poll(&pfd, 1, (int)left) : 0;

		if (p < 0 && errno == EINTR)
			continue;
		if (p <= 0) {
			rc = p < 0 ? -errno : -ETIMEDOUT;
			goto out;
		}
		break;
	}
	n = recv(fd, reply, cap - 1, MSG_DONTWAIT);
	if (n < 0) {
		rc = -errno;
		goto out;
	}
	reply[n] = '\0';
out:
	close(fd);
	return rc;
}
