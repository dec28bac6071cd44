#!/usr/bin/env python3
"""exemplars.py - Exemplars on histogram buckets and counters (README,
"Exemplars"), end to end, against an independent computation.

- Lines with known trace ids and latencies are written in two batches (a
  scrape between them); some have no trace id, some one too long for
  OpenMetrics' 128 code points, some with quotes, backslashes, newlines
  and non-ASCII.  The expected exemplar of each bucket is computed here:
  the last line whose value falls in it (the first bucket whose bound is
  >= ms / 1000, else +Inf) and whose trace id is present, non-empty and
  fits; of each counter series, the last such line; and the skipped
  counts by reason.
- OpenMetrics (Accept: application/openmetrics-text; version=1.0.0) is
  parsed by formats.py's OpenMetrics checker, which validates exemplars
  (only on _total and _bucket samples, label set within 128 code points);
  every exemplar equals the expected one, and its timestamp lies between
  the batch's writing and the scrape.
- Protobuf: the same exemplars decoded from Bucket.exemplar and
  Counter.exemplar.  The 0.0.4 text has none, and promtool check metrics
  passes on it.
- A real Prometheus (2.42, --enable-feature=exemplar-storage) scrapes the
  exporter; /api/v1/query_exemplars returns the expected trace id of
  every bucket and counter series.

Prints one line per check and "exemplars: N passed, M failed (S s)".
"""

import json
import os
import random
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import formats as F   # noqa: E402
import tailing as T   # noqa: E402

OUT = os.path.join(T.HERE, "out", "exemplars")
check = T.check

BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
HIST = "ex_request_duration_seconds"
COUNTER = "ex_requests_total"
PLAIN = "ex_plain_total"
LABEL = "trace_id"

CONFIG = """
inputs: [{paths: [PATH], format: json}]
fields:
  product: {key: Product}
  ms:      {key: TotalUsedTime}
  code:    {key: HttpCode}
  trace:   {key: TraceId}
  code_class: {from: code, regex: '([0-9]).*', replace: '${1}xx', default: unknown}
metrics:
  - name: %(hist)s
    help: Latency.
    type: histogram
    labels: [product]
    value: {field: ms, scale: 0.001}
    buckets: %(buckets)s
    exemplar: {label: %(label)s, field: trace}
  - name: %(counter)s
    help: Requests.
    type: counter
    labels: [product, code_class]
    exemplar: {field: trace}
  - name: %(plain)s
    help: Requests, no exemplars.
    type: counter
    labels: [product]
""" % {"hist": HIST, "counter": COUNTER, "plain": PLAIN, "label": LABEL,
       "buckets": json.dumps(BUCKETS)}


def lines_for(rng, n, start):
    """n lines as (json bytes, product, ms, code, trace or None)."""
    out = []
    for i in range(n):
        product = rng.choice(["ecs", "rds", "oss"])
        ms = rng.choice([rng.randint(0, 12000), rng.choice(
            [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 10001])])
        code = rng.choice([200, 200, 200, 404, 503])
        r = rng.random()
        if r < 0.08:
            trace = None                                    # absent
        elif r < 0.10:
            trace = ""                                      # empty
        elif r < 0.12:
            trace = "x" * (129 - len(LABEL))                # too long
        elif r < 0.14:
            trace = "é" * (128 - len(LABEL))                # fits exactly
        elif r < 0.17:
            trace = 'q"\\\n%d-ü' % (start + i)              # escapes
        else:
            trace = "%032x" % rng.getrandbits(128)
        rec = {"Product": product, "TotalUsedTime": str(ms),
               "HttpCode": code}
        if trace is not None:
            rec["TraceId"] = trace
        out.append((json.dumps(rec).encode() + b"\n", product, ms, code,
                    trace))
    return out


def bucket_of(v):
    for b in BUCKETS:
        if v <= b:
            return float(b)
    return float("inf")


