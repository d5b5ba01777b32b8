/*
 * internal.h - what the config loader's files share: the parse
 * context that counts errors, "file:line: setting: message" reporting, and
 * getters that check a setting's type and range as they read it
 * (get.c). config.c reads the gateway file's acquisition side,
 * permits.c the permits file and the outlets, sinks.c the
 * sinks and the -n summary; prescan.c reads a file, lint.c warns about
 * likely mistakes, suggest.c says what an unknown name probably meant.
 *
 * Every getter reports its own error and carries on, so one pass finds all
 * the mistakes in a file. Getters return 1 when the setting was present and
 * valid, 0 when absent (the output keeps the caller's default), -1 when an
 * error was reported. Strings they store are heap copies owned by the config.
 */
#ifndef OUTFALL_CONFIG_INTERNAL_H
#define OUTFALL_CONFIG_INTERNAL_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

struct cfg_ctx {
	FILE *err;        /* where errors and warnings go */
	const char *file; /* file being read, as given or as resolved */
	int errors;       /* errors reported so far, over both files */
	int warnings;     /* warnings reported so far (errors too when strict) */
	bool strict;      /* every warning is an error as well */
	bool nomem;       /* an allocation failed: the load ends in -ENOMEM */
};

/* What the shipped examples hold where only the site can know the value:
 * any string containing it is refused (cfg_string), with a hint saying what
 * to write and where it comes from (cfg_placeholder_hint). */
#define CFG_PLACEHOLDER "CHANGE-ME"

#define CFG_REQUIRED true
#define CFG_OPTIONAL false

/* Reports at setting at; with member, at at's member of that name, or, when
 * it is missing, at at's own line under the member's path. */
