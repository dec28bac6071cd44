#!/usr/bin/env python3
"""operability.py - reload without losing counts, health and readiness, the
status page in headless Chromium, and the line tester.

Prints one line per check and "operability: N passed, M failed".
"""

import csv as csvmod
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tailing as T   # noqa: E402  (Exporter, Writer, pool, compare, ...)

HERE = T.HERE
ROOT = T.ROOT
OUT = os.path.join(HERE, "out", "operability")

check = T.check                 # one tally for every scenario here


def http(ex, path, method="GET"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (ex.port, path),
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def setup(name):
    d = os.path.join(OUT, name)
    os.makedirs(os.path.join(d, "dims"))
    subprocess.run([T.LOGGEN, "--dims-dir=" + os.path.join(d, "dims")],
                   check=True)
    return d


def reload_under_load():
    """Reloads while a writer appends: SIGHUP twice, POST /-/reload twice,
    one broken config in between.  The families' definitions do not change
    (only help texts and a new family), so every series of the default
    families must equal the reference over everything written."""
    d = setup("reload")
    config = T.make_config(d)
    log = os.path.join(d, "access.log")
    truth = os.path.join(d, "truth.log")
    lines = T.pool(d, 12000, 31)
    ex = T.Exporter(d, [log], config=config, name="reload")
    ex.args.append("--web.enable-lifecycle")
    ex.stop()
    ex.start()
    w = T.Writer(log, lines, 2000, truth, seed=31)
    w.start()
    original = open(config).read()
    extra = ("\n  - name: gw_reload_test_total\n    help: added by a reload\n"
             "    type: counter\n    labels: [product]\n")
    steps = [
        ("SIGHUP, help text changed", original.replace(
            "Requests per tenant and tenant level.",
            "Requests per tenant and tenant level (reloaded).")),
        ("POST /-/reload, a family added", original + extra),
        ("broken config refused", original + "\nmetrics: [\n"),
        ("SIGHUP back to the original", original),
        ("POST /-/reload, unchanged", original),
    ]
    for i, (what, text) in enumerate(steps):
        time.sleep(0.9)
        with open(config, "w") as f:
            f.write(text)
        if "POST" in what or "broken" in what:
            status, body = http(ex, "/-/reload", "POST")
        else:
            ex.p.send_signal(signal.SIGHUP)
            time.sleep(1.2)
            status, body = 200, ""
        ok = ex.value("gwlog_config_last_reload_successful")
        if "broken" in what:
            check("reload: %s (500, gauge 0, old config runs)" % what,
                  status == 500 and ok == 0
                  and re.search(r"config\.yml:\d+:", body) is not None,
                  "%d %s" % (status, body.strip()[:120]))
        else:
            check("reload: %s" % what, status == 200 and ok == 1,
                  "%d %s" % (status, body.strip()[:120]))
        if "added" in what:
            check("reload: the new family is served",
                  "# TYPE gw_reload_test_total counter" in ex.metrics())
    w.join()
    T.compare(ex, [truth], d, "reload under load")
    ex.stop()


def health():
    d = setup("health")
    log = os.path.join(d, "a.log")
    with open(log, "wb") as f:
        f.writelines(T.pool(d, 50, 32))
    ex = T.Exporter(d, [log], name="health")
    status, body = http(ex, "/-/healthy")
    check("/-/healthy is 200", status == 200, body.strip())
    status, body = http(ex, "/-/ready")
    check("/-/ready is 200 once started", status == 200, body.strip())
    status, body = http(ex, "/-/reload", "POST")
    check("POST /-/reload is 403 without --web.enable-lifecycle",
          status == 403, body.strip())
    status, _ = http(ex, "/-/reload", "GET")
    check("GET /-/reload is 405", status == 405)
    ex.stop()


def chromium(d, url, shot):
    """Loads url in headless Chromium: saves a screenshot to shot and
    returns the DOM after load ("" when Chromium is missing)."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not check("chromium is installed", exe is not None):
        return ""
    profile = tempfile.mkdtemp(prefix="chromium-", dir=d)
    flags = [exe, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--user-data-dir=" + profile]
    r = subprocess.run(flags + ["--screenshot=" + shot,
                                "--window-size=1280,1600", url],
                       capture_output=True, timeout=120)
    check("chromium renders %s" % os.path.basename(shot),
          os.path.exists(shot) and os.path.getsize(shot) > 10000,
          "%s (%d bytes)" % (shot, os.path.getsize(shot))
          if os.path.exists(shot) else r.stderr.decode()[-300:])
    r = subprocess.run(flags + ["--dump-dom", url], capture_output=True,
                       timeout=120)
    dom = r.stdout.decode()
    check("chromium dumps the page's DOM", "<table id=\"files\">" in dom,
          "%d bytes" % len(dom))
    return dom


def exposition(text):
    """{(name, frozenset(labels)): value} from a text exposition."""
    out = {}
    for line in text.splitlines():
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$',
                     line)
        if m:
            labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"',
                                          m.group(2) or ""))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def mval(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def page_num(text):
    """A number as the page writes it (34,873,383 or 1,234.5), or None."""
    if not re.fullmatch(r"-?\d{1,3}(,\d{3})*(\.\d+)?", text or ""):
        return None
    return float(text.replace(",", ""))


def page_age(text):
    """Seconds from the page's "3 min 12 s", "2 h 5 min", "42 s"."""
    units = {"d": 86400, "h": 3600, "min": 60, "s": 1}
    parts = re.findall(r"(\d+) (d|h|min|s)\b", text)
    return sum(int(n) * units[u] for n, u in parts) if parts else None


def tile(dom, tid):
    m = re.search(r'id="%s"><small>[^<]*</small><b>([^<]*)</b>' % tid, dom)
    return m.group(1) if m else None


def flagged(dom):
    """The elements the page colours red or amber."""
    return re.findall(r'<(\w+) class="[^"]*\b(bad|warn)\b[^"]*"', dom)


# The key columns of the default config's tables (distinct keys = rows).
KEYS = {"api_meta": ("product", "api"), "gateway_cluster": ("local_ip",),
        "user_level": ("uid",)}


def status_page_healthy():
    """A healthy exporter in headless Chromium: every number on the page
    equals the exposition's, nothing is red or amber, and the rates between
    two loads of the page match the lines and bytes written between them."""
    d = setup("status")
    logs = [os.path.join(d, n) for n in ("a.log", "b.log")]
    lines = T.pool(d, 4500, 33)             # before: pool.log is a *.log
    more = lines[3000:]
    with open(logs[0], "wb") as f:
        f.writelines(lines[:2000])
    with open(logs[1], "wb") as f:
        f.writelines(lines[2000:3000])
    glob = os.path.join(d, "*.log")
    ex = T.Exporter(d, [glob], state=os.path.join(d, "st"), name="status")
    T.settle(ex, logs)
    url = "http://127.0.0.1:%d/" % ex.port
    dom = chromium(d, url, os.path.join(OUT, "status.png"))
    now = time.time()
    m = exposition(ex.metrics())

    for result in ("ok", "invalid", "filtered"):
        got = page_num(tile(dom, "lines-" + result))
        want = mval(m, "gwlog_lines_total", result=result)
        check("page: lines %s equals /metrics" % result,
              got is not None and got == want, "page %s, metrics %s"
              % (tile(dom, "lines-" + result), want))
    got = tile(dom, "bytes-read")
    want = mval(m, "gwlog_bytes_read_total")
    check("page: bytes read equals /metrics, with thousands separators",
          page_num(got) == want and want >= 1000 and "," in got,
          "page %s, metrics %s" % (got, want))
    start = mval(m, "process_start_time_seconds")
    up = page_age(tile(dom, "uptime") or "")
    check("page: uptime agrees with process_start_time_seconds",
          up is not None and start is not None
          and abs((now - start) - up) <= 10,
          "page %s, metrics %s s" % (up, now - start if start else None))
    rss = mval(m, "process_resident_memory_bytes")
    mr = re.fullmatch(r"([\d.]+) MiB", tile(dom, "rss") or "")
    check("page: resident memory agrees with process_resident_memory_bytes",
          mr is not None and rss is not None
          and abs(float(mr.group(1)) * 1048576 - rss) <= 0.25 * rss,
          "page %s, metrics %s" % (tile(dom, "rss"), rss))

    mi = re.search(r"<tr><td><code>%s</code></td><td>json</td><td>(.*?)</td>"
                   r"<td class=\"n\">(\d+) files</td></tr>"
                   % re.escape(glob), dom)
    listed = re.findall(r"<code>([^<]*)</code>", mi.group(1)) if mi else []
    check("page: the input glob with the files it matches",
          mi is not None and sorted(listed) == sorted(logs)
          and mi.group(2) == "2", mi.group(0)[:300] if mi else "no row")
    for log in logs:
        mf = re.search(r"<code>%s</code></td><td class=\"n\">([\d,]+)</td>"
                       r"<td class=\"n\">([\d,]+)</td>" % re.escape(log), dom)
        off = mval(m, "gwlog_file_offset_bytes", path=log)
        size = mval(m, "gwlog_file_size_bytes", path=log)
        check("page: %s offset and size equal /metrics"
              % os.path.basename(log),
              mf is not None and page_num(mf.group(1)) == off
              and page_num(mf.group(2)) == size,
              "page %s, metrics %s/%s" % (mf.groups() if mf else None, off,
                                           size))
    for fam in ("gw_product_requests_total", "gw_tenant_requests_total"):
        mf = re.search(r"<code>%s</code></td><td>counter</td><td class=\"n\">"
                       r"([\d,]+)</td>" % fam, dom)
        want = mval(m, "gwlog_series", metric=fam)
        check("page: series of %s equal gwlog_series" % fam,
              mf is not None and page_num(mf.group(1)) == want,
              "page %s, metrics %s" % (mf.group(1) if mf else None, want))
    tables = sorted({dict(k[1])["table"] for k in m
                     if k[0] == "gwlog_dim_cache_entries"})
    check("page: the exposition has dimension tables", len(tables) >= 3,
          str(tables))
    for t in tables:
        csv = os.path.join(d, "dims", t + ".csv")
        mt = re.search(r"<tr><td>%s</td><td><code>([^<]*)</code></td>"
                       r"<td>[^<]*</td><td>[^<]*</td><td class=\"n\">([\d,]+)"
                       r"</td><td>([^<]*)<br><span class=\"dim\">([^<]*) ago"
                       r"</span></td><td class=\"ok\">loaded</td>"
                       % re.escape(t), dom)
        rows = mval(m, "gwlog_dim_cache_entries", table=t)
        loaded = mval(m, "gwlog_dim_last_refresh_timestamp_seconds", table=t)
        want_when = time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                  time.gmtime(int(loaded))) if loaded else None
        with open(csv, newline="") as f:
            cells = list(csvmod.reader(f))
        keys = [cells[0].index(k) for k in KEYS[t]]
        nrows = len({tuple(r[k] for k in keys) for r in cells[1:]
                     if len(r) == len(cells[0])})
        check("page: table %s source, rows, last load and age" % t,
              mt is not None and mt.group(1) == csv
              and page_num(mt.group(2)) == rows == nrows
              and mt.group(3) == want_when
              and abs(page_age(mt.group(4)) - (now - loaded)) <= 10,
              "page %s; metrics rows %s (csv %d) loaded %s"
              % (mt.groups() if mt else None, rows, nrows, want_when))
    check("page: no red or amber on a healthy exporter",
          flagged(dom) == [] and 'class="banner ok"' in dom,
          str(flagged(dom)[:5]))
    check("page: reloads itself",
          re.search(r'<meta http-equiv="refresh" content="\d+">', dom)
          is not None)
    check("page: links to the metrics", 'href="/metrics"' in dom)

    # Rates between two loads of the page (urllib, nothing in between):
    # lines and bytes written between them over the time between them.
    def page():
        t0 = time.time()
        body = http(ex, "/")[1]
        return t0, time.time(), body

    time.sleep(1.5)             # the page keeps a sample a second apart
    m0 = exposition(ex.metrics())
    t1 = page()
    with open(logs[0], "ab") as f:
        f.writelines(more)
    T.settle(ex, logs)
    m1 = exposition(ex.metrics())
    time.sleep(max(0.0, t1[1] + 2.0 - time.time()))
    t2 = page()
    dl = (sum(v for k, v in m1.items() if k[0] == "gwlog_lines_total")
          - sum(v for k, v in m0.items() if k[0] == "gwlog_lines_total"))
    db = (mval(m1, "gwlog_bytes_read_total")
          - mval(m0, "gwlog_bytes_read_total"))
    lo, hi = t2[0] - t1[1], t2[1] - t1[0]
    lr = page_num(tile(t2[2], "lines-rate"))
    br = page_num(tile(t2[2], "bytes-rate"))
    check("page: lines/s = lines read between two loads / time between",
          dl == len(more) and lr is not None
          and dl / hi - 0.05 <= lr <= dl / lo + 0.05,
          "page %s, %d lines in [%.2f, %.2f] s" % (lr, dl, lo, hi))
    check("page: bytes/s = bytes read between two loads / time between",
          br is not None and db / hi - 0.5 <= br <= db / lo + 0.5,
          "page %s, %d bytes in [%.2f, %.2f] s" % (br, db, lo, hi))
    ex.stop()