def expected(lines):
    """The independent computation: {sample key: (trace, value)} and the
    skipped counts {(metric, reason): n}."""
    want, skipped = {}, {}
    for _, product, ms, code, trace in lines:
        v = ms / 1000
        cls = "%sxx" % str(code)[0]
        for metric in (HIST, COUNTER):
            if not trace:
                reason = "absent"
            elif len(LABEL) + len(trace) > 128:
                reason = "too_long"
            else:
                reason = None
            if reason:
                skipped[(metric, reason)] = skipped.get((metric, reason),
                                                        0) + 1
                continue
            if metric == HIST:
                k = F.key(HIST + "_bucket", {"product": product,
                                             "le": bucket_of(v)})
                want[k] = (trace, v)
            else:
                k = F.key(COUNTER, {"product": product, "code_class": cls})
                want[k] = (trace, 1.0)
    return want, skipped


def compare(name, got, want, t_lo, t_hi):
    bad = []
    for k, (trace, v) in want.items():
        g = got.get(k)
        if g is None:
            bad.append("%s: missing" % (k,))
            continue
        labels, gv, ts = g
        if labels != {LABEL: trace} or gv != v:
            bad.append("%s: got %s %r, want %r %r" % (k, labels, gv, trace,
                                                      v))
        elif ts is None or not (t_lo - 0.001 <= ts <= t_hi + 0.001):
            bad.append("%s: timestamp %s not in [%.3f, %.3f]"
                       % (k, ts, t_lo, t_hi))
    extra = [k for k in got if k not in want]
    check("%s: every exemplar is the last line of its bucket or series"
          % name, not bad and len(want) > 20, "%d compared, %s"
          % (len(want), bad[:3]))
    check("%s: no exemplar where no line fits" % name, not extra,
          str(extra[:3]))


def scrape(ex, accept):
    return F.get(ex.port, accept)[1]


def formats_tests(ex, lines, t_lo):
    want, skipped = expected(lines)
    om = scrape(ex, "application/openmetrics-text; version=1.0.0").decode()
    t_hi = time.time()
    got = {}
    try:
        samples, _ = F.check_openmetrics(om, got)
        ok, detail = True, "%d samples, %d exemplars" % (len(samples),
                                                          len(got))
    except (ValueError, KeyError, IndexError) as e:
        samples, ok, detail = {}, False, str(e)
    check("openmetrics: valid with exemplars", ok, detail)
    compare("openmetrics", got, want, t_lo, t_hi)
    check("openmetrics: no exemplar on %s (not configured)" % PLAIN,
          not any(k[0] == PLAIN for k in got))
    for (metric, reason), n in sorted(skipped.items()):
        k = F.key("gwlog_exemplars_skipped_total", {"metric": metric,
                                                    "reason": reason})
        check("gwlog_exemplars_skipped_total{%s,%s} = %d"
              % (metric, reason, n), samples.get(k) == n,
              "got %s" % samples.get(k))

    pb = scrape(ex, F.PB_ACCEPT)
    t_hi = time.time()
    pgot = {}
    try:
        F.decode_protobuf(pb, pgot)
        ok, detail = True, "%d exemplars" % len(pgot)
    except (ValueError, KeyError, IndexError, UnicodeDecodeError) as e:
        ok, detail = False, str(e)
    check("protobuf: decodes with exemplars", ok, detail)
    compare("protobuf", pgot, want, t_lo, t_hi)

    text = scrape(ex, None).decode()
    check("text 0.0.4: no exemplar", " # " not in text and LABEL not in text)
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       capture_output=True)
    check("text 0.0.4: promtool check metrics", p.returncode == 0,
          (p.stdout + p.stderr).decode()[-300:])
    return want


def checker_tests():
    """The OpenMetrics checker refuses misplaced or oversized exemplars."""
    base = ("# TYPE a counter\na_total 1 # {t=\"x\"} 1 2\n"
            "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1 # {t=\"y\"} 0.5\n"
            "h_count 1%s\n# EOF\n")
    try:
        F.check_openmetrics(base % "")
        ok = True
    except ValueError as e:
        ok = str(e)
    check("checker accepts exemplars on _total and _bucket", ok is True,
          str(ok))
    for what, body in (
            ("an exemplar on _count", base % ' # {t="z"} 1'),
            ("a label set over 128", base.replace('t="x"', 't="%s"'
                                                  % ("x" * 128)) % ""),
            ("junk after an exemplar", base.replace("} 1 2", "} 1 2 3")
             % "")):
        try:
            F.check_openmetrics(body)
            refused = False
        except ValueError:
            refused = True
        check("checker refuses %s" % what, refused)


