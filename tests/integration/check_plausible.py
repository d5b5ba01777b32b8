#!/usr/bin/env python3
"""check_plausible.py - assertions on what the broker and InfluxDB RECEIVED
in the plausibility cases (cases_plausible.sh).

usage: check_plausible.py word_order|exceed_silent WORKDIR INFLUX_URL
Exits 0 when every assertion holds, 1 with a message per failure.
"""
import json
import sys
import urllib.parse
import urllib.request

GATEWAY = "it-gw-1"
PERMIT_KINDS = {"limit_exceeded", "below_minimum", "daily_volume_exceeded",
                "no_valid_permit", "storm_sewage"}
PROBE_PARAMS = {"cod", "ph", "nh3n", "tp", "temp"}
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def mqtt(work):
    out = []
    with open(f"{work}/mqtt.log", encoding="utf-8") as f:
        for line in f:
            topic, _, payload = line.rstrip("\n").partition(" ")
            out.append((topic, payload))
    return out


def alerts(msgs, outlet="WS-001"):
    """Alert events, once each: MQTT is at-least-once, a repeat has its seq."""
    seen, out = set(), []
    for t, p in msgs:
        if t != f"outfall/{GATEWAY}/alerts/{outlet}":
            continue
        a = json.loads(p)
        if a["seq"] not in seen:
            seen.add(a["seq"])
            out.append(a)
    return out


def active_sets(msgs, outlet="WS-001"):
    return [json.loads(p) for t, p in msgs
            if t == f"outfall/{GATEWAY}/alerts/{outlet}/active"]


def telemetry(msgs):
    return [json.loads(p) for t, p in msgs if "/telemetry/" in t]


def influx(url, q):
    qs = urllib.parse.urlencode({"db": "outfall", "epoch": "ms", "q": q})
    with urllib.request.urlopen(f"{url}/query?{qs}", timeout=10) as r:
        res = json.load(r)["results"][0]
    rows = []
    for s in res.get("series", []):
        cols = s["columns"]
        rows += [dict(zip(cols, v)) for v in s["values"]]
    return rows


def check_word_order(work, url):
    msgs = mqtt(work)
    events = alerts(msgs)
    permit = [a for a in events if a["kind"] in PERMIT_KINDS]
    check(not permit, "permit alerts from a wrong word order: "
          + str([(a["kind"], a.get("parameter"), a["value"]) for a in permit]))
    faults = [a for a in events if a["kind"] == "sensor_fault"]
    for sensor, params in (("probe1", PROBE_PARAMS), ("flow1", {"flow", "volume_total"})):
        mine = [a for a in faults if a["sensor"] == sensor and a["state"] == "raised"
                and a["cause"] == "implausible"]
        check(len({a["id"] for a in mine}) == 1,
              f"{sensor}: {len(mine)} implausible sensor faults raised, want 1")
        for a in mine:
            check(a["id"].startswith(f"{GATEWAY}/WS-001/{sensor}/implausible/"),
                  f"named after the sensor: {a['id']}")
            check(a["parameters"] and set(a["parameters"]) <= params,
                  f"{sensor} parameters {a['parameters']}")
            check(a["limit"] is None, f"a fault has no limit: {a['limit']}")
            check("word order" in a.get("note", ""), f"no hint in {a.get('note')}")
            check(a["last_answer"] is not None, "last_answer")
    # the readings are kept, with their quality
    tel = telemetry(msgs)
    probe = [v for m in tel if m["sensor"] == "probe1" for v in m["values"].values()]
    invalid = [v for v in probe if v["q"] == "invalid"]
    check(len(probe) >= 50, f"only {len(probe)} probe values on MQTT")
    check(len(invalid) >= len(probe) // 2,
          f"{len(invalid)} of {len(probe)} probe values invalid: the wrong order shows")
    rows = influx(url, "SELECT * FROM outfall_reading")
    check(any(r["q"] == "invalid" for r in rows), "no invalid readings in InfluxDB")
    points = influx(url, "SELECT * FROM outfall_alert")
    check(not [p for p in points if p["kind"] in PERMIT_KINDS],
          "InfluxDB received a permit alert")
    got = {p["sensor"] for p in points
           if p["kind"] == "sensor_fault" and p.get("cause") == "implausible"}
    check(got >= {"probe1", "flow1"}, f"InfluxDB implausible faults for {sorted(got)}")


def check_exceed_silent(work, url):
    msgs = mqtt(work)
    events = alerts(msgs)
    cod = [a for a in events if a["kind"] == "limit_exceeded" and a["parameter"] == "cod"]
    raised = [a for a in cod if a["state"] == "raised"]
    cleared = [a for a in cod if a["state"] == "cleared"]
    check(len(raised) == 1 and len(cleared) == 1,
          f"cod limit_exceeded: {len(raised)} raised, {len(cleared)} cleared, want 1 and 1")
    if raised and cleared:
        r, c = raised[0], cleared[-1]
        check(c["id"] == r["id"], "the clear repeats the id")
        check(r["limit"] == 500.0 and r["value"] >= 650 * 0.99, f"evidence {r}")
        check(c["reason"] == "back_inside", f"reason {c['reason']}")
        check(c["sensor_unhealthy"] is True, "silent while open: marked in the clear")
        check(c["peak"] >= 650 * 0.99 and c["value"] <= 490.0, f"peak/value {c}")
        check(c["duration_s"] >= 20, f"open through the silence: {c['duration_s']} s")
    noresp = [a for a in events if a["kind"] == "sensor_fault" and a["sensor"] == "probe1"
              and a["cause"] == "no_response"]
    check(any(a["state"] == "raised" for a in noresp), "no no_response fault for the silence")
    for a in noresp:
        check(set(a["parameters"]) == PROBE_PARAMS, f"parameters {a['parameters']}")
        check(a["polls_missed"] >= 3, f"polls_missed {a['polls_missed']}")
    check(any(a["state"] == "cleared" and a["reason"] == "sensor_recovered" for a in noresp),
          "the probe's fault cleared when it answered again")
    check(not [a for a in events if a["kind"] == "data_gap"],
          "the silence is the sensor's fault, not a data gap")
    # while silent, the retained set said so
    unhealthy = [a for s in active_sets(msgs) for a in s
                 if a["kind"] == "limit_exceeded" and a["sensor_unhealthy"]]
    check(unhealthy, "the active set never showed the open alert unhealthy")
    silent = [m for m in telemetry(msgs) if m["sensor"] == "probe1"
              and all(v["q"] == "no_response" for v in m["values"].values())]
    check(silent, "no silent probe polls on MQTT")
    points = [p for p in influx(url, "SELECT * FROM outfall_alert")
              if p["kind"] == "limit_exceeded" and p.get("parameter") == "cod"]
    states = sorted(p["state"] for p in points)
    check(states == ["cleared", "raised"], f"InfluxDB cod alert points: {states}")
    check(len({p["id"] for p in points}) == 1, "InfluxDB: one alert id")
    done = [p for p in points if p["state"] == "cleared"]
    check(done and done[0].get("reason") == "back_inside", "InfluxDB clear reason")


def main():
    mode, work, url = sys.argv[1:4]
    {"word_order": check_word_order, "exceed_silent": check_exceed_silent}[mode](work, url)
    for f in failures:
        print(f"  FAIL: {f}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
