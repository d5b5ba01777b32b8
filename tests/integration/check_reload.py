#!/usr/bin/env python3
"""check_reload.py - assertions for cases_reload.sh on what the broker and
InfluxDB RECEIVED (see check.py, whose helpers it uses).

usage: check_reload.py rolling|retry_cap WORKDIR INFLUX_URL
Exits 0 when every assertion holds, 1 with a message per failure.
"""
import json
import os
import sys
from datetime import datetime

sys.dont_write_bytecode = True  # no __pycache__ left in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402  (the shared helpers and failure list)

GW = "it-gw-1"
CLIENT = f"outfall-{GW}"


def ms(rfc3339):
    return int(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000)


def read_ms(work, name):
    with open(f"{work}/{name}") as f:
        return int(f.read().strip())


def check_rolling(work, url):
    """The rolling window and the MQTT connection survived the reload."""
    msgs = check.mqtt_messages(work)
    status = [json.loads(p)["state"] for t, p in msgs if t == f"outfall/{GW}/status"]
    check.check(status == ["online", "offline"],
                f"status messages {status}: want one online and the offline of the stop")
    with open(f"{work}/mosquitto.log", encoding="utf-8", errors="replace") as f:
        conns = sum(1 for line in f if "New client connected" in line and f" as {CLIENT} " in line)
    check.check(conns == 1, f"{conns} connections of {CLIENT} in the broker's log, want 1")
    reload_ms = read_ms(work, "reload_ms")
    cod = [a for a in check.alerts_on(work, "WS-001") if a["parameter"] == "cod"]
    raised = [a for a in cod if a["state"] == "raised" and a["basis"] == "rolling"]
    check.check(len(raised) == 1, f"rolling alerts raised: {[(a['id'], a['limit']) for a in raised]}")
    check.check(not [a for a in cod if a["basis"] == "instant"],
                "450 mg/L must not cross the 500 mg/L instant limit")
    if raised:
        r = raised[0]
        since = ms(r["since"])
        check.check(r["limit"] == 400.0 and r["window_min"] == 1,
                    f"limit {r['limit']} window {r['window_min']}")
        check.check(400.0 < r["value"] < 452.0, f"a one-minute mean of ~450: {r['value']}")
        # a window started afresh at the reload would be judged 45 s later
        check.check(reload_ms <= since <= reload_ms + 10000,
                    f"raised {since - reload_ms} ms after the reload; want the next reading")
    rows = check.influx(url, "SELECT * FROM outfall_alert")
    rolling = [x for x in rows if x.get("rule", "").startswith("rolling")
               and x.get("state") == "raised"]
    check.check(len(rolling) == 1 and rolling[0].get("limit") == 400.0,
                f"InfluxDB rolling alerts: {rolling}")
    # nothing lost across the reload: every reading served reached InfluxDB
    served = check.served_values(work)
    got = [r for r in check.influx(url, "SELECT * FROM outfall_reading WHERE parameter = 'cod'")
           if r["q"] == "ok"]
    check.check(len(got) >= len(served.get("cod", [])) > 50,
                f"InfluxDB has {len(got)} cod readings of {len(served.get('cod', []))} served")


def check_retry_cap(work, url):
    """probe1, silent for 45 s, is polled at least every ~15 s and found
    again within ~15 s of its return."""
    back = read_ms(work, "back_ms")
    tel = [m for m in check.telemetry(check.mqtt_messages(work)) if m["sensor"] == "probe1"]
    polls = sorted((ms(m["ts"]), all(v["q"] != "no_response" for v in m["values"].values()))
                   for m in tel)
    silent = [t for t, ok in polls if not ok]
    # polls every 1 s: tries after 1, 2, 4, 8, then 15 s (uncapped: 16, 32 s)
    check.check(len(silent) >= 5 and silent[-1] - silent[0] >= 25000,
                f"probe1 silent {len(silent)} polls over "
                f"{(silent[-1] - silent[0]) / 1000 if silent else 0} s: the backoff never grew")
    gaps = [b[0] - a[0] for a, b in zip(polls, polls[1:]) if not a[1]]
    check.check(gaps and max(gaps) <= 15000 + 1000,
                f"retry delays up to {max(gaps) / 1000 if gaps else 0} s; want <= 15 s (+ the poll)")
    after = [t for t, ok in polls if ok and t >= back - 500]
    check.check(bool(after), "probe1 never answered again")
    if after:
        check.check(after[0] - back <= 16000,
                    f"probe1 back at {back}, noticed {(after[0] - back) / 1000:.1f} s later")
    rows = check.influx(url, "SELECT * FROM outfall_reading WHERE sensor = 'probe1'")
    check.check(len(rows) > 0, "probe1's readings in InfluxDB")


def main():
    mode, work, url = sys.argv[1:4]
    {"rolling": check_rolling, "retry_cap": check_retry_cap}[mode](work, url)
    for f in check.failures:
        print(f"  FAIL: {f}")
    sys.exit(1 if check.failures else 0)


if __name__ == "__main__":
    main()
