#!/usr/bin/env python3
"""show.py - pretty-prints `mosquitto_sub -v -t 'outfall/#'` for the demo."""
import json
import sys

for line in sys.stdin:
    topic, _, payload = line.rstrip("\n").partition(" ")
    kind = topic.split("/")[2] if topic.count("/") >= 2 else topic
    try:
        m = json.loads(payload)
    except ValueError:
        print(f"{topic} {payload}")
        continue
    if topic.endswith("/active"):
        print(f"open alerts on {topic.split('/')[3]}: {len(m)}")
        continue
    if kind in ("metrics", "aggregate"):
        continue
    if kind == "telemetry":
        vals = " ".join(f"{p}={v['v']}{'' if v['q'] == 'ok' else '(' + v['q'] + ')'}"
                        for p, v in m["values"].items())
        print(f"{m['ts']} telemetry {m['outlet']}/{m['sensor']}: {vals}")
    elif kind == "alerts":
        print(f"\n*** ALERT {m['state'].upper()}: {m['kind']} {m['parameter']} "
              f"value {m['value']} {m['unit']} vs limit {m['limit']} ({m['basis']})"
              f"\n    outlet {m['outlet']}, permit {m['permit']} ({m['holder']}),"
              f" since {m['since']}, peak {m['peak']}, sensor {m['sensor']}"
              f" [{m['sensor_health']}]\n")
    elif kind == "status":
        print(f"status: {m.get('state')}")
    else:
        print(f"{topic} {payload}")
