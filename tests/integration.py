#!/usr/bin/env python3
"""integration.py - runs build/gwlog_exporter on generated corpora and checks
every series against the independent stdlib-only reference (reference.py),
plus promtool, --check-config on broken configs, live tailing and HTTP.

Prints one line per check and closes with "integration: N passed, M failed".
"""

import gzip
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EXPORTER = os.environ.get("GWLOG_EXPORTER",
                          os.path.join(ROOT, "build", "gwlog_exporter"))
LOGGEN = os.path.join(ROOT, "build", "loggen")
OUT = os.path.join(HERE, "out")
PY = sys.executable

passed = 0
failed = 0


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


def run(args, **kw):
    return subprocess.run(args, capture_output=True, **kw)


def one_shot(paths, dims, name):
    """Runs --one-shot; returns the path of the saved exposition."""
    args = [EXPORTER, "--one-shot", "--dims.dir=" + dims]
    args += ["--input.path=" + p for p in paths]
    r = run(args)
    check("%s: --one-shot exits 0" % name, r.returncode == 0,
          r.stderr.decode(errors="replace")[-300:] if r.returncode else "")
    path = os.path.join(OUT, name + ".prom")
    with open(path, "wb") as f:
        f.write(r.stdout)
    return path


def compare_with_reference(files, dims, expo, name):
    exp = os.path.join(OUT, name + ".expected")
    r = run([PY, os.path.join(HERE, "reference.py"), "--dims-dir=" + dims]
            + files)
    if not check("%s: reference runs" % name, r.returncode == 0,
                 r.stderr.decode(errors="replace")[-300:]):
        return
    with open(exp, "wb") as f:
        f.write(r.stdout)
    r = run([PY, os.path.join(HERE, "compare.py"), exp, expo])
    text = (r.stdout + r.stderr).decode(errors="replace").strip()
    check("%s: every series equals the reference" % name, r.returncode == 0,
          text.splitlines()[-1] if r.returncode == 0 else text[-2000:])


def promtool_check(expo, name):
    if shutil.which("promtool") is None:
        check("%s: promtool check metrics" % name, False, "promtool missing")
        return
    with open(expo, "rb") as f:
        r = run(["promtool", "check", "metrics"], stdin=f)
    check("%s: promtool check metrics" % name, r.returncode == 0,
          (r.stdout + r.stderr).decode(errors="replace")[-500:])


def corpus_tests():
    # 1. tools/loggen: seed-shaped lines, awkward JSON, garbage.
    d = os.path.join(OUT, "loggen")
    os.makedirs(d + "/dims")
    log = d + "/access.log"
    r = run([LOGGEN, "--dims-dir=" + d + "/dims", "--awkward"])
    check("loggen: writes dimension CSVs", r.returncode == 0)
    r = run([LOGGEN, "--lines=20000", "--seed=11", "--awkward",
             "--garbage=0.05", "--output=" + log])
    check("loggen: writes 20000 lines", r.returncode == 0)
    expo = one_shot([log], d + "/dims", "loggen")
    compare_with_reference([log], d + "/dims", expo, "loggen")
    promtool_check(expo, "loggen")

    # 2. tests/gen_corpus.py: an independent generator of hostile corpora,
    #    split over three files matched by one glob.
    d = os.path.join(OUT, "pycorpus")
    os.makedirs(d + "/dims")
    files = []
    for i, seed in enumerate((3, 5, 8)):
        f = "%s/part%d.log" % (d, i)
        r = run([PY, os.path.join(HERE, "gen_corpus.py"), "--seed=%d" % seed,
                 "--lines=6000", "--out=" + f, "--dims-dir=" + d + "/dims"])
        check("gen_corpus: seed %d" % seed, r.returncode == 0,
              r.stderr.decode(errors="replace")[-300:])
        files.append(f)
    expo = one_shot([d + "/part*.log"], d + "/dims", "pycorpus")
    compare_with_reference(files, d + "/dims", expo, "pycorpus")
    promtool_check(expo, "pycorpus")


