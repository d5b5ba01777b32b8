/*
 * ctl_hj212_listen.c - `outfallctl hj212 listen`: a minimal strict HJ 212
 * platform for commissioning. It listens on one TCP address, takes up to
 * LS_CLIENTS data loggers at once, prints every packet it receives as
 * received and field by field with what is wrong with it (the checks of
 * ctl_hj212_check.c), and answers a good packet that asks for a reply
 * (Flag A) with its 9014: same QN, ST=91, Flag without A, CP=&&&&. A bad
 * one gets no reply, as a strict platform gives none, so the logger's
 * resends show. One thread, one poll() loop; SIGINT, SIGTERM and SIGHUP
 * (read from a signalfd) end it after a summary line.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_hj212.h"
#include "base/clock.h"

#define LS_CLIENTS 16
#define LS_RX (4 * HJ212_FRAME_MAX)
#define LS_TX 4096
#define LS_NAME 64

struct ls_client {
	int fd;                 /* -1: a free slot */
	char name[LS_NAME];     /* "127.0.0.1:41234" */
	char rx[LS_RX];
	size_t rx_len;
	char tx[LS_TX];         /* 9014s not yet written */
	size_t tx_len;
};

struct listener {
	int lfd, sfd;
	const char *pw, *mn;    /* expected, NULL: any */
	struct ls_client c[LS_CLIENTS];
	unsigned long conns, packets, bad, acked;
	struct hjc_result res;  /* the packet being judged */
};

static void listen_usage(FILE *out)
{
	fprintf(out,
		"usage: outfallctl hj212 listen --port N [--bind ADDR] [--pw PW] [--mn MN]\n"
		"A strict HJ 212 platform, for commissioning while the agency's own is not\n"
		"reachable: point a sinks.hj212 entry at this host and port. Every packet\n"
		"received is printed as it came (one line, CR LF left out) and field by field,\n"
		"checked as `outfallctl hj212 decode` checks it; a good one that asks for a\n"
		"reply (Flag=5 or 7) is answered with its 9014 (same QN), and the line says so.\n"
		"A bad one gets no reply, as a strict platform gives none: outfalld sends it\n"
		"again after its timeout_s. Up to %d data loggers at once. Ctrl-C (SIGINT) or\n"
		"SIGTERM ends it with a count of what came.\n"
		"\n"
		"  --port N      TCP port to listen on (0: any free one, printed)\n"
		"  --bind ADDR   address to listen on (default 127.0.0.1; 0.0.0.0 or :: for\n"
		"                every interface, to take a logger on the network)\n"
		"  --pw PW       the access password to expect (default: any)\n"
		"  --mn MN       the device code to expect (default: any)\n"
		"  -h, --help    this help\n"
		"\n"
		"exit codes: 0 ended by a signal, 64 usage, 69 cannot listen there (address in\n"
		"use or not this host's), 71 system error, 77 permission denied (a port below\n"
		"1024)\n", LS_CLIENTS);
}

static void stamp(FILE *out)
{
	int64_t ms = clock_wall_ms();
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	fprintf(out, "%02d:%02d:%02d.%03d ", tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* "host:port" of a socket address ("[::1]:5000" for IPv6). */
static void addr_name(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(buf, cap, "?");
		return;
	}
	snprintf(buf, cap, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, serv);
}

/* ---- the listening socket ----------------------------------------------------- */

static int open_listener(struct listener *l, const char *bind_addr, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE |
				  AI_NUMERICSERV }, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char name[LS_NAME];
	int one = 1, rc = getaddrinfo(bind_addr, port, &hints, &ai), e;

	if (rc != 0) {
		fprintf(stderr, "outfallctl hj212 listen: %s: %s\n", bind_addr, gai_strerror(rc));
		return EX_UNAVAILABLE;
	}
	l->lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->lfd < 0 || setsockopt(l->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l->lfd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(l->lfd, LS_CLIENTS) < 0 ||
	    getsockname(l->lfd, (struct sockaddr *)&ss, &sl) < 0) {
		e = errno;
		fprintf(stderr, "outfallctl hj212 listen: cannot listen on %s port %s: %s\n",
			bind_addr, port, strerror(e));
		freeaddrinfo(ai);
		return e == EACCES ? EX_NOPERM : e == EADDRINUSE || e == EADDRNOTAVAIL
		       ? EX_UNAVAILABLE : EX_OSERR;
	}
	freeaddrinfo(ai);
	addr_name((struct sockaddr *)&ss, sl, name, sizeof(name));
	printf("listening on %s%s%s\n", name, l->pw ? ", expecting PW " : "", l->pw ? l->pw : "");
	return EX_OK;
}

