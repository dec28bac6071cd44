#!/usr/bin/env python3
"""check_alerts.py - static and unit checks of alerts/ (run by `make rules`).

promtool check rules on every rule file, promtool test rules on every test
file, a coverage check (every recording rule is the expr of a
promql_expr_test, every alert is the alertname of an alert_rule_test with a
firing and a not-firing case), every runbook_url anchor exists in README.md,
amtool check-config, and amtool routing of example alerts to the expected
receivers.  Prints one line per check, then "rules: N passed, M failed".
"""

import glob
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ALERTS = os.path.dirname(HERE)
ROOT = os.path.dirname(ALERTS)
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
records, alerts, runbooks = [], [], []
for f in rule_files:
    text = open(f).read()
    records += re.findall(r"^\s*- record:\s*(\S+)", text, re.M)
    alerts += re.findall(r"^\s*- alert:\s*(\S+)", text, re.M)
    runbooks += re.findall(r'runbook_url:\s*"README\.md#([^"]+)"', text)
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
        ("alertname=KeyTenantThrottled uid=1 gc_level=GC7 scope=tenant", "customer-support"),
        ("alertname=RegionalOutage region=cn-beijing scope=region", "gateway-oncall")]:
    rc, out = run(["amtool", "config", "routes", "test", "--config.file=" + am]
                  + labels.split())
    got = [l for l in out.splitlines() if not l.startswith("Warning")]
    check("route {%s} -> %s" % (labels, want), rc == 0 and got == [want],
          "got %s" % got)

print("rules: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
