#!/usr/bin/env python3
"""check_maint.py - assertions for cases_maint.sh on what the broker and
InfluxDB RECEIVED: maintenance events, flagged telemetry, operator closes,
and no_valid_permit by gateway.clock.

usage: check_maint.py maint|close|clock-rtc|clock-ntp WORKDIR INFLUX_URL [ALERT_ID]
Exits 0 when every assertion holds, 1 with a message per failure.
"""
import json
import sys
import urllib.parse
import urllib.request

GW = "outfall/it-gw-1"
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def messages(work, topic):
    out = []
    with open(f"{work}/mqtt.log", encoding="utf-8") as f:
        for line in f:
            t, _, payload = line.rstrip("\n").partition(" ")
            if t == topic:
                out.append(json.loads(payload))
    return out


def dedup(msgs, key="seq"):
    return list({m[key]: m for m in msgs}.values())


def influx(url, q):
    qs = urllib.parse.urlencode({"db": "outfall", "epoch": "ms", "q": q})
    with urllib.request.urlopen(f"{url}/query?{qs}", timeout=10) as r:
        res = json.load(r)["results"][0]
    rows = []
    for s in res.get("series", []):
        cols = s["columns"]
        rows += [dict(zip(cols, v)) for v in s["values"]]
    return rows


def check_maint(work, url):
    alerts = messages(work, f"{GW}/alerts/WS-001")
    limit = [a for a in alerts if a["kind"] in ("limit_exceeded", "below_minimum")]
    check(not limit, f"limit alerts while probe1 was in maintenance: {limit}")
    faults = [a for a in alerts if a["kind"] in ("sensor_fault", "data_gap")
              and a.get("sensor") == "probe1"]
    check(not faults, f"probe1 faults while in maintenance: {faults}")
    ev = dedup(messages(work, f"{GW}/maintenance/WS-001"))
    probe = [e for e in ev if e["sensor"] == "probe1"]
    flow = [e for e in ev if e["sensor"] == "flow1"]
    check([e["event"] for e in probe] == ["start", "end"],
          f"probe1 events on MQTT: {[e['event'] for e in probe]}")
    if len(probe) == 2:
        s, e = probe
        check(s["mode"] == "maintenance" and s["flag"] == "M", f"start {s}")
        check(s["reason"] == "membrane swap", f"start reason {s['reason']}")
        check(s["planned_end"] > s["since"] and s["outlet"] == "WS-001", f"start {s}")
        check(e["ended_by"] == "operator" and e["until"] < s["planned_end"], f"end {e}")
        check(e["reason"] == "membrane done" and e["since"] == s["since"], f"end {e}")
    check([(e["event"], e.get("ended_by")) for e in flow] == [("start", None),
                                                           ("end", "expired")],
          f"flow1 (calibration, 5 s) events: {flow}")
    if flow:
        check(flow[0]["mode"] == "calibration" and flow[0]["flag"] == "C", f"{flow[0]}")
    # the readings meanwhile: kept, flagged, the exceedance among them
    tel = dedup(messages(work, f"{GW}/telemetry/WS-001"))
    high = [m for m in tel if m["sensor"] == "probe1"
            and (m["values"].get("cod") or {}).get("v") and m["values"]["cod"]["v"] > 600]
    check(len(high) >= 5, f"{len(high)} readings of the exceedance kept")
    check(all(m["values"]["cod"].get("flag") == "M" for m in high),
          "readings in maintenance must carry flag M")
    rows = influx(url, "SELECT * FROM outfall_maintenance")
    got = sorted((r["sensor"], r["event"]) for r in rows)
    check(got == [("flow1", "end"), ("flow1", "start"), ("probe1", "end"),
                  ("probe1", "start")], f"InfluxDB outfall_maintenance: {got}")
    check(any(r["sensor"] == "probe1" and r["reason"] == "membrane swap"
              and r["flag"] == "M" for r in rows), f"InfluxDB start reason/flag: {rows}")
    flagged = influx(url, "SELECT * FROM outfall_reading WHERE sensor = 'probe1' "
                          "AND parameter = 'cod' AND flag = 'M'")
    check(len(flagged) >= 5, f"{len(flagged)} cod readings flagged M in InfluxDB")
    check(not influx(url, "SELECT * FROM outfall_alert WHERE kind = 'limit_exceeded'"),
          "no limit alert in InfluxDB")


def check_close(work, url, alert_id):
    alerts = [a for a in messages(work, f"{GW}/alerts/WS-001") if a["parameter"] == "cod"]
    raised = dedup([a for a in alerts if a["state"] == "raised"], "id")
    cleared = dedup([a for a in alerts if a["state"] == "cleared"], "id")
    check(len(raised) == 1 and raised[0]["id"] == alert_id,
          f"raised while the exceedance went on after the close: {raised}")
    check(len(cleared) == 1, f"cleared events: {cleared}")
    if cleared:
        c = cleared[0]
        check(c["id"] == alert_id and c["reason"] == "closed_by_operator", f"cleared {c}")
        check(c.get("note") == "probe fouled, cleaned", f"the operator's note: {c}")
        check("until" in c, "until in the cleared event")
    active = messages(work, f"{GW}/alerts/WS-001/active")
    check(active and not [a for a in active[-1] if a["id"] == alert_id],
          f"the closed alert is still in the active set: {active[-1] if active else None}")
    rows = influx(url, "SELECT * FROM outfall_alert WHERE kind = 'limit_exceeded'")
    states = sorted(r["state"] for r in rows)
    check(states == ["cleared", "raised"], f"InfluxDB limit alerts: {states}")
    check(any(r.get("reason") == "closed_by_operator" and r.get("note") ==
              "probe fouled, cleaned" for r in rows), f"InfluxDB close: {rows}")


def check_clock(work, url, rtc):
    alerts = messages(work, f"{GW}/alerts/WS-001")
    nvp = [a for a in alerts if a["kind"] == "no_valid_permit" and a["state"] == "raised"]
    tel = dedup(messages(work, f"{GW}/telemetry/WS-001"))
    unsynced = [m for m in tel if m.get("clock") == "unsynced"]
    check(tel, "no telemetry")
    if rtc:
        check(len(dedup(nvp, "id")) == 1, f"no_valid_permit with clock=rtc: {nvp}")
        if nvp:
            check(nvp[0]["parameter"] == "flow" and nvp[0]["sensor"] == "flow1", f"{nvp[0]}")
        check(not unsynced, f"{len(unsynced)} readings say clock unsynced with clock=rtc")
        rows = influx(url, "SELECT * FROM outfall_alert WHERE kind = 'no_valid_permit'")
        check(len(rows) >= 1, "no_valid_permit in InfluxDB")
    else:
        check(not nvp, f"no_valid_permit with clock=ntp on an unsynced kernel: {nvp}")
        check(len(unsynced) == len(tel), "readings with clock=ntp, unsynced, say so")


def main():
    mode, work, url = sys.argv[1:4]
    if mode == "maint":
        check_maint(work, url)
    elif mode == "close":
        check_close(work, url, sys.argv[4])
    else:
        check_clock(work, url, mode == "clock-rtc")
    for f in failures:
        print(f"  FAIL: {f}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
