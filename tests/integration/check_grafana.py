#!/usr/bin/env python3
"""check_grafana.py WORK INFLUX_URL DASHBOARD - every query of the Grafana
dashboard (config/grafana/outfall.json) against the InfluxDB outfalld wrote
to in case_grafana (cases_grafana.sh).

Grafana is not a Debian package, so this does what Grafana would do with the
queries and no more: it fills in the template variables (the gateway and
outlet from the dashboard's own variable queries, every parameter the
parameter variable lists, $timeFilter, $__interval, the constant $tz),
sends each panel target, annotation and variable query to /query, and
asserts that InfluxDB gives no error and the series the panel expects: not
empty, with the columns the SELECT names. Then outfall_limit is compared to
the permits file the case wrote, before and after its reload.
"""
import json
import re
import sys
import urllib.parse
import urllib.request

failures = []

GATEWAY = "it-gw-1"
INTERVAL = "10s"
TIME_FILTER = "time >= now() - 1h"
# Queries that may come back empty in a two-minute run, and why; each must
# still run without an error. A day aggregate is also run as period=minute,
# which must give rows: same fields and tags, so the names are right.
MAY_BE_EMPTY = {
    "period\" = 'day'": "no local day closes during the run",
    "outfall_maintenance": "no maintenance in this run",
}


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def influx(url, q):
    """The statement's result: (series, error or None)."""
    qs = urllib.parse.urlencode({"db": "outfall", "epoch": "ms", "q": q})
    try:
        with urllib.request.urlopen(f"{url}/query?{qs}", timeout=10) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        return [], f"HTTP {e.code}: {e.read().decode(errors='replace')[:300]}"
    res = body.get("results", [{}])[0]
    if "error" in res or "error" in body:
        return [], res.get("error") or body.get("error")
    return res.get("series", []), None


def rows(series):
    return [dict(zip(s["columns"], v), **s.get("tags", {})) for s in series for v in s["values"]]


def regex_value(values):
    """A variable inside /^...$/ as Grafana writes it (its regexEscape):
    escaped, (a|b) when multi."""
    esc = [re.sub(r"([\\/.*+?^${}()|\[\]])", r"\\\1", v) for v in values]
    return esc[0] if len(esc) == 1 else "(" + "|".join(esc) + ")"


def substitute(q, env):
    q = q.replace("$timeFilter", TIME_FILTER).replace("$__interval", INTERVAL)
    for name in sorted(env, key=len, reverse=True):  # $outlet before $out...
        q = q.replace("${%s}" % name, env[name]).replace("$" + name, env[name])
    return q


def select_columns(q):
    """The columns a SELECT gives: time, then each item's AS name, function
    name or field name."""
    m = re.match(r"\s*SELECT\s+(.*?)\s+FROM\s", q, re.S | re.I)
    if not m:
        return None
    items, depth, cur = [], 0, ""
    for ch in m.group(1):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            items.append(cur.strip())
            cur = ""
        else:
            cur += ch
    items.append(cur.strip())
    cols = ["time"]
    for it in items:
        a = re.search(r'\s+AS\s+"?([^"]+)"?$', it, re.I)
        f = re.match(r"(\w+)\s*\(", it)
        cols.append(a.group(1) if a else f.group(1) if f else it.strip('"'))
    return cols


def group_tags(q):
    m = re.search(r"GROUP BY\s+(.*?)(?:\s+fill\(|\s+tz\(|$)", q, re.S | re.I)
    if not m:
        return []
    return [t.strip().strip('"') for t in m.group(1).split(",")
            if not t.strip().startswith("time(")]


# (query, column) -> whether some row had a value there: a misspelt field
# comes back as a column of nulls, not as an error.
filled = {}


def run_query(url, where, q, env, allow_empty=False):
    """Runs one dashboard query; returns its series."""
    sq = substitute(q, env)
    check("$" not in sq.replace("$/", "/"), f"{where}: a variable left in: {sq}")
    series, err = influx(url, sq)
    if not check(err is None, f"{where}: InfluxDB error {err} for: {sq}"):
        return []
    why = next((w for k, w in MAY_BE_EMPTY.items() if k in q), None)
    if why and not series:
        print(f"  {where}: empty ({why})")
        if "period\" = 'day'" in q:
            alt, err = influx(url, sq.replace("period\" = 'day'", "period\" = 'minute'"))
            check(err is None and alt, f"{where}: as period=minute: {err or 'no series'}")
            series = alt
        else:
            return []
    if allow_empty and not series:
        print(f"  {where}: empty, as it should be")
        return []
    if not check(series and any(s.get("values") for s in series),
                 f"{where}: no series for: {sq}"):
        return []
    want = ["key", "value"] if sq.startswith("SHOW TAG VALUES") else select_columns(sq)
    for s in series:
        check(s["columns"] == want, f"{where}: columns {s['columns']}, want {want}")
        for i, c in enumerate(s["columns"]):
            key = (where.split(" #")[0], q, c)
            filled[key] = filled.get(key, False) or any(v[i] is not None for v in s["values"])
        for t in group_tags(sq):
            check(t in s.get("tags", {}), f"{where}: series without tag {t}: {s.get('tags')}")
    n = sum(len(s["values"]) for s in series)
    print(f"  {where}: {len(series)} series, {n} rows")
    return series


def panels_of(dash):
    for p in dash["panels"]:
        yield p
        yield from p.get("panels", [])


