#!/usr/bin/env python3
"""check_disk.py WORK - case_disk_full: what the broker received while the
data_dir's disk was full for about half a minute.

- The data_gap alert was raised and cleared on MQTT, about no parameter.
- Its count is exact: the cleared event's value equals the polls the
  simulator served that never reached the broker, plus the aggregates
  (minute, hour, day) whose period ended while the simulator served and
  that the broker never received (records lost are telemetry of any kind;
  the first metrics record comes 60 s after the start, when the disk has
  room again).
- Its span covers the polls that went missing.
- The daemon said the reserve for alerts was released.
"""
import csv
import json
import sys
from datetime import datetime

work = sys.argv[1]
fails = []


def check(cond, msg):
    if not cond:
        fails.append(msg)


msgs = []
for line in open(f"{work}/mqtt.log", encoding="utf-8"):
    topic, _, payload = line.rstrip("\n").partition(" ")
    try:
        m = json.loads(payload)
    except ValueError:
        continue
    if isinstance(m, dict):
        msgs.append((topic, m))

# polls served: a probe1 poll serves cod once, a flow1 poll flow once
served = {}
with open(f"{work}/sim.csv", newline="") as f:
    for row in csv.DictReader(f):
        if row["name"] in ("cod", "flow"):
            served.setdefault(row["name"], []).append(int(row["wall_ms"]))

tel = {m["seq"]: m for t, m in msgs if "/telemetry/" in t}
got = {}
for m in tel.values():
    got.setdefault(m["sensor"], []).append(m)
received = len(tel)
n_served = sum(len(v) for v in served.values())
lost_polls = n_served - received

def ms(rfc3339):
    return int(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000)


# an aggregate is made when its period ends: each period end the polls
# spanned (the outlet's day ends at 16:00 UTC, Asia/Shanghai) that the
# broker has no aggregate for was lost
ends = {(m["period"], ms(m["end"])) for t, m in msgs if "/aggregate/" in t and "end" in m}
first = min(min(v) for v in served.values())
last = max(max(v) for v in served.values()) - 5000
lost_aggs = 0
for period, span, shift in (("minute", 60000, 0), ("hour", 3600000, 0),
                            ("day", 86400000, 16 * 3600000)):
    b = (first - shift) // span * span + span + shift
    while b <= last:
        lost_aggs += (period, b) not in ends
        b += span

gaps = [m for t, m in msgs if "/alert" in t and m.get("kind") == "data_gap"]
raised = [g for g in gaps if g.get("state") == "raised"]
cleared = [g for g in gaps if g.get("state") == "cleared"]
print(f"disk full: {n_served} polls served, {received} received, {lost_polls} lost; "
      f"{lost_aggs} aggregates missing; data_gap events "
      f"{[(g['state'], g.get('records_lost'), g.get('gap_s')) for g in gaps]}")
check(lost_polls > 3, f"only {lost_polls} polls lost: the disk was not full long enough")
check(len(raised) == 1, f"{len(raised)} data_gap raised events, want 1")
check(len(cleared) == 1, f"{len(cleared)} data_gap cleared events, want 1")
if cleared:
    g = cleared[0]
    check(g.get("records_lost") == lost_polls + lost_aggs,
          f"data_gap says {g.get('records_lost')} records lost; the broker misses "
          f"{lost_polls} polls and {lost_aggs} aggregates")
    check(g.get("parameter") is None, f"data_gap names a parameter: {g.get('parameter')}")
log = open(f"{work}/daemon.log", encoding="utf-8").read()
check("kept for alerts is released" in log, "the daemon did not release its alert reserve")
for f in fails:
    print("FAIL:", f)
sys.exit(1 if fails else 0)
