#!/usr/bin/env python3
"""check.py - assertions on what the broker and InfluxDB RECEIVED during an
integration run, compared with what the simulator served (its CSV log).

usage: check.py exceed|fault|readings|complete|crash WORKDIR INFLUX_URL
Exits 0 when every assertion holds, 1 with a message per failure.
"""
import csv
import json
import re
import sqlite3
import struct
import sys
import urllib.parse
import urllib.request

CSV_TO_PARAM = {"cod": "cod", "ph": "ph", "nh3n": "nh3n", "tp": "tp",
                "temp": "temp", "flow": "flow", "total_int": "volume_total"}
SENSOR_OF = {"cod": "probe1", "ph": "probe1", "nh3n": "probe1", "tp": "probe1",
             "temp": "probe1", "flow": "flow1", "volume_total": "flow1"}
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def served_values(work):
    served = {}
    with open(f"{work}/sim.csv", newline="") as f:
        for row in csv.DictReader(f):
            p = CSV_TO_PARAM.get(row["name"])
            if p:
                served.setdefault(p, []).append(float(row["value"]))
    return served


def mqtt_messages(work):
    msgs = []
    with open(f"{work}/mqtt.log", encoding="utf-8") as f:
        for line in f:
            topic, _, payload = line.rstrip("\n").partition(" ")
            msgs.append((topic, payload))
    return msgs


def influx(url, q):
    qs = urllib.parse.urlencode({"db": "outfall", "epoch": "ms", "q": q})
    with urllib.request.urlopen(f"{url}/query?{qs}", timeout=10) as r:
        res = json.load(r)["results"][0]
    rows = []
    for s in res.get("series", []):
        cols = s["columns"]
        rows += [dict(zip(cols, v)) for v in s["values"]]
    return rows


def was_served(served, param, v):
    return any(abs(v - s) <= 1e-6 * max(1.0, abs(s)) for s in served.get(param, []))


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def digits(text):
    """Significant digits of a number as printed."""
    mant = text.lstrip("-").lower().split("e")[0].replace(".", "").lstrip("0")
    return len(mant.rstrip("0")) or 1


def shortest_f32(text):
    """True when text is the shortest decimal that names its float32
    (DESIGN §5: 183.9, not 183.8999939)."""
    v = f32(float(text))
    if f32(float(text)) != float(text) and digits(text) > 9:
        return False
    for p in range(1, digits(text)):
        near = float("%.*e" % (p - 1, v))
        step = 10 ** (int(("%.*e" % (p - 1, v)).split("e")[1]) - (p - 1))
        if any(f32(c) == v for c in (near, near + step, near - step)):
            return False
    return True


VALUE_RE = re.compile(r'"(\w+)":\{"v":(-?[0-9][0-9.eE+-]*)')


def check_precision(msgs):
    """Float32 readings in the telemetry JSON print at float32 precision."""
    seen = 0
    for topic, payload in msgs:
        if "/telemetry/" not in topic:
            continue
        for param, text in VALUE_RE.findall(payload):
            if param == "volume_total":  # an integer register
                continue
            seen += 1
            check(shortest_f32(text), f"MQTT {param}={text} is not the shortest float32 decimal")
    check(seen > 0, "no float32 readings on MQTT to judge the precision of")


def telemetry(msgs):
    out = []
    for topic, payload in msgs:
        if "/telemetry/" in topic:
            out.append(json.loads(payload))
    return out


def check_readings(work, url, min_polls):
    served = served_values(work)
    tel = list({m["seq"]: m for m in telemetry(mqtt_messages(work))}.values())
    good = 0
    for m in tel:
        check(m["outlet"] == "WS-001", f"telemetry outlet {m['outlet']}")
        for p, val in m["values"].items():
            check(SENSOR_OF.get(p) == m["sensor"], f"{p} reported by {m['sensor']}")
            if val["q"] == "ok":
                good += 1
                check(was_served(served, p, val["v"]),
                      f"MQTT {p}={val['v']} was never served by the simulator")
    check(len(tel) >= min_polls, f"only {len(tel)} telemetry messages on MQTT")
    check_precision(mqtt_messages(work))
    seqs = list(dict.fromkeys(m["seq"] for m in tel))  # repeats are allowed
    check(seqs == sorted(seqs), "telemetry seq not increasing")
    rows = influx(url, "SELECT * FROM outfall_reading")
    ok_rows = [r for r in rows if r["q"] == "ok"]
    check(len(ok_rows) >= good * 0.95,
          f"InfluxDB has {len(ok_rows)} good readings, MQTT saw {good}")
    for r in ok_rows:
        check(was_served(served, r["parameter"], r["value"]),
              f"InfluxDB {r['parameter']}={r['value']} was never served")
        check(r["gateway"] == "it-gw-1" and r["outlet"] == "WS-001",
              f"InfluxDB tags {r['gateway']} {r['outlet']}")
    influx_seqs = {r["seq"] for r in ok_rows}
    missing = [m["seq"] for m in tel
               if any(v["q"] == "ok" for v in m["values"].values())
               and m["seq"] not in influx_seqs]
    check(not missing, f"polls on MQTT but not in InfluxDB: seq {missing[:10]}")
    return tel