def status_page_misconfigured():
    """--input.path=/nonexistent/access.log and an empty dimension
    directory: the page is red, says which glob matches nothing and which
    table is missing, and shows the text of a refused reload."""
    d = os.path.join(OUT, "misconfigured")
    os.makedirs(os.path.join(d, "dims"))
    config = T.make_config(d)
    glob = "/nonexistent/access.log"
    ex = T.Exporter(d, [glob], config=config, name="misconfigured")
    ex.args.append("--web.enable-lifecycle")
    ex.stop()
    ex.start()
    with open(config, "a") as f:
        f.write("\nmetrics: [\n")
    code, reason = http(ex, "/-/reload", "POST")
    check("misconfigured: a broken config is refused", code == 500,
          "%d %s" % (code, reason.strip()[:200]))
    url = "http://127.0.0.1:%d/" % ex.port
    dom = chromium(d, url, os.path.join(OUT, "status-misconfigured.png"))
    m = exposition(ex.metrics())

    check("misconfigured: the glob shows \"matches nothing\" in red",
          re.search(r"<tr><td><code>%s</code></td><td>json</td><td></td>"
                    r"<td class=\"bad\">matches nothing</td></tr>"
                    % re.escape(glob), dom) is not None
          and mval(m, "gwlog_open_files") == 0)
    check("misconfigured: the summary is red and names the glob",
          'class="banner bad"' in dom
          and re.search(r'<li class="bad">Input glob <code>%s</code> matches '
                        r"nothing" % re.escape(glob), dom) is not None)
    tables = sorted({dict(k[1])["table"] for k in m
                     if k[0] == "gwlog_dim_cache_entries"})
    for t in tables:
        mt = re.search(r"<tr><td>%s</td><td><code>[^<]*</code></td>"
                       r"<td>[^<]*</td><td>[^<]*</td><td class=\"n\">([\d,]+)"
                       r"</td><td>never</td><td class=\"bad\">file not found"
                       r"</td>" % re.escape(t), dom)
        check("misconfigured: table %s is red, 0 rows as in /metrics" % t,
              mt is not None and mval(m, "gwlog_dim_cache_entries", table=t)
              == page_num(mt.group(1)) == 0
              and ('<li class="bad">Dimension table <code>%s</code>' % t)
              in dom, mt.group(0) if mt else "no row")
    check("misconfigured: tables of the exposition",
          len(tables) >= 3, str(tables))
    mr = re.search(r'id="reload-error">FAILED: <code>([^<]*)</code>', dom)
    check("misconfigured: the page shows the reload error itself",
          mr is not None and mr.group(1).strip() != ""
          and mr.group(1).strip() in reason
          .replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
          .replace('"', "&quot;"),
          "page %r, reload answered %r" % (mr.group(1) if mr else None,
                                           reason.strip()[:200]))
    check("misconfigured: red classes present",
          any(c == "bad" for _, c in flagged(dom)), str(flagged(dom)[:5]))
    ex.stop()