static void accept_client(struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = accept4(l->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct ls_client *c = NULL;
	char name[LS_NAME];

	if (fd < 0)
		return; /* gone before we took it, or out of fds: poll says again */
	addr_name((struct sockaddr *)&ss, sl, name, sizeof(name));
	for (int i = 0; i < LS_CLIENTS && !c; i++)
		if (l->c[i].fd < 0)
			c = &l->c[i];
	stamp(stdout);
	if (!c) {
		printf("%s: refused, %d loggers are connected already\n", name, LS_CLIENTS);
		close(fd);
		return;
	}
	c->fd = fd;
	c->rx_len = c->tx_len = 0;
	snprintf(c->name, sizeof(c->name), "%s", name);
	l->conns++;
	printf("%s: connected\n", name);
}

static void drop_client(struct ls_client *c, const char *why)
{
	stamp(stdout);
	printf("%s: %s\n", c->name, why);
	close(c->fd);
	c->fd = -1;
}

/* ---- packets ---------------------------------------------------------------------- */

/* The packet as it came, one line: CR LF left out, other control bytes
 * as \xNN. */
static void print_raw(const char *p, size_t n, FILE *out)
{
	if (n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n')
		n -= 2;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch < 0x20 || ch == 0x7f)
			fprintf(out, "\\x%02X", ch);
		else
			fputc(ch, out);
	}
	fputc('\n', out);
}

static bool send_bytes(struct ls_client *c, const char *p, size_t n)
{
	if (c->tx_len + n > sizeof(c->tx))
		return false;
	memcpy(c->tx + c->tx_len, p, n);
	c->tx_len += n;
	return true;
}

/* The 9014 of m, queued for c: false when it cannot be. */
static bool reply_9014(struct ls_client *c, const struct hj212_msg *m)
{
	char seg[HJ212_SEG_MAX + 1], pkt[HJ212_FRAME_MAX + 1];
	int n = snprintf(seg, sizeof(seg), "QN=%s;ST=91;CN=9014;PW=%s;MN=%s;Flag=%d;CP=&&&&",
			 m->qn, m->pw, m->mn, m->flag & ~(HJ212_FLAG_A | HJ212_FLAG_D));
	int f = n > 0 ? hj212_frame(pkt, sizeof(pkt), seg, (size_t)n) : -EINVAL;

	return f > 0 && send_bytes(c, pkt, (size_t)f);
}

/* One frame (or the bytes dropped before one): printed, judged, answered. */
static void on_frame(struct listener *l, struct ls_client *c, const char *p, size_t n,
		     int rc, const char *why)
{
	struct hjc_result *r = &l->res;
	bool good;

	stamp(stdout);
	printf("%s: ", c->name);
	print_raw(p, n, stdout);
	good = hjc_check(p, n, l->pw, l->mn, r) == 0 && rc == 0;
	if (rc < 0 && r->n_problems == 0) /* what the parser saw and the check did not */
		snprintf(r->problems[r->n_problems++], HJC_SAY_LEN, "%s", why ? why : "malformed");
	hjc_print(r, "  ", stdout);
	l->packets++;
	l->bad += !good;
	if (!good) {
		printf("  BAD%s\n", r->parsed && (r->msg.flag & HJ212_FLAG_A)
		       ? ": not acknowledged (the logger will send it again)" : "");
		return;
	}
	if (!(r->msg.flag & HJ212_FLAG_A)) {
		printf("  good (no reply asked)\n");
	} else if (reply_9014(c, &r->msg)) {
		l->acked++;
		printf("  good: 9014 sent for QN %s\n", r->msg.qn);
	} else {
		printf("  good, but its 9014 cannot be queued: the logger does not read\n");
	}
}

/* The frames in c's buffer; a partial one stays. */
static void take_frames(struct listener *l, struct ls_client *c)
{
	size_t pos = 0;

	while (pos < c->rx_len) {
		size_t seg_len = 0, used = 0;
		const char *why = NULL;
		int rc = hj212_unframe(c->rx + pos, c->rx_len - pos, &seg_len, &used, &why);

		if (rc == -EAGAIN)
			break;
		on_frame(l, c, c->rx + pos, used, rc, why);
		pos += used;
	}
	if (pos == 0 && c->rx_len == sizeof(c->rx)) { /* cannot happen: a frame fits */
		on_frame(l, c, c->rx, c->rx_len, -EBADMSG, "no frame in 4 frames' bytes");
		pos = c->rx_len;
	}
	memmove(c->rx, c->rx + pos, c->rx_len - pos);
	c->rx_len -= pos;
}