from datetime import datetime  # noqa: E402  (used by the checks below)


def check_exceed(work, url):
    check_readings(work, url, 20)
    raw = [p for t, p in mqtt_messages(work) if t == "outfall/it-gw-1/alerts/WS-001"]
    alerts = [json.loads(p) for p in raw]
    cod = [a for a in alerts if a["parameter"] == "cod"]
    raised = [a for a in cod if a["state"] == "raised"]
    cleared = [a for a in cod if a["state"] == "cleared"]
    check(len(raised) == 1, f"{len(raised)} raised cod alerts, want 1")
    check(len(cleared) == 1, f"{len(cleared)} cleared cod alerts, want 1")
    if raised and cleared:
        r, c = raised[0], cleared[0]
        check(r["kind"] == "limit_exceeded", f"kind {r['kind']}")
        check(r["limit"] == 500.0, f"limit {r['limit']}")
        check(r["value"] >= 650 * 0.99, f"value {r['value']}")
        check(r["permit"] == "浙丽排字第2023-0042号", f"permit {r['permit']}")
        check(r["holder"] == "丽水某食品有限公司", f"holder {r['holder']}")
        check(r["sensor"] == "probe1" and r["basis"] == "instant", "sensor/basis")
        check(c["id"] == r["id"] and "until" in c, "cleared event repeats the id, has until")
        check(c["value"] <= 490.0, f"cleared at {c['value']}")
        # the evidence of DESIGN §5
        check(r["ratio"] == float("%.3g" % (r["value"] / 500.0)), f"ratio {r.get('ratio')}")
        check(r["sensor_unhealthy"] is False and "reason" not in r, f"raised evidence {r}")
        check(c["reason"] == "back_inside", f"cleared reason {c.get('reason')}")
        since, until = (datetime.fromisoformat(x[k].replace("Z", "+00:00")).timestamp()
                        for x, k in ((c, "since"), (c, "until")))
        check(c["duration_s"] == int(until - since) and c["duration_s"] > 0,
              f"duration_s {c.get('duration_s')} for {c['since']}..{c['until']}")
        for text in (m.group(1) for p in raw for m in re.finditer(r'"(?:value|peak)":([-0-9.eE+]+)', p)):
            check(shortest_f32(text), f"alert value {text} is not the shortest float32 decimal")
    rows = influx(url, "SELECT * FROM outfall_alert")
    check(len(rows) == 2, f"InfluxDB has {len(rows)} alert points, want 2")
    for row in rows:
        check(row.get("holder") == "丽水某食品有限公司" and row.get("since"),
              f"InfluxDB alert holder/since: {row}")
        check(row.get("ratio") is not None and row.get("sensor") == "probe1",
              f"InfluxDB alert ratio/sensor: {row}")
        if row.get("state") == "cleared":
            check(row.get("until") and row.get("reason") == "back_inside"
                  and row.get("duration_s", 0) > 0, f"InfluxDB cleared alert: {row}")
    status = [p for t, p in mqtt_messages(work) if t == "outfall/it-gw-1/status"]
    check(status and json.loads(status[0])["state"] == "online", "status online")


