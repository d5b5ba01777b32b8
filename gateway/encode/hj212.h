/*
 * hj212.h - the HJ 212-2017 packet layer (domain/hj212.md, the standard's
 * 6.3 and Annexes A-C): pure functions from records to the bytes an agency
 * platform expects (hj212.c), and a parser for the bytes it sends back
 * (hj212_parse.c). No sockets, no clocks, no allocation: every output goes
 * into a caller's buffer of stated capacity, and every input pointer is
 * only read during the call.
 *
 * A packet is "##" + 4 decimal digits (the data segment's length in UTF-8
 * bytes) + the data segment (0..1024 bytes) + 4 hex digits CRC (Annex A,
 * written upper case, either case accepted) + "\r\n". The data segment is
 * QN=..;ST=..;CN=..;PW=..;MN=..;Flag=..;[PNUM=..;PNO=..;]CP=&&..&& with
 * the CP field ("CP=&&..&&") at most 950 bytes (table 3).
 *
 * Errors are -errno: -EINVAL bad argument, -ENOSPC the caller's buffer is
 * too small (its contents are then unspecified), -EMSGSIZE a segment or CP
 * beyond the standard's limits; the parser adds -EAGAIN (incomplete, read
 * more), -EBADMSG (malformed: *why names what) and -EILSEQ (CRC mismatch).
 */
#ifndef OUTFALL_ENCODE_HJ212_H
#define OUTFALL_ENCODE_HJ212_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/param.h"
#include "base/record.h"

#define HJ212_SEG_MAX 1024   /* data segment bytes (table 2) */
#define HJ212_CP_MAX 950     /* "CP=&&...&&" bytes (table 3) */
#define HJ212_FRAME_OVERHEAD 12 /* "##" + 4 + CRC 4 + "\r\n" */
#define HJ212_FRAME_MAX (HJ212_SEG_MAX + HJ212_FRAME_OVERHEAD)
#define HJ212_QN_LEN 17      /* YYYYMMDDhhmmsszzz */
#define HJ212_PW_LEN 6
#define HJ212_MN_LEN 24
#define HJ212_VERSION_2005 0 /* Flag V5..V0 values */
#define HJ212_VERSION_2017 1
#define HJ212_VERSION_2025 2 /* secondhand (domain/hj212.md): keep it a setting */

/* Flag bits below the version (6.3.2 table 3). */
#define HJ212_FLAG_A 0x01 /* reply requested */
#define HJ212_FLAG_D 0x02 /* split packet: PNUM and PNO present */

/* ---- Annex A ------------------------------------------------------------ */

/* The CRC of Annex A over len bytes (NOT the Modbus CRC: the register is
 * shifted right by 8 before each byte is XORed in). */
uint16_t hj212_crc(const void *data, size_t len);

/* ---- packets ------------------------------------------------------------ */

/*
 * Frames a data segment: writes "##" + length + seg + CRC + "\r\n" into out
 * (NUL-terminated, so cap >= seg_len + 13). Returns the frame's length, or
 * -EMSGSIZE when seg_len > HJ212_SEG_MAX, -ENOSPC, -EINVAL.
 */
int hj212_frame(char *out, size_t cap, const char *seg, size_t seg_len);

/* The header fields of one data segment. Strings are borrowed for the call. */
struct hj212_hdr {
	int64_t qn_ms;          /* QN: request time, wall ms (UTC) */
	int32_t utc_offset_min; /* QN and DataTime are written in this local
				 * time (the outlet's; China: +480) */
	int st;                 /* system code 0..99 (32: water pollution source,
				 * 91: replies) */
	int cn;                 /* command code 0..9999 */
	const char *pw;         /* access password, HJ212_PW_LEN characters */
	const char *mn;         /* device id, HJ212_MN_LEN of 0-9 A-F */
	int version;            /* HJ212_VERSION_*: Flag bits V5..V0 */
	bool ack;               /* Flag A: ask for a reply (9014 / 9011) */
	int pnum;               /* split packets: total parts (0: not split) */
	int pno;                /* ... and this part's number, 1..pnum */
};

