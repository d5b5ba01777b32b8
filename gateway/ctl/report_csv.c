/*
 * report_csv.c - the readings a report rests on as CSV, and the digest in
 * its footer: the SHA-256 (libcrypto EVP) of exactly the bytes of that CSV,
 * so anyone holding the CSV can recompute it (sha256sum FILE.csv).
 *
 * Columns: ts_utc (RFC 3339, ms), ts_local ("YYYY-MM-DD HH:MM:SS.mmm" in the
 * report's zone), outlet, sensor, parameter, value (at the instrument's
 * precision, empty when the row has none), unit, quality, flags (M C I for
 * maintenance, calibration, implausible). Lines end in \n; no field needs
 * quoting except outlet and sensor names, which are quoted when they hold
 * a comma, quote or line end.
 */
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report.h"
#include "base/clock.h"
#include "base/numfmt.h"

static void csv_field(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void csv_local(FILE *out, int64_t ms)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;
	char buf[32];

	if (!localtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm))
		buf[0] = '\0';
	fprintf(out, "%s.%03d", buf, (int)(ms - (int64_t)t * 1000));
}

void report_csv(const struct report *r, FILE *out)
{
	char utc[32], num[NUMFMT_MAX];

	fputs("ts_utc,ts_local,outlet,sensor,parameter,value,unit,quality,flags\n", out);
	for (size_t i = 0; i < r->n_readings; i++) {
		const struct rpt_reading *x = &r->readings[i];

		fprintf(out, "%s,", clock_rfc3339(x->ts_ms, utc, sizeof(utc)));
		csv_local(out, x->ts_ms);
		fputc(',', out);
		csv_field(out, r->outlet);
		fputc(',', out);
		csv_field(out, x->sensor);
		if (isnan(x->v.v))
			num[0] = '\0';
		else
			numfmt_value(num, x->v.v, x->v.flags);
		fprintf(out, ",%s,%s,%s,%s,%s%s%s\n", param_name(x->v.param), num,
			param_unit(x->v.param), quality_name(x->v.quality),
			x->v.flags & RV_MAINTENANCE ? "M" : "",
			x->v.flags & RV_CALIBRATION ? "C" : "",
			x->v.flags & RV_IMPLAUSIBLE ? "I" : "");
	}
}

int report_sha256_hex(const void *data, size_t len, char hex[RPT_DIGEST_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(ctx, data, len) == 1 &&
		 EVP_DigestFinal_ex(ctx, md, &n) == 1 && n == 32;

	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -EIO;
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int report_csv_digest(struct report *r, char **buf, size_t *len)
{
	FILE *mem = open_memstream(buf, len);
	int rc;

	if (!mem)
		return -ENOMEM;
	report_csv(r, mem);
	if (fclose(mem) != 0) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	rc = report_sha256_hex(*buf, *len, r->digest);
	if (rc < 0) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}
