#!/usr/bin/env python3
"""redis.py - the Redis dimension backend against real redis-server
processes (a primary and a replica on 127.0.0.1, free ports, no
persistence), two live exporters sharing them, gwlog_dimload, and the
independent reference (reference.py) over CSV exports of the same tables.

Exporter E1 reads the replica first with the primary as fallback (config
file); E2 uses --dims.redis=PRIMARY and is started before Redis exists.
Every phase appends its own chunk of lines; the change of each series over
the phase is compared with reference.py run on that chunk with the tables
in force (exactly), or, while Redis is broken on purpose, the totals of
every family (labels may then be "unknown", counts may not change).

Prints one line per check and closes with "redis: N passed, M failed".
Python 3 standard library only.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(ROOT, os.environ.get("GWLOG_BUILD", "build"))
EXPORTER = os.path.join(BUILD, "gwlog_exporter")
DIMLOAD = os.path.join(BUILD, "gwlog_dimload")
LOGGEN = os.path.join(BUILD, "loggen")
OUT = os.path.join(HERE, "out", "redis")
PY = sys.executable
TABLES = ("gateway_cluster", "user_level", "api_meta")

passed = 0
failed = 0
procs = []


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok    %s%s" % (name, (": " + detail) if detail else ""))
    else:
        failed += 1
        print("FAIL  %s%s" % (name, (": " + detail) if detail else ""))
    sys.stdout.flush()
    return ok


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# A tiny RESP client.

def _read_reply(f):
    line = f.readline()
    if not line:
        raise ConnectionError("closed")
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        return RuntimeError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode(errors="replace")
    if t == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise ValueError("bad reply %r" % line)


def rcmd(port, *args, timeout=2.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(out)
        return _read_reply(s.makefile("rb"))
    finally:
        s.close()


def start_redis(port, *extra):
    d = os.path.join(OUT, "redis-%d" % port)
    os.makedirs(d, exist_ok=True)
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind",
                          "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--dir", d] + list(extra),
                         stdout=open(os.path.join(d, "log"), "ab"),
                         stderr=subprocess.STDOUT)
    procs.append(p)
    for _ in range(200):
        try:
            r = rcmd(port, "PING")
            if r == "PONG" or (isinstance(r, RuntimeError)
                               and "NOAUTH" in str(r)):
                return p
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError("redis-server on %d did not start" % port)


def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def dimload(port, table, csv, *extra):
    r = subprocess.run([DIMLOAD, "--redis=127.0.0.1:%d" % port,
                        "--table=" + table, csv] + list(extra),
                       capture_output=True, text=True)
    return r


def load_dir(port, d):
    for t in TABLES:
        r = dimload(port, t, os.path.join(d, t + ".csv"))
        if r.returncode != 0:
            raise RuntimeError("dimload %s: %s" % (t, r.stderr))


# Expositions and the reference.

LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, ((label, value), ...)): float} of the gw_ families and
    gwlog_lines_total."""
    out = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        key, _, val = line.rpartition(" ")
        name, _, rest = key.partition("{")
        if not (name.startswith("gw_") or name == "gwlog_lines_total"):
            continue
        labels = tuple(sorted(LABEL.findall(rest)))
        out[(name, labels)] = float(val)
    return out


def reference(lines_file, dims):
    r = subprocess.run([PY, os.path.join(HERE, "reference.py"),
                        "--dims-dir=" + dims, "--json", lines_file],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("reference.py: " + r.stderr[-500:])
    text = "\n".join("%s %s" % (k, v) for k, v in json.loads(r.stdout).items())
    return {k: v for k, v in parse(text).items() if v != 0}


def delta(before, after):
    out = {}
    for k, v in after.items():
        d = v - before.get(k, 0.0)
        if d != 0:
            out[k] = d
    return out


def same(a, b):
    diffs = []
    for k in sorted(set(a) | set(b)):
        x, y = a.get(k, 0.0), b.get(k, 0.0)
        if abs(x - y) > 1e-6 * max(1.0, abs(x)):
            diffs.append("%s%s: exporter %s, reference %s"
                         % (k[0], dict(k[1]), x, y))
    return diffs


# A line counts in the per-uid tenant family when its gc_level is GC5-GC7,
# else in the per-level one: while lookups fail (unknown) or a reload is
# under way, lines move between the two, and only their sum is exact.
TENANT_PAIRS = {
    "gw_tenant_requests_total": "gw_tenant_requests_total + gw_tenant_level_requests_total",
    "gw_tenant_level_requests_total": "gw_tenant_requests_total + gw_tenant_level_requests_total",
    "gw_tenant_throttled_requests_total": "gw_tenant_throttled_requests_total + gw_tenant_level_throttled_requests_total",
    "gw_tenant_level_throttled_requests_total": "gw_tenant_throttled_requests_total + gw_tenant_level_throttled_requests_total",
}


def totals(series):
    """Per family (and histogram _sum/_count): the sum over label sets; the
    tenant families summed in pairs (TENANT_PAIRS)."""
    out = {}
    for (name, labels), v in series.items():
        if name.endswith("_bucket"):
            continue
        name = TENANT_PAIRS.get(name, name)
        out[(name, ())] = out.get((name, ()), 0.0) + v
    return out


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=5) as r:
        return r.read().decode()


