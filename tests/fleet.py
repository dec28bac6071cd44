#!/usr/bin/env python3
"""fleet.py - tools/fleet_model.py against a real Prometheus.

A scaled-down region: 4 exporters on 127.0.0.1 with the default config (and
then config/examples/all_tenants.yml, per-uid series for every tenant), each
reading a log written here from the model's own traffic distribution
(seeded random; products, APIs and tenants Zipf-distributed, gc_level by
tenant rank through user_level.csv), one Prometheus scraping them with
alerts/regional.rules.yml and regional.alerts.yml.  Once every exporter has
read its lines and Prometheus has scraped and evaluated twice,
prometheus_tsdb_head_series (from Prometheus' own /metrics) must be within
10 % of the model's "regional Prometheus" figure, and the series of each
family (count by __name__ in Prometheus) are printed next to the model's.
Prints one line per check, then "fleet: N passed, M failed".
"""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
import fleet_model  # noqa: E402

EXPORTER = os.environ.get("GWLOG_EXPORTER", os.path.join(ROOT, "build", "gwlog_exporter"))
OUT = os.path.join(HERE, "out", "fleet")
NODES, LINES = 4, 20000
ARGS = ["--regions", "1", "--nodes", str(NODES), "--products", "20",
        "--apis-per-product", "15", "--tenants", "4000", "--key-share", "0.1",
        "--share-4xx", "0.05", "--share-5xx", "0.01", "--slow-share", "0.02",
        "--window", "100", "--rps", str(NODES * LINES / 100.0)]
passed = failed = 0
procs = []


def check(name, ok, detail=""):
    global passed, failed
    passed, failed = passed + bool(ok), failed + (not ok)
    print("%s %s%s" % ("ok   " if ok else "FAIL ", name, (": " + detail) if detail else ""))
    sys.stdout.flush()
    return ok


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def query(port, expr):
    try:
        d = json.loads(get("http://127.0.0.1:%d/api/v1/query?%s"
                           % (port, urllib.parse.urlencode({"query": expr}))))
        return d["data"]["result"]
    except Exception:
        return None


def wait_for(fn, timeout, step=0.5):
    end = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > end:
            return v
        time.sleep(step)


def write_inputs(a):
    tr = fleet_model.Traffic(a)
    dims = os.path.join(OUT, "dims")
    os.makedirs(dims)
    with open(os.path.join(dims, "gateway_cluster.csv"), "w") as f:
        f.write("local_ip,app_group,region_id\n")
        for i in range(NODES):
            f.write("10.0.0.%d,pop-region-r1,r1\n" % (i + 1))
    with open(os.path.join(dims, "user_level.csv"), "w") as f:
        f.write("uid,gc_level\n")
        for k, lvl in enumerate(tr.level):
            f.write("%d,%s\n" % (10000 + k, lvl))
    with open(os.path.join(dims, "api_meta.csv"), "w") as f:
        f.write("product,api,priority\n")
        for p in range(a.products):
            for i in range(a.apis_per_product):
                f.write("p%d,Api%d,P%d\n" % (p, i, i % 3))
    api_w = [q for p, i, q in tr.api]
    codes = [(c, e) for c, e, cls, s in tr.err] + [("200", "")]
    code_w = [s for c, e, cls, s in tr.err] + [1 - tr.non2xx]
    logs = []
    for n in range(NODES):
        rnd = random.Random(1000 + n)
        apis = rnd.choices(tr.api, api_w, k=LINES)
        uids = rnd.choices(range(a.tenants), tr.tenant, k=LINES)
        cs = rnd.choices(codes, code_w, k=LINES)
        path = os.path.join(OUT, "node%d.log" % n)
        with open(path, "w") as f:
            for (p, i, q), u, (code, ec) in zip(apis, uids, cs):
                slow = rnd.random() < a.slow_share
                f.write(json.dumps({
                    "__time__": int(time.time()), "Product": "p%d" % p, "Api": "Api%d" % i,
                    "Version": "2020-01-01", "Domain": "p%d.aliyuncs.com" % p,
                    "HttpCode": code, "ErrorCode": ec,
                    "TotalUsedTime": 1500 if slow else 20,
                    "LocalIp": "10.0.0.%d" % (n + 1), "CallerUid": str(10000 + u),
                    "RequestContent": "RegionId=r1;Action=Api%d" % i,
                    "Ext5": "{\"logRegionId\":\"r1\"}"}, separators=(",", ":")) + "\n")
        logs.append(path)
    return dims, logs


