/*
 * encode.h - the door to the encoders: pure functions from records to the
 * bytes a sink sends. payload.h writes MQTT topics and JSON payloads,
 * lineproto.h InfluxDB line protocol, hj212.h HJ 212 packets, alerttext.h
 * an alert as a line for the log. None allocates on the hot path nor
 * touches a socket; sinks own the sending.
 */
#ifndef OUTFALL_ENCODE_H
#define OUTFALL_ENCODE_H

#include "alerttext.h"
#include "hj212.h"
#include "lineproto.h"
#include "payload.h"

#endif