def gauge(text, name):
    m = re.search(r"^%s(?:\{[^}]*\})? (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


def lines_counted(text):
    return sum(v for (n, _), v in parse(text).items()
               if n == "gwlog_lines_total")


def wait_counted(port, n, timeout=15.0):
    end = time.time() + timeout
    text = ""
    while time.time() < end:
        try:
            text = scrape(port)
            if lines_counted(text) >= n and gauge(
                    text, "gwlog_dim_pending_lines") == 0:
                return text
        except OSError:
            pass
        time.sleep(0.02)
    return text


def wait_up(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if gauge(scrape(port), "gwlog_dim_redis_up") == 1:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def start_exporter(args, name):
    port = free_port()
    err = open(os.path.join(OUT, name + ".stderr"), "wb")
    p = subprocess.Popen([EXPORTER, "--web.listen-address=127.0.0.1:%d" % port]
                         + args, stderr=err)
    procs.append(p)
    for _ in range(200):
        try:
            scrape(port)
            return p, port
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(name + " did not start")


def write_config(path, addresses, extra=""):
    with open(os.path.join(ROOT, "config", "gwlog_exporter.yml")) as f:
        text = f.read()
    old = "dimensions:\n  dir: /etc/gwlog_exporter/dims\n"
    assert old in text
    redis = ("dimensions:\n  dir: /nonexistent\n  backend: redis\n"
             "  redis:\n    addresses: [%s]\n%s"
             % (", ".join("'127.0.0.1:%d'" % a for a in addresses), extra))
    with open(path, "w") as f:
        f.write(text.replace(old, redis))


def main():
    if shutil.which("redis-server") is None:
        check("redis-server installed", False, "apt-get install redis-server")
        return
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    t_start = time.time()

    # Corpus and tables: d1 knows about half the tenants, d2 all of them.
    d2 = os.path.join(OUT, "dims2")
    subprocess.run([LOGGEN, "--dims-dir=" + d2, "--tenants=3000",
                    "--nodes=8"], check=True, capture_output=True)
    d1 = os.path.join(OUT, "dims1")
    os.makedirs(d1)
    for t in TABLES:
        with open(os.path.join(d2, t + ".csv")) as f:
            rows = f.read().splitlines()
        if t == "user_level":
            rows = rows[:1] + rows[1::2]
        with open(os.path.join(d1, t + ".csv"), "w") as f:
            f.write("\n".join(rows) + "\n")
    corpus = os.path.join(OUT, "corpus.log")
    subprocess.run([LOGGEN, "--lines=14000", "--tenants=3000", "--nodes=8",
                    "--line-bytes=1200", "--seed=7", "--output=" + corpus],
                   check=True, capture_output=True)
    with open(corpus, "rb") as f:
        all_lines = f.read().splitlines(keepends=True)
    chunks = {}
    for i, name in enumerate("ABCDEFG"):
        chunks[name] = all_lines[i * 2000:(i + 1) * 2000]
        with open(os.path.join(OUT, "chunk%s.log" % name), "wb") as f:
            f.writelines(chunks[name])

    rp, rr = free_port(), free_port()
    live = os.path.join(OUT, "live.log")
    open(live, "wb").close()

    # E2 first: Redis does not exist yet.
    e2, e2port = start_exporter(["--dims.redis=127.0.0.1:%d" % rp,
                                 "--input.path=" + live], "e2")
    text = scrape(e2port)
    check("Redis down at start: the exporter serves /metrics",
          gauge(text, "gwlog_dim_redis_up") == 0,
          "gwlog_dim_redis_up %s" % gauge(text, "gwlog_dim_redis_up"))

    primary = start_redis(rp)
    replica = start_redis(rr, "--replicaof", "127.0.0.1", str(rp))
    t0 = time.time()
    load_dir(rp, d1)
    check("gwlog_dimload loads the three tables", True,
          "%.2f s" % (time.time() - t0))
    for _ in range(200):
        if rcmd(rr, "GET", "gwlog:dim:user_level:current") is not None:
            break
        time.sleep(0.02)

    # Bad rows are refused with file:line and nothing becomes visible.
    bad = os.path.join(OUT, "bad.csv")
    with open(bad, "w") as f:
        f.write("uid,gc_level\n1,GC1\n2,GC2,extra\n3,GC3\n")
    before = rcmd(rp, "GET", "gwlog:dim:user_level:current")
    r = dimload(rp, "user_level", bad)
    check("dimload refuses a bad row with file:line",
          r.returncode == 1 and (bad + ":3:") in r.stderr, r.stderr.strip())
    check("a refused load changes nothing",
          rcmd(rp, "GET", "gwlog:dim:user_level:current") == before
          and not [k for k in rcmd(rp, "KEYS", "gwlog:dim:user_level:v*")
                   if not k.startswith("gwlog:dim:user_level:v%s" % before)])

    check("E2 reconnects by itself once Redis is there", wait_up(e2port))

    # One-shot: deterministic, known and unknown tenants.
    r = subprocess.run([EXPORTER, "--one-shot", "--input.path=" + corpus,
                        "--dims.redis=127.0.0.1:%d" % rp],
                       capture_output=True, text=True)
    want = reference(corpus, d1)
    got = {k: v for k, v in parse(r.stdout).items() if v != 0}
    diffs = same(got, want)
    check("--one-shot --dims.redis: every series equals the reference",
          r.returncode == 0 and not diffs, "; ".join(diffs[:3]))
    # The default keeps per-uid series for GC5-GC7 only: unknown tenants
    # are counted in their level's series, gc_level="unknown".
    unknown = sum(v for (n, l), v in got.items()
                  if n == "gw_tenant_level_requests_total"
                  and ("gc_level", "unknown") in l)
    keyed = sum(v for (n, l), v in got.items()
                if n == "gw_tenant_requests_total")
    check("unknown tenants are counted under gc_level unknown, key tenants "
          "per uid", unknown > 0 and keyed > 0,
          "%d unknown lines, %d key-tenant lines" % (unknown, keyed))

    # E1: replica first, primary as fallback.
    cfg1 = os.path.join(OUT, "e1.yml")
    write_config(cfg1, [rr, rp])
    e1, e1port = start_exporter(["--config.file=" + cfg1,
                                 "--input.path=" + live], "e1")
    check("E1 connects", wait_up(e1port))
    ports = {"E1": e1port, "E2": e2port}
    written = [0]

    def append(lines, rate=0):
        with open(live, "ab") as f:
            if not rate:
                f.writelines(lines)
                written[0] += len(lines)
                return
            for i in range(0, len(lines), 20):
                f.writelines(lines[i:i + 20])
                f.flush()
                written[0] += len(lines[i:i + 20])
                time.sleep(20.0 / rate)

    def phase(name, dims, exact=True, writer=None):
        before = {e: parse(wait_counted(p, written[0]))
                  for e, p in ports.items()}
        if writer:
            writer()
        else:
            append(chunks[name])
        want = reference(os.path.join(OUT, "chunk%s.log" % name), dims)
        for e, p in ports.items():
            d = delta(before[e], parse(wait_counted(p, written[0])))
            if exact:
                diffs = same(d, want)
                check("phase %s, %s: every series equals the reference"
                      % (name, e), not diffs, "; ".join(diffs[:3]))
            else:
                diffs = same(totals(d), totals(want))
                check("phase %s, %s: every family's total is exact"
                      % (name, e), not diffs, "; ".join(diffs[:3]))

    phase("A", d1)
    cl = rcmd(rr, "CLIENT", "LIST")
    check("E1 reads the replica (replica first)", "cmd=subscribe" in cl
          and "cmd=evalsha" in cl)

    # The scripts flushed under both exporters: their next lookups get
    # NOSCRIPT, load the script again and retry without losing a line
    # (phase B stays exact) and without counting a lookup error.
    def lookup_errors(p):
        m = re.search(r'^gwlog_dim_redis_errors_total\{op="lookup"\} (\d+)',
                      scrape(p), re.M)
        return int(m.group(1)) if m else -1
    def script_loads():
        n = 0
        for port in (rp, rr):
            m = re.search(r"cmdstat_script\|load:calls=(\d+)",
                          rcmd(port, "INFO", "commandstats"))
            n += int(m.group(1)) if m else 0
        return n
    errs = {e: lookup_errors(p) for e, p in ports.items()}
    loads = script_loads()
    flushed = [rcmd(rp, "SCRIPT", "FLUSH"), rcmd(rr, "SCRIPT", "FLUSH")]

    # Reload: seen by both exporters within a second.
    t0 = time.time()
    r = dimload(rp, "user_level", os.path.join(d2, "user_level.csv"))
    check("dimload of a new version", r.returncode == 0, r.stdout.strip())
    time.sleep(max(0.0, 1.0 - (time.time() - t0)))
    phase("B", d2)
    check("after SCRIPT FLUSH: no lookup error counted (NOSCRIPT retried)",
          flushed == ["OK", "OK"] and script_loads() >= loads + 2 and all(
              lookup_errors(p) == errs[e] for e, p in ports.items()),
          "%s, SCRIPT LOAD %d -> %d, %s %s" % (flushed, loads, script_loads(),
                                              errs,
                        {e: lookup_errors(p) for e, p in ports.items()}))

    # The primary killed and restarted (empty) mid-stream, then reloaded.
    def kill_restart():
        t = threading.Thread(target=append, args=(chunks["C"], 2500))
        t.start()
        time.sleep(0.25)
        stop(primary, signal.SIGKILL)
        time.sleep(0.4)
        procs.append(start_redis(rp))
        load_dir(rp, d2)
        t.join()
    phase("C", d2, exact=False, writer=kill_restart)
    check("E2 back after the restart", wait_up(e2port))
    time.sleep(1.2)
    phase("D", d2)

    # Stall: CLIENT PAUSE on both servers while lines arrive at full
    # speed; a new version first, so that every tenant lookup misses.
    load_dir(rp, d2)
    time.sleep(1.2)
    stalled = {}

    def stall():
        rcmd(rr, "CLIENT", "PAUSE", "3000", "ALL")
        rcmd(rp, "CLIENT", "PAUSE", "3000", "ALL")
        t0 = time.time()
        append(chunks["E"])
        for e, p in ports.items():
            wait_counted(p, written[0], timeout=6)
            stalled[e] = time.time() - t0
    phase("E", d2, exact=False, writer=stall)
    for e, s in stalled.items():
        check("stall, %s: 2,000 lines counted in %.2f s while Redis is "
              "paused for 3 s" % (e, s), s < 2.5)
    time.sleep(2.5)
    for e, p in ports.items():
        check("%s back after the stall" % e, wait_up(p))
    time.sleep(1.0)
    phase("F", d2)

    text = scrape(e1port)
    check("self-metrics present",
          all(m in text for m in ("gwlog_dim_lookups_total{table=\"user_level\""
                                  ",result=\"negative_hit\"}",
                                  "gwlog_dim_cache_entries{table=",
                                  "gwlog_dim_redis_errors_total{op=",
                                  "gwlog_dim_pending_lines ",
                                  "gwlog_dim_last_refresh_timestamp_seconds"
                                  "{table=\"gateway_cluster\"}")))
    r = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True) \
        if shutil.which("promtool") else None
    if r is not None:
        check("promtool check metrics", r.returncode == 0,
              (r.stdout + r.stderr).strip()[:300])

    # Wrong password: a clear error, unknown labels, no crash.
    secure = free_port()
    start_redis(secure, "--requirepass", "right")
    cfg3 = os.path.join(OUT, "wrongpw.yml")
    write_config(cfg3, [secure], "    password: wrong\n")
    r = subprocess.run([EXPORTER, "--one-shot", "--config.file=" + cfg3,
                        "--input.path=" + os.path.join(OUT, "chunkG.log")],
                       capture_output=True, text=True, timeout=30)
    tenants = [(l, v) for (n, l), v in parse(r.stdout).items()
               if n in ("gw_tenant_requests_total",
                        "gw_tenant_level_requests_total") and v]
    check("wrong password: exit 0, AUTH error logged in err=",
          r.returncode == 0
          and re.search(r'msg="dimension redis unavailable(?:[^"\\]|\\.)*" '
                        r'err="[^"]*AUTH failed', r.stderr) is not None,
          [l for l in r.stderr.splitlines() if "AUTH" in l][:1].__str__())
    check("wrong password: every tenant level is unknown (folded: no "
          "per-uid series)", tenants and all(
              l == (("gc_level", "unknown"),) for l, _ in tenants),
          str(tenants[:3]))
    check("wrong password: counted in gwlog_dim_redis_errors_total{op=auth}",
          re.search(r'gwlog_dim_redis_errors_total\{op="auth"\} [1-9]',
                    r.stdout) is not None)

    for e, p in (("E1", e1), ("E2", e2)):
        check("%s stops cleanly on SIGTERM" % e, stop(p) == 0)
    print("redis: test time %.1f s" % (time.time() - t_start))


if __name__ == "__main__":
    try:
        main()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    print("redis: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
