#!/usr/bin/env python3
"""check_hj212.py - a strict HJ 212-2017 platform for the integration tests,
written from the standard and independent of outfall's encoder, and the
assertions on what it RECEIVED.

usage:
  check_hj212.py peer PORT LOG [--withhold N] [--close-after K --down S]
                 [--requests]
      Listens on 127.0.0.1:PORT. Every frame is parsed and validated ("##",
      4-digit length = UTF-8 bytes of the data segment, the Annex A CRC in
      upper-case hex - the CRC routine is checked against the standard's
      1C80 vector before anything else - CR LF, header fields in order,
      QN 17 digits, ST, CN, PW 6, MN 24 hex, Flag, PNUM/PNO exactly with
      the D bit, CP "&&...&&" of at most 950 bytes). Each frame goes to LOG
      as one JSON line; a bad one as {"bad": why}. A packet with Flag A gets
      its 9014 (same QN, ST=91, Flag=4, CP=&&&&), except the first N data
      packets (--withhold). --close-after K: after the K-th data packet the
      connection is closed and nothing listens for S seconds. --requests:
      about 8 s after the first 2051 it asks for the time with a wrong PW,
      for the real-time interval, sets it, and asks for the back-fill of
      the hour that 2051 is in; replies are logged like data.
  check_hj212.py values LOG SIM_CSV
      2081 first; 2011 values equal what the simulator served (flow in L/s),
      2051 min/avg/max of the minute and Cou consistent (kg = m3 x mg/L /
      1000); nothing out of order; every withheld packet resent with its QN.
  check_hj212.py requests LOG
      the wrong PW refused (QnRtn=3), 1061 answered, 1062 accepted, the
      back-fill answered 9011, minute records equal to the live ones, 9012.
  check_hj212.py backlog LOG
      the outage left no hole: consecutive 2011 and 2051 times, in order,
      across the reconnect; each QN acknowledged once delivered.
  check_hj212.py silent LOG
      nothing was received (the platform that was down).
  check_hj212.py listen OUT SIM_CSV STATUS_JSON
      what `outfallctl hj212 listen` printed (OUT) while outfalld sent to it:
      each packet as received, parsed here by this file's own parser, 2081
      first, at least two 2011 with the simulator's values and their fields
      printed decoded, every packet that asked for a reply answered "9014
      sent" with its QN, no packet judged BAD, no QN sent twice, one
      connection; and outfalld got its 9014s: its platform sink in
      STATUS_JSON sent them with nothing retried, no error, the outbox
      drained to what one real-time interval holds.
Exits 0 when every assertion holds, 1 with a line per failure.
"""
import json
import re
import selectors
import socket
import sys
import time

MN = "010000A8900016F000169DC0"
PW = "123456"
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


# ---- Annex A --------------------------------------------------------------

def crc212(data: bytes) -> int:
    reg = 0xFFFF
    for b in data:
        reg = (reg >> 8) ^ b
        for _ in range(8):
            reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
    return reg


VECTOR = (b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;"
          b"Flag=5;CP=&&RtdInterval=30&&")
assert len(VECTOR) == 101 and crc212(VECTOR) == 0x1C80, "the peer's CRC is not Annex A's"


def frame(seg: str) -> bytes:
    b = seg.encode("utf-8")
    return b"##%04d" % len(b) + b + b"%04X\r\n" % crc212(b)


HEADER = re.compile(r"QN=(\d{17});ST=(\d{2});CN=(\d{4});PW=([^;]{6});MN=([0-9A-F]{24});"
                    r"Flag=(\d{1,3});(?:PNUM=(\d{1,4});PNO=(\d{1,4});)?CP=&&(.*)&&$", re.S)


