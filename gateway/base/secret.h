/*
 * secret.h - reading a password or token from its own file (password_file,
 * token_file), so that secrets stay out of the config file and its logs.
 *
 * The whole file is the secret, but for trailing CR/LF (editors and
 * `echo` add them). Library layer: it does not log; the caller logs once,
 * with secret_strerror() for the reasons peculiar to this module.
 * Blocking: one open and a few reads of a small local file.
 */
#ifndef OUTFALL_SECRET_H
#define OUTFALL_SECRET_H

#include <stddef.h>

/*
 * Reads the secret in path into buf (capacity cap, >= 2), NUL-terminated.
 * 0 on success; -errno from open/read (-ENOENT, -EACCES, ...), -EFBIG when
 * the file is longer than cap bytes or the secret (what is left without
 * the trailing newlines) longer than cap - 1, -EINVAL when it is empty (after
 * the newlines are removed), holds a NUL byte or is not in a regular file
 * (a FIFO is not waited on). On failure buf is wiped to zeros, so no part
 * of a secret is left behind (an exception to "untouched on failure").
 */
int secret_read(const char *path, char *buf, size_t cap);

/* A short reason for a secret_read() failure, for the caller's log line
 * (not to be freed). */
const char *secret_strerror(int rc);

/* Wipes a buffer that held a secret (not optimised away). NULL is a no-op. */
void secret_wipe(char *buf, size_t cap);

#endif