/* Flag for h: version << 2 | D | A (2017: 4, 5, 6, 7); -EINVAL for NULL. */
int hj212_flag(const struct hj212_hdr *h);

/* "YYYYMMDDhhmmsszzz" (QN, with NUL: 18 bytes) and "YYYYMMDDhhmmss"
 * (DataTime, SystemTime: 15 bytes) of wall ms in local time offset_min.
 * Return the length written, or -EINVAL for a year outside 1..9999. */
int hj212_qn(char out[HJ212_QN_LEN + 1], int64_t ms, int32_t offset_min);
int hj212_time14(char out[15], int64_t ms, int32_t offset_min);

/*
 * Writes the data segment for h with CP=&&data&& into out (NUL-terminated).
 * data is the data area without the "&&" ("" for an empty CP). Returns the
 * segment's length; -EMSGSIZE when it would exceed HJ212_SEG_MAX or the CP
 * field HJ212_CP_MAX; -EINVAL for a header the standard cannot carry
 * (PW or MN of the wrong length or alphabet, ';' '&' or control characters
 * in them, st/cn out of range, pno outside 1..pnum).
 */
int hj212_segment(char *out, size_t cap, const struct hj212_hdr *h,
		  const char *data, size_t data_len);

/*
 * One record's data area as packets, split when it does not fit one
 * (6.3.2 and Annex C tables C.49/C.50): items (separated by ';') are never
 * cut, every part repeats the first item (DataTime=...), carries Flag D,
 * PNUM/PNO and its own QN (h->qn_ms + part index: parts 1, 2, ... are
 * QN, QN+1 ms, ...). h->pnum/pno are ignored. Frames are written back to
 * back into out (no NUL between them); frame_len[i] gets the length of
 * frame i and *n_frames their number. Returns 0, or -EMSGSIZE when one item
 * with the DataTime cannot fit a packet or more than max_frames are needed,
 * -ENOSPC, -EINVAL.
 */
int hj212_packets(char *out, size_t cap, const struct hj212_hdr *h,
		  const char *data, size_t data_len,
		  size_t *frame_len, size_t max_frames, size_t *n_frames);

/* ---- CP data areas -------------------------------------------------------- */

/* How values become text. */
struct hj212_fmt {
	int32_t utc_offset_min;  /* DataTime in the outlet's local time */
	int decimals;            /* digits after the point, 0..6; -1: the
				  * factor's Annex B data type (w00000 N5.2: 2,
				  * w01018 N5.1: 1, ...; 3 for local codes) */
	const char *local_code[P_COUNT]; /* a configured code for a parameter
				  * with none in Annex B (oil_animal,
				  * turbidity); NULL: param_hj212(p); a
				  * parameter with neither is not sent */
};

/* The factor code of p under fmt, or NULL when it is not to be sent. */
const char *hj212_code(const struct hj212_fmt *fmt, int p);

/* One real-time value (CN 2011): in the parameter's own unit (flow m3/h). */
struct hj212_rtd {
	uint8_t param; /* enum param */
	char flag;     /* data flag (table 8): N F M S D C T B */
	double v;      /* NaN: no value: the item carries its Flag only */
};

/*
 * The data flag (6.6.4 table 8) of a reading: M in maintenance, C while
 * calibrating, B the instrument did not answer, T above its range (D when
 * below: the standard has no flag for that), D invalid, else N.
 */
char hj212_data_flag(const struct rec_value *rv, bool above_range);

/*
 * CN 2011 data area: DataTime=<time_ms local>;code-Rtd=v,code-Flag=f;...
 * Flow goes out in L/s (m3/h / 3.6), as Annex B has it. volume_total is
 * never a real-time item (it is w00000's Cou in period records). Parameters
 * without a code are skipped and counted in *skipped (may be NULL).
 * Returns the length written (NUL-terminated), -ENOSPC, -EINVAL.
 */