def config_tests():
    r = run([EXPORTER, "--check-config"])
    check("--check-config: embedded default is valid", r.returncode == 0,
          r.stderr.decode(errors="replace"))
    r = run([EXPORTER, "--check-config",
             "--config.file=" + os.path.join(ROOT, "config/gwlog_exporter.yml")])
    check("--check-config: config/gwlog_exporter.yml is valid",
          r.returncode == 0, r.stderr.decode(errors="replace"))
    # Every file in tests/data/config but valid.yml is broken on purpose.
    bad = sorted(f for f in os.listdir(os.path.join(HERE, "data/config"))
                 if f.endswith(".yml") and f != "valid.yml")
    check("--check-config: broken configs exist", len(bad) >= 20,
          "%d files" % len(bad))
    r = run([EXPORTER, "--check-config", "--config.file="
             + os.path.join(HERE, "data/config/valid.yml")])
    check("--check-config: data/config/valid.yml is valid", r.returncode == 0,
          r.stderr.decode(errors="replace"))
    for f in bad:
        path = os.path.join(HERE, "data/config", f)
        r = run([EXPORTER, "--check-config", "--config.file=" + path])
        err = r.stderr.decode(errors="replace").strip()
        check("--check-config: %s refused with file:line" % f,
              r.returncode == 1
              and re.match(re.escape(path) + r":\d+: \S", err) is not None,
              err.splitlines()[0] if err else "no message")
    r = run([EXPORTER, "--no-such-flag"])
    check("unknown flag is refused", r.returncode != 0)
    r = run([EXPORTER, "--version"])
    check("--version", r.returncode == 0
          and r.stdout.startswith(b"gwlog_exporter version"))


