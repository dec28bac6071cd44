#!/usr/bin/env python3
"""e2e.py - the two-region rollup, from log lines to the Alertmanager webhook,
at production intervals with the shipped files unchanged.

Real processes on 127.0.0.1, ports chosen at runtime:

    region cn-hangzhou: exporter hz1 (LocalIp 10.0.1.1), exporter hz2 (10.0.1.2,
                        with --state.dir)
                        -> Prometheus (external label region="cn-hangzhou",
                           alerts/regional.rules.yml + regional.alerts.yml)
    region cn-beijing:  exporter bj1 (10.0.2.1), exporter bj2 (10.0.2.2)
                        -> Prometheus (region="cn-beijing", same rules)
    global Prometheus:  federates {__name__=~"region_[a-z_]+:.+"} from both
                        (honor_labels, honor_timestamps: false, as README
                        shows), alerts/global.rules.yml + global.alerts.yml
    VictoriaMetrics:    the second global topology: both regional
                        Prometheus servers also remote-write their region_*
                        series to victoria-metrics; vmalert evaluates
                        alerts/global.rules.yml + global.alerts.yml against
                        it and posts to the same Alertmanager
    Alertmanager:       alerts/alertmanager.yml with only the webhook URLs
                        pointed at a receiver in this script

Scrape, federation and evaluation every 15 s; every rule file is loaded from
alerts/ as it is, the Alertmanager config keeps every timer (group_wait 30s,
5s for pages, ...).

This script writes the access logs itself (seed-shaped JSON lines, one writer
thread, fixed rates per exporter and product), so it knows independently how
many lines per second each product gets.

Checks, in order: every target up and every rule healthy (3 Prometheus
servers and vmalert); at both global tiers, QPS per product and per region
equals the lines per second written and the success rate the share of 2xx
lines written; a 5xx burst
(10 % of one node's ecs lines, 6.7 % of ecs in cn-hangzhou) reaches the
product team's webhook as HighErrorRate{severity="critical"} in < 60 s from
the first bad line (printed), nothing else fires HighErrorRate, the slow
tier's warning would be inhibited by it (posted to Alertmanager), every
recording rule and dashboard query has data at both global tiers, the page
clears once the burst stops.  Then, at the same time: exporter hz2 is killed (SIGKILL) for
about a minute while its log keeps growing, and the cn-beijing Prometheus is
stopped by PID.  GwlogExporterDown must reach the observability webhook
within about a minute; cn-beijing must become a gap at both global tiers
(no frozen values) within about a minute, RegionalPrometheusDown of the
global Prometheus must reach the gateway on-call and vmalert's (heartbeat
gone) Alertmanager; restarted, hz2 must count every line written (its counter
equals the writer's count) and GwlogRestartBacklog must fire.
Prints one line per check, the measured times, then "e2e: N passed, M failed".
"""

import glob
import http.server
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
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EXPORTER = os.path.join(ROOT, "build", "gwlog_exporter")
OUT = os.path.join(HERE, "out", "e2e")
ALERTS = os.path.join(ROOT, "alerts")
DASHBOARDS = os.path.join(ROOT, "grafana", "dashboards")

INTERVAL = 15        # seconds: scrape, federation and evaluation interval
WINDOW = 60          # the [1m] of the rate1m rules
T_START = time.time()

passed = 0
failed = 0


def log(msg):
    print("      [%5.1fs] %s" % (time.time() - T_START, msg))
    sys.stdout.flush()


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
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- topology

REGIONS = {
    "cn-hangzhou": ["hz1", "hz2"],
    "cn-beijing": ["bj1", "bj2"],
}
LOCAL_IP = {"hz1": "10.0.1.1", "hz2": "10.0.1.2",
            "bj1": "10.0.2.1", "bj2": "10.0.2.2"}
REGION_OF = {e: r for r, es in REGIONS.items() for e in es}
# lines per second written to each exporter's log, per product
RATES = {
    "hz1": {"ecs": 20, "rds": 10},
    "hz2": {"ecs": 10, "oss": 5},
    "bj1": {"ecs": 15, "rds": 5},
    "bj2": {"slb": 10, "ecs": 5},
}
APIS = {"ecs": ["DescribeInstances", "RunInstances"],
        "rds": ["DescribeDBInstances"], "oss": ["GetObject"],
        "slb": ["DescribeLoadBalancers"]}
PRIORITY = {"DescribeInstances": "P0", "RunInstances": "P1",
            "DescribeDBInstances": "P1", "GetObject": "P0",
            "DescribeLoadBalancers": "P2"}
# tenant 1001 is GC7, 1002 GC6, 1003 GC3, 1004 is not in user_level.csv
USER_LEVEL = {"1001": "GC7", "1002": "GC6", "1003": "GC3"}
BURST_EXPORTER, BURST_PRODUCT = "hz1", "ecs"
KILLED_EXPORTER = "hz2"          # SIGKILLed for about a minute, has --state.dir
STOPPED_REGION = "cn-beijing"    # its Prometheus is stopped by PID
EXPORTER_ARGS = {}
# VictoriaMetrics as README "A global tier on VictoriaMetrics" runs it:
# queries see samples 5 s after they arrive (default 30 s), and a series
# without a sample for 45 s is a gap (default: derived from the interval).
VM_FLAGS = ["-search.latencyOffset=5s", "-search.maxStalenessInterval=45s"]