def status_page_degraded():
    """A working exporter with three troubles: a family past max_series
    (amber, its overflow count as in /metrics), a dimension table whose
    reload failed and kept its rows (amber), and checkpoints failing once
    the state directory is removed (red, rising)."""
    d = setup("degraded")
    config = T.make_config(d)
    text = open(config).read()
    text = text.replace("    labels: [uid, gc_level]\n",
                        "    labels: [uid, gc_level]\n    max_series: 5\n", 1)
    with open(config, "w") as f:
        f.write(text)
    log = os.path.join(d, "access.log")
    with open(log, "wb") as f:
        f.writelines(T.pool(d, 3000, 35))
    state = os.path.join(d, "st")
    ex = T.Exporter(d, [log], config=config, state=state, name="degraded")
    T.settle(ex, [log])
    csv = os.path.join(d, "dims", "user_level.csv")
    with open(csv, newline="") as f:
        cells = list(csvmod.reader(f))
    nrows = len({r[cells[0].index("uid")] for r in cells[1:]
                 if len(r) == len(cells[0])})
    with open(csv, "w") as f:
        f.write("uidd,gc_level\n1,GC5\n")       # no "uid" column: refused
    shutil.rmtree(state)
    with open(state, "w") as f:              # a file where the directory was:
        f.write("not a directory\n")        # root ignores permissions

    # Checkpoints fail from now on: two loads of the page a few seconds
    # apart see gwlog_checkpoint_errors_total rise.
    deadline = time.time() + 60
    body = ""
    while time.time() < deadline:
        body = http(ex, "/")[1]
        if ("Checkpoints are failing" in body
                and "last load failed, previous rows kept" in body):
            break
        time.sleep(1.5)
    m = exposition(ex.metrics())
    mc = re.search(r'<li class="bad">Checkpoints are failing '
                   r"\(gwlog_checkpoint_errors_total ([\d,]+), rising", body)
    errors = mval(m, "gwlog_checkpoint_errors_total")
    check("degraded: failing checkpoints are red, the count as in /metrics",
          mc is not None and 0 < page_num(mc.group(1)) <= errors
          and 'class="banner bad"' in body,
          "page %s, metrics %s" % (mc.group(1) if mc else None, errors))
    mt = re.search(r'<tr><td>user_level</td>.*?<td class="n">([\d,]+)</td>'
                   r'<td>[^<]*<br><span class="dim">[^<]*</span></td>'
                   r'<td class="warn">last load failed, previous rows kept'
                   r"</td>", body)
    rows = mval(m, "gwlog_dim_cache_entries", table="user_level")
    check("degraded: a refused table reload is amber, rows kept",
          mt is not None and page_num(mt.group(1)) == rows == nrows
          and '<li class="warn">Dimension table <code>user_level</code>'
          in body, "page %s, metrics %s, csv %d"
          % (mt.group(1) if mt else None, rows, nrows))
    fam = "gw_tenant_requests_total"
    mo = re.search(r'<li class="warn">Family <code>%s</code> reached '
                   r"max_series \(5\): ([\d,]+) increments folded" % fam,
                   body)
    mf = re.search(r"<code>%s</code></td><td>counter</td><td class=\"n\">"
                   r"([\d,]+)</td><td class=\"n\">5</td><td class=\"n warn\">"
                   r"([\d,]+)</td>" % fam, body)
    over = mval(m, "gwlog_series_overflow_total", metric=fam)
    check("degraded: series overflow is amber, the count as in /metrics",
          mo is not None and mf is not None and over is not None and over > 0
          and page_num(mo.group(1)) == page_num(mf.group(2)) == over
          and page_num(mf.group(1)) == mval(m, "gwlog_series", metric=fam),
          "page %s/%s, metrics %s" % (mo.group(1) if mo else None,
                                      mf.groups() if mf else None, over))
    chromium(d, "http://127.0.0.1:%d/" % ex.port,
             os.path.join(OUT, "status-degraded.png"))
    ex.stop()


