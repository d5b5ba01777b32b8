#!/usr/bin/env python3
"""fleet_count.py - the accounting of scripts/fleet.sh: per gateway, the
readings its simulator served vs those InfluxDB holds and those that came
over MQTT (distinct by gateway, seq, sensor and parameter), all up to a
cut-off between two polls about 3 s before the simulators stopped.

Exit status 0 when every gateway's counts match, 1 otherwise. With
--influx-only it checks InfluxDB alone and prints nothing (the drain wait).
"""
import argparse
import csv
import json
import sys
import urllib.parse
import urllib.request
from datetime import datetime

GAP_MS = 200  # polls here take a few ms; passes are 1 s apart


def cut_off(times, ref_ms):
    """A time inside the first gap of more than GAP_MS at or after ref_ms."""
    for a, b in zip(times, times[1:]):
        if b >= ref_ms and b - a > GAP_MS:
            return (a + b) // 2
    return times[-1] + GAP_MS if times else ref_ms


def served(path, names, ref_ms):
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            rows.append((int(row["wall_ms"]), row["name"]))
    cut = cut_off(sorted({t for t, _ in rows}), ref_ms)
    return cut, sum(1 for t, name in rows if t < cut and name in names)


def stored(influx, gw, cut):
    q = ("SELECT count(value) FROM outfall_reading WHERE gateway = '%s' "
         "AND q != 'no_response' AND time < %dms" % (gw, cut))
    url = influx + "/query?" + urllib.parse.urlencode({"db": "outfall", "q": q})
    with urllib.request.urlopen(url, timeout=30) as r:
        res = json.load(r)["results"][0]
    return res["series"][0]["values"][0][1] if "series" in res else 0


def mqtt_counts(path, cuts):
    """Distinct readings per gateway from 'topic payload' lines, before its cut."""
    seen, dups = set(), 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            topic, _, payload = line.partition(" ")
            try:
                m = json.loads(payload)
                gw = topic.split("/")[1]
                ts = datetime.strptime(m["ts"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000
            except (ValueError, KeyError, IndexError):
                continue
            if gw not in cuts or round(ts) >= cuts[gw]:
                continue
            for p, v in m.get("values", {}).items():
                if v.get("q") == "no_response":
                    continue
                key = (gw, m.get("seq"), m.get("sensor"), p)
                dups += key in seen
                seen.add(key)
    per = {}
    for gw, *_ in seen:
        per[gw] = per.get(gw, 0) + 1
    return per, dups


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--influx", required=True)
    ap.add_argument("--end-ms", type=int, required=True)
    ap.add_argument("--names", required=True)
    ap.add_argument("--influx-only", action="store_true")
    ap.add_argument("--final", action="store_true")
    a = ap.parse_args()
    names = set(a.names.split())
    cuts, srv, sto = {}, {}, {}
    for i in range(1, a.n + 1):
        gw = "fleet-%03d" % i
        cuts[gw], srv[gw] = served("%s/gw-%d/served.csv" % (a.work, i), names, a.end_ms - 3000)
        sto[gw] = stored(a.influx, gw, cuts[gw])
    bad_influx = [gw for gw in srv if srv[gw] != sto[gw]]
    if a.influx_only:
        return 1 if bad_influx else 0
    mq, dups = mqtt_counts(a.work + "/mqtt.txt", cuts)
    bad_mqtt = [gw for gw in srv if srv[gw] != mq.get(gw, 0)]
    total = sum(srv.values())
    print(f"readings served by the {a.n} simulators (up to the cut-off): {total}")
    print(f"stored in InfluxDB: {sum(sto.values())}: "
          + ("equal for every gateway" if not bad_influx else
             "DIFFERENT for " + ", ".join(f"{g} ({srv[g]} served, {sto[g]} stored)"
                                          for g in bad_influx)))
    print(f"received over MQTT: {sum(mq.values())} distinct ({dups} repeats dropped by seq): "
          + ("equal for every gateway" if not bad_mqtt else
             "DIFFERENT for " + ", ".join(f"{g} ({srv[g]} served, {mq.get(g, 0)} received)"
                                          for g in bad_mqtt)))
    return 1 if bad_influx or bad_mqtt else 0


if __name__ == "__main__":
    sys.exit(main())
