#!/usr/bin/env python3
"""check_report.py - assertions on an inspection report (outfallctl report)
as headless Chromium renders it, against the local history it was made from
and the test's own config.

usage: check_report.py alert-id WORKDIR
         prints the id of the cod limit_exceeded alert the broker received
         raised and cleared on outfall/<gw>/alerts/WS-001 (from mqtt.log)
       check_report.py render HTML OUT_PREFIX
         headless Chromium: OUT_PREFIX.dom (--dump-dom) and OUT_PREFIX.png
         (--screenshot, 1000x3000)
       check_report.py alert WORKDIR HTML DOM PNG ALERT_ID
       check_report.py day   WORKDIR HTML DOM PNG YYYY-MM-DD
         the assertions; the CSV is HTML with .csv for .html, the history
         WORKDIR/history/history.sqlite, the config in WORKDIR/cfg
Exits 0 when every assertion holds, 1 with a message per failure.

What is asserted (issue 10, item 3; the contract is outfallctl(1)):
- every limit of the plotted parameters is a <line class="limit max|min">
  whose data-limit is the permit's value in the test's permits.conf;
- per parameter, the number of class "pt" elements inside its
  <g class="series" data-param=P> (and its data-points) equals the number of
  rows of that outlet and parameter in the history store within the span;
  the span is what the report's header states, checked against the span
  the contract defines (the alert +- its context, or the local day), and
  the set of plotted parameters is the set the store holds for the span;
- the permit number (from the config) is in #permit;
- #digest is the SHA-256 of the CSV file's bytes, computed here, and the
  CSV holds exactly the store's rows for the span;
- neither the HTML file nor the rendered DOM refers to anything outside
  the page (no URL, src=, href= other than #fragments, url(, @import,
  <script, <link, ...);
- the screenshot is a PNG over 20 kB showing more than a blank page: many
  distinct colours, the red of the limit lines and the blue of the points.
"""
import csv
import datetime as dt
import hashlib
import html.parser
import json
import os
import re
import sqlite3
import struct
import subprocess
import sys
import zlib
from zoneinfo import ZoneInfo

GATEWAY = "it-gw-1"
OUTLET = "WS-001"
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def rfc3339_ms(s):
    t = dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
    return int(round(t.timestamp() * 1000))


# ---- what the broker received -------------------------------------------

def alert_events(work):
    topic = f"outfall/{GATEWAY}/alerts/{OUTLET}"
    out = []
    with open(f"{work}/mqtt.log", encoding="utf-8") as f:
        for line in f:
            t, _, payload = line.rstrip("\n").partition(" ")
            if t == topic:
                out.append(json.loads(payload))
    return out


def cod_alert(work):
    """(raised, cleared) events of the one cod limit_exceeded alert, or None."""
    ev = [a for a in alert_events(work)
          if a.get("kind") == "limit_exceeded" and a.get("parameter") == "cod"]
    raised = [a for a in ev if a["state"] == "raised"]
    for r in raised:
        cleared = [a for a in ev if a["state"] == "cleared" and a["id"] == r["id"]]
        if cleared:
            return r, cleared[0]
    return None


def cmd_alert_id(work):
    ab = cod_alert(work)
    if not ab:
        print("no cod limit_exceeded alert raised and cleared in mqtt.log", file=sys.stderr)
        return 1
    print(ab[0]["id"])
    return 0


# ---- the browser ----------------------------------------------------------

def cmd_render(page, prefix):
    try:
        return render(page, prefix)
    except FileNotFoundError:
        print("no chromium (scripts/deps.sh installs it)", file=sys.stderr)
    except subprocess.TimeoutExpired as e:
        print(f"chromium took more than {e.timeout} s: {' '.join(e.cmd[-2:])}", file=sys.stderr)
    return 1


def failed_run(what, rc, prefix):
    with open(prefix + ".chromium.log", encoding="utf-8", errors="replace") as f:
        tail = f.readlines()[-8:]
    print(f"chromium {what} exit {rc}; its log ends:\n" + "".join(tail), file=sys.stderr)
    return 1


def render(page, prefix):
    base = ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
            "--user-data-dir=" + prefix + ".profile", "--no-first-run",
            "--hide-scrollbars"]
    url = "file://" + os.path.abspath(page)
    with open(prefix + ".dom", "wb") as out, open(prefix + ".chromium.log", "ab") as log:
        rc = subprocess.run(base + ["--dump-dom", url], stdout=out, stderr=log,
                            timeout=60).returncode
    if rc != 0:
        return failed_run("--dump-dom", rc, prefix)
    with open(prefix + ".chromium.log", "ab") as log:
        rc = subprocess.run(base + ["--screenshot=" + prefix + ".png",
                                    "--window-size=1000,3000", url],
                            stdout=log, stderr=log, timeout=60).returncode
    if rc != 0:
        return failed_run("--screenshot", rc, prefix)
    return 0


