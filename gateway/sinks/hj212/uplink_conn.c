/*
 * uplink_conn.c - the HJ 212 uplink's TCP connection: the platform's host
 * looked up without blocking the loop (a numeric address at once, a name
 * through getaddrinfo_a, looked at every HJ_DNS_POLL_MS), a non-blocking
 * connect bounded by timeout_s, reconnects after a jittered doubling
 * backoff, and the reads and writes of a non-blocking socket.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "outbox/outbox.h"

#define HJ_FREE_WAIT_MS 2000

static uint64_t next_rand(struct uplink *u)
{
	u->rng ^= u->rng << 13;
	u->rng ^= u->rng >> 7;
	u->rng ^= u->rng << 17;
	return u->rng;
}

void uplink_backoff(struct uplink *u, int64_t now_ms)
{
	int64_t b = u->backoff_ms ? u->backoff_ms : u->backoff_min_ms;
	int64_t span = b / 5; /* +-20 % */
	int64_t jitter = span ? (int64_t)(next_rand(u) % (uint64_t)(2 * span + 1)) - span : 0;

	u->retry_ms = now_ms + b + jitter;
	u->backoff_ms = b * 2 > u->backoff_max_ms ? u->backoff_max_ms : b * 2;
	u->conn = HJ_IDLE;
}

void uplink_conn_close(struct uplink *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	u->rx_len = 0;
}

/* Frees lk once its resolver thread is done with it: true, or false when
 * it still runs after wait_ms. */
static bool lookup_free(struct hj_lookup *lk, int wait_ms)
{
	if (gai_cancel(&lk->cb) != EAI_CANCELED && gai_error(&lk->cb) == EAI_INPROGRESS) {
		struct timespec ts = { wait_ms / 1000, (long)(wait_ms % 1000) * 1000000L };
		const struct gaicb *l[1] = { &lk->cb };

		if (wait_ms > 0)
			gai_suspend(l, 1, &ts);
		if (gai_error(&lk->cb) == EAI_INPROGRESS)
			return false;
	}
	if (lk->cb.ar_result)
		freeaddrinfo(lk->cb.ar_result);
	free(lk);
	return true;
}

/* Stops the lookup in progress. One that will not stop is kept as stale
 * and freed when it is done (wait_ms > 0: waited for, then left to its
 * thread if it still runs). */
static void drop_lookup(struct uplink *u, int wait_ms)
{
	if (u->ai)
		freeaddrinfo(u->ai);
	u->ai = NULL;
	if (u->stale && lookup_free(u->stale, wait_ms))
		u->stale = NULL;
	if (u->lk && !lookup_free(u->lk, wait_ms)) {
		if (!u->stale)
			u->stale = u->lk;
		else /* two stuck lookups: the resolver is wedged; leave it be */
			log_warn("hj212 %s: a lookup of %s does not end; its memory is left to "
				 "it", u->cfg.name, u->cfg.host);
	}
	u->lk = NULL;
	if (wait_ms > 0 && u->stale) {
		log_warn("hj212 %s: a lookup of %s does not end; its memory is left to it",
			 u->cfg.name, u->cfg.host);
		u->stale = NULL;
	}
}

void uplink_conn_free(struct uplink *u)
{
	drop_lookup(u, HJ_FREE_WAIT_MS);
	uplink_conn_close(u);
}

/* A numeric host needs no lookup: the address now. */
static bool numeric(struct uplink *u)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };

	return getaddrinfo(u->cfg.host, u->port_text, &hints, &u->ai) == 0;
}