void cfg_error(struct cfg_ctx *c, const config_setting_t *at, const char *member,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void cfg_warn(struct cfg_ctx *c, const config_setting_t *at, const char *member,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* strdup that records an allocation failure in c. */
char *cfg_strdup(struct cfg_ctx *c, const char *s);
/* calloc of n elements that records a failure; NULL (no error) for n == 0. */
void *cfg_calloc(struct cfg_ctx *c, size_t n, size_t size);

/* Warns about every member of group g whose name is not in known (NULL-ended). */
void cfg_check_known(struct cfg_ctx *c, const config_setting_t *g, const char *const known[]);

/* Member name of g; reports it missing when required. */
const config_setting_t *cfg_member(struct cfg_ctx *c, const config_setting_t *g,
				   const char *name, bool required);
/* True when s is a group; reports "expected a group" otherwise. */
bool cfg_is_group(struct cfg_ctx *c, const config_setting_t *s);
/* Member name of g that must be a list of groups; NULL when absent or wrong. */
const config_setting_t *cfg_group_list(struct cfg_ctx *c, const config_setting_t *g,
				       const char *name, bool required);

/* Number in [lo, hi] stored in an int; the unit ("ms", "" for none) goes in messages. */
int cfg_int(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	    long long lo, long long hi, const char *unit, int *v);
/* Any finite number; an integer is taken as one. */
int cfg_float(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	      double *v);
/* Optional number in [lo, hi]; the unit goes in messages. */
int cfg_float_in(struct cfg_ctx *c, const config_setting_t *g, const char *name, double lo,
		 double hi, const char *unit, double *v);
/* Number value of a scalar setting s (an element of an array, say). */
int cfg_number(struct cfg_ctx *c, const config_setting_t *s, double *v);
int cfg_bool(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool *v);
/* Non-empty string; *v is replaced by a copy (the old value freed). */
int cfg_string(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	       char **v);
/* String that must be one of names (NULL-ended); *v gets its index. what
 * names the thing for messages: unknown word order "x" (expected a, b or c). */
int cfg_enum(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	     const char *const names[], const char *what, int *v);

/* Checks a bus, sensor or outlet name (or the gateway id) for length and
 * for characters that would break an MQTT topic level or an InfluxDB tag. */
bool cfg_name_ok(struct cfg_ctx *c, const config_setting_t *g, const char *member,
		 const char *name, size_t max);

/* hysteresis_pct, raise_after_s and clear_after_s of g (alerting or a limit). */
void cfg_debounce(struct cfg_ctx *c, const config_setting_t *g, double *hysteresis_pct,
		  int *raise_after_s, int *clear_after_s);

/* Index of the first of n structs (stride bytes apart) whose char * at
 * offset off equals name; -1 when none does or name is NULL. */
int cfg_find_name(const void *base, size_t n, size_t stride, size_t off, const char *name);
#define CFG_FIND(arr, n, type, field, name) \
	cfg_find_name((arr), (n), sizeof(type), offsetof(type, field), (name))

/* Reports string s of setting name when it does not fit cap bytes with its
 * NUL: alerts and sinks copy such strings into fixed-size fields, and a
 * legal document's number must never be cut short in them. */
void cfg_check_fits(struct cfg_ctx *c, const config_setting_t *g, const char *name,
		    const char *s, size_t cap);

/* s as a config file would spell it inside quotes (\r, \n, \t, \\, \",
 * \xHH for other control bytes), cut short with "..." (U+2026) to fit n
 * bytes (n >= 8); returns buf. */
const char *cfg_escape(const char *s, char *buf, size_t n);

/*
 * A string from the file as a message shows it: whole when it has at most
 * CFG_SHOWN_MAX bytes, else its head and its tail around an ellipsis
 * (U+2026), cut between UTF-8 characters, so a 1 MiB string is not echoed
 * whole (and a path keeps its file name). For printf arguments, where the
 * temporary lives to the end of the call:
 *   cfg_error(c, g, "timezone", "unknown time zone \"%s\"", CFG_SHOW(tz));
 * NULL shows as "".
 */
#define CFG_SHOWN_MAX 96
struct cfg_shown {
	char s[CFG_SHOWN_MAX + 4]; /* the ellipsis is 3 bytes */
};
struct cfg_shown cfg_show(const char *s);
#define CFG_SHOW(str) (cfg_show(str).s)

/* The longest message cfg_error and cfg_warn print after "file:line:
 * path: "; a longer one (a string that missed CFG_SHOW) is cut with an
 * ellipsis. */
#define CFG_MSG_MAX 1024

/* "a string", "an integer", ...: what a setting is, for messages. */
const char *cfg_type_text(const config_setting_t *s);

/* prescan.c: reads path into lc. Characters libconfig cannot parse outside
 * quoted strings (full-width or curly quotes and punctuation from an input
 * method, a byte order mark) are reported as file:line:column with the
 * ASCII character to type instead, before libconfig would say only "syntax
 * error". Then libconfig parses it in a child first (cfg_parse_in_child).
 * A file that cannot be opened is reported at from's member when from is
 * given. False when the file did not parse. */
bool cfg_read_file(struct cfg_ctx *c, config_t *lc, const char *path,
		   const config_setting_t *from, const char *member);

/* syntax.c: parses path (open as f, at its start) into a copy of lc in a
 * child process that then exits, so what libconfig leaks on a syntax error
 * (and an exit() of its scanner) stays there. 1: it parses, rewind f and
 * parse it here; 0: it does not, reported (file:line: syntax error, or
 * that the parse took over CFG_PARSE_TIMEOUT_MS); -1: no child could be
 * run (no pipe, no fork), nothing reported: parse it here. */
#define CFG_PARSE_TIMEOUT_MS 5000
int cfg_parse_in_child(struct cfg_ctx *c, config_t *lc, FILE *f, const char *path);

/* suggest.c: the known name (from known, NULL-ended) an unknown setting name
 * was probably meant to be, or NULL when none is close. */
const char *cfg_suggest_name(const char *name, const char *const known[]);
/* Reports at g's permit member that no permit is numbered number, naming
 * the closest number present and the characters that differ. */
void cfg_permit_not_found(struct cfg_ctx *c, const struct config *cfg,
			  const config_setting_t *g, const char *number);

/* lint.c: what to write instead of the placeholder in setting s, and where
 * the value comes from (never NULL). */
const char *cfg_placeholder_hint(const config_setting_t *s);
/* The warnings about legal values that are probably mistakes (config_opts);
 * gw and pm are the roots of both files, cfg as parsed so far, possibly
 * with errors: every index is checked before use. */
void cfg_lint(struct cfg_ctx *c, const struct config *cfg, const config_setting_t *gw,
	      const config_setting_t *pm, const struct config_opts *opts);

/* permits.c: GB/T 31962-2015 Table 1 for param at grade 0..2 (A..C): false
 * when the table has no row for it; pH alone has a minimum. */
bool cfg_gbt31962(int param, int grade, bool *has_min, double *min, double *max);

/* permits.c: the permits file's root group into cfg->permits, with
 * template limits filled in; needs cfg->alerting for the limits' defaults.
 * False when there is no usable permits list to resolve outlets against. */
bool cfg_permits_parse(struct cfg_ctx *c, struct config *cfg, const config_setting_t *root);
void cfg_permits_free(struct config *cfg);
/* Outlets of the gateway file; needs sensors and permits parsed first.
 * permits_read false: the permits file failed, so do not blame the outlets. */
void cfg_outlets_parse(struct cfg_ctx *c, struct config *cfg, const config_setting_t *root,
		       bool permits_read);
/* sinks.c: sinks of the gateway file; needs the gateway id for MQTT
 * defaults. */
void cfg_sinks_parse(struct cfg_ctx *c, struct config *cfg, const config_setting_t *root);
void cfg_sinks_free(struct config *cfg);
/* platform.c: sinks.hj212 (a list, one group per platform); needs the
 * outlets and the other sinks parsed first. */
void cfg_hj212_parse(struct cfg_ctx *c, struct config *cfg, const config_setting_t *sinks);
void cfg_hj212_free(struct config *cfg);
/* The -n lines of every platform: where, what, how often. */
void cfg_hj212_print(const struct config *cfg, FILE *out);

#endif