int hj212_cp_rtd(char *out, size_t cap, const struct hj212_fmt *fmt,
		 int64_t time_ms, const struct hj212_rtd *v, size_t n,
		 unsigned *skipped);

/*
 * CN 2051/2061/2031 data area from period statistics (Annex C.16-C.18):
 * DataTime=<period start local>;code-Cou=..,code-Min=..,code-Avg=..,
 * code-Max=..,code-Flag=f;... in the order Annex C prints them. Flow
 * (m3/h) goes out in L/s with its Cou in m3; concentrations' Cou (kg) as
 * the aggregate has it (with fmt->decimals -1, Cou at 3 decimals at least,
 * gram and litre: a minute's load is often a few grams); no Cou for pH,
 * temperature, conductivity or
 * turbidity, nor where the aggregate's cou is NaN. flags[i] is the data
 * flag of a->params[i] (the caller knows if any reading in the period was
 * abnormal: for wastewater one abnormal value flags the period, Annex C.16
 * note); flags NULL: 'N' for parameters with good readings, 'D' for none.
 * A parameter with count 0 carries only its Flag. Returns as hj212_cp_rtd.
 */
int hj212_cp_period(char *out, size_t cap, const struct hj212_fmt *fmt,
		    int64_t start_ms, const struct rec_aggregate *a,
		    const char *flags, unsigned *skipped);

/* CN for an aggregate period: 2051 minute, 2061 hour, 2031 day; -EINVAL. */
int hj212_cn_for_period(int agg_period);

/* ---- parsing -------------------------------------------------------------- */

#define HJ212_MAX_KV 64   /* CP key/value pairs kept */

/* One CP field: key and value point into the caller's frame buffer. */
struct hj212_kv {
	const char *key;
	size_t key_len;
	const char *val;
	size_t val_len;
	uint16_t item;   /* index of its ';'-separated item, from 0 */
};

/* A parsed data segment. Strings are copied and NUL-terminated; kv points
 * into the buffer given to hj212_parse, valid while that buffer is. */
struct hj212_msg {
	char qn[HJ212_QN_LEN + 1];
	char pw[HJ212_PW_LEN + 1];
	char mn[HJ212_MN_LEN + 1];
	int st;
	int cn;
	int flag;        /* 0..255 */
	int pnum, pno;   /* 0 when absent */
	const char *cp;  /* data area between the "&&"s */
	size_t cp_len;
	size_t n_kv;
	struct hj212_kv kv[HJ212_MAX_KV];
};

/*
 * Finds one frame at the start of buf (len bytes, not NUL-terminated) and
 * checks its length, CRC and tail. On 0 the segment is buf + 6 of
 * *seg_len bytes. *consumed is always set: on 0 and on errors, how many
 * bytes to drop before trying again (garbage up to the next "##", or the
 * bad frame); on -EAGAIN, 0 (read more). Returns 0, -EAGAIN, -EBADMSG,
 * -EMSGSIZE (declared length > 1024), -EILSEQ (CRC mismatch: the standard
 * says stop, no reply). why (may be NULL) gets a static reason on error.
 */
int hj212_unframe(const char *buf, size_t len, size_t *seg_len,
		  size_t *consumed, const char **why);

/*
 * Splits a data segment into m: header fields (QN ST CN PW MN Flag required,
 * PNUM/PNO required exactly when Flag has D, unknown ones ignored) and the
 * CP fields key=value separated by ';' and ','. m is untouched on failure.
 * Returns 0, -EBADMSG (why says what), -E2BIG (more than HJ212_MAX_KV
 * fields), -EINVAL.
 */
int hj212_parse_segment(const char *seg, size_t len, struct hj212_msg *m,
			const char **why);

/* hj212_unframe + hj212_parse_segment. */
int hj212_parse(const char *buf, size_t len, struct hj212_msg *m,
		size_t *consumed, const char **why);

/* The value of CP field key (first match), or NULL; *val_len its length. */
const char *hj212_cp_get(const struct hj212_msg *m, const char *key,
			 size_t *val_len);

#endif