# ---- the DOM -------------------------------------------------------------

class Dom(html.parser.HTMLParser):
    """Collects what the assertions need: pt elements per series, limit
    lines, text by id, every attribute, and the text of the page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.gstack = []       # per open <g>: its series param or None
        self.series = {}       # param -> {"declared": int, "pts": int}
        self.stray_pts = 0     # pt elements outside any series
        self.limits = []       # (param of the figure, min|max, data-limit)
        self.figure = None     # param of the open <figure id="plot-P">
        self.ids = {}          # id -> text
        self.id_open = []      # ids whose element is open (by tag)
        self.attrs = []        # (tag, name, value) of every attribute
        self.text = []

    def handle_starttag(self, tag, attrs):
        self._element(tag, attrs, False)

    def handle_startendtag(self, tag, attrs):
        self._element(tag, attrs, True)

    def _element(self, tag, attrs, closed):
        a = dict(attrs)
        self.attrs += [(tag, k, v or "") for k, v in attrs]
        cls = (a.get("class") or "").split()
        if tag == "figure" and (a.get("id") or "").startswith("plot-"):
            self.figure = a["id"][5:]
        if tag == "g" and not closed:
            param = a.get("data-param") if "series" in cls else None
            if param is not None:
                s = self.series.setdefault(param, {"declared": [], "pts": 0})
                s["declared"].append(a.get("data-points"))
                s["envelope"] = a.get("data-drawn") == "envelope"
            self.gstack.append(param)
        if "pt" in cls:
            inner = [p for p in self.gstack if p is not None]
            if inner:
                self.series[inner[-1]]["pts"] += 1
            else:
                self.stray_pts += 1
        if tag == "line" and "limit" in cls:
            kind = "max" if "max" in cls else "min" if "min" in cls else "?"
            self.limits.append((self.figure, kind, a.get("data-limit")))
        if "id" in a and not closed:
            self.ids[a["id"]] = ""
            self.id_open.append((tag, a["id"]))

    def handle_endtag(self, tag):
        if tag == "g" and self.gstack:
            self.gstack.pop()
        if tag == "figure":
            self.figure = None
        if self.id_open and self.id_open[-1][0] == tag:
            self.id_open.pop()

    def handle_data(self, data):
        self.text.append(data)
        for _, i in self.id_open:
            self.ids[i] += data


def parse_dom(path):
    d = Dom()
    with open(path, encoding="utf-8") as f:
        d.feed(f.read())
    d.close()
    return d


# Anything that would make the page fetch or link outside itself.
EXTERNAL = [r"https?:", r"//", r"url\(", r"@import", r"<script", r"<link", r"<img",
            r"<iframe", r"<object", r"<embed", r"<base\b", r"@font-face", r"src\s*="]


def external_refs(text, dom):
    bad = [p for p in EXTERNAL if re.search(p, text, re.I)]
    for tag, name, value in dom.attrs:
        n = name.lower()
        if n in ("src", "srcset", "action", "formaction", "background", "poster",
                 "xlink:href", "data") or n.startswith("on"):
            bad.append(f"<{tag} {name}=\"{value}\">")
        if n == "href" and not value.startswith("#"):
            bad.append(f"<{tag} href=\"{value}\">")
    return bad


# ---- the config ----------------------------------------------------------

def permit_of(work):
    """(permit number, {param: {"min": v, "max": v}}, timezone) from the
    test's own config files."""
    perm = open(f"{work}/cfg/permits.conf", encoding="utf-8").read()
    gw = open(f"{work}/cfg/outfall.conf", encoding="utf-8").read()
    number = re.search(r'number\s*=\s*"([^"]+)"', perm).group(1)
    limits = {}
    for m in re.finditer(r'\{\s*parameter\s*=\s*"(\w+)";([^}]*)\}', perm):
        for kind in ("min", "max"):
            v = re.search(kind + r"\s*=\s*([-0-9.eE]+)", m.group(2))
            if v:
                limits.setdefault(m.group(1), {}).setdefault(kind, []).append(float(v.group(1)))
    tz = re.search(r'timezone\s*=\s*"([^"]+)"', gw).group(1)
    return number, limits, tz


# ---- the history store ---------------------------------------------------

