#!/usr/bin/env python3
"""configure.py - the rule files of alerts/ for your deployment.

    python3 alerts/configure.py [--job JOB] [--federate-job JOB]
                                [--runbook-base URL] OUTDIR

The files in alerts/ are shipped for the defaults below; this writes a
copy of every alerts/*.yml (and, with --tests, alerts/tests/*_test.yml)
into OUTDIR with three things replaced, each defined once here:

  --job           the scrape job of the exporters in the regional
                  Prometheus (default "gwlog"): every `job="gwlog"` matcher
                  of regional.rules.yml and regional.alerts.yml.  If it does
                  not match your scrape config, GwlogTargetAbsent fires.
  --federate-job  the global Prometheus' federation job (default
                  "gwlog-federate"), used by RegionalPrometheusDown.
  --runbook-base  the absolute URL the runbook anchors are appended to
                  (default RUNBOOK_BASE): every runbook_url is
                  BASE#<alert name in lower case>, a heading of README.md's
                  "Runbooks".  Point it at where your team reads README.md
                  (a repository browser, a wiki page built from it).

A matcher or URL the files do not contain exactly as expected is an error
(nothing is written), so a rule file edited by hand is not half-changed.
`make rules` renders the files with other values and runs promtool on them.
"""

import argparse
import glob
import os
import re
import sys

JOB = "gwlog"
FEDERATE_JOB = "gwlog-federate"
RUNBOOK_BASE = "https://gwlog.invalid/gwlog_exporter/README.md"

HERE = os.path.dirname(os.path.abspath(__file__))
NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.:/-]*$")


def substitutions(job, federate_job, base):
    """(regex, replacement) pairs; the job regexes stop at the quote (or at
    the end of a YAML value), so "gwlog" never matches "gwlog-federate"."""
    return [
        (re.compile(r'job="%s"' % re.escape(JOB)), 'job="%s"' % job),
        (re.compile(r'job: %s(?=[,}\s])' % re.escape(JOB)), "job: %s" % job),
        (re.compile(r'job="%s"' % re.escape(FEDERATE_JOB)),
         'job="%s"' % federate_job),
        (re.compile(r'job: %s(?=[,}\s])' % re.escape(FEDERATE_JOB)),
         "job: %s" % federate_job),
        (re.compile(r'runbook_url: "%s#' % re.escape(RUNBOOK_BASE)),
         'runbook_url: "%s#' % base),
    ]


def render(text, subs):
    for rx, rep in subs:
        text = rx.sub(lambda m, rep=rep: rep, text)
    return text


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--job", default=JOB)
    p.add_argument("--federate-job", default=FEDERATE_JOB)
    p.add_argument("--runbook-base", default=RUNBOOK_BASE)
    p.add_argument("--tests", action="store_true",
                   help="also write tests/*_test.yml (for promtool test rules)")
    p.add_argument("outdir")
    a = p.parse_args(argv)
    for what, v in (("--job", a.job), ("--federate-job", a.federate_job)):
        if not NAME_RE.match(v):
            sys.exit("configure.py: %s %r: not a plain job name" % (what, v))
    if not re.match(r"^https?://[^\s\"#]+$", a.runbook_base):
        sys.exit("configure.py: --runbook-base %r: an absolute http(s) URL "
                 "without '#', quotes or spaces" % a.runbook_base)
    subs = substitutions(a.job, a.federate_job, a.runbook_base)
    files = sorted(glob.glob(os.path.join(HERE, "*.yml")))
    if a.tests:
        files += sorted(glob.glob(os.path.join(HERE, "tests", "*_test.yml")))
    out = {}
    for f in files:
        text = open(f).read()
        # Every runbook_url must carry the shipped base, or it would stay.
        for url in re.findall(r'runbook_url:\s*"([^"]*)"', text):
            if not url.startswith(RUNBOOK_BASE + "#"):
                sys.exit("configure.py: %s: runbook_url %r does not start with %s#"
                         % (os.path.relpath(f, HERE), url, RUNBOOK_BASE))
        out[os.path.relpath(f, HERE)] = render(text, subs)
    for rel, text in out.items():
        dst = os.path.join(a.outdir, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, "w") as fh:
            fh.write(text)
    print("configure.py: %d files in %s (job=%s, federate job=%s, runbooks at %s)"
          % (len(out), a.outdir, a.job, a.federate_job, a.runbook_base))


if __name__ == "__main__":
    main(sys.argv[1:])