def variables(url, dash):
    """The template variables' values, from their own queries."""
    env, values = {}, {}
    for v in dash["templating"]["list"]:
        if v["type"] == "constant":
            env[v["name"]] = v["query"]
    for v in dash["templating"]["list"]:
        if v["type"] != "query":
            continue
        series = run_query(url, f"variable {v['name']}", v["query"], env)
        got = [r["value"] for r in rows(series)]
        values[v["name"]] = got
        pick = {"gateway": [GATEWAY], "outlet": ["WS-001"]}.get(v["name"], got)
        check(set(pick) <= set(got), f"variable {v['name']}: {got} lacks {pick}")
        env[v["name"]] = regex_value(pick) if pick else "none"
    check(set(values.get("parameter", [])) >= {"cod", "ph", "nh3n", "tp", "temp"} and
          not set(values.get("parameter", [])) & {"flow", "volume_total"},
          f"variable parameter: {values.get('parameter')}")
    return env, values


def check_panels(url, dash, env, values, limited):
    limits_seen = {}
    for p in panels_of(dash):
        if p.get("type") == "row":
            continue
        params = values["parameter"] if p.get("repeat") == "parameter" else [None]
        for param in params:
            e = dict(env, parameter=regex_value([param])) if param else env
            for t in p["targets"]:
                where = f"panel '{p['title']}' {t['refId']}{' #' + param if param else ''}"
                series = run_query(url, where, t["query"], e, param and param not in limited
                                   and "outfall_limit" in t["query"])
                if param and "outfall_limit" in t["query"] and "$timeFilter" not in t["query"]:
                    limits_seen[param] = rows(series)
    # the instant limits the parameter panels draw, as the permit has them now
    check(limits_seen.get("ph") and limits_seen["ph"][0].get("min") == 6.5 and
          limits_seen["ph"][0].get("max") == 9.5, f"ph panel limits {limits_seen.get('ph')}")
    check(limits_seen.get("cod") and limits_seen["cod"][0].get("max") == 480.0,
          f"cod panel limit after the reload {limits_seen.get('cod')}")
    check(limits_seen.get("tp") == [], f"tp has no limit, got {limits_seen.get('tp')}")


def check_annotations(url, dash, env):
    for a in dash["annotations"]["list"]:
        if a.get("builtIn"):
            continue
        series = run_query(url, f"annotation '{a['name']}'", a["query"], env)
        for r in rows(series):
            for col in [a["textColumn"]] + a["tagsColumn"].split(","):
                check(col in r, f"annotation '{a['name']}': no column {col} in {r}")
        if a["name"] == "Permit alerts":
            states = sorted(r["state"] for r in rows(series) if r.get("kind") == "limit_exceeded")
            check(states == ["cleared", "raised"], f"limit alerts in the annotation: {states}")


def permits(work):
    """The limits of the permits file the case wrote: {(param, basis): fields}."""
    text = open(f"{work}/cfg/permits.conf", encoding="utf-8").read()
    number = re.search(r'number = "([^"]+)"', text).group(1)
    want = {}
    for m in re.finditer(r"\{ parameter = \"(\w+)\";([^}]*)\}", text):
        body = m.group(2)
        basis = re.search(r'basis = "(\w+)"', body).group(1)
        f = {k: float(v) for k, v in re.findall(r"\b(min|max) = ([-0-9.]+)", body)}
        w = re.search(r"window_min = (\d+)", body)
        if w:
            f["window_min"] = int(w.group(1))
        want[(m.group(1), basis)] = f
    cap = re.search(r"daily_volume_max_m3 = ([0-9.]+)", text)
    if cap:
        want[("volume", "daily")] = {"max": float(cap.group(1))}
    return number, want


def check_limits(url, work):
    """outfall_limit holds the permit's limits: the latest set equals the
    permits file, and the set written before the reload had cod at 500."""
    number, want = permits(work)
    series, err = influx(url, 'SELECT * FROM "outfall_limit" WHERE "gateway" = \'it-gw-1\'')
    check(err is None and series, f"outfall_limit: {err or 'empty'}")
    got = rows(series)
    stamps = sorted({r["time"] for r in got})
    check(len(stamps) == 2, f"outfall_limit written {len(stamps)} times, want 2 "
          "(start and the reload)")
    if not stamps:
        return
    for when, label in ((stamps[-1], "after the reload"), (stamps[0], "at start")):
        now = {(r["parameter"], r["basis"]): r for r in got if r["time"] == when}
        w = dict(want)
        if label == "at start":
            w[("cod", "instant")] = dict(w[("cod", "instant")], max=500.0)
        check(set(now) == set(w), f"outfall_limit {label}: {sorted(now)}, want {sorted(w)}")
        for key, fields in w.items():
            r = now.get(key, {})
            check(r.get("permit") == number and r.get("outlet") == "WS-001",
                  f"outfall_limit {label} {key}: tags {r}")
            for k in ("min", "max", "window_min"):
                check(r.get(k) == fields.get(k), f"outfall_limit {label} {key}: {k} "
                      f"{r.get(k)}, want {fields.get(k)}")


def main():
    work, url, path = sys.argv[1:4]
    dash = json.load(open(path, encoding="utf-8"))
    check(dash["__inputs"][0]["name"] == "DS_INFLUXDB", "the datasource input")
    for p in panels_of(dash):
        for t in p.get("targets", []):
            check(t["datasource"]["uid"] == "${DS_INFLUXDB}" and t.get("rawQuery"),
                  f"panel '{p['title']}' {t['refId']}: not a raw InfluxQL query on the input")
    env, values = variables(url, dash)
    if values.get("gateway") and values.get("parameter"):
        limited = {p for p, _ in permits(work)[1]}
        check_panels(url, dash, env, values, limited)
        check_annotations(url, dash, env)
    check_limits(url, work)
    for (where, q, col), ok in sorted(filled.items()):
        check(ok, f"{where}: column {col} has no value in any row (misspelt field?)")
    for f in failures:
        print(f"  FAIL: {f}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
