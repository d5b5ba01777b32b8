/*
 * ctl_hj212.h - `outfallctl hj212`, the installer's HJ 212 tools: encode
 * (what a config sends for one poll), decode (one packet per line from
 * stdin, validated) and listen (a strict platform on a port that prints
 * and acknowledges what it receives). What decode and listen share is the
 * packet check (ctl_hj212_check.c): the project's parser
 * (encode/hj212.h) plus what a platform would reject, each problem named
 * precisely (the CRC the segment has, the length it has), pure, for tests.
 */
#ifndef OUTFALL_CTL_HJ212_H
#define OUTFALL_CTL_HJ212_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "encode/encode.h"

#define HJC_MAX_SAY 16    /* problems and notes kept per packet */
#define HJC_SAY_LEN 200

/* What is wrong with one packet (problems: a strict platform rejects it)
 * and what is merely worth knowing (notes). */
struct hjc_result {
	bool framed;          /* "##", 4 digits, a CRC: the segment was found */
	bool parsed;          /* the segment parsed: msg holds its fields */
	size_t seg_len;       /* bytes between the length field and the CRC */
	int declared;         /* the length field, -1 when not 4 digits */
	unsigned crc_sent;    /* the CRC written, crc_have its segment's */
	unsigned crc_have;
	struct hj212_msg msg; /* kv point into the packet given to hjc_check */
	int n_problems, n_notes;
	char problems[HJC_MAX_SAY][HJC_SAY_LEN];
	char notes[HJC_MAX_SAY][HJC_SAY_LEN];
};

/*
 * Checks one packet of len bytes (its CR LF may be missing: then a note
 * says so): framing, the length against the bytes present, the Annex A
 * CRC, the header (QN a real time, PW 6 characters, MN 24 of 0-9 A-F, the
 * Flag's version and D bit), and for data messages (2011, 2051, 2061,
 * 2031, 2081) a DataTime and well-formed factor fields. pw and mn (NULL:
 * any) are what the platform expects. Returns the number of problems.
 */
int hjc_check(const char *pkt, size_t len, const char *pw, const char *mn,
	      struct hjc_result *r);

/* The packet's fields, one per line, then its problems and notes, each
 * line led by indent. */
void hjc_print(const struct hjc_result *r, const char *indent, FILE *out);

/* What a CN or ST means ("real-time data", "water pollution source"), or
 * NULL for one outfall does not know. */
const char *hjc_cn_name(int cn);
const char *hjc_st_name(int st);

/* The verbs (ctl_hj212.c, ctl_hj212_listen.c): argv[0] is the subcommand. */
int ctl_hj212_listen(int argc, char **argv);

#endif