CONFIGS = [os.path.join(ROOT, "config", "gwlog_exporter.yml"),
           os.path.join(ROOT, "config", "examples", "all_tenants.yml")]


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    a = fleet_model.parser().parse_args(ARGS)
    dims, logs = write_inputs(a)
    for config in CONFIGS:
        run(config, dims, logs)
        stop()


def stop():
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    del procs[:]


def run(config, dims, logs):
    name = os.path.relpath(config, ROOT)
    print("      config %s" % name)
    a = fleet_model.parser().parse_args(ARGS + ["--config", config])
    data = os.path.join(OUT, "data-" + os.path.basename(config))
    ports = [free_port() for _ in range(NODES)]
    pport = free_port()
    for n in range(NODES):
        procs.append(subprocess.Popen(
            [EXPORTER, "--config.file=" + config, "--input.path=" + logs[n], "--dims.dir=" + dims,
             "--web.listen-address=127.0.0.1:%d" % ports[n]],
            stdout=open(os.path.join(OUT, "exp%d.log" % n), "wb"), stderr=subprocess.STDOUT))
    alerts = os.path.join(ROOT, "alerts")
    cfg = os.path.join(OUT, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global: {scrape_interval: 3s, scrape_timeout: 3s, evaluation_interval: 3s,"
                " external_labels: {region: r1}}\n"
                "rule_files: ['%s/regional.rules.yml', '%s/regional.alerts.yml']\n"
                "scrape_configs:\n  - job_name: gwlog\n    static_configs: [{targets: [%s]}]\n"
                % (alerts, alerts, ", ".join("'127.0.0.1:%d'" % p for p in ports)))
    procs.append(subprocess.Popen(
        ["prometheus", "--config.file=" + cfg, "--storage.tsdb.path=" + data,
         "--web.listen-address=127.0.0.1:%d" % pport],
        stdout=open(os.path.join(OUT, "prometheus.log"), "wb"), stderr=subprocess.STDOUT))

    def all_read():
        tot = 0
        for p in ports:
            try:
                text = get("http://127.0.0.1:%d/metrics" % p)
            except Exception:
                return False
            tot += sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
                       if l.startswith("gwlog_lines_total{"))
        return tot == NODES * LINES
    check("%s: 4 exporters read their %d lines each" % (name, LINES), wait_for(all_read, 120))
    # the exporters' own series (gwlog_*, process_*): a fixed overhead the
    # model takes as a parameter
    text = get("http://127.0.0.1:%d/metrics" % ports[0])
    a.self_series = sum(1 for l in text.splitlines() if l and not l.startswith(("#", "gw_")))
    m = fleet_model.model(a)

    # two scrapes and two evaluations after everything was read
    t0 = time.time()
    wait_for(lambda: query(pport, "up == 1") and len(query(pport, "up == 1")) == NODES, 60)
    while time.time() - t0 < 8:
        time.sleep(0.5)
    wait_for(lambda: query(pport, "region_tenant:gw_tenant_requests:rate1m"), 30)
    time.sleep(4)
    head = None
    for l in get("http://127.0.0.1:%d/metrics" % pport).splitlines():
        if l.startswith("prometheus_tsdb_head_series "):
            head = float(l.split()[1])
    res = query(pport, "count by (__name__) ({job=\"gwlog\", __name__=~\"gw_.*\"})") or []
    got = {}
    for r in res:
        fam = r["metric"]["__name__"]
        fam = fam[:-len("_bucket")] if fam.endswith("_bucket") else fam
        for suf in ("_sum", "_count"):
            if fam.endswith(suf) and fam[:-len(suf)] in m["per_exporter"]:
                fam = fam[:-len(suf)]
        got[fam] = got.get(fam, 0) + float(r["value"][1])
    for fam, v in m["per_exporter"].items():
        print("      %-38s model %7d x %d  prometheus %7d" % (fam, v, NODES, got.get(fam, 0)))
    want = m["regional_prometheus"]
    check("%s: prometheus_tsdb_head_series within 10 %% of the model (%d)" % (name, want),
          head is not None and abs(head - want) <= 0.1 * want,
          "head %s, %.1f %%" % (head, 100.0 * (head - want) / want if head else 0))


if __name__ == "__main__":
    try:
        main()
    finally:
        stop()
        print("fleet: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