def store_rows(work, from_ms, to_ms):
    db = sqlite3.connect(f"file:{work}/history/history.sqlite?mode=ro", uri=True)
    try:
        return db.execute("SELECT ts_ms, sensor, parameter, quality FROM reading "
                          "WHERE outlet = ? AND ts_ms >= ? AND ts_ms < ? "
                          "ORDER BY ts_ms, seq, idx", (OUTLET, from_ms, to_ms)).fetchall()
    finally:
        db.close()


def by_param(rows):
    n = {}
    for r in rows:
        n[r[2]] = n.get(r[2], 0) + 1
    return n


# ---- the span ------------------------------------------------------------

SPAN_RE = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) — (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")


def stated_span(dom, tz):
    """The span the report's header states, as wall seconds (its local
    times are to the second)."""
    m = SPAN_RE.search("".join(dom.text))
    if not m:
        return None
    z = ZoneInfo(tz)
    return tuple(int(dt.datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(tzinfo=z)
                     .timestamp()) for s in m.groups())


def alert_span(raised, cleared):
    """outfallctl(1): the alert with context before and after, 30 minutes or
    half its duration, whichever is larger, at most 12 hours."""
    a, b = rfc3339_ms(raised["since"]), rfc3339_ms(cleared["until"])
    ctx = min(max((b - a) // 2, 30 * 60000), 12 * 3600000)
    return a - ctx, b + ctx


def day_span(day, tz):
    z = ZoneInfo(tz)
    d = dt.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=z)
    e = (d + dt.timedelta(days=1)).replace(tzinfo=z)
    return int(d.timestamp()) * 1000, int(e.timestamp()) * 1000


# ---- the screenshot ------------------------------------------------------

def png_pixels(path, enough):
    """Yields the PNG's pixels as tuples, row by row (8-bit RGB or RGBA,
    not interlaced); the caller stops when it has seen enough."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError(f"unhandled PNG: depth {depth} colour type {ctype}")
    bpp = 3 if ctype == 2 else 4
    stride = w * bpp
    raw = zlib.decompressobj()
    buf = b""
    chunks = iter(idat)
    prev = bytearray(stride)
    for _ in range(h):
        while len(buf) < stride + 1:
            chunk = next(chunks, None)
            if chunk is None:
                raise ValueError("truncated image data")
            buf += raw.decompress(chunk)
        f, line = buf[0], bytearray(buf[1:stride + 1])
        buf = buf[stride + 1:]
        unfilter(f, line, prev, bpp)
        yield [tuple(line[i:i + 3]) for i in range(0, stride, bpp)]
        prev = line
        if enough():
            return


def unfilter(f, line, prev, bpp):
    n = len(line)
    if f == 1:
        for i in range(bpp, n):
            line[i] = (line[i] + line[i - bpp]) & 255
    elif f == 2:
        for i in range(n):
            line[i] = (line[i] + prev[i]) & 255
    elif f == 3:
        for i in range(n):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
    elif f == 4:
        for i in range(n):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255


def check_png(path):
    if not check(os.path.exists(path), f"no screenshot {path}"):
        return
    size = os.path.getsize(path)
    check(size > 20000, f"screenshot {path} is {size} bytes, want > 20 kB")
    seen = set()
    found = {"red": False, "blue": False}

    def enough():
        return len(seen) >= 64 and found["red"] and found["blue"]

    try:
        for row in png_pixels(path, enough):
            seen.update(row)
            for r, g, b in row:
                if r > 150 and g < 90 and b < 90:
                    found["red"] = True    # the limit lines, #c00
                elif b > 130 and r < 90 and g < 140:
                    found["blue"] = True   # the readings, #1f5fa8
    except (ValueError, zlib.error, struct.error, TypeError) as e:
        check(False, f"screenshot {path}: {e}")
        return
    check(len(seen) >= 64, f"screenshot {path}: only {len(seen)} distinct colours")
    check(found["red"], f"screenshot {path}: no red limit line drawn")
    check(found["blue"], f"screenshot {path}: no blue reading drawn")


# ---- the assertions ------------------------------------------------------

def compare_counts(dom, expect):
    """Messages for every way the plotted points differ from the store."""
    bad = []
    missing = sorted(set(expect) - set(dom.series))
    if missing:
        bad.append(f"not plotted: {missing}, which the store has in the span")
    # A parameter with a limit but no rows may be plotted empty: data-points 0.
    for p in sorted(set(expect) | set(dom.series)):
        s, n = dom.series.get(p), expect.get(p, 0)
        if not s:
            continue
        if len(s["declared"]) != 1:
            bad.append(f"{p}: {len(s['declared'])} series, want 1")
        if s["pts"] != n and not (s.get("envelope") and n > 2000 and s["pts"] == 0):
            bad.append(f"{p}: {s['pts']} pt elements, the store has {n} rows in the span")
        if s["declared"][0] != str(n):
            bad.append(f"{p}: data-points=\"{s['declared'][0]}\", the store has {n} rows")
    if dom.stray_pts:
        bad.append(f"{dom.stray_pts} pt elements outside any series")
    return bad


def check_report(work, page, dom_path, png, span_ms, what):
    number, limits, tz = permit_of(work)
    dom = parse_dom(dom_path)
    html_text = open(page, encoding="utf-8").read()
    dom_text = open(dom_path, encoding="utf-8").read()

    # The span: what the report states is the span the contract defines.
    stated = stated_span(dom, tz)
    want = (span_ms[0] // 1000, span_ms[1] // 1000)
    check(stated == want, f"{what}: the report states the span {stated}, want {want} "
          f"(wall seconds, {tz})")

    # Points per parameter against the store's rows in that span.
    rows = store_rows(work, *span_ms)
    expect = by_param(rows)
    check(rows, f"{what}: the history holds no readings in the span")
    check("cod" in expect, f"{what}: no cod readings in the span")
    for m in compare_counts(dom, expect):
        check(False, f"{what}: {m}")
    # ...and the comparison does see a difference: one row more in the store
    # for any parameter must be reported.
    for p in expect:
        off = dict(expect)
        off[p] += 1
        check(compare_counts(dom, off), f"{what}: a count off by one for {p} went unnoticed")
    print(f"{what}: span {want}, rows per parameter {expect}, "
          f"pt elements {dict((p, s['pts']) for p, s in dom.series.items())}")

    # Limit lines, in each plotted parameter's figure, with the permit's value.
    for p in dom.series:
        for kind in ("min", "max"):
            want_v = sorted(set(limits.get(p, {}).get(kind, [])))
            got = sorted({float(x) for f, k, x in dom.limits if f == p and k == kind})
            check(got == want_v, f"{what}: the {p} plot has limit {kind} lines at {got}, "
                  f"the permit says {want_v}")
    check(any(f == "cod" and k == "max" for f, k, _ in dom.limits),
          f"{what}: no cod max limit line at all")

    # The permit number.
    check(number in dom.ids.get("permit", ""),
          f"{what}: #permit is {dom.ids.get('permit')!r}, want {number!r}")

    # The digest, recomputed from the CSV's bytes; the CSV is the store's rows.
    csv_path = re.sub(r"\.html?$", "", page) + ".csv"
    if check(os.path.exists(csv_path), f"{what}: no CSV {csv_path}"):
        raw = open(csv_path, "rb").read()
        digest = hashlib.sha256(raw).hexdigest()
        check(dom.ids.get("digest", "").strip() == digest,
              f"{what}: #digest {dom.ids.get('digest')!r}, sha256 of the CSV {digest}")
        try:
            lines = list(csv.DictReader(raw.decode("utf-8").splitlines()))
            got = sorted((rfc3339_ms(x["ts_utc"]), x["sensor"], x["parameter"],
                          x["quality"]) for x in lines)
        except (ValueError, KeyError, TypeError) as e:
            got = [f"unreadable: {e}"]
        check(got == sorted(rows), f"{what}: the CSV has {len(got)} rows, the store "
              f"{len(rows)} in the span, or they differ")

    # Nothing outside the page.
    html_dom = Dom()
    html_dom.feed(html_text)
    for name, text, d in (("HTML", html_text, html_dom), ("DOM", dom_text, dom)):
        bad = external_refs(text, d)
        check(not bad, f"{what}: the {name} refers outside the page: {bad[:5]}")

    check_png(png)
    return dom


def cmd_alert(work, page, dom_path, png, alert_id):
    ab = cod_alert(work)
    if not check(ab and ab[0]["id"] == alert_id,
                 f"alert {alert_id} not raised and cleared on the alerts topic"):
        return
    check_report(work, page, dom_path, png, alert_span(*ab), "alert report")
    check(alert_id in "".join(parse_dom(dom_path).text), "the alert id is not shown")


def cmd_day(work, page, dom_path, png, day):
    _, _, tz = permit_of(work)
    check_report(work, page, dom_path, png, day_span(day, tz), "day report")


def main(argv):
    if len(argv) == 3 and argv[1] == "alert-id":
        return cmd_alert_id(argv[2])
    if len(argv) == 4 and argv[1] == "render":
        return cmd_render(argv[2], argv[3])
    if len(argv) == 7 and argv[1] in ("alert", "day"):
        (cmd_alert if argv[1] == "alert" else cmd_day)(*argv[2:])
        for f in failures:
            print("FAIL:", f)
        return 1 if failures else 0
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