def parse(buf: bytes):
    """(consumed, packet dict or {"bad": why}) or None when more is needed."""
    start = buf.find(b"##")
    if start < 0:
        return (len(buf), {"bad": "no ##"}) if buf else None
    if start > 0:
        return start, {"bad": "garbage before ##"}
    if len(buf) < 6:
        return None
    if not buf[2:6].isdigit():
        return 2, {"bad": "length not 4 digits"}
    n = int(buf[2:6])
    if n > 1024:
        return 6, {"bad": "length > 1024"}
    if len(buf) < 6 + n + 6:
        return None
    seg, crc, tail = buf[6:6 + n], buf[6 + n:10 + n], buf[10 + n:12 + n]
    if tail != b"\r\n":
        return 6 + n + 6, {"bad": "no CR LF after the CRC (length wrong?)"}
    if not re.fullmatch(rb"[0-9A-F]{4}", crc):
        return 12 + n, {"bad": f"CRC {crc!r} not 4 upper-case hex digits"}
    if int(crc, 16) != crc212(seg):
        return 12 + n, {"bad": f"CRC {crc.decode()} != {crc212(seg):04X}"}
    text = seg.decode("utf-8")
    m = HEADER.fullmatch(text)
    if not m:
        return 12 + n, {"bad": f"header malformed: {text[:80]}"}
    qn, st, cn, pw, mn, flag, pnum, pno, cp = m.groups()
    flag = int(flag)
    if bool(flag & 2) != (pnum is not None):
        return 12 + n, {"bad": "PNUM/PNO present iff Flag has D"}
    if len(("CP=&&" + cp + "&&").encode()) > 950:
        return 12 + n, {"bad": "CP over 950 bytes"}
    kv = {}
    for item in cp.split(";") if cp else []:
        for field in item.split(","):
            k, eq, v = field.partition("=")
            if not eq:
                return 12 + n, {"bad": f"CP field without '=': {field}"}
            kv.setdefault(k, v)
    return 12 + n, {"qn": qn, "st": int(st), "cn": int(cn), "pw": pw, "mn": mn, "flag": flag,
                    "pnum": int(pnum or 0), "pno": int(pno or 0), "cp": kv, "raw": text}


# ---- the peer ---------------------------------------------------------------

