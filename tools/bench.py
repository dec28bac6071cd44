#!/usr/bin/env python3
"""bench.py - "make bench": every performance figure of issue 6 in one run.

Prints, as medians of RUNS runs (ratios measured in the same run):

  ingest     --one-shot on a tools/loggen corpus of 4-5 KB lines (default
             config: four kinds of family, histograms, three lookups), on
             nginx lines (regex input, config/examples/nginx.yml) and with a
             heavier config (two more histograms); MB/s by the clock and per
             CPU second, lines/s, and the ratio to `wc -l` on the same file
             (page cache warm)
  live       the tailing exporter (pread path) reading the same corpus, with
             and without a client scraping /metrics every second
  scrape     GET /metrics time and size at 10K, 100K and 1M series, plain
             and gzip (curl)
  memory     RSS per series beyond label strings (RSS at N and 2N series)
  freshness  append -> visible on /metrics, p50 and p99 (live exporter)
  dims       cost of a local (CSV) lookup, and Redis misses resolved per
             second (skipped without redis-server)
  callgrind  instructions per line on a fixed corpus (skipped without
             valgrind)
  node       what a gateway node sees: a file growing steadily at 50 and
             200 MB/s (the corpus appended in 10 ms steps, lines split
             across writes, renamed away at 1 GB as logrotate's create
             mode does), a scrape every 15 s; the exporter's CPU (utime +
             stime from /proc/PID/stat) over the run as % of one core, and
             its line count checked against the lines written
  peers      one table, the same corpus, interleaved rounds: wc -l, gwlog
             --one-shot, mtail (tools/gwlog.mtail), a naive python3
             json.loads loop (tools/naive_count.py) and Fluent Bit when
             FLUENT_BIT=/path/to/fluent-bit is given; every peer's counts
             checked against tests/reference.py on a prefix of the corpus,
             and against each other on the whole corpus

Environment: BENCH_DIR (scratch, default /tmp/gwlog_bench), BENCH_LINES
(corpus lines, default 200000, about 900 MB), RUNS (default 5), BUILD
(default build), BENCH_ONLY (comma-separated sections to run), NODE_RATES
(MB/s, default "50,200"), NODE_SECONDS (per rate, default 30).
"""

import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
EXPORTER = os.path.join(BUILD, "gwlog_exporter")
LOGGEN = os.path.join(BUILD, "loggen")
DIMLOAD = os.path.join(BUILD, "gwlog_dimload")
DIR = os.environ.get("BENCH_DIR", "/tmp/gwlog_bench")
LINES = int(os.environ.get("BENCH_LINES", "200000"))
RUNS = int(os.environ.get("RUNS", "5"))
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
DIMS = os.path.join(DIR, "dims")
CORPUS = os.path.join(DIR, "access.log")

procs = []


def want(section):
    return not ONLY or section in ONLY


def out(msg=""):
    print(msg, flush=True)


