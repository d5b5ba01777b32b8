#!/usr/bin/env python3
"""check_history.py - the local history holds what InfluxDB RECEIVED.

usage: check_history.py HISTORY_SQLITE INFLUX_URL
Reading rows of the store (read-only, python's sqlite3) against the
outfall_reading points InfluxDB received from the same run: per parameter
the same count within one poll, the same value (at float32 precision) for
every seq both hold, and no seq twice. Exits 0, or 1 with a line per
failure.
"""
import json
import sqlite3
import struct
import sys
import urllib.parse
import urllib.request

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def influx(url, q):
    qs = urllib.parse.urlencode({"db": "outfall", "epoch": "ms", "q": q})
    with urllib.request.urlopen(f"{url}/query?{qs}", timeout=10) as r:
        res = json.load(r)["results"][0]
    rows = []
    for s in res.get("series", []):
        cols = s["columns"]
        tags = s.get("tags", {})
        rows += [dict(tags, **dict(zip(cols, v))) for v in s["values"]]
    return rows


def main():
    path, url = sys.argv[1], sys.argv[2]
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    hist = {}
    for seq, ts, outlet, param, value, quality in db.execute(
            "SELECT seq, ts_ms, outlet, parameter, value, quality FROM reading"):
        key = (seq, param)
        check(key not in hist, f"history: seq {seq} {param} twice")
        hist[key] = (ts, outlet, value, quality)
    check(db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("2",),
          "history: meta schema is not 2")
    recv = {}
    for r in influx(url, 'SELECT value, seq, q FROM outfall_reading GROUP BY "parameter", "outlet"'):
        recv[(int(r["seq"]), r["parameter"])] = (r["time"], r["outlet"], r["value"], r["q"])
    check(len(recv) > 50, f"InfluxDB received only {len(recv)} readings")
    params = {p for _, p in recv} | {p for _, p in hist}
    for p in sorted(params):
        nh = sum(1 for k in hist if k[1] == p)
        nr = sum(1 for k in recv if k[1] == p)
        check(abs(nh - nr) <= 1, f"{p}: history has {nh} readings, InfluxDB received {nr}")
    both = set(hist) & set(recv)
    check(len(both) >= len(recv) - len(params), f"only {len(both)} of {len(recv)} seqs in both")
    for k in sorted(both):
        ts, outlet, v, q = hist[k]
        rts, routlet, rv, rq = recv[k]
        check(ts == rts, f"seq {k[0]} {k[1]}: time {ts} in the history, {rts} received")
        check(outlet == routlet, f"seq {k[0]} {k[1]}: outlet {outlet} vs {routlet}")
        check(q == rq, f"seq {k[0]} {k[1]}: quality {q} vs {rq}")
        if rv is None or v is None:
            check(rv is None and v is None, f"seq {k[0]} {k[1]}: value {v} vs {rv}")
        else:
            check(f32(v) == f32(rv), f"seq {k[0]} {k[1]}: value {v} in the history, {rv} received")
    print(f"history: {len(hist)} readings, InfluxDB {len(recv)}, {len(both)} compared")
    for f in failures[:20]:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