class Peer:
    def __init__(self, port, log, withhold, close_after, down, requests):
        self.port, self.withhold, self.close_after, self.down = port, withhold, close_after, down
        self.requests = requests
        self.log = open(log, "a", encoding="utf-8")
        self.sel = selectors.DefaultSelector()
        self.lsock = None
        self.conn = None
        self.buf = b""
        self.data_seen = 0
        self.closed_once = False
        self.reopen_at = None
        self.first_2051 = None
        self.req_at = None
        self.req_done = False
        self.conns = 0
        self.listen()

    def listen(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(4)
        s.setblocking(False)
        self.sel.register(s, selectors.EVENT_READ, "listen")
        self.lsock = s
        print("listening", flush=True)

    def write(self, rec):
        rec["t"] = time.time()
        rec["conn"] = self.conns
        self.log.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self.log.flush()

    def send(self, seg):
        if self.conn:
            self.conn.sendall(frame(seg))

    def drop(self):
        if self.conn:
            self.sel.unregister(self.conn)
            self.conn.close()
            self.conn = None
        self.buf = b""

    def on_packet(self, p):
        self.write(p)
        if "bad" in p or p["st"] == 91:
            return  # replies to requests: logged only
        self.data_seen += 1
        if p["cn"] == 2051 and self.first_2051 is None and p["flag"] & 1:
            self.first_2051 = p
            self.req_at = time.time() + 8
        if p["flag"] & 1:
            if self.data_seen <= self.withhold:
                self.write({"withheld": p["qn"]})
            else:
                self.send(f"QN={p['qn']};ST=91;CN=9014;PW={p['pw']};MN={p['mn']};Flag=4;"
                          "CP=&&&&")
        if self.close_after and not self.closed_once and self.data_seen >= self.close_after:
            self.closed_once = True
            self.write({"closing": self.down})
            self.drop()
            self.sel.unregister(self.lsock)
            self.lsock.close()
            self.reopen_at = time.time() + self.down

    def ask(self):
        """The scheduled requests, once, after the first 2051."""
        self.req_done = True
        t = self.first_2051["cp"]["DataTime"]
        hour = t[:10] + "0000"
        qn = time.strftime("%Y%m%d%H%M%S") + "000"
        self.send(f"QN={qn};ST=32;CN=1011;PW=654321;MN={MN};Flag=5;CP=&&&&")
        self.send(f"QN={qn[:-3]}001;ST=32;CN=1061;PW={PW};MN={MN};Flag=5;CP=&&&&")
        self.send(f"QN={qn[:-3]}002;ST=32;CN=1062;PW={PW};MN={MN};Flag=5;CP=&&RtdInterval=30&&")
        self.send(f"QN={qn[:-3]}003;ST=32;CN=2051;PW={PW};MN={MN};Flag=5;"
                  f"CP=&&BeginTime={hour};EndTime={hour[:10]}5900&&")
        self.write({"asked": qn, "hour": hour})

    def run(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            if self.reopen_at and time.time() >= self.reopen_at:
                self.reopen_at = None
                self.listen()
                self.write({"reopened": True})
            if self.requests and self.req_at and not self.req_done and time.time() >= self.req_at \
                    and self.conn:
                self.ask()
            for key, _ in self.sel.select(0.05):
                if key.data == "listen":
                    c, _ = key.fileobj.accept()
                    self.drop()
                    self.conns += 1
                    self.conn = c
                    self.sel.register(c, selectors.EVENT_READ, "conn")
                    self.write({"accepted": self.conns})
                    continue
                try:
                    d = self.conn.recv(65536)
                except OSError:
                    d = b""
                if not d:
                    self.write({"peer_closed": self.conns})
                    self.drop()
                    continue
                self.buf += d
                while self.conn:
                    r = parse(self.buf)
                    if r is None:
                        break
                    self.buf = self.buf[r[0]:]
                    self.on_packet(r[1])


# ---- reading the log ---------------------------------------------------------

def load(log):
    with open(log, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def packets(recs, cn=None):
    return [r for r in recs if "cn" in r and r["st"] != 91 and (cn is None or r["cn"] == cn)]


def sim_values(path):
    """name -> [(wall_ms, value)] of what the simulator served."""
    out = {}
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            ms, _, _, _, name, v = line.rstrip("\n").split(",")
            out.setdefault(name, []).append((int(ms), float(v)))
    return out


def to_ms(t14):
    return int(time.mktime(time.strptime(t14, "%Y%m%d%H%M%S"))) * 1000  # TZ=Asia/Shanghai


def near(a, b, tol):
    return abs(a - b) <= tol


CODES = {"w01018": "cod", "w01001": "ph", "w21003": "nh3n", "w21011": "tp", "w01010": "temp",
         "w00000": "flow"}
DECIMALS = {"w01018": 1, "w01001": 2, "w21003": 2, "w21011": 2, "w01010": 1, "w00000": 2}


def served(sim, name, upto_ms, scale):
    vals = [v / scale for t, v in sim.get(name, []) if t <= upto_ms]
    return vals


def check_rtd(p, sim):
    t = to_ms(p["cp"]["DataTime"])
    n = 0
    for code, name in CODES.items():
        v = p["cp"].get(code + "-Rtd")
        if v is None:
            continue
        n += 1
        check(p["cp"].get(code + "-Flag") == "N", f"2011 {p['qn']}: {code}-Flag not N")
        scale = 3.6 if code == "w00000" else 1.0
        cands = served(sim, name, t + 300, scale)[-3:]  # the latest before DataTime
        tol = 0.6 * 10 ** -DECIMALS[code]
        check(any(near(float(v), c, tol) for c in cands),
              f"2011 {p['qn']} {code}-Rtd={v}: the simulator served {cands} before "
              f"{p['cp']['DataTime']}")
    check(n >= 5, f"2011 {p['qn']} carries {n} factors: {p['raw']}")


def check_minute(p, sim):
    start = to_ms(p["cp"]["DataTime"])
    for code, name in CODES.items():
        if code + "-Avg" not in p["cp"]:
            continue
        scale = 3.6 if code == "w00000" else 1.0
        vals = [v / scale for t, v in sim.get(name, []) if start - 500 <= t < start + 60500]
        if not check(vals, f"2051 {p['cp']['DataTime']}: the simulator served no {name}"):
            continue
        lo, hi = float(p["cp"][code + "-Min"]), float(p["cp"][code + "-Max"])
        tol = 10 ** -DECIMALS[code] + 0.01 * (max(vals) - min(vals))
        check(min(vals) - tol <= lo and hi <= max(vals) + tol and lo <= hi,
              f"2051 {p['cp']['DataTime']} {code}: min/max {lo}/{hi} vs served "
              f"{min(vals):.3f}..{max(vals):.3f}")
        avg = float(p["cp"][code + "-Avg"])
        check(lo - tol <= avg <= hi + tol, f"2051 {code}: avg {avg} outside {lo}..{hi}")
    # w00000-Cou is the counter's step (the test bus reads its integer m3
    # only), the loads integrate flow x concentration: each is checked
    # against the water the mean flow carries in the time covered
    vol = float(p["cp"].get("w00000-Cou", "nan"))
    flow_m3 = float(p["cp"].get("w00000-Avg", "nan")) * 3.6 / 60  # L/s over a minute
    check(0 <= vol <= flow_m3 + 1.0, f"2051 {p['cp']['DataTime']}: w00000-Cou {vol} m3 "
          f"but the mean flow carries {flow_m3:.3f} m3 a minute")
    polls = sum(1 for t, _ in sim.get("flow", []) if start <= t < start + 60000)
    covered = min(polls / 60.0, 1.0)  # the flow meter is read every second
    for code in ("w01018", "w21003", "w21011"):
        if code + "-Cou" in p["cp"]:
            kg = float(p["cp"][code + "-Cou"])
            want = covered * flow_m3 * float(p["cp"][code + "-Avg"]) / 1000
            check(0.92 * want - 0.0015 <= kg <= 1.08 * want + 0.0015,
                  f"2051 {p['cp']['DataTime']}: {code}-Cou {kg} kg, water x mean / 1000 = "
                  f"{want:.4f} kg")
    for code in ("w01001", "w01010"):
        check(code + "-Cou" not in p["cp"], f"2051: {code} (pH, temperature) has a Cou")


def delivered_in_order(recs, cn):
    """DataTimes of cn uploads (not back-fill), first sends only, in order."""
    seen, out = set(), []
    for p in packets(recs, cn):
        if not p["flag"] & 1:
            continue
        if p["qn"] in seen:
            continue
        seen.add(p["qn"])
        out.append(p["cp"]["DataTime"])
    return out


def resent_once(recs, cn, closed_at):
    """delivered_in_order, less the record in flight when the peer closed:
    sent before the close, its 9014 never reached the sink, so it comes again
    after the reconnect (a new QN, the same content) - at least once; the
    platform keeps one. Any other repeat stays, for the check to see."""
    seen_qn, first, out = set(), {}, []
    for p in packets(recs, cn):
        if not p["flag"] & 1 or p["qn"] in seen_qn:
            continue
        seen_qn.add(p["qn"])
        t = p["cp"]["DataTime"]
        f = first.get(t)
        if f and f["cp"] == p["cp"] and f["t"] <= closed_at <= p["t"]:
            continue
        first.setdefault(t, p)
        out.append(t)
    return out


def cmd_values(log, csv):
    recs = load(log)
    sim = sim_values(csv)
    data = packets(recs)
    check(data and data[0]["cn"] == 2081, "the first packet is not 2081")
    check(not [r for r in recs if "bad" in r], f"bad frames: {[r for r in recs if 'bad' in r]}")
    for p in data:  # uploads ask for a 9014; answers and back-fill do not
        check(p["mn"] == MN and p["pw"] == PW and p["st"] == 32 and
              p["flag"] in ((5, 7) if p["cn"] in (2081, 2011) else (4, 5, 6, 7)),
              f"header {p['raw'][:90]}")
    rtd = packets(recs, 2011)
    mins = [p for p in packets(recs, 2051) if p["flag"] & 1]
    check(len(rtd) >= 2, f"{len(rtd)} 2011 packets")
    check(len(mins) >= 1, f"{len(mins)} 2051 packets")
    for p in rtd:
        check_rtd(p, sim)
    for p in mins:
        check_minute(p, sim)
    withheld = [r["withheld"] for r in recs if "withheld" in r]
    check(len(withheld) == 2, f"{len(withheld)} packets withheld")
    for qn in withheld:
        n = sum(1 for p in data if p["qn"] == qn)
        check(n >= 2, f"QN {qn} withheld but sent {n} time(s)")
    for cn in (2011, 2051):
        times = delivered_in_order(recs, cn)
        check(times == sorted(times) and len(set(times)) == len(times),
              f"{cn} DataTimes out of order or repeated: {times}")


def replies(recs, qn_prefix):
    return [r for r in recs if "cn" in r and r["qn"].startswith(qn_prefix)]


def cmd_requests(log):
    recs = load(log)
    asked = [r for r in recs if "asked" in r]
    if not check(asked, "the peer never asked (no 2051 with Flag=5 arrived?)"):
        return
    qn = asked[0]["asked"]
    r0 = replies(recs, qn)
    check(any(r["cn"] == 9011 and r["cp"].get("QnRtn") == "3" for r in r0),
          f"wrong PW not refused with QnRtn=3: {r0}")
    r1 = replies(recs, qn[:-3] + "001")
    check([r["cn"] for r in r1] == [9011, 1061, 9012] and r1[1]["cp"].get("RtdInterval") == "30",
          f"1061: {[(r['cn'], r['cp']) for r in r1]}")
    r2 = replies(recs, qn[:-3] + "002")
    check([(r["cn"], r["cp"]) for r in r2] == [(9011, {"QnRtn": "1"}), (9012, {"ExeRtn": "1"})],
          f"1062: {[(r['cn'], r['cp']) for r in r2]}")
    r3 = replies(recs, qn[:-3] + "003")
    check([r["cn"] for r in r3] == [9011, 9012] and r3[1]["cp"].get("ExeRtn") == "1",
          f"back-fill 9011/9012: {[(r['cn'], r['cp']) for r in r3]}")
    start = recs.index(r3[0]) if r3 else 0
    end = recs.index(r3[1]) if len(r3) > 1 else len(recs)
    hour = asked[0]["hour"]
    back = [r for r in recs[start:end] if r.get("cn") == 2051 and not r["flag"] & 1]
    check(back, "no back-filled 2051 record")
    live = {p["cp"]["DataTime"]: p["cp"] for p in packets(recs, 2051) if p["flag"] & 1}
    for b in back:
        t = b["cp"]["DataTime"]
        check(t.startswith(hour[:10]), f"back-fill {t} outside the hour {hour}")
        if t in live:
            check(b["cp"] == live[t], f"back-fill {t} differs from the live record:\n "
                  f"{b['cp']}\n {live[t]}")
    check(any(b["cp"]["DataTime"] in live for b in back),
          "no back-filled minute matches a live one")


def cmd_backlog(log):
    recs = load(log)
    check(any("closing" in r for r in recs), "the peer never closed")
    check(sum(1 for r in recs if "accepted" in r) >= 2, "no reconnect")
    closed_at = next(r["t"] for r in recs if "closing" in r)
    for cn, step in ((2011, 30), (2051, 60)):
        times = resent_once(recs, cn, closed_at)
        ms = [to_ms(t) for t in times]
        check(ms == sorted(set(ms)), f"{cn}: out of order or repeated: {times}")
        gaps = [(a, b) for a, b in zip(times, times[1:]) if to_ms(b) - to_ms(a) != step * 1000]
        check(not gaps, f"{cn}: holes in the DataTimes: {gaps}")
        after = [p for p in packets(recs, cn) if p["t"] > closed_at + 25]
        check(after, f"{cn}: nothing after the outage")
    check(len(delivered_in_order(recs, 2011)) >= 3, "fewer than three 2011")


def cmd_silent(log):
    try:
        recs = load(log)
    except FileNotFoundError:
        recs = []
    check(not packets(recs), f"the platform that was down received {len(packets(recs))}")


LISTEN_PKT = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} (\S+): (##.*)$")


def listen_output(out):
    """[(packet, [lines printed under it])] from listen's output."""
    got = []
    with open(out, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            m = LISTEN_PKT.match(line)
            if m:
                r = parse(m.group(2).encode("utf-8") + b"\r\n")
                got.append((r[1] if r else {"bad": "incomplete"}, []))
            elif got and line.startswith("  "):
                got[-1][1].append(line.strip())
    return got


def check_listen_packet(p, lines):
    if not check("bad" not in p, f"listen printed a packet this parser rejects: {p}"):
        return
    check(not any(x.startswith(("BAD", "error:")) for x in lines),
          f"listen judged {p['cn']} {p['qn']} bad: {lines}")
    if p["flag"] & 1:
        check(f"good: 9014 sent for QN {p['qn']}" in lines,
              f"listen did not answer {p['cn']} {p['qn']}: {lines}")
    check(any(x.startswith(f"QN    {p['qn']} (") for x in lines),
          f"listen did not print the fields of {p['qn']}")
    for key, v in p["cp"].items():
        code, _, suffix = key.partition("-")
        if suffix == "Rtd":
            check(any(x.startswith(code) and f" Rtd={v}" in x for x in lines),
                  f"{p['qn']}: {key}={v} not printed decoded: {lines}")


def cmd_listen(out, csv, status):
    got = listen_output(out)
    sim = sim_values(csv)
    pkts = [p for p, _ in got if "bad" not in p]
    check(pkts and pkts[0]["cn"] == 2081, f"the first packet is not 2081: {pkts[:1]}")
    for p, lines in got:
        check_listen_packet(p, lines)
    rtd = [p for p in pkts if p["cn"] == 2011]
    check(len(rtd) >= 2, f"{len(rtd)} 2011 received by listen")
    for p in rtd:
        check(p["mn"] == MN and p["pw"] == PW and p["flag"] == 5, f"2011 header {p['raw'][:90]}")
        check_rtd(p, sim)
    qns = [p["qn"] for p in pkts]
    check(len(qns) == len(set(qns)), f"a packet was sent twice (no 9014 reached outfalld?): "
          f"{sorted(q for q in qns if qns.count(q) > 1)}")
    with open(out, encoding="utf-8") as f:
        text = f.read()
    check(re.search(r"^stopped: 1 connection, \d+ packets, 0 bad, \d+ acknowledged$", text, re.M),
          "listen's summary missing, or more than one connection, or bad packets")
    with open(status, encoding="utf-8") as f:
        sinks = {s["name"]: s for s in json.load(f)["sinks"]}
    city = sinks.get("city")
    if not check(city, f"no sink city in {status}"):
        return
    check(city["retried"] == 0 and city["errors"] == 0,
          f"outfalld resent or failed (9014 not received): {city}")
    check(city["sent"] >= 3, f"outfalld counts {city['sent']} delivered messages: {city}")
    # two sensors polled every second, 2011 every 30 s: what waits for the
    # next 2011 is at most ~70 records; without 9014 it would be everything
    check(city["unacked"] <= 100, f"the outbox did not drain: {city}")


def main():
    a = sys.argv[1:]
    if a and a[0] == "peer":
        opts = {"--withhold": 0, "--close-after": 0, "--down": 0, "--seconds": 600}
        for i, k in enumerate(a):
            if k in opts:
                opts[k] = int(a[i + 1])
        Peer(int(a[1]), a[2], opts["--withhold"], opts["--close-after"], opts["--down"],
             "--requests" in a).run(opts["--seconds"])
        return 0
    cmds = {"values": cmd_values, "requests": cmd_requests, "backlog": cmd_backlog,
            "silent": cmd_silent, "listen": cmd_listen}
    if not a or a[0] not in cmds:
        print(__doc__, file=sys.stderr)
        return 64
    cmds[a[0]](*a[1:])
    for f in failures:
        print("check_hj212: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
