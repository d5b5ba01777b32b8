/*
 * control.h - the control channel: how outfallctl asks the running daemon
 * to act (put a sensor into maintenance or take it out, close an alert
 * known to be false) and hears back what happened.
 *
 * Transport. One unix datagram socket, <data_dir>/control.sock, bound by
 * the daemon next to its status.json (the unit's StateDirectory, mode
 * 0750; the socket 0660: the daemon's user and group may write to it, so
 * `outfallctl` runs as root or as a member of group outfall). A datagram
 * socket because a request and its reply are one message each: the daemon
 * keeps one non-blocking fd in its poll() loop and no state per client,
 * so nothing a slow or hostile client does can hold the loop or an fd.
 * The client binds an abstract (autobind) address to receive its reply;
 * the daemon answers with MSG_DONTWAIT and drops a reply nobody takes.
 * SO_PASSCRED makes the kernel attach each sender's pid and uid, which the
 * daemon logs with what was asked. A request longer than CONTROL_MSG_MAX
 * bytes is refused whole (MSG_TRUNC), never parsed in part.
 *
 * Messages are UTF-8 text. A request is the line "outfall-control 1",
 * then one "key value" line per field, each key at most once:
 *   cmd     ping | maintenance | alert-close | history-commit  (required)
 *   sensor  NAME                  maintenance
 *   mode    maintenance | calibration | off                maintenance
 *   for_s   1..2592000 (s); absent: alerting.maintenance_max_h
 *   reason  TEXT                  optional for maintenance, required for
 *                                 alert-close; at most REC_NOTE - 1 bytes
 *   id      ALERT-ID              alert-close
 * history-commit has no field: the daemon syncs the outbox and commits what
 * its local history has not yet written, so that a report made now has
 * every record up to now (outfallctl report asks it first).
 * No value holds a control character. A reply is "ok" or "error CODE" on
 * its first line, then a message for a person. CODE is one of
 * control_code_name().
 *
 * Parsing and formatting are pure (tested without sockets). The daemon
 * side never blocks; the client side (control_call) waits at most its
 * timeout. Functions return 0 or -errno.
 */
#ifndef OUTFALL_CONTROL_H
#define OUTFALL_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "base/record.h"

#define CONTROL_SOCKET "control.sock"
#define CONTROL_MSG_MAX 1024        /* bytes of a request or reply */
#define CONTROL_MAGIC "outfall-control 1"
#define CONTROL_FOR_MAX_S 2592000   /* 30 days: longer is not a duration */
#define CONTROL_TIMEOUT_MS 3000     /* how long outfallctl waits for a reply */

enum control_cmd { CONTROL_PING, CONTROL_MAINT, CONTROL_ALERT_CLOSE, CONTROL_HISTORY_COMMIT,
		   CONTROL_CMD_COUNT };
enum control_mode { CONTROL_OFF, CONTROL_MAINTENANCE, CONTROL_CALIBRATION, CONTROL_MODE_COUNT };

/* What went wrong, for the client's exit code. */
enum control_code {
	CONTROL_E_USAGE,    /* a malformed request */
	CONTROL_E_RANGE,    /* a value out of what the running config allows */
	CONTROL_E_UNKNOWN,  /* no such sensor or open alert */
	CONTROL_E_STATE,    /* not possible now (not in maintenance) */
	CONTROL_E_INTERNAL, /* out of room or memory in the daemon */
	CONTROL_CODE_COUNT
};

const char *control_code_name(int code); /* "usage", "range", ... */
const char *control_mode_name(int mode); /* "off", "maintenance", "calibration" */

struct control_req {
	int cmd;               /* enum control_cmd */
	char sensor[REC_NAME];
	int mode;              /* enum control_mode; -1 when not given */
	int64_t for_s;         /* 0 when not given */
	char reason[REC_NOTE]; /* "" when not given */
	char id[REC_ID];
};

/*
 * Parses a request of len bytes (no NUL needed) into *rq: 0, or -EINVAL
 * with what was wrong in err (no header, an unknown command or key, a key
 * twice, a value too long or holding a control character, a field missing
 * or not wanted by the command), or -EMSGSIZE beyond CONTROL_MSG_MAX.
 * *rq is only meaningful on success.
 */
int control_parse(const char *msg, size_t len, struct control_req *rq, char *err, size_t errcap);

/* The request as a message into buf (NUL-terminated): its length, or
 * -EINVAL (a value with a control character or too long, or fields the
 * command cannot have), -ENOSPC. Client side. */
int control_format(const struct control_req *rq, char *buf, size_t cap);

/* "90s", "30m", "2h", "1h30m" (units s, m or min, h; at least one, each a
 * whole number) into *ms: 0, -EINVAL (with what was wrong in err), or
 * -ERANGE beyond CONTROL_FOR_MAX_S or zero. */
int control_parse_duration(const char *s, int64_t *ms, char *err, size_t errcap);

/* A reply's first line: true and *code for "error CODE"; ok for "ok";
 * *msg points into reply at the message (or ""). -EBADMSG when reply is
 * neither. reply must be NUL-terminated. */
int control_parse_reply(const char *reply, bool *ok, int *code, const char **msg);

/* ---- the daemon's side ---- */

/* Who sent a request, and where the reply goes. */
struct control_peer {
	struct sockaddr_un addr;
	socklen_t addr_len;   /* 0: the sender has no address, no reply */
	bool has_cred;
	pid_t pid;
	uid_t uid;
};

/* Binds dir/control.sock (replacing a stale one a crash left), mode 0660:
 * 0 and *fd (non-blocking, CLOEXEC), or -errno; -ENAMETOOLONG when the
 * path does not fit a unix address. */
int control_open(const char *dir, int *fd);
/* Closes fd and removes dir/control.sock; fd < 0 is a no-op. */
void control_close(int fd, const char *dir);

/* Takes one waiting request into buf (cap >= CONTROL_MSG_MAX + 1, NUL-
 * terminated): its length; -EMSGSIZE for one longer than CONTROL_MSG_MAX
 * (dropped; *peer is filled, to say so); -EAGAIN when none waits. */
ssize_t control_recv(int fd, char *buf, size_t cap, struct control_peer *peer);

/* Sends "ok\n<msg>" or "error <code>\n<msg>" to peer without waiting (a
 * full or vanished client loses it): 0 or -errno. */
int control_reply(int fd, const struct control_peer *peer, bool ok, int code, const char *msg);

/* ---- outfallctl's side ---- */

/*
 * Sends the request req (len bytes) to the socket at path and waits up to
 * timeout_ms for the reply, into reply (NUL-terminated, cut at cap - 1):
 * 0; -ENOENT (no socket: the daemon is not running with that data_dir),
 * -ECONNREFUSED (a socket nobody has open: it stopped), -EACCES (not in
 * its group), -ETIMEDOUT (no answer), another -errno.
 */
int control_call(const char *path, const char *req, size_t len, char *reply, size_t cap,
		 int timeout_ms);

#endif
