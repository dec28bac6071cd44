#!/usr/bin/env python3
"""check_alerts.py - static and unit checks of alerts/ (run by `make rules`).

promtool check rules on every rule file, promtool test rules on every test
file, a coverage check (every recording rule is the expr of a
promql_expr_test, every alert is the alertname of an alert_rule_test with a
firing and a not-firing case), every runbook_url is absolute, made of
alerts/configure.py's RUNBOOK_BASE and an anchor that exists in README.md,
the files rendered by alerts/configure.py with another job, federation job
and runbook base (promtool check and test on the copy, nothing of the
defaults left), amtool check-config, and amtool routing of example alerts
to the expected receivers.  Prints one line per check, then "rules: N passed, M failed".
"""

import glob
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ALERTS = os.path.dirname(HERE)
ROOT = os.path.dirname(ALERTS)
sys.path.insert(0, ALERTS)
import configure  # noqa: E402  (alerts/configure.py: the defaults)
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print("%s %s%s" % ("ok   " if ok else "FAIL ", name,
                        (": " + detail) if detail else ""))
    sys.stdout.flush()


def run(args):
    r = subprocess.run(args, capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


rule_files = sorted(glob.glob(os.path.join(ALERTS, "*.rules.yml")) +
                    glob.glob(os.path.join(ALERTS, "*.alerts.yml")))
test_files = sorted(glob.glob(os.path.join(HERE, "*_test.yml")))

for f in rule_files:
    rc, out = run(["promtool", "check", "rules", f])
    check("promtool check rules %s" % os.path.relpath(f, ROOT), rc == 0,
          out.splitlines()[-1] if rc == 0 else out[-1500:])
for f in test_files:
    rc, out = run(["promtool", "test", "rules", f])
    check("promtool test rules %s" % os.path.relpath(f, ROOT), rc == 0,
          "" if rc == 0 else out[-3000:])

# Coverage.  The files are simple enough to read with regexes.
records, alerts, runbooks, urls = [], [], [], []
for f in rule_files:
    text = open(f).read()
    records += re.findall(r"^\s*- record:\s*(\S+)", text, re.M)
    alerts += re.findall(r"^\s*- alert:\s*(\S+)", text, re.M)
    urls += re.findall(r'runbook_url:\s*"([^"]*)"', text)
absolute = re.compile(r"^https?://[^/\s\"#]+/[^\s\"#]*#([a-z0-9_-]+)$")
not_abs = [u for u in urls if not absolute.match(u)]
check("every runbook_url (%d) is an absolute URL with an anchor" % len(urls),
      not not_abs, ", ".join(not_abs))
other_base = [u for u in urls if not u.startswith(configure.RUNBOOK_BASE + "#")]
check("every runbook_url starts with configure.py's RUNBOOK_BASE %s#"
      % configure.RUNBOOK_BASE, not other_base, ", ".join(other_base))
runbooks = [u.split("#", 1)[1] for u in urls if "#" in u]
tests_text = "".join(open(f).read() for f in test_files)
tested_exprs = set(re.findall(r"^\s*- expr:\s*(\S+)\s*$", tests_text, re.M))
missing = [r for r in records if r not in tested_exprs]
check("every recording rule (%d) has a promql_expr_test" % len(records),
      not missing, ", ".join(missing))
# alert tests: alertname + exp_alerts empty or not
cases = re.findall(r"- alertname:\s*(\S+)\s*\n\s*eval_time:[^\n]*\n\s*exp_alerts:(\s*\[\])?",
                   tests_text)
firing = {a for a, empty in cases if not empty}
quiet = {a for a, empty in cases if empty}
no_fire = [a for a in alerts if a not in firing]
no_quiet = [a for a in alerts if a not in quiet]
check("every alert (%d) has a firing test" % len(alerts), not no_fire,
      ", ".join(no_fire))
check("every alert (%d) has a not-firing test" % len(alerts), not no_quiet,
      ", ".join(no_quiet))
check("every alert has a runbook_url", len(runbooks) == len(alerts),
      "%d alerts, %d runbook_url" % (len(alerts), len(runbooks)))


def anchor(title):
    """GitHub's heading anchor."""
    a = title.strip().lower()
    a = re.sub(r"[^\w\- ]", "", a)
    return a.replace(" ", "-")


readme = open(os.path.join(ROOT, "README.md")).read()
anchors = {anchor(t) for t in re.findall(r"^#+\s+(.*)$", readme, re.M)}
bad = [r for r in runbooks if r not in anchors]
check("every runbook_url anchor is a README.md heading", not bad, ", ".join(bad))
for a in alerts:
    if a.lower() not in runbooks:
        check("runbook anchor of %s is its name" % a, False)

# The files rendered for another deployment: nothing of the defaults left,
# and still valid and passing their (rendered) unit tests.
with tempfile.TemporaryDirectory() as tmp:
    base = "https://wiki.example.com/ops/gwlog-runbooks"
    rc, out = run([sys.executable, os.path.join(ALERTS, "configure.py"),
                   "--tests", "--job", "edge-gw", "--federate-job", "edge-fed",
                   "--runbook-base", base, tmp])
    check("configure.py --job edge-gw --federate-job edge-fed --runbook-base ...",
          rc == 0, out[-800:])
    texts = {}
    for f in sorted(glob.glob(os.path.join(tmp, "*.yml"))
                    + glob.glob(os.path.join(tmp, "tests", "*.yml"))):
        texts[os.path.relpath(f, tmp)] = open(f).read()
    left = [r for r, t in texts.items()
            if re.search(r'job(="|: )gwlog\b', t) or "README.md#" in t]
    check("rendered files keep no default job or runbook base", not left,
          ", ".join(left))
    rurls = [u for t in texts.values()
             for u in re.findall(r'runbook_url:\s*"([^"]*)"', t)]
    check("rendered runbook_urls (%d) all start with %s#" % (len(rurls), base),
          rurls and all(u.startswith(base + "#") for u in rurls))
    jobs = set(re.findall(r'job="([^"]+)"',
                          "".join(t for r, t in texts.items() if "/" not in r)))
    check("rendered rule files match only the given jobs",
          jobs == {"edge-gw", "edge-fed"}, "jobs %s" % sorted(jobs))
    for f in sorted(glob.glob(os.path.join(tmp, "*.rules.yml"))
                    + glob.glob(os.path.join(tmp, "*.alerts.yml"))):
        rc, out = run(["promtool", "check", "rules", f])
        check("rendered: promtool check rules %s" % os.path.basename(f),
              rc == 0, "" if rc == 0 else out[-1500:])
    for f in sorted(glob.glob(os.path.join(tmp, "tests", "*_test.yml"))):
        rc, out = run(["promtool", "test", "rules", f])
        check("rendered: promtool test rules tests/%s" % os.path.basename(f),
              rc == 0, "" if rc == 0 else out[-3000:])
    rc, out = run([sys.executable, os.path.join(ALERTS, "configure.py"),
                   "--runbook-base", "README.md", tmp])
    check("configure.py refuses a relative --runbook-base", rc != 0)

am = os.path.join(ALERTS, "alertmanager.yml")
rc, out = run(["amtool", "check-config", am])
check("amtool check-config alerts/alertmanager.yml", rc == 0,
      "" if rc == 0 else out[-1500:])
for labels, want in [
        ("alertname=HighErrorRate product=ecs region=cn-hangzhou scope=product", "team-ecs"),
        ("alertname=HighErrorRate product=ecs region=cn-hangzhou scope=product severity=critical tier=fast", "team-ecs"),
        ("alertname=HighErrorRate product=nosuchteam region=cn-hangzhou scope=product severity=critical", "gateway-oncall"),
        ("alertname=GwlogExporterDown region=cn-hangzhou scope=exporter severity=critical", "observability"),
        ("alertname=ApiHigh503Ratio product=rds region=cn-beijing scope=api", "team-database"),
        ("alertname=HighErrorRate product=unknownproduct scope=product", "gateway-oncall"),
        ("alertname=GwlogExporterDown region=cn-hangzhou scope=exporter", "observability"),
        ("alertname=GwlogTargetAbsent region=cn-hangzhou scope=exporter severity=critical", "observability"),
        ("alertname=GwlogBytesLost region=cn-hangzhou scope=exporter severity=warning", "observability"),
        ("alertname=KeyTenantThrottled uid=1 gc_level=GC7 scope=tenant", "customer-support"),
        ("alertname=RegionalOutage region=cn-beijing scope=region", "gateway-oncall")]:
    rc, out = run(["amtool", "config", "routes", "test", "--config.file=" + am]
                  + labels.split())
    got = [l for l in out.splitlines() if not l.startswith("Warning")]
    check("route {%s} -> %s" % (labels, want), rc == 0 and got == [want],
          "got %s" % got)

print("rules: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
