/*
 * fuzz.h - what every libFuzzer harness in tests/fuzz/ shares: a property
 * check that aborts with a message (libFuzzer then saves the input), a
 * cursor that draws small numbers and bytes from the input, and a scratch
 * directory for the harnesses that parse files.
 *
 * A harness checks properties of what a parser makes of its input (bounds,
 * round trips, what must survive a reopen), not only that it does not
 * crash; each states its properties in its opening comment.
 */
#ifndef OUTFALL_FUZZ_H
#define OUTFALL_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property failed: print where and why, then abort (a crash for libFuzzer). */
#define FUZZ_CHECK(cond, ...)                                                    \
	do {                                                                     \
		if (!(cond))                                                     \
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);       \
	} while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Silences the project's log lines unless $FUZZ_VERBOSE is set. */
void fuzz_quiet_logs(void);

/* Draws from the input front to back; past its end every draw gives 0. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

uint8_t fuzz_u8(struct fuzz_in *in);
uint16_t fuzz_u16(struct fuzz_in *in);
uint64_t fuzz_u64(struct fuzz_in *in);
/* A number in 0..n-1 (n >= 1). */
unsigned fuzz_pick(struct fuzz_in *in, unsigned n);
/* Up to max bytes: a length byte, then that many (fewer at the end). */
size_t fuzz_take(struct fuzz_in *in, size_t max, const uint8_t **out);

/* A directory of this process's own, made once under $FUZZ_TMPDIR, else
 * /dev/shm (a tmpfs: fsync costs nothing), else $TMPDIR or /tmp, and
 * removed at exit; fuzz_dir_clear() empties it between inputs. */
const char *fuzz_dir(void);
void fuzz_dir_clear(void);
/* Writes len bytes to fuzz_dir()/name; false on an I/O error. */
bool fuzz_write_file(const char *name, const void *buf, size_t len);

#endif