def median(xs):
    return statistics.median(xs)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100.0 * (len(xs) - 1))))]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_timed(cmd, stdout=None):
    """Runs cmd (output discarded); returns (wall seconds, CPU seconds)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(stdout or os.devnull, "w") as f:
        subprocess.run(cmd, stdout=f, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu


def warm(path):
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


# Corpora and configs.

def make_corpus():
    os.makedirs(DIMS, exist_ok=True)
    if not os.path.exists(os.path.join(DIMS, "user_level.csv")):
        subprocess.run([LOGGEN, "--dims-dir=" + DIMS], check=True)
    if os.path.exists(CORPUS):
        with open(CORPUS, "rb") as f:
            n = sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 24),
                                                       b""))
        if n == LINES:
            return
        os.unlink(CORPUS)
    subprocess.run([LOGGEN, "--lines=%d" % LINES, "--seed=42",
                    "--output=" + CORPUS], check=True)


NGINX_AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
                "curl/8.5.0", "kube-probe/1.29", "Go-http-client/1.1",
                "python-requests/2.31.0"]
NGINX_PATHS = ["/api/v1/orders/%d", "/api/v2/users/%d/profile",
               "/api/v1/items?page=%d", "/static/js/app.%d.js", "/health",
               "/api/v3/payments/%d/refund"]


def make_nginx(path, n):
    if os.path.exists(path) and os.path.getsize(path) > 0:
        return
    import random
    rnd = random.Random(7)
    with open(path + ".tmp", "w") as f:
        for i in range(n):
            p = rnd.choice(NGINX_PATHS)
            if "%d" in p:
                p = p % rnd.randrange(100000)
            f.write('10.%d.%d.%d - - [20/Nov/2026:10:%02d:%02d +0000] '
                    '"%s %s HTTP/1.1" %d %d "https://example.com/" "%s" '
                    '%.3f\n' % (rnd.randrange(256), rnd.randrange(256),
                                rnd.randrange(256), i // 60 % 60, i % 60,
                                rnd.choice(["GET", "GET", "POST", "PUT"]), p,
                                rnd.choice([200] * 20 + [201, 304, 404, 500,
                                                         503]),
                                rnd.randrange(100, 50000),
                                rnd.choice(NGINX_AGENTS),
                                rnd.expovariate(20)))
    os.rename(path + ".tmp", path)


def default_config():
    with open(os.path.join(ROOT, "config", "gwlog_exporter.yml")) as f:
        return f.read()


def heavy_config(path):
    """The default config plus two histograms with more labels."""
    text = default_config().rstrip("\n") + """
  - name: gw_api_request_duration_seconds
    help: Request latency per API and code class.
    type: histogram
    labels: [product, api, version, code_class]
    value: {field: total_used_time, scale: 0.001}
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
  - name: gw_tenant_request_duration_seconds
    help: Request latency per tenant and tenant level.
    type: histogram
    labels: [uid, gc_level]
    value: {field: total_used_time, scale: 0.001}
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
"""
    with open(path, "w") as f:
        f.write(text)


def nodims_config(path):
    """The default config with the three lookups replaced by fields of
    constant values: the same families and labels, no dimension lookup."""
    text = default_config()
    text = re.sub(r"\ndimensions:\n(?:[ #].*\n|\n)*", "\n", text)
    consts = "".join("  %s: {key: NoSuchKey%d, default: \"v%d\"}\n"
                     % (c, i, i) for i, c in
                     enumerate(["app_group", "region_id", "gc_level",
                                "priority"]))
    text = text.replace("\nfields:\n", "\nfields:\n" + consts, 1)
    with open(path, "w") as f:
        f.write(text)


SERIES_CONFIG = """inputs:
  - paths: [%s]
    format: json
fields:
  product: {key: Product}
  api:     {key: Api}
  uid:     {key: CallerUid}
required: [product]
metrics:
  - name: bench_requests_total
    help: Requests per product, API and tenant.
    type: counter
    labels: [product, api, uid]
    max_series: 10000000
"""

HIST_CONFIG = """inputs:
  - paths: [%s]
    format: json
fields:
  product: {key: Product}
  api:     {key: Api}
  uid:     {key: CallerUid}
  ms:      {key: TotalUsedTime}