def write_dims(d):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "gateway_cluster.csv"), "w") as f:
        f.write("local_ip,app_group,region_id\n")
        for e, ip in LOCAL_IP.items():
            f.write("%s,pop-region-%s,%s\n" % (ip, REGION_OF[e], REGION_OF[e]))
    with open(os.path.join(d, "user_level.csv"), "w") as f:
        f.write("uid,gc_level\n")
        for u, lvl in USER_LEVEL.items():
            f.write("%s,%s\n" % (u, lvl))
    with open(os.path.join(d, "api_meta.csv"), "w") as f:
        f.write("product,api,priority\n")
        for p, apis in APIS.items():
            for a in apis:
                f.write("%s,%s,%s\n" % (p, a, PRIORITY[a]))


def make_line(exporter, product, n, burst):
    """The n-th line (n counts per exporter and product).  Deterministic:
    every 50th is slow (1.5 s), every 37th a 400, tenant 1003 is throttled
    every 50th line and key tenant 1001 every 1000th (0.1 %, far below the
    KeyTenantThrottled threshold); during the burst every 10th line of the
    burst product on the burst exporter is a 503 (10 %)."""
    api = APIS[product][(n // 10) % len(APIS[product])]
    k = n % 20
    uid = "1001" if k < 14 else "1002" if k < 18 else "1003" if k < 19 else "1004"
    code, err = "200", ""
    if n % 37 == 3:
        code, err = "400", "InvalidParameter"
    if n % 50 == 9:
        uid, code, err = "1003", "429", "Throttling.User"
    if n % 1000 == 7:
        uid, code, err = "1001", "429", "Throttling.User"
    if burst and n % 10 == 0:
        code, err = "503", "ServiceUnavailable"
    used = 1500 if n % 50 == 1 else 10 + (n * 7) % 90
    region = REGION_OF[exporter]
    ext5 = json.dumps({"logRegionId": region, "appGroup": "pop-region-" + region})
    return json.dumps({
        "__time__": int(time.time()), "Product": product, "Api": api,
        "Version": "2014-05-26", "Domain": product + ".aliyuncs.com",
        "HttpCode": code, "ErrorCode": err, "TotalUsedTime": used,
        "LocalIp": LOCAL_IP[exporter], "CallerUid": uid,
        "RequestContent": "RegionId=%s;Action=%s;Version=2014-05-26" % (region, api),
        "Ext5": ext5, "ClientIp": "192.168.0.%d" % (n % 250 + 1),
    }, separators=(",", ":")) + "\n"


class Writer(threading.Thread):
    """Appends lines to the four logs at RATES, deadline-driven every 50 ms
    (line k of a stream is written once k/rate seconds have passed), so the
    number written after t seconds is floor(rate * t), whatever the jitter."""

    def __init__(self, paths):
        super().__init__(daemon=True)
        self.files = {e: open(p, "a") for e, p in paths.items()}
        self.count = {(e, p): 0 for e in RATES for p in RATES[e]}
        self.burst = False
        self.paused = set()         # exporters whose log is not appended to
        self.burst_first = None     # time the first 503 line was written
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()
        self.t0 = None

    def written(self, e):
        with self.lock:
            return sum(self.count[(e, p)] for p in RATES[e])

    def run(self):
        self.t0 = time.time()
        while not self.stop_ev.is_set():
            now = time.time()
            for e, products in RATES.items():
                if e in self.paused:
                    continue
                chunk = []
                for p, rate in products.items():
                    due = int(rate * (now - self.t0))
                    with self.lock:
                        burst = self.burst and e == BURST_EXPORTER and p == BURST_PRODUCT
                        while self.count[(e, p)] < due:
                            n = self.count[(e, p)]
                            line = make_line(e, p, n, burst)
                            if burst and n % 10 == 0 and self.burst_first is None:
                                self.burst_first = -1.0     # set after the write
                            chunk.append(line)
                            self.count[(e, p)] += 1
                if chunk:
                    self.files[e].write("".join(chunk))
                    self.files[e].flush()
                    if self.burst_first == -1.0:
                        self.burst_first = time.time()
            self.stop_ev.wait(0.05)
        for f in self.files.values():
            f.close()


# ---------------------------------------------------------------- processes

procs = []      # (name, Popen)


def start(name, args, cwd=None):
    errf = open(os.path.join(OUT, name + ".log"), "ab")
    p = subprocess.Popen(args, stdout=errf, stderr=subprocess.STDOUT, cwd=cwd)
    procs.append((name, p))
    return p


def stop_all():
    for name, p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.time() + 10
    for name, p in procs:
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def wait_ready(url, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        try:
            http_get(url, timeout=1)
            return True
        except Exception:
            time.sleep(0.1)
    return False


def query(port, expr):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (
        port, urllib.parse.urlencode({"query": expr}))
    try:
        d = json.loads(http_get(url))
    except Exception as e:      # a 400 for a bad expression, etc.
        return None, str(e)
    if d.get("status") != "success":
        return None, d.get("error", "?")
    return d["data"]["result"], None


def wait_for(fn, timeout, step=0.5):
    end = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > end:
            return v
        time.sleep(step)


# ---------------------------------------------------------------- webhook

hook_posts = []     # (time received, path, payload)
hook_lock = threading.Lock()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        t = time.time()
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        with hook_lock:
            hook_posts.append((t, self.path, payload))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


def hook_alerts(alertname, status=None):
    """[(time, path, alert)] of every alert named alertname received."""
    out = []
    with hook_lock:
        for t, path, payload in hook_posts:
            for a in (payload or {}).get("alerts", []):
                if a["labels"].get("alertname") == alertname and \
                        (status is None or a["status"] == status):
                    out.append((t, path, a))
    return out


# ---------------------------------------------------------------- configs

def write_configs(ports):
    """Prometheus configs as README "Deploying across regions" shows them;
    the rule files are alerts/ itself, the Alertmanager config is
    alerts/alertmanager.yml with the webhook URLs replaced, nothing else."""
    am = open(os.path.join(ALERTS, "alertmanager.yml")).read()
    am = am.replace("http://alert-gateway.example.internal/",
                    "http://127.0.0.1:%d/" % ports["hook"])
    os.makedirs(os.path.join(OUT, "am"), exist_ok=True)
    open(os.path.join(OUT, "am", "alertmanager.yml"), "w").write(am)
    alerting = ("alerting: {alertmanagers: [{static_configs: "
                "[{targets: ['127.0.0.1:%d']}]}]}\n" % ports["am"])
    glob_ = ("global: {scrape_interval: %ds, scrape_timeout: 10s, "
             "evaluation_interval: %ds%%s}\n" % (INTERVAL, INTERVAL))
    for region, exps in REGIONS.items():
        d = os.path.join(OUT, "prom-" + region)
        os.makedirs(d, exist_ok=True)
        targets = ", ".join("'127.0.0.1:%d'" % ports[e] for e in exps)
        open(os.path.join(d, "prometheus.yml"), "w").write(
            glob_ % (", external_labels: {region: %s}" % region) +
            "rule_files: ['%s/regional.rules.yml', '%s/regional.alerts.yml']\n"
            % (ALERTS, ALERTS) + alerting +
            "remote_write:\n"
            "  - url: http://127.0.0.1:%d/api/v1/write\n"
            "    write_relabel_configs:\n"
            "      - {source_labels: [__name__], regex: 'region_[a-z_]+:.+', action: keep}\n"
            % ports["vm"] +
            "scrape_configs:\n"
            "  - job_name: gwlog\n"
            "    static_configs: [{targets: [%s]}]\n" % targets)
    d = os.path.join(OUT, "prom-global")
    os.makedirs(d, exist_ok=True)
    fed_targets = "".join(
        "      - {targets: ['127.0.0.1:%d'], labels: {region: %s}}\n"
        % (ports["prom-" + r], r) for r in REGIONS)
    open(os.path.join(d, "prometheus.yml"), "w").write(
        glob_ % "" +
        "rule_files: ['%s/global.rules.yml', '%s/global.alerts.yml']\n"
        % (ALERTS, ALERTS) + alerting +
        "scrape_configs:\n"
        "  - job_name: gwlog-federate\n"
        "    honor_labels: true\n"
        "    honor_timestamps: false\n"
        "    metrics_path: /federate\n"
        "    params: {'match[]': ['{__name__=~\"region_[a-z_]+:.+\"}']}\n"
        "    static_configs:\n" + fed_targets)


# ---------------------------------------------------------------- dashboards

def dashboard_queries():
    """[(file, title, level, exprs-with-variables, variables)] per panel."""
    out = []
    for f in sorted(glob.glob(os.path.join(DASHBOARDS, "*.json"))):
        d = json.load(open(f))
        level = "regional" if "gwlog-regional" in d.get("tags", []) else "global"
        variables = d.get("templating", {}).get("list", [])
        panels = []
        stack = list(d.get("panels", []))
        while stack:
            p = stack.pop(0)
            stack.extend(p.get("panels", []))       # collapsed rows
            for t in p.get("targets", []):
                if t.get("expr"):
                    panels.append((p.get("title", "?"), t["expr"]))
        out.append((f, d, level, variables, panels))
    return out


def resolve_variables(port, variables):
    """Emulates Grafana: a query variable takes its `current` value, else the
    first of its values; an 'All' current value becomes allValue (or a regex
    of all values)."""
    values = {}

    def subst(s):
        for k, v in values.items():
            s = s.replace("${%s}" % k, v).replace("$" + k, v)
        return s

    for v in variables:
        name = v["name"]
        if v.get("type") == "datasource":
            values[name] = "prometheus"
            continue
        cur = (v.get("current") or {}).get("value")
        if isinstance(cur, list):           # multi-value variable
            cur = "$__all" if "$__all" in cur else "|".join(cur)
        if v.get("type") == "custom":
            opts = [o.strip() for o in v.get("query", "").split(",") if o.strip()]
            values[name] = cur if cur and cur != "$__all" else "|".join(opts)
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.match(r"label_values\((.*),\s*(\w+)\)\s*$", subst(q or ""))
        found = []
        if m:
            res, _ = query(port, "group by (%s) (%s)" % (m.group(2), m.group(1)))
            found = sorted(r["metric"].get(m.group(2), "") for r in res or [])
        if cur == "$__all":
            values[name] = v.get("allValue") or ("(" + "|".join(found) + ")")
        elif cur:
            values[name] = cur
        else:
            values[name] = found[0] if found else "NO_VALUE"
    return values, subst


# ---------------------------------------------------------------- main

def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    for tool in ("prometheus", "prometheus-alertmanager", "victoria-metrics", "vmalert"):
        if shutil.which(tool) is None:
            check("%s installed" % tool, False)
            return
    if not os.path.exists(EXPORTER):
        check("build/gwlog_exporter built", False)
        return

    ports = {k: free_port() for k in list(RATES) + ["am", "hook", "prom-global", "vm", "vmalert"]
             + ["prom-" + r for r in REGIONS]}
    dims = os.path.join(OUT, "dims")
    write_dims(dims)
    write_configs(ports)

    hook = http.server.ThreadingHTTPServer(("127.0.0.1", ports["hook"]), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()

    logs = {e: os.path.join(OUT, e + ".access.log") for e in RATES}
    for p in logs.values():
        open(p, "w").close()
    for e in RATES:
        # Every exporter keeps state: the killed one resumes from it, and
        # the checkpoint-age panel needs it.
        state = os.path.join(OUT, e + ".state")
        shutil.rmtree(state, ignore_errors=True)
        os.makedirs(state)
        EXPORTER_ARGS[e] = [EXPORTER, "--input.path=" + logs[e], "--dims.dir=" + dims,
                            "--state.dir=" + state,
                            "--web.listen-address=127.0.0.1:%d" % ports[e]]
        start(e, EXPORTER_ARGS[e])
    start("alertmanager", [
        "prometheus-alertmanager",
        "--config.file=" + os.path.join(OUT, "am", "alertmanager.yml"),
        "--storage.path=" + os.path.join(OUT, "am", "data"),
        "--web.listen-address=127.0.0.1:%d" % ports["am"],
        "--cluster.listen-address="])
    for name in ["prom-" + r for r in REGIONS] + ["prom-global"]:
        d = os.path.join(OUT, name)
        start(name, ["prometheus", "--config.file=" + os.path.join(d, "prometheus.yml"),
                     "--storage.tsdb.path=" + os.path.join(d, "data"),
                     "--web.listen-address=127.0.0.1:%d" % ports[name]])
    start("victoria-metrics", [
        "victoria-metrics", "-httpListenAddr=127.0.0.1:%d" % ports["vm"],
        "-storageDataPath=" + os.path.join(OUT, "vm"), "-retentionPeriod=1d"]
        + VM_FLAGS)
    start("vmalert", [
        "vmalert", "-httpListenAddr=127.0.0.1:%d" % ports["vmalert"],
        "-rule=" + os.path.join(ALERTS, "global.rules.yml"),
        "-rule=" + os.path.join(ALERTS, "global.alerts.yml"),
        "-datasource.url=http://127.0.0.1:%d" % ports["vm"],
        "-remoteWrite.url=http://127.0.0.1:%d" % ports["vm"],
        "-remoteRead.url=http://127.0.0.1:%d" % ports["vm"],
        "-notifier.url=http://127.0.0.1:%d" % ports["am"],
        "-evaluationInterval=%ds" % INTERVAL])
    writer = Writer(logs)
    writer.start()
    try:
        run_checks(ports, writer)
    finally:
        writer.stop_ev.set()
        writer.join(2)
        stop_all()
        hook.shutdown()


def proc(name):
    return [p for n, p in procs if n == name][-1]


def am_alerts(port, alertname):
    d = json.loads(http_get("http://127.0.0.1:%d/api/v2/alerts" % port))
    return [a for a in d if a["labels"].get("alertname") == alertname]


def exporter_requests(port):
    """Sum of gw_product_requests_total read from the exporter's /metrics."""
    try:
        text = http_get("http://127.0.0.1:%d/metrics" % port, timeout=2).decode()
    except Exception:
        return None
    return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
               if l.startswith("gw_product_requests_total{"))


def check_qps(gport, writer, where):
    """Global QPS per product and per region == lines/s written."""
    expected = {}
    for e, products in RATES.items():
        for p, rate in products.items():
            expected[p] = expected.get(p, 0) + rate
    # Tolerance.  Each exporter's counter is sampled every 15 s; rate() over
    # 1m divides the increase between the first and last sample inside the
    # window (45 s apart, sometimes 60) by their distance and extrapolates
    # to the window's edges, exact for a constant rate.  What is left: the
    # writer's count is floor(rate*t), appended every 50 ms, so at each of
    # the two samples the counter differs from rate*t by up to 1 line plus
    # one 50 ms batch (<= 1 line here): <= 2 lines per end, 4 per window,
    # over at least 44 s: 4/44 lines/s per exporter series; scrape-time
    # jitter and a loaded machine: a further 3 % of the value.
    def tol(n_series, want):
        return n_series * 4.0 / (WINDOW - INTERVAL - 1) + 0.03 * want
    # The global tier sees each region's aggregate one hop later (a
    # federation scrape, or a remote write plus vmalert's evaluation): a
    # value read at one instant may still hold a region's previous
    # interval.  Poll (three intervals at most) until every product is in
    # tolerance; what is reported is the last reading.
    deadline = time.time() + 3 * INTERVAL
    while True:
        res, err = query(gport, "product:gw_product_requests:rate1m")
        got = {r["metric"]["product"]: float(r["value"][1]) for r in res or []}
        if all(got.get(p) is not None and abs(got[p] - expected[p]) <=
               tol(sum(1 for e in RATES if p in RATES[e]), expected[p])
               for p in expected) or time.time() > deadline:
            break
        time.sleep(INTERVAL / 3.0)
    for p in sorted(expected):
        n_series = sum(1 for e in RATES if p in RATES[e])
        g = got.get(p)
        check("%s: global QPS of %s = sum of both regions' lines/s" % (where, p),
              g is not None and abs(g - expected[p]) <= tol(n_series, expected[p]),
              "global %s, written %d/s, tolerance %.2f"
              % ("%.3f" % g if g is not None else "none", expected[p],
                 tol(n_series, expected[p])))
    res, _ = query(gport, "sum(namespace_product_gw_http_req) by (product)")
    got2 = {r["metric"]["product"]: float(r["value"][1]) for r in res or []}
    check("%s: seed query sum(namespace_product_gw_http_req) by (product) agrees" % where,
          bool(got2) and all(abs(got2.get(p, -1) - expected[p]) <=
                             tol(4, expected[p]) for p in expected), str(got2))
    res, _ = query(gport, "sum by (region, product) (namespace_product_gw_http_req)")
    ok, detail = True, []
    for r in res or []:
        reg, p = r["metric"]["region"], r["metric"]["product"]
        want = sum(RATES[e].get(p, 0) for e in REGIONS[reg])
        n_series = sum(1 for e in REGIONS[reg] if p in RATES[e])
        v = float(r["value"][1])
        detail.append("%s/%s %.2f (%d)" % (reg, p, v, want))
        ok = ok and abs(v - want) <= tol(n_series, want)
    check("%s: per-region QPS (region label) = lines/s written there" % where,
          ok and len(res or []) == 6, ", ".join(detail))
    # success_rate = 2xx share: per line n, 1 in 37 is a 400 and 1 in 50 a
    # 429 (make_line), the rest 2xx; counted independently here.
    res, _ = query(gport, "sum by (product) (namespace_product_gw_http_2xx) / sum by (product) (namespace_product_gw_http_req)")
    n_ok = sum(1 for n in range(37 * 50 * 20) if not (n % 37 == 3 or n % 50 == 9 or n % 1000 == 7))
    share = n_ok / (37 * 50 * 20)
    vals = {r["metric"]["product"]: float(r["value"][1]) for r in res or []}
    check("%s: success rate (2xx share) per product = %.4f of the lines written" % (where, share),
          len(vals) == 4 and all(abs(v - share) < 0.02 for v in vals.values()),
          ", ".join("%s %.4f" % kv for kv in sorted(vals.items())))


def run_checks(ports, writer):
    proms = {"cn-hangzhou": ports["prom-cn-hangzhou"],
             "cn-beijing": ports["prom-cn-beijing"], "global": ports["prom-global"]}
    ok = all(wait_ready("http://127.0.0.1:%d/metrics" % ports[e]) for e in RATES)
    check("4 exporters serve /metrics", ok)
    ok = wait_ready("http://127.0.0.1:%d/-/ready" % ports["am"])
    check("alertmanager ready", ok)
    ok = all(wait_ready("http://127.0.0.1:%d/-/ready" % p, 30) for p in proms.values())
    check("3 Prometheus servers ready", ok)
    if failed:
        return

    def targets_up(port, n):
        res, _ = query(port, "up == 1")
        return res is not None and len(res) == n
    for r in REGIONS:
        check("%s Prometheus scrapes its 2 exporters" % r,
              wait_for(lambda: targets_up(proms[r], 2), 3 * INTERVAL))
    check("global Prometheus federates both regions",
          wait_for(lambda: targets_up(proms["global"], 2), 3 * INTERVAL))

    # Rules loaded from alerts/ and evaluated without error.
    def count(f, what):
        return len(re.findall(r"^\s*- %s:" % what, open(os.path.join(ALERTS, f)).read(), re.M))
    want = {"regional": count("regional.rules.yml", "record") + count("regional.alerts.yml", "alert"),
            "global": count("global.rules.yml", "record") + count("global.alerts.yml", "alert")}

    def rules_ok(port, n):
        d = json.loads(http_get("http://127.0.0.1:%d/api/v1/rules" % port))
        rules = [r for g in d["data"]["groups"] for r in g["rules"]]
        bad = [(r["name"], r.get("lastError")) for r in rules
               if r.get("health") not in ("ok", "unknown")]
        return len(rules) == n and not bad, "%d rules, bad %s" % (len(rules), bad)
    for name, port in proms.items():
        n = want["global" if name == "global" else "regional"]
        ok, detail = rules_ok(port, n)
        check("%s Prometheus: the %d rules of alerts/ loaded, none unhealthy"
              % (name, n), ok, detail)

    def vmalert_ok():
        d = json.loads(http_get("http://127.0.0.1:%d/api/v1/rules" % ports["vmalert"]))
        rules = [r for g in d["data"]["groups"] for r in g.get("rules", [])]
        bad = [(r["name"], r.get("lastError")) for r in rules if r.get("lastError")]
        return len(rules) == want["global"] and not bad, "%d rules, bad %s" % (len(rules), bad)
    wait_for(lambda: vmalert_ok()[0], 2 * INTERVAL, step=1)
    ok, detail = vmalert_ok()
    check("vmalert: the %d global rules of alerts/ loaded, none failing" % want["global"],
          ok, detail)

    # ---- QPS, once the 1m windows are full and two more hops (regional
    # rule, federation, global rule) have passed.
    def global_has_all():
        res, _ = query(proms["global"], "product:gw_product_requests:rate1m")
        return res and len(res) == 4
    wait_for(global_has_all, WINDOW + 4 * INTERVAL)
    while time.time() - writer.t0 < WINDOW + 3 * INTERVAL:
        time.sleep(1)
    check_qps(proms["global"], writer, "federation")
    # VictoriaMetrics: remote write (batches of up to 5 s), vmalert's two
    # levels of global rules, each written back through remote write.
    def vm_has_all():
        res, _ = query(ports["vm"], "product:gw_product_requests:rate1m")
        return res and len(res) == 4
    check("VictoriaMetrics: vmalert's global rules produce data",
          wait_for(vm_has_all, 6 * INTERVAL, step=1))
    check_qps(ports["vm"], writer, "victoriametrics")

    res, _ = query(proms["global"], 'ALERTS{alertname="HighErrorRate"}')
    res2, _ = query(proms["cn-hangzhou"], 'ALERTS{alertname="HighErrorRate"}')
    check("no HighErrorRate before the burst", res == [] and res2 == [], str(res) + str(res2))

    # ---- 5xx burst: 10 % of ecs lines on hz1 become 503 (6.7 % of ecs in
    # cn-hangzhou).  The fast tier must page within 60 s.
    log("burst starts: every 10th %s line of %s (%s) is a 503"
        % (BURST_PRODUCT, BURST_EXPORTER, REGION_OF[BURST_EXPORTER]))
    with writer.lock:
        writer.burst = True
    fired = wait_for(lambda: hook_alerts("HighErrorRate", "firing"), 90)
    t_first = writer.burst_first
    if check("HighErrorRate reaches the webhook", bool(fired)):
        t, path, a = fired[0]
        lbl = a["labels"]
        check("HighErrorRate is the fast tier: severity=critical, product=%s, region=%s"
              % (BURST_PRODUCT, REGION_OF[BURST_EXPORTER]),
              lbl.get("severity") == "critical" and lbl.get("tier") == "fast" and
              lbl.get("product") == BURST_PRODUCT and
              lbl.get("region") == REGION_OF[BURST_EXPORTER], str(lbl))
        check("routed to the product's team (/hooks/team-ecs)",
              path == "/hooks/team-ecs", path)
        check("annotations: summary, description, runbook_url",
              all(a["annotations"].get(k) for k in
                  ("summary", "description", "runbook_url")),
              a["annotations"].get("description", ""))
        detection = t - t_first
        print("      detection time (first 503 line written -> webhook): %.1f s"
              " (scrape/evaluation %d s, shipped rules and Alertmanager config)"
              % (detection, INTERVAL))
        check("detection under 60 s", detection < 60, "%.1f s" % detection)

    # The slow tier (warning) of the same product and region is inhibited
    # while the page fires: post one to Alertmanager (as the global
    # Prometheus would after 30m/5m) and read its state back.
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    warn = [{"labels": {"alertname": "HighErrorRate", "severity": "warning",
                        "tier": "slow", "scope": "product",
                        "product": BURST_PRODUCT, "region": REGION_OF[BURST_EXPORTER]},
             "startsAt": now}]
    req = urllib.request.Request("http://127.0.0.1:%d/api/v2/alerts" % ports["am"],
                                 data=json.dumps(warn).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=5).read()

    def warning_state():
        got = [a for a in am_alerts(ports["am"], "HighErrorRate")
               if a["labels"].get("severity") == "warning"]
        return got and got[0]["status"]["state"] == "suppressed" and got
    w = wait_for(warning_state, 10)
    check("the slow tier's warning is inhibited by the page (same product, region)",
          bool(w), str([(a["status"]) for a in (w or [])]))

    # ---- every recording rule and every dashboard query has data (the
    # burst produced the 503 series; give it one more federation hop).
    # Rule groups are evaluated at different offsets: poll (deadline four
    # intervals) until every recording rule and the 5xx error-code series
    # have reached the global level.
    rule_names = {}
    where = {"cn-hangzhou": proms["cn-hangzhou"], "global": proms["global"],
             "victoriametrics": ports["vm"]}
    for name, f in (("cn-hangzhou", "regional.rules.yml"), ("global", "global.rules.yml"),
                    ("victoriametrics", "global.rules.yml")):
        rule_names[name] = re.findall(r"^\s*- record:\s*(\S+)",
                                      open(os.path.join(ALERTS, f)).read(), re.M)

    # Native p99 rules have data only where Prometheus scrapes native
    # buckets (--enable-feature=native-histograms, which in 2.42 drops the
    # classic ones this stack is built on); tests/formats.py checks them on
    # such a Prometheus, with the shipped rule files.
    for name in rule_names:
        rule_names[name] = [n for n in rule_names[name] if not native_only(n)]

    def empty_rules():
        return {name: [n for n in names if not query(where[name], n)[0]]
                for name, names in rule_names.items()}
    wait_for(lambda: not any(empty_rules().values()) and all(
             query(where[g], 'namespace_error_code_gw_http_code{http_code="503"}')[0]
             for g in ("global", "victoriametrics")), 6 * INTERVAL, step=1)
    empty = empty_rules()
    for name, names in rule_names.items():
        check("%s: all %d recording rules have data" % (name, len(names)),
              not empty[name], ", ".join(empty[name]))
    check_dashboards(proms, "federation", proms["global"])
    check_dashboards(proms, "victoriametrics", ports["vm"], regional=False)

    # ---- the burst stops: the page clears with the first clean interval.
    with writer.lock:
        writer.burst = False
    t_stop = time.time()
    log("burst stops")

    def page_cleared():
        res, _ = query(proms["cn-hangzhou"], 'ALERTS{alertname="HighErrorRate"}')
        return res == []
    if check("the page clears in the regional Prometheus after the burst",
             wait_for(page_cleared, 4 * INTERVAL)):
        print("      cleared %.1f s after the last 503 line" % (time.time() - t_stop))
    others = [(p, a["labels"]) for t, p, a in hook_alerts("HighErrorRate")
              if a["labels"].get("product") != BURST_PRODUCT or
              a["labels"].get("region") != REGION_OF[BURST_EXPORTER]]
    check("no HighErrorRate for any other product or region", not others, str(others))

    # ---- exporter down and region down, at the same time.
    kill_and_stop(ports, proms, writer)

    names = sorted({a["labels"]["alertname"] for t, p, payload in hook_posts
                    for a in (payload or {}).get("alerts", [])})
    log("alerts seen at the webhook: %s" % ", ".join(names))
    alive = [n for n, p in procs if p.poll() is not None
             and n != "prom-" + STOPPED_REGION
             and not (n == KILLED_EXPORTER and p is not proc(KILLED_EXPORTER))]
    check("all other processes still running at the end", not alive, ", ".join(alive))


def native_only(expr):
    """A rule or query that reads native histogram buckets (see above)."""
    return ("native_p99" in expr
            or re.search(r"gw_product_request_duration_seconds[{\[]", expr))


def check_dashboards(proms, where, gport, regional=True):
    dash = dashboard_queries()
    if regional:
        check("grafana/dashboards has 6 dashboards", len(dash) == 6,
              ", ".join(os.path.basename(d[0]) for d in dash))
    for f, d, level, variables, panels in dash:
        if level == "regional" and not regional:
            continue
        targets = ([proms[r] for r in REGIONS] if level == "regional"
                   else [gport])
        for port in targets:
            values, subst = resolve_variables(port, variables)
            empty = []
            panels = [(t, e) for t, e in panels if not native_only(e)]
            for title, expr in panels:
                e = subst(expr).replace("$__rate_interval", "1m") \
                               .replace("${__rate_interval}", "1m")
                res, err = query(port, e)
                if not res:
                    empty.append("%s: %s%s" % (title, e, (" (" + err + ")") if err else ""))
            lvl = "regional :%d" % port if level == "regional" else "global " + where
            check("%s (%s): all %d panel queries return data [%s]"
                  % (os.path.basename(f), lvl, len(panels),
                     ", ".join("%s=%s" % kv for kv in sorted(values.items())
                               if kv[0] != "datasource")),
                  not empty, "; ".join(empty))


def kill_and_stop(ports, proms, writer):
    victim = KILLED_EXPORTER
    region = REGION_OF[victim]
    before = writer.written(victim)
    t_kill = time.time()
    proc(victim).kill()                              # SIGKILL, by PID
    proc(victim).wait()
    prom_bj = proc("prom-" + STOPPED_REGION)
    prom_bj.send_signal(signal.SIGTERM)              # by PID
    prom_bj.wait(30)
    t_stop = time.time()
    log("killed exporter %s (pid %d), stopped the %s Prometheus (pid %d)"
        % (victim, proc(victim).pid, STOPPED_REGION, prom_bj.pid))

    # vmalert's RegionalPrometheusDown, watched from now on in the
    # background (read from Alertmanager's API: vmalert labels its alerts
    # with alertgroup; it joins the Alertmanager group the global
    # Prometheus' alert opened, which notifies again only after
    # group_interval, 5m).
    vm_down = {}

    def watch_vm_down():
        end = time.time() + 180
        while time.time() < end:
            try:
                if [a for a in am_alerts(ports["am"], "RegionalPrometheusDown")
                        if a["labels"].get("region") == STOPPED_REGION and
                        "alertgroup" in a["labels"] and a["status"]["state"] == "active"]:
                    vm_down["t"] = time.time()
                    return
            except Exception:
                pass
            time.sleep(1)
    watcher = threading.Thread(target=watch_vm_down, daemon=True)
    watcher.start()

    # Region down: a gap at both global tiers, not frozen values.
    gports = {"federation": proms["global"], "victoriametrics": ports["vm"]}
    t_gap = {}
    end = time.time() + 120
    while len(t_gap) < len(gports) and time.time() < end:
        for g, port in gports.items():
            if g not in t_gap and query(port, 'namespace_product_gw_http_req{region="%s"}'
                                        % STOPPED_REGION)[0] == []:
                t_gap[g] = time.time() - t_stop
        time.sleep(1)
    other = [r for r in REGIONS if r != STOPPED_REGION][0]
    for g, port in gports.items():
        if check("%s: %s is a gap at the global level (no frozen values)"
                 % (g, STOPPED_REGION), g in t_gap, "after %.1f s" % t_gap.get(g, -1)):
            print("      %s: gap %.1f s after the regional Prometheus stopped" % (g, t_gap[g]))
            check("%s: ... within about a minute" % g, t_gap[g] < 75, "%.1f s" % t_gap[g])
        res, _ = query(port, 'namespace_product_gw_http_req{region="%s"}' % other)
        check("%s: the other region is still served" % g, bool(res))

    # Exporter down and region down reach their receivers.
    def hook_for(alertname, path, extra):
        return [x for x in hook_alerts(alertname, "firing") if x[1] == path and
                all(x[2]["labels"].get(k) == v for k, v in extra.items())]
    down = wait_for(lambda: hook_for("GwlogExporterDown", "/hooks/observability",
                                     {"region": region}), 120, step=1)
    if check("GwlogExporterDown reaches the observability webhook", bool(down)):
        dt = down[0][0] - t_kill
        print("      exporter down -> webhook: %.1f s (for: 30s)" % dt)
        check("... within about a minute", dt < 80, "%.1f s" % dt)
    # The global Prometheus' alert is the first of its group: it reaches
    # the webhook.
    rdown = wait_for(lambda: [x for x in hook_for(
        "RegionalPrometheusDown", "/hooks/gateway-oncall", {"region": STOPPED_REGION})
        if "alertgroup" not in x[2]["labels"]], 150, step=1)
    if check("federation: RegionalPrometheusDown reaches the gateway on-call webhook",
             bool(rdown)):
        dt = rdown[0][0] - t_stop
        print("      federation: region down -> webhook: %.1f s (for: 30s)" % dt)
        check("federation: ... within about a minute", dt < 80, "%.1f s" % dt)

    # Restart after about a minute with the same state dir: every line
    # written meanwhile (the backlog) is counted.
    while time.time() - t_kill < 60:
        time.sleep(0.5)
    backlog = writer.written(victim) - before
    start(victim, EXPORTER_ARGS[victim])
    log("restarted %s after %.0f s; %d lines were written meanwhile"
        % (victim, time.time() - t_kill, backlog))
    with writer.lock:
        writer.paused.add(victim)
    n_written = writer.written(victim)
    got = wait_for(lambda: exporter_requests(ports[victim]) == n_written, 30)
    check("restarted %s counts every line written, backlog included (%d)"
          % (victim, n_written), bool(got),
          "exporter %s" % exporter_requests(ports[victim]))
    with writer.lock:
        writer.paused.discard(victim)

    def backlog_alert():
        res, _ = query(proms[region], 'ALERTS{alertname="GwlogRestartBacklog",alertstate="firing"}')
        return res
    res = wait_for(backlog_alert, 3 * INTERVAL)
    check("GwlogRestartBacklog fires for %s (its backlog is in no rate1m series)" % victim,
          bool(res) and res[0]["metric"].get("instance") == "127.0.0.1:%d" % ports[victim],
          str([r["metric"] for r in res or []]))

    watcher.join(200)
    if check("victoriametrics: vmalert's RegionalPrometheusDown reaches Alertmanager "
             "(heartbeat gone)", "t" in vm_down):
        dt = vm_down["t"] - t_stop
        print("      victoriametrics: region down -> Alertmanager: %.1f s"
              " (45 s staleness + for: 30s)" % dt)
        check("victoriametrics: ... within about 1.5 minutes", dt < 120, "%.1f s" % dt)

if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
        print("e2e: %d passed, %d failed (%.0f s)"
              % (passed, failed, time.time() - T_START))
    sys.exit(1 if failed else 0)
