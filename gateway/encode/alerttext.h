/*
 * alerttext.h - an alert event as one line of text, for the daemon's log:
 *   raised: limit_exceeded cod on outlet WS-001: value 612.4, limit 500 mg/L,
 *     permit 浙丽排字第2023-0042号 (gw/WS-001/cod/instant/1764403217000)
 * It names what the alert is about in the alert's own terms (DESIGN §5): a
 * parameter; a sensor for sensor_fault and maintenance_overuse; nothing
 * for permit_expiring; and "(not about a parameter)" for an alert whose
 * param is REC_PARAM_NONE (the outbox's data_gap of lost records). It
 * never shows a pretend parameter, limit or unit: the limit and unit only
 * where encode/internal.h's evidence rules give the alert a limit and a
 * parameter, a coverage only when there is one.
 */
#ifndef OUTFALL_ALERTTEXT_H
#define OUTFALL_ALERTTEXT_H

#include <stddef.h>

#include "base/record.h"

/* Room for any line: the id, permit and note at their longest, with room
 * to spare for the words around them. */
#define ALERT_TEXT_MAX (REC_ID + REC_PERMIT + REC_NOTE + 2 * REC_NAME + 320)

/* Writes the line (without "alert " in front, without a newline) into
 * buf[cap]. Returns 0, or -ENOSPC when it was cut short to fit (still a
 * string). Pure. */
int encode_alert_text(char *buf, size_t cap, const struct rec_alert *a);

#endif