required: [product]
metrics:
  - name: bench_request_duration_seconds
    help: Latency per product, API and tenant.
    type: histogram
    labels: [product, api, uid]
    value: {field: ms, scale: 0.001}
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    max_series: 10000000
"""


def series_lines(path, n):
    """n lines, each a new label set: product, API, tenant."""
    if os.path.exists(path) and os.path.getsize(path) > 0:
        return
    with open(path + ".tmp", "w") as f:
        for i in range(n):
            f.write('{"Product":"ecs","Api":"DescribeInstances",'
                    '"CallerUid":"%016d","HttpCode":"200",'
                    '"TotalUsedTime":5}\n'
                    % (1000000000000000 + i))
    os.rename(path + ".tmp", path)


# A live exporter.

class Exporter:
    def __init__(self, args, name):
        self.port = free_port()
        self.log = open(os.path.join(DIR, name + ".out"), "w")
        self.p = subprocess.Popen(
            [EXPORTER, "--web.listen-address=127.0.0.1:%d" % self.port]
            + args, stdout=self.log, stderr=subprocess.STDOUT)
        procs.append(self.p)
        self.url = "http://127.0.0.1:%d/metrics" % self.port
        for _ in range(500):
            try:
                self.get()
                return
            except OSError:
                if self.p.poll() is not None:
                    raise RuntimeError("exporter exited, see %s" % name)
                time.sleep(0.02)
        raise RuntimeError("exporter did not start")

    def get(self):
        with urllib.request.urlopen(self.url, timeout=60) as r:
            return r.read().decode()

    def lines_ok(self, text=None):
        """Lines counted so far, whatever their result."""
        return sum(int(v) for v in re.findall(
            r'^gwlog_lines_total\{result="[a-z]+"\} (\d+)',
            text if text is not None else self.get(), re.M))

    def rss(self):
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def rchar(self):
        with open("/proc/%d/io" % self.p.pid) as f:
            for line in f:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def curl(url, gz):
    cmd = ["curl", "-s", "-o", "/dev/null", "-w",
           "%{time_total} %{size_download}", url]
    if gz:
        cmd[1:1] = ["-H", "Accept-Encoding: gzip"]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    t, size = r.stdout.split()
    return float(t), int(size)


def wait_for(cond, timeout=600, every=0.01):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if cond():
            return True
        time.sleep(every)
    return False


# Sections.

def bench_ingest(results):
    out("== ingest: --one-shot, page cache warm, median of %d runs" % RUNS)
    nginx = os.path.join(DIR, "nginx.log")
    make_nginx(nginx, 2000000)
    heavy = os.path.join(DIR, "heavy.yml")
    heavy_config(heavy)
    cases = [
        ("json, default config", CORPUS, []),
        ("json, heavier config", CORPUS, ["--config.file=" + heavy]),
        ("regex, nginx.yml", nginx,
         ["--config.file=" + os.path.join(ROOT, "config", "examples",
                                          "nginx.yml")]),
    ]
    for name, path, extra in cases:
        warm(path)
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            nlines = sum(b.count(b"\n") for b in iter(lambda: f.read(1 << 24),
                                                       b""))
        wcs, exs, cpus = [], [], []
        for _ in range(RUNS):
            # Interleaved, so that both see the same machine load.
            wcs.append(run_timed(["wc", "-l", path])[0])
            w, c = run_timed([EXPORTER, "--one-shot", "--input.path=" + path,
                              "--dims.dir=" + DIMS] + extra)
            exs.append(w)
            cpus.append(c)
        wc, ex, cpu = median(wcs), median(exs), median(cpus)
        ratio = median([e / w for e, w in zip(exs, wcs)])
        out("%-22s %d lines, %.1f MB, %.0f B/line" % (name, nlines, size / 1e6,
                                                     size / nlines))
        out("  wc -l              %7.3f s  %8.1f MB/s" % (wc, size / 1e6 / wc))
        out("  gwlog --one-shot   %7.3f s  %8.1f MB/s  %9.0f lines/s"
            % (ex, size / 1e6 / ex, nlines / ex))
        out("  per CPU second     %7.3f s  %8.1f MB/s  %9.0f lines/s"
            % (cpu, size / 1e6 / cpu, nlines / cpu))
        out("  ratio to wc -l     %7.2fx (median of per-run ratios)" % ratio)
        results[name] = dict(mbps=size / 1e6 / ex, cpu_mbps=size / 1e6 / cpu,
                             ratio=ratio)


def live_ingest(scrape, size, every=1.0):
    """Seconds for a live exporter to read the corpus, from its start to
    rchar reaching the file size (the last chunk is being counted)."""
    t0 = time.perf_counter()
    e = Exporter(["--input.path=" + CORPUS, "--dims.dir=" + DIMS], "live")
    stop = threading.Event()
    scrapes = []

    def scraper():
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                e.get()
            except OSError:
                pass
            scrapes.append(time.perf_counter() - t0)
            stop.wait(every)

    try:
        if scrape:
            th = threading.Thread(target=scraper)
            th.start()
        if not wait_for(lambda: e.rchar() >= size, timeout=120, every=0.005):
            raise RuntimeError("live exporter did not read the corpus")
        t = time.perf_counter() - t0
        stop.set()
        if scrape:
            th.join()
        wait_for(lambda: e.lines_ok() >= LINES, timeout=60)
    finally:
        e.stop()
    return t, scrapes


def bench_live(results):
    out("== live tailing (pread): corpus read from start, with and without a "
        "client scraping every second")
    size = os.path.getsize(CORPUS)
    warm(CORPUS)
    plain, scraped, fast, stimes, ftimes = [], [], [], [], []
    for _ in range(RUNS):
        # Interleaved, so that the three see the same machine load.
        plain.append(live_ingest(False, size)[0])
        t, s = live_ingest(True, size)
        scraped.append(t)
        stimes += s
        t, s = live_ingest(True, size, 0.1)
        fast.append(t)
        ftimes += s
    a, b, c = median(plain), median(scraped), median(fast)
    out("  no scraping          %7.3f s  %8.1f MB/s" % (a, size / 1e6 / a))
    out("  scraped every 1 s    %7.3f s  %8.1f MB/s  %+6.1f %%  (%d scrapes, "
        "median %.1f ms)" % (b, size / 1e6 / b, 100.0 * (b - a) / a,
                             len(stimes), 1e3 * median(stimes)))
    out("  scraped every 0.1 s  %7.3f s  %8.1f MB/s  %+6.1f %%  (%d scrapes, "
        "median %.1f ms)" % (c, size / 1e6 / c, 100.0 * (c - a) / a,
                             len(ftimes), 1e3 * median(ftimes)))
    results["live"] = dict(slowdown=100.0 * (b - a) / a)


def series_exporter(n, hist=False):
    path = os.path.join(DIR, "series-%d.log" % n)
    series_lines(path, n)
    cfg = os.path.join(DIR, "hist.yml" if hist else "series.yml")
    with open(cfg, "w") as f:
        f.write((HIST_CONFIG if hist else SERIES_CONFIG) % "/nonexistent")
    e = Exporter(["--config.file=" + cfg, "--input.path=" + path],
                 "series-%d" % n)
    if not wait_for(lambda: e.lines_ok() >= n, every=0.1):
        raise RuntimeError("series store of %d not built" % n)
    return e


def label_bytes_per_series():
    return len("ecs") + len("DescribeInstances") + 16


def bench_scrape(results):
    out("== scrape: GET /metrics (curl), median of %d" % RUNS)
    for n in (10000, 100000, 1000000):
        e = series_exporter(n)
        try:
            for gz in (False, True):
                ts, sizes = [], []
                for _ in range(RUNS if n < 1000000 else 3):
                    t, s = curl(e.url, gz)
                    ts.append(t)
                    sizes.append(s)
                out("  %8d series %-5s %7.3f s  %9.2f MB"
                    % (n, "gzip" if gz else "plain", median(ts),
                       median(sizes) / 1e6))
                results["scrape %d %s" % (n, gz)] = median(ts)
        finally:
            e.stop()


def bench_memory(results):
    out("== memory: RSS per series beyond label strings "
        "(one family, 3 labels; histogram: 11 buckets)")
    for hist in (False, True):
        rss = {}
        for n in (500000, 1000000):
            e = series_exporter(n, hist)
            try:
                time.sleep(0.5)
                rss[n] = e.rss()
            finally:
                e.stop()
        per = (rss[1000000] - rss[500000]) / 500000.0
        lb = label_bytes_per_series()
        out("  %-9s RSS %d MB at 500K series, %d MB at 1M: %.1f B/series, "
            "of which %d label bytes: %.1f B beyond them"
            % ("histogram" if hist else "counter", rss[500000] >> 20,
               rss[1000000] >> 20, per, lb, per - lb))
        results["memory hist" if hist else "memory"] = per - lb


def bench_freshness(results):
    out("== freshness: append -> visible on /metrics (live, inotify)")
    path = os.path.join(DIR, "fresh.log")
    with open(path, "w"):
        pass
    e = Exporter(["--input.path=" + path, "--dims.dir=" + DIMS], "fresh")
    line = ('{"Product":"ecs","Api":"DescribeInstances","HttpCode":"200",'
            '"CallerUid":"1","TotalUsedTime":5,"Domain":"x"}\n')
    lat = []
    try:
        with open(path, "a") as f:
            for i in range(200):
                before = e.lines_ok()
                f.write(line)
                f.flush()
                t0 = time.perf_counter()
                while e.lines_ok() <= before:
                    pass
                lat.append(time.perf_counter() - t0)
                time.sleep(0.005)
    finally:
        e.stop()
    out("  %d appends: p50 %.2f ms, p99 %.2f ms, max %.2f ms"
        % (len(lat), 1e3 * pct(lat, 50), 1e3 * pct(lat, 99), 1e3 * max(lat)))
    results["freshness p99"] = pct(lat, 99)


def bench_dims(results):
    out("== dimension lookups")
    nod = os.path.join(DIR, "nodims.yml")
    nodims_config(nod)
    warm(CORPUS)
    withd, without = [], []
    for _ in range(RUNS):
        withd.append(run_timed([EXPORTER, "--one-shot",
                                "--input.path=" + CORPUS,
                                "--dims.dir=" + DIMS])[1])
        without.append(run_timed([EXPORTER, "--one-shot",
                                  "--input.path=" + CORPUS,
                                  "--config.file=" + nod])[1])
    d = median([a - b for a, b in zip(withd, without)])
    per = d / (3.0 * LINES)
    out("  CSV backend: 3 lookups per line, %.3f s CPU with them vs %.3f s "
        "without: %.0f ns per lookup (mostly hits)"
        % (median(withd), median(without), per * 1e9))
    results["csv lookup ns"] = per * 1e9
    if shutil.which("redis-server") is None or not os.path.exists(DIMLOAD):
        out("  Redis: skipped (no redis-server)")
        return
    port = free_port()
    rdir = os.path.join(DIR, "redis")
    os.makedirs(rdir, exist_ok=True)
    r = subprocess.Popen(["redis-server", "--port", str(port), "--bind",
                          "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--dir", rdir], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    procs.append(r)
    try:
        ok = wait_for(lambda: subprocess.run(
            ["redis-cli", "-p", str(port), "ping"], capture_output=True,
            text=True).stdout.strip() == "PONG", timeout=10, every=0.05)
        if not ok:
            out("  Redis: redis-server did not start")
            return
        for t in ("gateway_cluster", "user_level", "api_meta"):
            subprocess.run([DIMLOAD, "--redis=127.0.0.1:%d" % port,
                            "--table=" + t, os.path.join(DIMS, t + ".csv")],
                           check=True, capture_output=True)
        # Every line a tenant not seen before: one miss per line in
        # user_level (the other two tables are small and cached whole).
        n = 100000
        path = os.path.join(DIR, "redis-misses.log")
        with open(path, "w") as f:
            for i in range(n):
                f.write('{"Product":"ecs","Api":"DescribeInstances",'
                        '"HttpCode":"200","LocalIp":"11.197.10.2",'
                        '"CallerUid":"9%015d","TotalUsedTime":3}\n' % i)
        ts = []
        for _ in range(3):
            ts.append(run_timed([EXPORTER, "--one-shot",
                                 "--input.path=" + path,
                                 "--dims.redis=127.0.0.1:%d" % port])[0])
        t = median(ts)
        out("  Redis (loopback): %d distinct tenants, one miss each, %.3f s: "
            "%.0f misses resolved per second" % (n, t, n / t))
        results["redis misses/s"] = n / t
    finally:
        r.terminate()
        r.wait()


def bench_callgrind(results):
    if shutil.which("valgrind") is None:
        out("== callgrind: skipped (no valgrind)")
        return
    out("== callgrind: instructions per line (default config, loggen "
        "--seed=42 lines)")
    counts = {}
    for n in (2000, 4000):
        path = os.path.join(DIR, "cg-%d.log" % n)
        with open(CORPUS, "rb") as src, open(path, "wb") as dst:
            for i, line in enumerate(src):
                if i == n:
                    break
                dst.write(line)
        cgout = os.path.join(DIR, "callgrind.out.%d" % n)
        r = subprocess.run(["valgrind", "--tool=callgrind",
                            "--callgrind-out-file=" + cgout, EXPORTER,
                            "--one-shot", "--input.path=" + path,
                            "--dims.dir=" + DIMS], capture_output=True,
                           text=True)
        m = re.search(r"Collected : (\d+)", r.stderr)
        counts[n] = int(m.group(1))
    per = (counts[4000] - counts[2000]) / 2000.0
    size = os.path.getsize(os.path.join(DIR, "cg-4000.log")) - \
        os.path.getsize(os.path.join(DIR, "cg-2000.log"))
    out("  %.0f instructions per line (%.2f per byte), start-up and "
        "exposition excluded (4000 lines minus 2000)" % (per, per * 2000 / size))
    results["instr/line"] = per


# What a gateway node sees: steady growth, a scrape every 15 s.

NODE_RATES = [float(r) for r in
              os.environ.get("NODE_RATES", "50,200").split(",") if r]
NODE_SECONDS = float(os.environ.get("NODE_SECONDS", "30"))
NODE_ROTATE = 1 << 30


def proc_cpu(pid):
    """utime + stime of pid in seconds (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def node_writer(path, data, rate, seconds):
    """Appends data (cyclically) to path at rate bytes/s in 10 ms steps
    for about seconds, ending on a line; renames path to path.1 (the older
    one removed) once it passes NODE_ROTATE.  Returns (lines written,
    bytes written, wall seconds)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    size = pos = written = lines = 0
    view = memoryview(data)
    t0 = time.perf_counter()
    try:
        while True:
            now = time.perf_counter() - t0
            want = int(rate * min(now, seconds)) - written
            if now >= seconds:
                # What is owed, then the rest of the line under way.
                while want > 0:
                    n = min(want, len(data) - pos)
                    os.write(fd, view[pos:pos + n])
                    lines += data.count(b"\n", pos, pos + n)
                    written += n
                    want -= n
                    pos = (pos + n) % len(data)
                want = data.find(b"\n", pos) + 1 - pos
            while want > 0:
                n = min(want, len(data) - pos)
                os.write(fd, view[pos:pos + n])
                lines += data.count(b"\n", pos, pos + n)
                written += n
                size += n
                want -= n
                pos = (pos + n) % len(data)
            if now >= seconds:
                break
            if size >= NODE_ROTATE:
                # End the line, then rotate (logrotate's create mode).
                n = data.find(b"\n", pos) + 1 - pos
                os.write(fd, view[pos:pos + n])
                lines += 1
                written += n
                pos = (pos + n) % len(data)
                os.close(fd)
                if os.path.exists(path + ".1"):
                    os.unlink(path + ".1")
                os.rename(path, path + ".1")
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                             0o644)
                size = 0
            time.sleep(max(0.0, 0.01 - (time.perf_counter() - t0 - now)))
    finally:
        os.close(fd)
    return lines, written, time.perf_counter() - t0


def bench_node(results):
    out("== node: a file growing steadily, a scrape every 15 s, %.0f s per "
        "rate; exporter CPU as %% of one core" % NODE_SECONDS)
    with open(CORPUS, "rb") as f:
        data = f.read()
    path = os.path.join(DIR, "node.log")
    for rate in NODE_RATES:
        for p in (path, path + ".1"):
            if os.path.exists(p):
                os.unlink(p)
        open(path, "wb").close()
        e = Exporter(["--input.path=" + path, "--dims.dir=" + DIMS], "node")
        stop = threading.Event()
        scrapes = []

        def scraper():
            while not stop.wait(15.0):
                t = time.perf_counter()
                try:
                    e.get()
                    scrapes.append(time.perf_counter() - t)
                except OSError:
                    pass

        try:
            c0 = proc_cpu(e.p.pid)
            th = threading.Thread(target=scraper)
            th.start()
            lines, nbytes, wall = node_writer(path, data, rate * 1e6,
                                              NODE_SECONDS)
            t1 = time.perf_counter()
            caught = wait_for(lambda: e.lines_ok() >= lines, timeout=120,
                              every=0.05)
            lag = time.perf_counter() - t1
            c1 = proc_cpu(e.p.pid)
            stop.set()
            th.join()
            counted = e.lines_ok()
        finally:
            e.stop()
        for p in (path, path + ".1"):
            if os.path.exists(p):
                os.unlink(p)
        pct = 100.0 * (c1 - c0) / wall
        out("  %5.0f MB/s (%.0f written) %7d lines in %.1f s: exporter "
            "%.2f CPU s, %5.1f %% of one core; counted %d (%s), caught up "
            "%.2f s after the last write, %d scrapes (median %.1f ms)"
            % (rate, nbytes / 1e6 / wall, lines, wall, c1 - c0, pct, counted,
               "exact" if counted == lines else "MISMATCH",
               lag, len(scrapes),
               1e3 * median(scrapes) if scrapes else 0.0))
        if not caught or counted != lines:
            raise RuntimeError("node: counted %d of %d lines" % (counted,
                                                                 lines))
        results["node %.0f MB/s" % rate] = pct


# Peers: the same work done by other tools.

MTAIL_PROG = os.path.join(ROOT, "tools", "gwlog.mtail")
NAIVE = os.path.join(ROOT, "tools", "naive_count.py")
REFERENCE = os.path.join(ROOT, "tests", "reference.py")
PEER_FAMILIES = {
    "gw_api_requests_total": ("product", "api", "code_class"),
    "gw_product_requests_total": ("product", "code_class"),
}
SAMPLE = re.compile(r'^([a-z_]+)\{(.*)\} ([0-9.e+]+)$')
LABEL = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')


def peer_counts(text):
    """{(family, label values...): count} of the peer families in a
    Prometheus text, other labels summed away, zeros left out."""
    c = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if not m or m.group(1) not in PEER_FAMILIES:
            continue
        labels = dict(LABEL.findall(m.group(2)))
        key = (m.group(1),) + tuple(labels.get(l, "")
                                    for l in PEER_FAMILIES[m.group(1)])
        c[key] = c.get(key, 0) + int(float(m.group(3)))
    return {k: v for k, v in c.items() if v}


def peer_cmds(path, dims=True):
    cmds = [("wc -l", ["wc", "-l", path]),
            ("gwlog --one-shot", [EXPORTER, "--one-shot",
                                  "--input.path=" + path,
                                  "--dims.dir=" + DIMS])]
    if shutil.which("mtail"):
        cmds.append(("mtail", ["mtail", "--progs", MTAIL_PROG, "--logs", path,
                               "--one_shot", "--one_shot_format=prometheus",
                               "--emit_prog_label=false"]))
    cmds.append(("python3 json.loads loop", ["python3", NAIVE, path]))
    fb = os.environ.get("FLUENT_BIT")
    if fb:
        cmds.append(("Fluent Bit", fluent_bit_cmd(fb, path)))
    return cmds


def fluent_bit_cmd(fb, path):
    """tail + log_to_metrics counting the same families, threaded input,
    exiting at the end of the file; its counts come from its stdout."""
    conf = os.path.join(DIR, "fluent-bit.conf")
    with open(conf, "w") as f:
        f.write("""[SERVICE]
    flush 1
    log_level error
[INPUT]
    name tail
    path %s
    read_from_head true
    exit_on_eof true
    threaded true
    parser json
    buffer_max_size 1MB
[FILTER]
    name grep
    match *
    exclude Domain ^popwarmup\\.aliyuncs\\.com$
[FILTER]
    name log_to_metrics
    match *
    tag metrics
    metric_mode counter
    metric_name requests_total
    metric_description requests
    label_field Product
    label_field Api
    label_field HttpCode
[OUTPUT]
    name stdout
    match metrics
""" % path)
    return [fb, "-c", conf]


def check_peers(path, dims_dir, counted):
    """Compares every peer's counts on path with tests/reference.py."""
    r = subprocess.run(["python3", REFERENCE, "--dims-dir=" + dims_dir,
                        path], capture_output=True, text=True, check=True)
    ref = peer_counts(r.stdout)
    bad = []
    for name, text in counted.items():
        got = peer_counts(text)
        if got != ref:
            diff = sorted(set(got.items()) ^ set(ref.items()))[:3]
            bad.append("%s: %d series vs %d in the reference, e.g. %s"
                       % (name, len(got), len(ref), diff))
    return ref, bad


def bench_peers(results):
    out("== peers: the same corpus, %d interleaved rounds, medians; counts "
        "checked" % RUNS)
    # Counts first, on a prefix the reference computes in seconds.
    prefix = os.path.join(DIR, "peers-check.log")
    with open(CORPUS, "rb") as src, open(prefix, "wb") as dst:
        for i, line in enumerate(src):
            if i == 3000:
                break
            dst.write(line)
    counted = {}
    for name, cmd in peer_cmds(prefix):
        if name == "wc -l" or name == "Fluent Bit":
            continue
        r = subprocess.run(cmd, capture_output=True, text=True, check=True)
        counted[name] = r.stdout
    ref, bad = check_peers(prefix, DIMS, counted)
    for b in bad:
        out("  COUNTS DIFFER " + b)
    out("  counts on the first 3000 lines: %s equal to tests/reference.py "
        "(%d series)" % (", ".join(sorted(counted)), len(ref)))
    if bad:
        raise RuntimeError("a peer's counts differ from the reference")

    size = os.path.getsize(CORPUS)
    warm(CORPUS)
    cmds = peer_cmds(CORPUS)
    times = {name: [] for name, _ in cmds}
    outputs = {}
    for rnd in range(RUNS):
        for name, cmd in cmds:
            o = os.path.join(DIR, "peer-%d.out" % len(outputs))
            if rnd == 0 and name != "wc -l":
                outputs[name] = o
            times[name].append(run_timed(cmd, outputs.get(name)
                                         if rnd == 0 else None))
    # The whole corpus: every peer counts what gwlog counts.
    whole = {}
    for name, o in outputs.items():
        with open(o) as f:
            whole[name] = peer_counts(f.read())
    base = whole["python3 json.loads loop"]
    for name, c in whole.items():
        if name != "Fluent Bit" and c != base:
            raise RuntimeError("%s counts differ from the python loop's on "
                               "the whole corpus" % name)
    out("  whole corpus: %s count the same %d series (%d requests)"
        % (", ".join(n for n in sorted(whole) if n != "Fluent Bit"),
           len(base), sum(v for k, v in base.items()
                          if k[0] == "gw_product_requests_total")))
    out("  CPU: %s" % cpu_model())
    wc = median([w for w, _ in times["wc -l"]])
    gw_cpu = median([c for _, c in times["gwlog --one-shot"]])
    out("  | tool | MB/s | CPU-s | ratio to `wc -l` (wall) | CPU-s relative "
        "to gwlog one-shot |")
    out("  |---|---|---|---|---|")
    for name, _ in cmds:
        w = median([x for x, _ in times[name]])
        c = median([x for _, x in times[name]])
        ratio = median([a[0] / b[0] for a, b in zip(times[name],
                                                      times["wc -l"])])
        out("  | %s | %.0f | %.2f | %.1f | %.2f |"
            % (name, size / 1e6 / w, c, ratio, c / gw_cpu))
        results["peer " + name] = dict(mbps=size / 1e6 / w, cpu=c,
                                       ratio=ratio)
    del wc
    if not os.environ.get("FLUENT_BIT"):
        out("  (Fluent Bit: not run; give FLUENT_BIT=/path/to/fluent-bit)")
    else:
        out("  (Fluent Bit: timed only; its log_to_metrics counts are not "
            "parsed, so not checked)")


def main():
    for b in (EXPORTER, LOGGEN):
        if not os.path.exists(b):
            sys.exit("%s missing: run make first" % b)
    os.makedirs(DIR, exist_ok=True)
    out("gwlog_exporter bench: %s, %d CPUs, commit %s" % (
        cpu_model(), os.cpu_count(), commit()))
    make_corpus()
    results = {}
    try:
        for name, fn in (("ingest", bench_ingest), ("live", bench_live),
                         ("scrape", bench_scrape), ("memory", bench_memory),
                         ("freshness", bench_freshness), ("dims", bench_dims),
                         ("callgrind", bench_callgrind),
                         ("node", bench_node),
                         ("peers", bench_peers)):
            if want(name):
                t0 = time.time()
                fn(results)
                out("   (%s: %.0f s)" % (name, time.time() - t0))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def commit():
    r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain",
                            "--untracked-files=no"], capture_output=True,
                           text=True).stdout.strip()
    return (r.stdout.strip() or "unknown") + ("+dirty" if dirty else "")


if __name__ == "__main__":
    main()