def line_tester():
    """The seed's sample line, through the default config."""
    d = setup("tester")
    sample = ('{"AK":"STS.NZD***Lgwc","Api":"DescribeCustomResourceDetail",'
              '"CallerUid":"109837***3503","ClientIp":"192.168.xx.xx",'
              '"Domain":"acc-vpc.cn-huhehaote.aliyuncs.com",'
              '"ErrorCode":"ResourceNotFound","Ext5":"{\\"logRegionId\\":'
              '\\"cn-huhehaote\\",\\"appGroup\\":\\"pop-region-cn-huhehaote'
              '\\",\\"callerInfo\\":{},\\"headers\\":{}}","HttpCode":"404",'
              '"LocalIp":"11.197.xxx.xxx","Product":"acc","RegionId":'
              '"cn-huhehaote","RequestContent":"RegionId=cn-huhehaote;Action='
              'DescribeCustomResourceDetail;Version=2024-04-02;",'
              '"TotalUsedTime":"14","Version":"2024-04-02",'
              '"__time__":"1768484243"}')
    r = subprocess.run([T.EXPORTER, "--dims.dir=" + os.path.join(d, "dims"),
                        "--test-line=" + sample], capture_output=True,
                       text=True)
    out = r.stdout
    with open(os.path.join(OUT, "line_tester.txt"), "w") as f:
        f.write(out)
    want = [
        'log_region_id        "cn-huhehaote"',
        'biz_region_id        "cn-huhehaote"',
        'code_class           "4xx"',
        'gateway_cluster[local_ip="11.197.xxx.xxx"]: miss app_group="unknown"',
        'gw_product_requests_total{product="acc",region_id="unknown",'
        'biz_region_id="cn-huhehaote",code_class="4xx"} +1',
        'gw_product_request_duration_seconds{product="acc",region_id='
        '"unknown",biz_region_id="cn-huhehaote"} observe 14 (x 0.001)',
        'gw_api_slow_requests_total: not counted ("when" does not hold)',
        'gw_error_code_requests_total{product="acc",api='
        '"DescribeCustomResourceDetail",http_code="404",error_code='
        '"ResourceNotFound"} +1',
        "verdict: ok",
    ]
    missing = [w for w in want if w not in out]
    check("line tester explains the seed's sample line",
          r.returncode == 0 and not missing, "; ".join(missing)[:300])
    r = subprocess.run([T.EXPORTER, "--test-lines"], input='{"Product":"x",'
                       '"HttpCode":200,"Domain":"popwarmup.aliyuncs.com"}\n'
                       'not json\n', capture_output=True, text=True)
    check("line tester: filter and invalid verdicts from stdin",
          'verdict: filtered by filter "warmup"' in r.stdout
          and 'verdict: invalid (gwlog_parse_errors_total{reason="syntax"})'
          in r.stdout, r.stdout[-300:])