static void client_read(struct listener *l, struct ls_client *c)
{
	ssize_t n = recv(c->fd, c->rx + c->rx_len, sizeof(c->rx) - c->rx_len, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (c->rx_len)
			printf("  (%zu bytes of an incomplete packet left)\n", c->rx_len);
		drop_client(c, n == 0 ? "closed the connection" : strerror(errno));
		return;
	}
	c->rx_len += (size_t)n;
	take_frames(l, c);
}

static void client_write(struct ls_client *c)
{
	ssize_t n = send(c->fd, c->tx, c->tx_len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		drop_client(c, strerror(errno));
		return;
	}
	memmove(c->tx, c->tx + n, c->tx_len - (size_t)n);
	c->tx_len -= (size_t)n;
}

/* ---- the loop ----------------------------------------------------------------------- */

static int run(struct listener *l)
{
	struct pollfd p[LS_CLIENTS + 2];
	int who[LS_CLIENTS + 2];

	for (;;) {
		int n = 0;

		p[n++] = (struct pollfd){ .fd = l->sfd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = l->lfd, .events = POLLIN };
		for (int i = 0; i < LS_CLIENTS; i++)
			if (l->c[i].fd >= 0) {
				who[n] = i;
				p[n++] = (struct pollfd){ .fd = l->c[i].fd, .events = (short)(POLLIN |
							  (l->c[i].tx_len ? POLLOUT : 0)) };
			}
		if (poll(p, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "outfallctl hj212 listen: poll: %s\n", strerror(errno));
			return EX_OSERR;
		}
		if (p[0].revents)
			return EX_OK;
		if (p[1].revents & POLLIN)
			accept_client(l);
		for (int k = 2; k < n; k++) {
			struct ls_client *c = &l->c[who[k]];

			if (c->fd >= 0 && (p[k].revents & POLLOUT))
				client_write(c);
			if (c->fd >= 0 && (p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				client_read(l, c);
		}
	}
}

static int stop_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	ctl_signals_block();
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static int listen_opts(int argc, char **argv, struct listener *l, const char **port,
		       const char **bind_addr)
{
	enum { OPT_PORT = 0x100, OPT_BIND, OPT_PW, OPT_MN };
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, OPT_PORT },
		{ "bind", required_argument, NULL, OPT_BIND },
		{ "pw", required_argument, NULL, OPT_PW },
		{ "mn", required_argument, NULL, OPT_MN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == OPT_PORT) {
			if (ctl_parse_long("--port", optarg, 0, 65535, &v) < 0)
				return EX_USAGE;
			*port = optarg;
		} else if (opt == OPT_BIND) {
			*bind_addr = optarg;
		} else if (opt == OPT_PW) {
			l->pw = optarg;
		} else if (opt == OPT_MN) {
			l->mn = optarg;
		} else if (opt == 'h') {
			listen_usage(stdout);
			return -1; /* done */
		} else {
			listen_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "outfallctl hj212 listen: unexpected argument \"%s\"\n",
			argv[optind]);
		return EX_USAGE;
	}
	if (!*port) {
		fprintf(stderr, "outfallctl hj212 listen: --port is required\n");
		return EX_USAGE;
	}
	return EX_OK;
}

int ctl_hj212_listen(int argc, char **argv)
{
	struct listener *l = calloc(1, sizeof(*l));
	const char *port = NULL, *bind_addr = "127.0.0.1";
	int rc;

	if (!l)
		return EX_OSERR;
	l->lfd = l->sfd = -1;
	for (int i = 0; i < LS_CLIENTS; i++)
		l->c[i].fd = -1;
	rc = listen_opts(argc, argv, l, &port, &bind_addr);
	if (rc == EX_OK) {
		setvbuf(stdout, NULL, _IOLBF, 0); /* a line as it happens, also to a file */
		l->sfd = stop_fd();
		rc = l->sfd < 0 ? EX_OSERR : open_listener(l, bind_addr, port);
	}
	if (rc == EX_OK)
		rc = run(l);
	if (rc == EX_OK)
		printf("stopped: %lu connection%s, %lu packet%s, %lu bad, %lu acknowledged\n",
		       l->conns, l->conns == 1 ? "" : "s", l->packets, l->packets == 1 ? "" : "s",
		       l->bad, l->acked);
	for (int i = 0; i < LS_CLIENTS; i++)
		if (l->c[i].fd >= 0)
			close(l->c[i].fd);
	if (l->lfd >= 0)
		close(l->lfd);
	if (l->sfd >= 0)
		close(l->sfd);
	free(l);
	return rc < 0 ? EX_OK : rc;
}
