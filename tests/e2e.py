#!/usr/bin/env python3
"""e2e.py - the two-region rollup, from log lines to the Alertmanager webhook.

Real processes on 127.0.0.1, ports chosen at runtime:

    region cn-hangzhou: exporter hz1 (LocalIp 10.0.1.1), exporter hz2 (10.0.1.2)
                        -> Prometheus (external label region="cn-hangzhou",
                           alerts/regional.rules.yml + regional.alerts.yml)
    region cn-beijing:  exporter bj1 (10.0.2.1), exporter bj2 (10.0.2.2)
                        -> Prometheus (region="cn-beijing", same rules)
    global Prometheus:  federates {__name__=~"region_[a-z_]+:.+"} from both
                        (honor_labels), alerts/global.rules.yml + global.alerts.yml
    Alertmanager:       alerts/alertmanager.yml, webhooks -> a webhook receiver
                        (http.server thread in this script)

This script writes the access logs itself (seed-shaped JSON lines, one writer
thread, fixed rates per exporter and product), so it knows independently how
many lines per second each product gets.

Shortened for the test (the real files are unit-tested unchanged by
`make rules`): the rule files are copied with every range `[1m]`, `[5m]`,
`[10m]` replaced by `[20s]` and every `for:` by `for: 10s`; the Alertmanager
copy has group_wait 0s and group_interval 1s and its webhook URLs point here.
Scrape and evaluation intervals are 1s.

Checks: every target up; every rule healthy; global QPS per product equals
the sum of both regions' written lines per second; a 5xx burst written into
one region's logs fires HighErrorRate with that product and region at the
webhook of the product's team, nothing else fires HighErrorRate; every
recording rule has data; every dashboard query returns data; the alert
resolves when the burst stops.  Prints the detection time (first burst line
written -> webhook), one line per check, then "e2e: N passed, M failed".
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

WINDOW = 20          # seconds: every rate()/increase() range in the test copy
FOR = "10s"          # every alert's `for` in the test copy
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
        self.burst_first = None     # time the first 503 line was written
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()
        self.t0 = None

    def run(self):
        self.t0 = time.time()
        while not self.stop_ev.is_set():
            now = time.time()
            for e, products in RATES.items():
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
    errf = open(os.path.join(OUT, name + ".log"), "wb")
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

def shorten_rules(src, dst):
    text = open(src).read()
    text = re.sub(r"\[(1m|5m|10m)\]", "[%ds]" % WINDOW, text)
    text = re.sub(r"^(\s*)for: \S+", r"\1for: " + FOR, text, flags=re.M)
    open(dst, "w").write(text)


def write_configs(ports):
    rules = os.path.join(OUT, "rules")
    os.makedirs(rules, exist_ok=True)
    for f in glob.glob(os.path.join(ALERTS, "*.yml")):
        if f.endswith(("rules.yml", "alerts.yml")):
            shorten_rules(f, os.path.join(rules, os.path.basename(f)))
    am = open(os.path.join(ALERTS, "alertmanager.yml")).read()
    am = am.replace("http://alert-gateway.example.internal/",
                    "http://127.0.0.1:%d/" % ports["hook"])
    am = re.sub(r"group_wait: \S+", "group_wait: 0s", am)
    am = re.sub(r"group_interval: \S+", "group_interval: 1s", am)
    os.makedirs(os.path.join(OUT, "am"), exist_ok=True)
    open(os.path.join(OUT, "am", "alertmanager.yml"), "w").write(am)
    alerting = ("alerting: {alertmanagers: [{static_configs: "
                "[{targets: ['127.0.0.1:%d']}]}]}\n" % ports["am"])
    glob_ = ("global: {scrape_interval: 1s, scrape_timeout: 1s, "
             "evaluation_interval: 1s%s}\n")
    for region, exps in REGIONS.items():
        d = os.path.join(OUT, "prom-" + region)
        os.makedirs(d, exist_ok=True)
        targets = ", ".join("'127.0.0.1:%d'" % ports[e] for e in exps)
        open(os.path.join(d, "prometheus.yml"), "w").write(
            glob_ % (", external_labels: {region: %s}" % region) +
            "rule_files: ['%s/regional.rules.yml', '%s/regional.alerts.yml']\n"
            % (rules, rules) + alerting +
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
        % (rules, rules) + alerting +
        "scrape_configs:\n"
        "  - job_name: gwlog-federate\n"
        "    honor_labels: true\n"
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
    for tool in ("prometheus", "prometheus-alertmanager"):
        if shutil.which(tool) is None:
            check("%s installed" % tool, False)
            return
    if not os.path.exists(EXPORTER):
        check("build/gwlog_exporter built", False)
        return

    ports = {k: free_port() for k in list(RATES) + ["am", "hook", "prom-global"]
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
        state = os.path.join(OUT, e + ".state")     # checkpoint-age panel
        shutil.rmtree(state, ignore_errors=True)
        os.makedirs(state)
        start(e, [EXPORTER, "--input.path=" + logs[e], "--dims.dir=" + dims,
                  "--state.dir=" + state,
                  "--web.listen-address=127.0.0.1:%d" % ports[e]])
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
                     "--web.listen-address=127.0.0.1:%d" % ports[name],
                     "--rules.alert.resend-delay=1s"])
    writer = Writer(logs)
    writer.start()
    try:
        run_checks(ports, writer)
    finally:
        writer.stop_ev.set()
        writer.join(2)
        stop_all()
        hook.shutdown()


def run_checks(ports, writer):
    proms = {"cn-hangzhou": ports["prom-cn-hangzhou"],
             "cn-beijing": ports["prom-cn-beijing"], "global": ports["prom-global"]}
    ok = all(wait_ready("http://127.0.0.1:%d/metrics" % ports[e]) for e in RATES)
    check("4 exporters serve /metrics", ok)
    ok = wait_ready("http://127.0.0.1:%d/-/ready" % ports["am"])
    check("alertmanager ready", ok)
    ok = all(wait_ready("http://127.0.0.1:%d/-/ready" % p) for p in proms.values())
    check("3 Prometheus servers ready", ok)
    if failed:
        return

    # Targets: 2 exporters per region, 2 federation targets in the global.
    def targets_up(port, n):
        res, _ = query(port, "up == 1")
        return res is not None and len(res) == n
    for r in REGIONS:
        check("%s Prometheus scrapes its 2 exporters" % r,
              wait_for(lambda: targets_up(proms[r], 2), 20))
    check("global Prometheus federates both regions",
          wait_for(lambda: targets_up(proms["global"], 2), 20))

    # Rules loaded and evaluated without error.
    for name, port in proms.items():
        d = json.loads(http_get("http://127.0.0.1:%d/api/v1/rules" % port))
        rules = [r for g in d["data"]["groups"] for r in g["rules"]]
        bad = [(r["name"], r.get("lastError")) for r in rules
               if r.get("health") not in ("ok", "unknown")]
        want = 21 if name != "global" else 28
        check("%s Prometheus: %d rules loaded, none unhealthy" % (name, want),
              len(rules) == want and not bad, "%d rules, bad %s" % (len(rules), bad))

    # ---- QPS: global per product == sum over both regions of lines/s written.
    # Wait until the rate windows are full everywhere: WINDOW seconds of
    # regional samples, then two more rule/federation hops.
    def global_has_all():
        res, _ = query(proms["global"], "product:gw_product_requests:rate1m")
        return res and len(res) == 4
    wait_for(global_has_all, 30)
    time.sleep(max(0, WINDOW + 8 - (time.time() - writer.t0)))
    expected = {}
    for e, products in RATES.items():
        for p, rate in products.items():
            expected[p] = expected.get(p, 0) + rate
    # The writer's own average since it started, as a cross-check that it
    # kept its rates on this (shared, noisy) machine (a little below the
    # configured rate: floor(), and up to 50 ms since the last batch).
    with writer.lock:
        c1 = dict(writer.count)
    t1 = time.time()
    achieved = {p: sum(c1[(e, q)] for (e, q) in c1 if q == p) / (t1 - writer.t0)
                for p in expected}
    # Tolerance.  Each exporter's counter is sampled every 1 s; rate() over
    # the 20 s window divides the increase between the first and last sample
    # inside it by their distance and extrapolates linearly to the window
    # edges, which is exact for a constant rate.  What is left: the writer's
    # count is floor(rate*t) and is appended every 50 ms, so at each of the
    # two samples the counter differs from rate*t by up to 1 line plus one
    # 50 ms batch (rate/20 lines, <= 1 line here): <= 2 lines per end, 4 per
    # window, over at least 19 s between first and last sample: 4/19 lines/s
    # per exporter series.  Scrape timestamps are taken when the scrape
    # starts, not when the exporter answers; a few ms of jitter is rate*j/19,
    # covered by a further 2 % of the value.
    res, err = query(proms["global"], "product:gw_product_requests:rate1m")
    got = {r["metric"]["product"]: float(r["value"][1]) for r in res or []}
    for p in sorted(expected):
        n_series = sum(1 for e in RATES if p in RATES[e])
        tol = n_series * 4.0 / (WINDOW - 1) + 0.02 * expected[p]
        g = got.get(p)
        check("global QPS of %s = sum of both regions' lines/s" % p,
              g is not None and abs(g - expected[p]) <= tol,
              "global %s, written %d/s (writer achieved %.2f/s), tolerance %.2f"
              % ("%.3f" % g if g is not None else "none", expected[p],
                 achieved[p], tol))
    # The seed's own query, and per region.
    res, _ = query(proms["global"], "sum(namespace_product_gw_http_req) by (product)")
    got2 = {r["metric"]["product"]: float(r["value"][1]) for r in res or []}
    check("seed query sum(namespace_product_gw_http_req) by (product) agrees",
          got2 and all(abs(got2.get(p, -1) - got[p]) <= 0.01 * got[p] + 0.2
                       for p in got), str(got2))
    res, _ = query(proms["global"], "sum by (region, product) (namespace_product_gw_http_req)")
    ok, detail = True, []
    for r in res or []:
        reg, p = r["metric"]["region"], r["metric"]["product"]
        want = sum(RATES[e].get(p, 0) for e in REGIONS[reg])
        n_series = sum(1 for e in REGIONS[reg] if p in RATES[e])
        v = float(r["value"][1])
        detail.append("%s/%s %.2f (%d)" % (reg, p, v, want))
        ok = ok and abs(v - want) <= n_series * 4.0 / (WINDOW - 1) + 0.02 * want
    check("per-region QPS (region label from federation) = lines/s written there",
          ok and len(res or []) == 6, ", ".join(detail))

    res, _ = query(proms["global"], 'ALERTS{alertname="HighErrorRate"}')
    check("no HighErrorRate before the burst", res == [], str(res))

    # ---- 5xx burst: 10 % of ecs lines on hz1 become 503.
    log("burst starts: every 10th %s line of %s (%s) is a 503"
        % (BURST_PRODUCT, BURST_EXPORTER, REGION_OF[BURST_EXPORTER]))
    with writer.lock:
        writer.burst = True
    fired = wait_for(lambda: hook_alerts("HighErrorRate", "firing"), 60)
    t_first = writer.burst_first
    if check("HighErrorRate reaches the webhook", bool(fired)):
        t, path, a = fired[0]
        lbl = a["labels"]
        check("HighErrorRate has product=%s region=%s"
              % (BURST_PRODUCT, REGION_OF[BURST_EXPORTER]),
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
              " (for: %s, scrape/eval 1 s, group_wait 0s)" % (detection, FOR))
        check("detection within 45 s", detection < 45, "%.1f s" % detection)

    # ---- inhibition: the burst also pushes ecs APIs' 503 ratio above 5 %;
    # while HighErrorRate fires for the same product and region,
    # Alertmanager must hold ApiHigh503Ratio back (alerts/alertmanager.yml).
    def api503_in_am():
        d = json.loads(http_get("http://127.0.0.1:%d/api/v2/alerts" % ports["am"]))
        return [a for a in d if a["labels"].get("alertname") == "ApiHigh503Ratio"]
    got503 = wait_for(api503_in_am, 20)
    check("ApiHigh503Ratio fires during the burst and is inhibited by HighErrorRate",
          bool(got503) and all(a["status"]["state"] == "suppressed" and
                               a["status"]["inhibitedBy"] for a in got503),
          "; ".join("%s %s %s" % (a["labels"].get("api"), a["status"]["state"],
                                  a["status"]["inhibitedBy"]) for a in got503))

    # ---- every recording rule and every dashboard query has data
    # (the burst produced the 503 series).
    time.sleep(2)
    for name, files in (("cn-hangzhou", ("regional.rules.yml",)),
                        ("global", ("global.rules.yml",))):
        names = []
        for f in files:
            names += re.findall(r"^\s*- record:\s*(\S+)",
                                open(os.path.join(ALERTS, f)).read(), re.M)
        empty = [n for n in names if not (query(proms[name], n)[0])]
        check("%s: all %d recording rules have data" % (name, len(names)),
              not empty, ", ".join(empty))
    dash = dashboard_queries()
    check("grafana/dashboards has 6 dashboards", len(dash) == 6,
          ", ".join(os.path.basename(d[0]) for d in dash))
    for f, d, level, variables, panels in dash:
        targets = ([proms[r] for r in REGIONS] if level == "regional"
                   else [proms["global"]])
        for port in targets:
            values, subst = resolve_variables(port, variables)
            empty = []
            for title, expr in panels:
                e = subst(expr).replace("$__rate_interval", "1m") \
                               .replace("${__rate_interval}", "1m")
                res, err = query(port, e)
                if not res:
                    empty.append("%s: %s%s" % (title, e, (" (" + err + ")") if err else ""))
            where = "regional :%d" % port if level == "regional" else "global"
            check("%s (%s): all %d panel queries return data [%s]"
                  % (os.path.basename(f), where, len(panels),
                     ", ".join("%s=%s" % kv for kv in sorted(values.items())
                               if kv[0] != "datasource")),
                  not empty, "; ".join(empty))

    # ---- the burst stops: HighErrorRate resolves.
    with writer.lock:
        writer.burst = False
    t_stop = time.time()
    log("burst stops")
    resolved = wait_for(lambda: hook_alerts("HighErrorRate", "resolved"), 90)
    if check("HighErrorRate resolved at the webhook after the burst", bool(resolved)):
        print("      resolved %.1f s after the last 503 line (the %d s window"
              " must slide past the burst)" % (resolved[0][0] - t_stop, WINDOW))
    others = [(p, a["labels"]) for t, p, a in hook_alerts("HighErrorRate")
              if a["labels"].get("product") != BURST_PRODUCT or
              a["labels"].get("region") != REGION_OF[BURST_EXPORTER]]
    check("no HighErrorRate for any other product or region", not others, str(others))
    names = sorted({a["labels"]["alertname"] for t, p, payload in hook_posts
                    for a in (payload or {}).get("alerts", [])})
    log("alerts seen at the webhook: %s" % ", ".join(names))
    check("all processes still running at the end",
          all(p.poll() is None for n, p in procs),
          ", ".join(n for n, p in procs if p.poll() is not None))


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
        print("e2e: %d passed, %d failed (%.0f s)"
              % (passed, failed, time.time() - T_START))
    sys.exit(1 if failed else 0)