class Daemon:
    def __init__(self, args, name):
        self.err = open(os.path.join(OUT, name + ".stderr"), "wb+")
        self.p = subprocess.Popen([EXPORTER, "--web.listen-address=127.0.0.1:0"]
                                  + args, stderr=self.err)
        self.port = None
        deadline = time.time() + 10
        while time.time() < deadline and self.port is None:
            self.err.seek(0)
            m = re.search(rb'msg="listening"[^\n]* port=(\d+)', self.err.read())
            if m:
                self.port = int(m.group(1))
            else:
                time.sleep(0.02)
        self.url = "http://127.0.0.1:%s" % self.port

    def get(self, path="/metrics", headers=None, method="GET"):
        req = urllib.request.Request(self.url + path, headers=headers or {},
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def value(self, series):
        body = self.get()[2].decode()
        for line in body.splitlines():
            if line.startswith(series + " "):
                return float(line.split()[-1])
        return None

    def lines_total(self):
        body = self.get()[2].decode()
        return sum(float(l.split()[-1]) for l in body.splitlines()
                   if l.startswith("gwlog_lines_total{"))

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = None
        return rc


def histogram_problems(body):
    """Buckets must be cumulative and le="+Inf" equal to _count."""
    buckets, counts, problems = {}, {}, []
    for line in body.splitlines():
        m = re.match(r'(\w+)_bucket\{(.*),le="([^"]+)"\} (\S+)$', line)
        if m:
            buckets.setdefault((m.group(1), m.group(2)), []).append(
                (m.group(3), float(m.group(4))))
            continue
        m = re.match(r'(\w+)_count\{(.*)\} (\S+)$', line)
        if m:
            counts[(m.group(1), m.group(2))] = float(m.group(3))
    for key, bs in buckets.items():
        values = [v for _, v in bs]
        if values != sorted(values) or bs[-1][0] != "+Inf" \
                or counts.get(key) != values[-1]:
            problems.append("%s{%s}" % key)
    return problems


def count_lines(files):
    return sum(open(f, "rb").read().count(b"\n") for f in files)


def live_tests():
    d = os.path.join(OUT, "live")
    os.makedirs(d + "/dims")
    run([LOGGEN, "--dims-dir=" + d + "/dims"])
    first = d + "/a.log"
    open(first, "wb").close()
    dm = Daemon(["--input.path=" + d + "/*.log", "--dims.dir=" + d + "/dims"],
                "live")
    if not check("live: exporter starts and reports its port",
                 dm.port is not None):
        dm.stop()
        return

    # Freshness: one line appended at a time must show up quickly.
    sample = open(os.path.join(OUT, "loggen/access.log"), "rb").readline()
    lat = []
    for _ in range(30):
        before = dm.lines_total()
        t0 = time.time()
        with open(first, "ab") as f:
            f.write(sample)
        while dm.lines_total() == before and time.time() - t0 < 5:
            time.sleep(0.001)
        lat.append((time.time() - t0) * 1000)
        time.sleep(0.02)
    lat.sort()
    check("live: appended line visible on /metrics within 100 ms",
          lat[int(len(lat) * 0.9)] < 100,
          "p50 %.1f ms, p90 %.1f ms, max %.1f ms"
          % (lat[len(lat) // 2], lat[int(len(lat) * 0.9)], lat[-1]))

    # A writer at a steady rate that splits lines across writes, and a file
    # that appears after start (picked up through the glob).
    w1 = subprocess.Popen([LOGGEN, "--rate=3000", "--lines=9000", "--seed=21",
                           "--awkward", "--garbage=0.02", "--output=" + first])
    time.sleep(0.5)
    second = d + "/b.log"
    w2 = subprocess.Popen([LOGGEN, "--rate=2000", "--lines=4000", "--seed=22",
                           "--output=" + second])
    # Scrapes while the writers run: no histogram may ever look torn.
    scrapes, torn = 0, []
    while w1.poll() is None or w2.poll() is None:
        torn += histogram_problems(dm.get()[2].decode())
        scrapes += 1
    check("live: no torn histogram in %d scrapes during ingestion" % scrapes,
          scrapes > 0 and not torn, "; ".join(torn[:3]))
    files = [first, second]
    want = count_lines(files)
    deadline = time.time() + 15
    while dm.lines_total() < want and time.time() < deadline:
        time.sleep(0.1)
    got = dm.lines_total()
    check("live: every appended line counted once", got == want,
          "%d of %d lines" % (got, want))

    status, headers, body = dm.get()
    expo = os.path.join(OUT, "live.prom")
    with open(expo, "wb") as f:
        f.write(body)
    check("http: /metrics 200 with text format 0.0.4 Content-Type",
          status == 200 and headers.get("Content-Type", "").startswith(
              "text/plain; version=0.0.4"), headers.get("Content-Type", ""))
    compare_with_reference(files, d + "/dims", expo, "live")
    promtool_check(expo, "live")

    status, headers, zbody = dm.get(headers={"Accept-Encoding": "gzip"})
    plain = gzip.decompress(zbody) if headers.get("Content-Encoding") == "gzip" \
        else b""
    check("http: gzip when asked, same families",
          status == 200 and plain.count(b"# TYPE") == body.count(b"# TYPE")
          and len(zbody) < len(body) // 3,
          "%d -> %d bytes" % (len(body), len(zbody)))
    status, headers, hbody = dm.get(method="HEAD")
    check("http: HEAD /metrics", status == 200 and hbody == b"")
    status, headers, _ = dm.get(method="POST")
    check("http: POST /metrics is 405 with Allow",
          status == 405 and "GET" in headers.get("Allow", ""))
    status, _, _ = dm.get("/nope")
    check("http: unknown path is 404", status == 404)
    status, _, page = dm.get("/")
    check("http: landing page links to /metrics",
          status == 200 and b'href="/metrics"' in page)

    # Rotation by rename and create: the old file is read to its end, the
    # new file from its start.
    before = dm.lines_total()
    os.rename(second, d + "/b.log.1")
    with open(second, "wb") as f:
        f.write(sample * 50)
    deadline = time.time() + 5
    while dm.lines_total() < before + 50 and time.time() < deadline:
        time.sleep(0.05)
    check("live: rotation by rename + create, new file read from its start",
          dm.lines_total() == before + 50,
          "%d new lines" % (dm.lines_total() - before))

    # A dimension CSV that changes is reloaded by the running exporter.
    line = (b'{"Product":"reloadtest","HttpCode":"200","LocalIp":"10.9.9.9",'
            b'"RequestContent":"RegionId=r1"}\n')
    series = ('gw_product_requests_total{product="reloadtest",region_id="%s",'
              'biz_region_id="r1",code_class="2xx"}')

    def wait_value(name, want):
        deadline = time.time() + 5
        while dm.value(name) != want and time.time() < deadline:
            time.sleep(0.05)
        return dm.value(name)

    with open(first, "ab") as f:
        f.write(line)
    got_before = wait_value(series % "unknown", 1)
    with open(d + "/dims/gateway_cluster.csv", "ab") as f:
        f.write(b"10.9.9.9,pop-region-r-new,r-new\n")
    time.sleep(1.5)
    with open(first, "ab") as f:
        f.write(line)
    got_after = wait_value(series % "r-new", 1)
    check("live: changed dimension CSV reloaded (miss -> unknown, then hit)",
          got_before == 1 and got_after == 1,
          "unknown=%s r-new=%s" % (got_before, got_after))

    t0 = time.time()
    rc = dm.stop()
    check("live: SIGTERM exits 0 promptly", rc == 0,
          "rc %s after %.1f s" % (rc, time.time() - t0))


def main():
    for exe in (EXPORTER, LOGGEN):
        if not os.access(exe, os.X_OK):
            print("integration: %s missing; run make" % exe)
            return 1
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    r = run([PY, os.path.join(HERE, "reference.py"), "--self-test"])
    check("reference self-test", r.returncode == 0,
          (r.stdout + r.stderr).decode(errors="replace").strip()[-300:])
    corpus_tests()
    config_tests()
    live_tests()
    print("integration: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