def check_fault(work, url):
    tel = check_readings(work, url, 8)
    flow = [m for m in tel if m["sensor"] == "flow1"]
    probe = [m for m in tel if m["sensor"] == "probe1"]
    from datetime import datetime
    ts = [datetime.fromisoformat(m["ts"].replace("Z", "+00:00")).timestamp() for m in flow]
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    check(len(flow) >= 8, f"flow1 polled {len(flow)} times while probe1 was silent")
    if gaps:
        # interval 1 s; a silent probe1 costs at most 2 x 200 ms once, then 200 ms
        check(max(gaps) < 1.9, f"flow1 gap {max(gaps):.3f} s while probe1 silent")
    check(all(all(v["q"] == "no_response" for v in m["values"].values()) for m in probe),
          "silent probe1 must be reported no_response")
    check(len(probe) < len(flow) / 2, f"probe1 tried {len(probe)} times: no backoff")
    # one sensor_fault for the probe, with its own evidence and no pretence
    faults = [a for a in alerts_on(work, "WS-001") if a["kind"] == "sensor_fault"]
    raised = [a for a in faults if a["state"] == "raised" and a["sensor"] == "probe1"]
    check(len({a["id"] for a in raised}) == 1, f"probe1 sensor_fault alerts: {faults}")
    for a in raised[:1]:
        check(a["cause"] == "no_response", f"cause {a.get('cause')}")
        check(a["parameters"] == ["cod", "ph", "nh3n", "tp", "temp"],
              f"parameters {a.get('parameters')}")
        check(a["limit"] is None and a["unit"] is None and a["basis"] is None,
              f"a sensor_fault pretends a limit: {a}")
        check(a["polls_missed"] >= 1 and "last_answer" in a, f"polls_missed/last_answer {a}")
    check(not [a for a in faults if a["sensor"] == "flow1"], "flow1 answered throughout")
    # the silent probe's first poll (2 x 200 ms) makes flow1's start late: counted, said
    import re
    log = open(f"{work}/daemon.log", encoding="utf-8", errors="replace").read()
    late = [int(n) for n in re.findall(r"stats: \d+ polls, .* (\d+) late,", log)]
    check(late and late[-1] >= 1, f"late polls in the stats line: {late}")
    check(re.search(r"the poll of flow1 \(slave 2 on rs485-0\) started \d+ ms late", log),
          "no line saying flow1's poll started late")


def served_in_order(work):
    """Each parameter's served values, in the order they were served."""
    seq = {}
    with open(f"{work}/sim.csv", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["wall_ms"]))
    for row in rows:
        p = CSV_TO_PARAM.get(row["name"])
        if p:
            seq.setdefault(p, []).append(float(row["value"]))
    return seq


def same_values(got, want):
    return len(got) == len(want) and all(
        abs(g - w) <= 1e-6 * max(1.0, abs(w)) for g, w in zip(got, want))


def check_complete(work, url):
    """Every served value arrived at both sinks, once each, in order."""
    want = served_in_order(work)
    check(sum(map(len, want.values())) >= 100, "too few values served to judge")
    rows = [r for r in influx(url, "SELECT * FROM outfall_reading") if r["q"] == "ok"]
    rows.sort(key=lambda r: (r["time"], r["seq"]))
    for p, vals in want.items():
        got = [r["value"] for r in rows if r["parameter"] == p]
        check(same_values(got, vals),
              f"InfluxDB {p}: {len(got)} values, simulator served {len(vals)}"
              f" (first difference at {next((i for i, (g, w) in enumerate(zip(got, vals)) if abs(g - w) > 1e-6 * max(1, abs(w))), min(len(got), len(vals)))})")
    seen, order = set(), []
    for m in telemetry(mqtt_messages(work)):
        if m["seq"] not in seen:  # at-least-once: repeats carry the same seq
            seen.add(m["seq"])
            order.append(m)
    check([m["seq"] for m in order] == sorted(m["seq"] for m in order),
          "MQTT telemetry not in seq order")
    for p, vals in want.items():
        got = [m["values"][p]["v"] for m in order
               if p in m["values"] and m["values"][p]["q"] == "ok"]
        check(same_values(got, vals),
              f"MQTT {p}: {len(got)} values, simulator served {len(vals)}")