static void start_lookup(struct uplink *u, int64_t now_ms)
{
	struct hj_lookup *lk;
	int rc;

	drop_lookup(u, 0); /* reaps a stale one that has ended */
	lk = calloc(1, sizeof(*lk));
	if (!lk) {
		uplink_error(u, LOG_WARNING, "cannot look up %s: out of memory", u->cfg.host);
		uplink_backoff(u, now_ms);
		return;
	}
	snprintf(lk->host, sizeof(lk->host), "%s", u->cfg.host); /* fits: config checked */
	snprintf(lk->port, sizeof(lk->port), "%s", u->port_text);
	lk->hints = (struct addrinfo){ .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	lk->cb = (struct gaicb){ .ar_name = lk->host, .ar_service = lk->port,
				 .ar_request = &lk->hints };
	lk->list[0] = &lk->cb;
	rc = getaddrinfo_a(GAI_NOWAIT, lk->list, 1, NULL);
	if (rc != 0) {
		free(lk);
		uplink_error(u, LOG_WARNING, "cannot look up %s: %s", u->cfg.host,
			     gai_strerror(rc));
		uplink_backoff(u, now_ms);
		return;
	}
	u->lk = lk;
	u->conn = HJ_RESOLVING;
	u->deadline_ms = now_ms + (int64_t)u->cfg.timeout_s * 1000;
}

static int open_socket(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
	int one = 1;

	if (fd < 0)
		return -errno;
	/* small request/reply packets: no Nagle delay on a 9014 round trip */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* Connects to the first address that takes a socket (the kernel says later
 * whether the connect worked). */
static void start_connect(struct uplink *u, int64_t now_ms)
{
	int fd = -EADDRNOTAVAIL;

	for (const struct addrinfo *ai = u->ai; ai && fd < 0; ai = ai->ai_next)
		fd = open_socket(ai);
	freeaddrinfo(u->ai);
	u->ai = NULL;
	if (fd < 0) {
		uplink_error(u, LOG_WARNING, "cannot connect to %s:%d: %s", u->cfg.host,
			     u->cfg.port, strerror(-fd));
		uplink_backoff(u, now_ms);
		return;
	}
	u->fd = fd;
	u->conn = HJ_CONNECTING;
	u->deadline_ms = now_ms + (int64_t)u->cfg.timeout_s * 1000;
}

static void lookup_step(struct uplink *u, int64_t now_ms)
{
	int rc = gai_error(&u->lk->cb);

	if (rc == EAI_INPROGRESS) {
		if (now_ms < u->deadline_ms)
			return;
		drop_lookup(u, 0);
		uplink_error(u, LOG_WARNING, "looking up %s took over %d s", u->cfg.host,
			     u->cfg.timeout_s);
		uplink_backoff(u, now_ms);
		return;
	}
	if (rc != 0) {
		drop_lookup(u, 0);
		uplink_error(u, LOG_WARNING, "cannot look up %s: %s", u->cfg.host,
			     gai_strerror(rc));
		uplink_backoff(u, now_ms);
		return;
	}
	u->ai = u->lk->cb.ar_result;
	u->lk->cb.ar_result = NULL;
	free(u->lk);
	u->lk = NULL;
	start_connect(u, now_ms);
}

static void connect_done(struct uplink *u, int64_t now_ms)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		uplink_conn_close(u);
		uplink_error(u, LOG_WARNING, "cannot connect to %s:%d: %s", u->cfg.host,
			     u->cfg.port, strerror(err));
		uplink_backoff(u, now_ms);
		return;
	}
	u->conn = HJ_UP;
	u->sent_2081 = false;
	complain_recovered(&u->c_conn, "hj212 %s: connected to %s:%d again", u->cfg.name,
			   u->cfg.host, u->cfg.port);
	if (!u->said_up)
		log_notice("hj212 %s: connected to %s:%d", u->cfg.name, u->cfg.host, u->cfg.port);
	u->said_up = true;
}

void uplink_conn_step(struct uplink *u, const struct pollfd *p, int64_t now_ms)
{
	if (u->conn == HJ_IDLE && now_ms >= u->retry_ms) {
		if (numeric(u))
			start_connect(u, now_ms);
		else
			start_lookup(u, now_ms);
	}
	if (u->conn == HJ_RESOLVING)
		lookup_step(u, now_ms);
	if (u->conn != HJ_CONNECTING)
		return;
	if (p && p->fd == u->fd && (p->revents & (POLLOUT | POLLERR | POLLHUP)))
		connect_done(u, now_ms);
	else if (now_ms >= u->deadline_ms) {
		uplink_conn_close(u);
		uplink_error(u, LOG_WARNING, "connecting to %s:%d took over %d s", u->cfg.host,
			     u->cfg.port, u->cfg.timeout_s);
		uplink_backoff(u, now_ms);
	}
}

int64_t uplink_conn_next_ms(const struct uplink *u)
{
	switch (u->conn) {
	case HJ_IDLE:
		return u->retry_ms;
	case HJ_RESOLVING:
		return 0; /* looked at every HJ_DNS_POLL_MS: see uplink.c */
	case HJ_CONNECTING:
		return u->deadline_ms;
	default:
		return INT64_MAX;
	}
}

bool uplink_conn_read(struct uplink *u, int64_t now_ms)
{
	(void)now_ms;
	while (u->rx_len < sizeof(u->rx)) {
		ssize_t n = recv(u->fd, u->rx + u->rx_len, sizeof(u->rx) - u->rx_len, 0);

		if (n > 0) {
			u->rx_len += (size_t)n;
			continue;
		}
		if (n == 0)
			return false;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK;
	}
	return true;
}

ssize_t uplink_conn_write(struct uplink *u, const char *p, size_t len, int64_t now_ms)
{
	ssize_t n;

	(void)now_ms;
	do
		n = send(u->fd, p, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
}
