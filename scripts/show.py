#!/usr/bin/env python3
"""show.py - pretty-prints `mosquitto_sub -v -t 'outfall/#'` for the demo."""
import json
import sys


def duration(s):
    """3725 -> "1 h 2 min 5 s"."""
    if s is None:
        return "?"
    h, rest = divmod(int(s), 3600)
    m, sec = divmod(rest, 60)
    parts = [f"{h} h"] if h else []
    if m or h:
        parts.append(f"{m} min")
    parts.append(f"{sec} s")
    return " ".join(parts)


def what(m):
    """The alert's own evidence, by kind (DESIGN §5): no pretend limits."""
    kind, unit = m["kind"], m.get("unit") or ""
    if kind == "sensor_fault":
        params = ", ".join(m.get("parameters") or []) or "?"
        text = f"sensor_fault ({m.get('cause') or '?'}) affecting {params}"
        if m.get("polls_missed"):
            text += f", {m['polls_missed']} polls missed"
        text += f", last answer {m.get('last_answer') or 'never'}"
        if m.get("value") is not None:
            text += f"; {m.get('parameter')} read {m['value']} {unit}"
        return text
    if kind == "data_gap":
        return (f"data_gap {m.get('parameter') or ''}: {m.get('gap_s')} s without good "
                f"readings, coverage {m.get('coverage')} %")
    if kind == "permit_expiring":
        return f"permit_expiring: {m.get('days_left')} days left"
    if kind == "no_valid_permit":
        return f"no_valid_permit: {m.get('parameter')} {m.get('value')} {unit} recorded"
    if kind == "maintenance_overuse":
        return f"maintenance_overuse: {m.get('value')} against {m.get('limit')}"
    text = (f"{kind} {m.get('parameter')} value {m.get('value')} {unit} vs limit "
            f"{m.get('limit')} ({m.get('basis')}")
    if m.get("window_min"):
        text += f" {m['window_min']} min"
    text += ")"
    if m.get("ratio") is not None:
        text += f", {m['ratio']} x the limit"
    return text


def alert(m):
    health = m.get("sensor_health")
    if m.get("sensor_unhealthy"):
        health += ", SENSOR UNHEALTHY"
    peak = f", peak {m['peak']}" if m.get("peak") is not None else ""
    lines = [f"*** ALERT {m['state'].upper()}: {what(m)}",
             f"    outlet {m['outlet']}, permit {m['permit']} ({m['holder']}),"
             f" since {m['since']}{peak}, sensor {m.get('sensor')} [{health}]"]
    if m["state"] == "cleared":
        lines.append(f"    cleared {m.get('until')} after {duration(m.get('duration_s'))}: "
                     f"{m.get('reason') or 'no reason given'}")
    if m.get("note") is not None or m.get("reason") == "closed_by_operator":
        lines.append(f"    operator's note: {m.get('note') or '(none)'}")
    return "\n" + "\n".join(lines) + "\n"


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
                        f"{'[' + v['flag'] + ']' if v.get('flag') else ''}"
                        for p, v in m["values"].items())
        print(f"{m['ts']} telemetry {m['outlet']}/{m['sensor']}: {vals}")
    elif kind == "alerts":
        print(alert(m))
    elif kind == "maintenance":
        print(f"{m.get('ts')} maintenance {m.get('event')} ({m.get('mode')}) on "
              f"{m.get('sensor')}: {m.get('reason') or 'no reason given'}, "
              f"planned end {m.get('planned_end')}")
    elif kind == "status":
        print(f"status: {m.get('state')}")
    else:
        print(f"{topic} {payload}")