def tester_check_mode():
    """--test-expect and --test-fail-on: the line tester as a CI check.

    The verdict of each line is known by construction (python decides which
    lines are valid, filtered by the default config's "warmup" filter, or
    not JSON), and the expected-output file is altered at a line number
    python chooses, so the exit codes and the reported lines are checked
    against this file's own bookkeeping."""
    d = setup("tester_check")
    dims = "--dims.dir=" + os.path.join(d, "dims")
    lines, kinds = [], []
    for i in range(30):
        if i % 7 == 3:
            lines.append('{"Product":"p%d","HttpCode":200,"Domain":'
                         '"popwarmup.aliyuncs.com"}' % i)
            kinds.append("filtered")
        elif i % 11 == 5:
            lines.append('{"Product": "p%d", "HttpCode": ' % i)
            kinds.append("invalid")
        else:
            lines.append('{"Product":"p%d","HttpCode":"%d","Api":"A%d",'
                         '"Domain":"d.example.com","TotalUsedTime":"%d"}'
                         % (i, 200 + i % 3 * 100, i % 4, i))
            kinds.append("ok")
    text = "\n".join(lines) + "\n"
    good = "\n".join(l for l, k in zip(lines, kinds) if k == "ok") + "\n"

    def run(args, data):
        return subprocess.run([T.EXPORTER, dims, "--test-lines"] + args,
                              input=data, capture_output=True, text=True)

    for verdicts in ("invalid", "filtered", "invalid,filtered"):
        want = [n + 1 for n, k in enumerate(kinds) if k in verdicts.split(",")]
        r = run(["--test-fail-on=" + verdicts], text)
        got = [int(m) for m in re.findall(r"^line (\d+): \w+ \(--test-fail-on\)",
                                          r.stderr, re.M)]
        check("--test-fail-on=%s: exit 1, lines %s named" % (verdicts, want),
              r.returncode == 1 and got == want
              and "%d of %d lines failed" % (len(want), len(lines)) in r.stderr,
              "rc %d, got %s" % (r.returncode, got))
    r = run(["--test-fail-on=invalid,filtered"], good)
    check("--test-fail-on: exit 0 when every line is ok",
          r.returncode == 0 and "--test-fail-on" not in r.stderr,
          "rc %d %s" % (r.returncode, r.stderr[-200:]))

    r = run([], text)
    expected = os.path.join(d, "lines.expected")
    with open(expected, "w") as f:
        f.write(r.stdout)
    r2 = run(["--test-expect=" + expected], text)
    check("--test-expect: exit 0 on the same output, which is still printed",
          r.returncode == 0 and r2.returncode == 0 and r2.stdout == r.stdout,
          "rc %d %s" % (r2.returncode, r2.stderr[-200:]))
    out = r.stdout.split("\n")
    n = next(i for i, l in enumerate(out) if l.startswith("verdict: ok")
             and i > len(out) // 2)
    out[n] = "verdict: filtered by filter \"nothing\""
    with open(expected, "w") as f:
        f.write("\n".join(out))
    r3 = run(["--test-expect=" + expected], text)
    check("--test-expect: exit 1 naming the first differing line (%d)" % (n + 1),
          r3.returncode == 1
          and "%s:%d: the output differs" % (expected, n + 1) in r3.stderr
          and 'expected: verdict: filtered by filter "nothing"' in r3.stderr
          and "got     : verdict: ok" in r3.stderr, r3.stderr[-300:])
    r4 = run(["--test-expect=" + expected], "\n".join(lines[:3]) + "\n")
    check("--test-expect: exit 1 when the output is shorter",
          r4.returncode == 1 and "the output differs" in r4.stderr,
          r4.stderr[-300:])
    r5 = run(["--test-expect=" + os.path.join(d, "absent")], text)
    check("--test-expect: a missing file is a failure with its reason",
          r5.returncode == 1 and "No such file or directory" in r5.stderr,
          r5.stderr[-200:])
    r6 = subprocess.run([T.EXPORTER, "--test-fail-on=invalid,ok",
                         "--test-lines"], input="", capture_output=True,
                        text=True)
    r7 = subprocess.run([T.EXPORTER, "--test-expect=" + expected],
                        capture_output=True, text=True)
    check("check-mode flags: an unknown verdict, or no --test-line(s): exit 1",
          r6.returncode == 1 and "--test-fail-on" in r6.stderr
          and r7.returncode == 1 and "go with --test-line" in r7.stderr,
          r6.stderr[-200:] + r7.stderr[-200:])


def nginx_example():
    """config/examples/nginx.yml: a regex input with a route template."""
    conf = os.path.join(ROOT, "config/examples/nginx.yml")
    line = ('203.0.113.7 - - [20/Nov/2026:22:10:03 +0000] "POST '
            '/api/v2/orders/42?debug=1 HTTP/1.1" 502 157 "-" "curl/8.5.0" 0.734')
    r = subprocess.run([T.EXPORTER, "--config.file=" + conf,
                        "--test-line=" + line], capture_output=True, text=True)
    want = ['route                "/api/v2/orders"',
            'nginx_http_requests_total{method="POST",route="/api/v2/orders",'
            'code_class="5xx"} +1',
            'nginx_http_request_duration_seconds{route="/api/v2/orders"} '
            'observe 0.734 (x 1)',
            'nginx_http_server_errors_total{route="/api/v2/orders",'
            'status="502"} +1']
    missing = [w for w in want if w not in r.stdout]
    check("nginx example: the line tester explains a 502",
          r.returncode == 0 and not missing, "; ".join(missing)[:300])
    log = os.path.join(OUT, "nginx.log")
    with open(log, "w") as f:
        f.write(line + "\n")
        f.write(line.replace("502", "200").replace("0.734", "0.004") + "\n")
        f.write('10.0.0.1 - - [20/Nov/2026:22:10:04 +0000] "GET /healthz '
                'HTTP/1.1" 200 2 "-" "kube-probe/1.29" 0.000\n')
        f.write("not an access log line\n")
    r = subprocess.run([T.EXPORTER, "--config.file=" + conf, "--one-shot",
                        "--input.path=" + log], capture_output=True, text=True)
    out = r.stdout
    ok = all(s in out for s in (
        'nginx_http_requests_total{method="POST",route="/api/v2/orders",'
        'code_class="5xx"} 1',
        'nginx_http_requests_total{method="POST",route="/api/v2/orders",'
        'code_class="2xx"} 1',
        'gwlog_lines_filtered_total{filter="probes"} 1',
        'gwlog_parse_errors_total{reason="no_match"} 1',
        'nginx_http_request_duration_seconds_bucket{route="/api/v2/orders",'
        'le="0.005"} 1'))
    check("nginx example: --one-shot counts, filters and refuses as it should",
          r.returncode == 0 and ok, out[-300:] if not ok else "")


def series_ttl():
    """series_ttl: an idle series disappears, and comes back from zero."""
    d = setup("series_ttl")
    config = T.make_config(d)
    # The default keeps per-uid series (series_ttl 1h) for key customers
    # only: make the tenant one, and its family's ttl 2 s.
    text = open(config).read()
    assert "    series_ttl: 1h\n" in text
    text = text.replace("    series_ttl: 1h\n", "    series_ttl: 2s\n", 1)
    with open(config, "w") as f:
        f.write(text)
    with open(os.path.join(d, "dims", "user_level.csv"), "a") as f:
        f.write("ttl-tenant,GC7\n")
    log = os.path.join(d, "a.log")
    line = (b'{"Product":"ecs","HttpCode":"200","CallerUid":"ttl-tenant"}\n')
    with open(log, "wb") as f:
        f.write(line)
    ex = T.Exporter(d, [log], config=config, name="ttl")
    series = 'gw_tenant_requests_total{uid="ttl-tenant",gc_level="GC7"}'
    T.settle(ex, [log])
    check("series_ttl: the series is there", series + " 1" in ex.metrics())
    deadline = time.time() + 10
    while series in ex.metrics() and time.time() < deadline:
        time.sleep(0.25)
    body = ex.metrics()
    check("series_ttl: gone after 2 s idle, counted as expired",
          series not in body and re.search(
              r'gwlog_series_expired_total\{metric="gw_tenant_requests_total"'
              r'\} [1-9]', body) is not None
          and 'gw_product_requests_total{product="ecs"' in body)
    with open(log, "ab") as f:
        f.write(line)
    T.settle(ex, [log])
    check("series_ttl: back from zero when the tenant returns",
          series + " 1" in ex.metrics())
    ex.stop()


def install():
    """make install DESTDIR=... yields a working tree."""
    dest = os.path.join(OUT, "destdir")
    r = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "install",
                        "DESTDIR=" + dest, "PREFIX=/usr"], capture_output=True,
                       text=True)
    if not check("make install DESTDIR=... PREFIX=/usr", r.returncode == 0,
                 (r.stdout + r.stderr)[-400:]):
        return
    exe = os.path.join(dest, "usr/bin/gwlog_exporter")
    conf = os.path.join(dest, "etc/gwlog_exporter/gwlog_exporter.yml")
    r = subprocess.run([exe, "--check-config", "--config.file=" + conf],
                       capture_output=True, text=True)
    check("installed binary accepts the installed config", r.returncode == 0,
          (r.stdout + r.stderr).strip())
    unit = open(os.path.join(dest, "lib/systemd/system/"
                             "gwlog_exporter.service")).read()
    check("installed unit runs the installed binary and config",
          "ExecStart=/usr/bin/gwlog_exporter" in unit
          and "--config.file=/etc/gwlog_exporter/gwlog_exporter.yml" in unit)
    for p in ("usr/share/man/man1/gwlog_exporter.1", "usr/bin/gwlog_dimload",
              "usr/share/gwlog_exporter/alerts/global.rules.yml",
              "usr/share/gwlog_exporter/grafana/dashboards",
              "usr/share/doc/gwlog_exporter/README.md"):
        check("installed: " + p, os.path.exists(os.path.join(dest, p)))
    r = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "dist"],
                       capture_output=True, text=True)
    tarball = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    tarball = os.path.join(ROOT, tarball) if tarball else ""
    ok = r.returncode == 0 and os.path.exists(tarball)
    if ok:
        listing = subprocess.run(["tar", "tzf", tarball], capture_output=True,
                                 text=True).stdout
        ok = "/Makefile" in listing and "/exporter/main.c" in listing
    check("make dist: a source tarball", ok, tarball)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    t0 = time.time()
    for test in (health, line_tester, tester_check_mode, nginx_example,
                 status_page_healthy, status_page_misconfigured,
                 status_page_degraded,
                 reload_under_load, series_ttl, install):
        try:
            test()
        except Exception as e:           # a crash is a failure, not an abort
            check(test.__name__, False, "%s: %s" % (type(e).__name__, e))
    passed, failed = T.passed, T.failed
    print("operability: %d passed, %d failed (%.0f s)"
          % (passed, failed, time.time() - t0))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