def check_crash(work, url):
    """Every reading the daemon logged as read is in InfluxDB."""
    import re
    logged = set()
    with open(f"{work}/daemon.log", encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.search(r"read (\w+): seq (\d+), (\d+) values", line)
            if m:
                logged.add(int(m.group(2)))
    check(len(logged) >= 40, f"only {len(logged)} reads logged across the crashes")
    stored = {r["seq"] for r in influx(url, "SELECT seq, q FROM outfall_reading")}
    missing = sorted(logged - stored)
    check(not missing, f"{len(missing)} reads logged but not in InfluxDB: {missing[:10]}")
    check_readings(work, url, 10)


def check_reload_events(work, url):
    """One reload event per SIGHUP, refused then applied, the same on MQTT,
    in InfluxDB and in the local history."""
    mqtt = [json.loads(p) for t, p in mqtt_messages(work)
            if t == "outfall/it-gw-1/reload"]
    points = influx(url, "SELECT * FROM outfall_reload")
    db = sqlite3.connect(f"file:{work}/cfg/data/history/history.sqlite?mode=ro",
                         uri=True)
    rows = db.execute("SELECT outcome, changes, summary FROM reload ORDER BY seq").fetchall()
    db.close()
    got = {"mqtt": [(m["outcome"], m["changes"], m["summary"]) for m in mqtt],
           "influx": [(p["outcome"], p["changes"], p["summary"]) for p in points],
           "history": [tuple(r) for r in rows]}
    for where, events in got.items():
        if not check(len(events) == 2, f"{where}: reload events {events}, want 2"):
            continue
        (o1, n1, s1), (o2, n2, s2) = events
        check(o1 == "refused" and n1 >= 1 and
              re.fullmatch(r"\d+ errors? in outfall\.conf \(file:line in the log\); "
                           r"the running configuration stays", s1) and
              int(s1.split()[0]) == n1, f"{where}: refused event {events[0]}")
        check(o2 == "applied" and n2 == 3 and
              s2.split("; ") == ["sensor probe1: interval 1 -> 2 s",
                                 "sensor flow1: interval 1 -> 2 s",
                                 "permit 浙丽排字第2023-0042号: ph instant max 9.5 -> 9 pH"],
              f"{where}: applied event {events[1]}")
    check(got["mqtt"] == got["influx"] == got["history"],
          f"the sinks differ: {got}")


def check_reload(work, url):
    """Nothing lost across the reloads, and the one exceedance gave one
    raised and one cleared alert; the reload events reached every sink."""
    check_complete(work, url)
    check_reload_events(work, url)
    alerts = [json.loads(p) for t, p in mqtt_messages(work)
              if t == "outfall/it-gw-1/alerts/WS-001"]
    cod = {(a["id"], a["state"]) for a in alerts
           if a["parameter"] == "cod" and a["kind"] == "limit_exceeded"}
    raised = [i for i, s in cod if s == "raised"]
    cleared = [i for i, s in cod if s == "cleared"]
    check(len(raised) == 1 and len(cleared) == 1 and raised == cleared,
          f"cod alerts across the reload: {sorted(cod)}")


def alerts_on(work, outlet):
    return [json.loads(p) for t, p in mqtt_messages(work)
            if t == f"outfall/it-gw-1/alerts/{outlet}"]


def check_rolling(work, url):
    cod = [a for a in alerts_on(work, "WS-001") if a["parameter"] == "cod"]
    rolling = [a for a in cod if a["basis"] == "rolling"]
    check(not [a for a in cod if a["basis"] == "instant"],
          "450 mg/L must not cross the 500 mg/L instant limit")
    raised = [a for a in rolling if a["state"] == "raised"]
    cleared = [a for a in rolling if a["state"] == "cleared"]
    check(len({a["id"] for a in raised}) == 1 and len({a["id"] for a in cleared}) == 1,
          f"rolling alerts: {[(a['id'], a['state']) for a in rolling]}")
    if raised:
        r = raised[0]
        check(r["kind"] == "limit_exceeded" and r["limit"] == 400.0,
              f"kind {r['kind']} limit {r['limit']}")
        check(r["window_min"] == 1, f"window_min {r['window_min']}")
        check(400.0 < r["value"] < 450.5, f"a one-minute mean, not a reading: {r['value']}")
        check(r["permit"] == "浙丽排字第2023-0042号" and r["holder"] == "丽水某食品有限公司",
              "permit and holder in the evidence")
        check(r["sensor_health"] == "ok" and r["since"], "sensor health and since")


def check_storm(work, url):
    storm = [a for a in alerts_on(work, "YS-001") if a["kind"] == "storm_sewage"]
    ids = {a["id"] for a in storm if a["state"] == "raised"}
    check(len(ids) == 1, f"{len(ids)} storm_sewage alerts raised, want 1: {storm}")
    if storm:
        a = storm[0]
        check(a["outlet"] == "YS-001" and a["parameter"] == "flow", f"evidence {a}")
        check(a["value"] > 0.1 and a["sensor"] == "flow1", f"flow evidence {a}")
    check(not alerts_on(work, "WS-001"), "the sewage outlet had no reason to alert")


def main():
    mode, work, url = sys.argv[1:4]
    {"exceed": check_exceed, "fault": check_fault, "complete": check_complete,
     "crash": check_crash, "reload": check_reload, "rolling": check_rolling,
     "storm": check_storm,
     "readings": lambda w, u: check_readings(w, u, 5)}[mode](work, url)
    for f in failures:
        print(f"  FAIL: {f}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