def prometheus_exemplars(ex, d, want, flags):
    pd = os.path.join(d, "prom-" + "-".join(f.split("=")[1] for f in flags))
    os.makedirs(pd)
    conf = os.path.join(pd, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: gwlog\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % ex.port)
    port = F.free_port()
    log = open(os.path.join(pd, "prometheus.log"), "wb")
    t0 = time.time()
    p = subprocess.Popen(["prometheus", "--config.file=" + conf,
                          "--storage.tsdb.path=" + os.path.join(pd, "data"),
                          "--web.listen-address=127.0.0.1:%d" % port,
                          ] + flags,
                         stdout=log, stderr=log)
    found, missing = {}, list(want)
    try:
        deadline = time.time() + 90
        while time.time() < deadline and missing:
            try:
                found = {}
                for q in (HIST + "_bucket", COUNTER):
                    url = ("http://127.0.0.1:%d/api/v1/query_exemplars?%s"
                           % (port, urllib.parse.urlencode({
                               "query": q, "start": "%.3f" % (t0 - 3600),
                               "end": "%.3f" % (time.time() + 60)})))
                    with urllib.request.urlopen(url, timeout=10) as r:
                        res = json.load(r)["data"]
                    for s in res:
                        lab = dict(s["seriesLabels"])
                        name = lab.pop("__name__")
                        lab.pop("job", None)
                        lab.pop("instance", None)
                        k = F.key(name, lab)
                        found[k] = [(e["labels"].get(LABEL),
                                     float(e["value"])) for e in s["exemplars"]]
                # The last exemplar Prometheus holds for each series is
                # the one expected.
                missing = [k for k, tv in want.items()
                           if not found.get(k) or found[k][-1] != tv]
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.5)
    finally:
        F.stop(p)
        log.close()
    check("prometheus %s: query_exemplars has the expected last exemplar "
          "of every bucket and series" % " ".join(flags),
          not missing, "%d of %d missing, e.g. %s; got %s" % (
              len(missing), len(want), missing[:2],
              [(k, found.get(k)) for k in missing[:2]]))


def main():
    if shutil.which("promtool") is None or shutil.which("prometheus") is None:
        print("exemplars: prometheus/promtool missing (make test installs "
              "them)")
        return 1
    shutil.rmtree(OUT, ignore_errors=True)
    T.OUT = OUT
    t0 = time.time()
    d = T.setup("exemplars")
    log = os.path.join(d, "access.log")
    conf = os.path.join(d, "exemplars.yml")
    with open(conf, "w") as f:
        f.write(CONFIG.replace("PATH", log))
    rng = random.Random(1414)
    open(log, "wb").close()
    ex = T.Exporter(d, [log], config=conf, name="exemplars")
    try:
        checker_tests()
        written = []
        for batch in range(2):
            new = lines_for(rng, 1500, len(written))
            t_lo = time.time()
            with open(log, "ab") as f:
                f.writelines(b for b, *_ in new)
            written += new
            w, got = T.settle(ex, [log], timeout=60)
            check("batch %d: exporter read %d lines" % (batch, w), w == got,
                  "%s of %s" % (got, w))
            want = formats_tests(ex, written, t_lo if batch == 0 else t_first)
            if batch == 0:
                t_first = t_lo
        # OpenMetrics (asked by default), then protobuf (asked with
        # native histograms on).
        prometheus_exemplars(ex, d, want,
                             ["--enable-feature=exemplar-storage"])
        prometheus_exemplars(ex, d, want, [
            "--enable-feature=exemplar-storage,native-histograms"])
    except Exception as e:  # noqa: BLE001
        check("exemplars test", False, "%s: %s" % (type(e).__name__, e))
    finally:
        ex.stop()
    print("exemplars: %d passed, %d failed (%.0f s)"
          % (T.passed, T.failed, time.time() - t0))
    return 0 if T.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
