#!/usr/bin/env python3
"""package.py - the Debian package from `make deb` installs, runs as its
user and purges cleanly (make package, part of make test).

    python3 tests/package.py build/deb/gwlog-exporter_VERSION_ARCH.deb

Runs as root on the machine itself, so it installs into the real system:
it refuses to start when gwlog-exporter is already installed or the user
gwlog_exporter already exists (it would then remove something it did not
create), takes a lock against a concurrent run, and purges the package,
the user and its files in a `finally` whatever fails.

  1. dpkg -i: the files are where the package promises, both files under
     /etc are conffiles, the user is a system user with no login shell and
     owns /var/lib/gwlog_exporter (0700).
  2. An edited configuration survives a reinstall (conffile).
  3. The installed binary runs as gwlog_exporter (setpriv) with the
     installed configuration and the unit's flags from
     /etc/default/gwlog_exporter: once without /var/log/gateway (it must
     start and serve), once on a generated log, where the lines counted
     equal the lines in the file (counted here, not by the exporter) and
     a checkpoint appears in /var/lib/gwlog_exporter.
  4. dpkg --purge removes every file, the conffiles, the state directory,
     the user and its group.
"""

import fcntl
import glob
import os
import pwd
import grp
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = "gwlog-exporter"
USER = "gwlog_exporter"
STATE = "/var/lib/gwlog_exporter"
FILES = [
    "/usr/bin/gwlog_exporter", "/usr/bin/gwlog_dimload",
    "/etc/gwlog_exporter/gwlog_exporter.yml", "/etc/default/gwlog_exporter",
    "/lib/systemd/system/gwlog_exporter.service",
    "/usr/share/man/man1/gwlog_exporter.1.gz",
    "/usr/share/man/man1/gwlog_dimload.1.gz",
    "/usr/share/gwlog-exporter/alerts/regional.rules.yml",
    "/usr/share/gwlog-exporter/alerts/global.alerts.yml",
    "/usr/share/gwlog-exporter/grafana/dashboards/gwlog-exporter-health.json",
    "/usr/share/gwlog-exporter/grafana/provisioning/datasources/gwlog.yml",
    "/usr/share/doc/gwlog-exporter/copyright",
]
CONFFILES = ["/etc/default/gwlog_exporter", "/etc/gwlog_exporter/gwlog_exporter.yml"]

passed = failed = 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok    " + what)
    else:
        failed += 1
        print("FAIL  " + what + (": " + detail if detail else ""))
    return ok


def run(*cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def installed():
    r = run("dpkg-query", "-W", "-f=${db:Status-Abbrev}", PKG)
    return r.returncode == 0 and r.stdout.startswith("ii")


def known():
    """Any trace of the package in dpkg's database (also config-files)."""
    r = run("dpkg-query", "-W", "-f=${db:Status-Abbrev}", PKG)
    return r.returncode == 0 and r.stdout.strip() not in ("", "un")


def user_exists():
    try:
        pwd.getpwnam(USER)
        return True
    except KeyError:
        return False


def group_exists():
    try:
        grp.getgrnam(USER)
        return True
    except KeyError:
        return False


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def scrape(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
            return r.read().decode()
    except OSError:
        return None


def total(text, name):
    s = 0.0
    for line in (text or "").splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            s += float(line.rsplit(" ", 1)[1])
    return s


def unit_args():
    """ARGS= from the installed /etc/default/gwlog_exporter, as the unit's
    EnvironmentFile= reads it."""
    for line in open("/etc/default/gwlog_exporter"):
        line = line.strip()
        if line.startswith("ARGS="):
            return shlex.split(line[5:])[0].split()
    return []


def as_user(args, err):
    """The installed binary as gwlog_exporter (its groups), no_new_privs."""
    return subprocess.Popen(
        ["setpriv", "--reuid=" + USER, "--regid=" + USER, "--init-groups",
         "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--",
         "/usr/bin/gwlog_exporter"] + args,
        stdout=subprocess.DEVNULL, stderr=err)


def live(args, errfile, until, deadline=60):
    """Runs the exporter, polls /metrics until until(text) or the deadline;
    returns (text, uid, rc after SIGTERM)."""
    port = free_port()
    args = [a for a in args if not a.startswith("--web.listen-address=")]
    args.append("--web.listen-address=127.0.0.1:%d" % port)
    with open(errfile, "w") as err:
        p = as_user(args, err)
        text, uid = None, None
        try:
            end = time.time() + deadline
            while time.time() < end and p.poll() is None:
                text = scrape(port)
                if text is not None and until(text):
                    break
                time.sleep(0.2)
            try:
                uid = int([l.split()[1] for l in open("/proc/%d/status" % p.pid)
                           if l.startswith("Uid:")][0])
            except OSError:
                pass
        finally:
            if p.poll() is None:
                p.terminate()
            try:
                rc = p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
    return text, uid, rc


def purge():
    r = run("dpkg", "--purge", PKG)
    return r


def main(deb):
    lock = open("/tmp/gwlog-package-test.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    if os.geteuid() != 0:
        print("skip  package: needs root (dpkg -i)")
        return
    if known() or user_exists() or group_exists() or os.path.exists(STATE):
        check("nothing of %s on this machine before the test" % PKG, False,
              "the package, the user %s or %s already exists: purge it first "
              "(dpkg --purge %s; deluser --system %s)" % (USER, STATE, PKG, USER))
        return
    tmp = tempfile.mkdtemp(prefix="gwlog_pkg.")
    os.chmod(tmp, 0o755)
    try:
        body(deb, tmp)
    finally:
        if known():
            purge()
        # What the package's postrm should have done, in case it did not.
        if user_exists():
            run("deluser", "--system", "--quiet", USER)
        if group_exists():
            run("delgroup", "--system", "--quiet", USER)
        run("rm", "-rf", tmp, STATE)


def body(deb, tmp):
    # ---- 1. install
    r = run("dpkg", "-i", deb)
    if not check("dpkg -i %s" % os.path.basename(deb), r.returncode == 0 and installed(),
                 (r.stdout + r.stderr)[-2000:]):
        return
    missing = [f for f in FILES if not os.path.isfile(f)]
    check("%d files installed where promised" % len(FILES), not missing, ", ".join(missing))
    listed = run("dpkg", "-L", PKG).stdout.split()
    check("dpkg -L lists them", all(f in listed for f in FILES))
    conf = run("dpkg-query", "-W", "-f=${Conffiles}", PKG).stdout
    check("conffiles: %s" % ", ".join(CONFFILES),
          all(c in conf for c in CONFFILES), conf.strip())
    try:
        pw = pwd.getpwnam(USER)
    except KeyError:
        pw = None
    if check("system user %s created" % USER, pw is not None):
        check("  uid %d < 1000, shell %s, home %s" % (pw.pw_uid, pw.pw_shell, pw.pw_dir),
              pw.pw_uid < 1000 and pw.pw_shell.endswith("nologin")
              and pw.pw_dir == STATE)
        st = os.stat(STATE) if os.path.isdir(STATE) else None
        check("%s owned by %s, mode 0700" % (STATE, USER),
              st is not None and st.st_uid == pw.pw_uid and (st.st_mode & 0o777) == 0o700,
              "missing" if st is None else "uid %d mode %o" % (st.st_uid, st.st_mode & 0o777))
    r = run("/usr/bin/gwlog_exporter", "--check-config",
            "--config.file=/etc/gwlog_exporter/gwlog_exporter.yml")
    check("installed configuration passes --check-config", r.returncode == 0, r.stderr)

    # ---- 2. an edited conffile survives a reinstall
    cfg = "/etc/gwlog_exporter/gwlog_exporter.yml"
    with open(cfg, "a") as f:
        f.write("# edited by tests/package.py\n")
    r = run("dpkg", "-i", "--force-confold", deb)
    check("reinstall keeps the edited %s" % cfg,
          r.returncode == 0 and "# edited by tests/package.py" in open(cfg).read(),
          (r.stdout + r.stderr)[-1000:])

    # ---- 3. runs as the user with the installed config and the unit's flags
    args = unit_args()
    check("/etc/default/gwlog_exporter ARGS: %s" % " ".join(args),
          "--config.file=/etc/gwlog_exporter/gwlog_exporter.yml" in args
          and "--state.dir=" + STATE in args)
    gone = not os.path.exists("/var/log/gateway")
    text, uid, rc = live(args, os.path.join(tmp, "bare.err"),
                         lambda t: "gwlog_build_info" in t)
    check("as %s with the unit's flags%s: serves /metrics, stops cleanly"
          % (USER, " and no /var/log/gateway" if gone else ""),
          text is not None and "gwlog_build_info" in text and rc == 0
          and uid == pwd.getpwnam(USER).pw_uid,
          "rc %s uid %s; %s" % (rc, uid, open(os.path.join(tmp, "bare.err")).read()[-800:]))

    logs = os.path.join(tmp, "logs")
    dims = os.path.join(tmp, "dims")
    os.makedirs(logs)
    log = os.path.join(logs, "access.log")
    subprocess.run([os.path.join(ROOT, "build", "loggen"), "--dims-dir=" + dims],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([os.path.join(ROOT, "build", "loggen"), "--lines=3000", "--seed=9",
                    "--awkward", "--garbage=0.02", "--output=" + log], check=True)
    run("chmod", "-R", "a+rX", tmp)
    for c in glob.glob(os.path.join(STATE, "checkpoint.*")):
        os.unlink(c)                      # from the run above
    with open(log, "rb") as f:
        nlines = f.read().count(b"\n")
    text, uid, rc = live(args + ["--input.path=" + log, "--dims.dir=" + dims],
                         os.path.join(tmp, "log.err"),
                         lambda t: total(t, "gwlog_lines_total") >= nlines)
    got = total(text, "gwlog_lines_total")
    check("as %s: gwlog_lines_total %d = %d lines in the file" % (USER, got, nlines),
          got == nlines and rc == 0,
          "rc %s; %s" % (rc, open(os.path.join(tmp, "log.err")).read()[-800:]))
    cps = glob.glob(os.path.join(STATE, "checkpoint.*"))
    check("checkpoint written to %s by %s" % (STATE, USER),
          bool(cps) and all(os.stat(c).st_uid == pwd.getpwnam(USER).pw_uid for c in cps),
          str(cps))

    # ---- 4. purge
    r = purge()
    check("dpkg --purge", r.returncode == 0 and not known(), (r.stdout + r.stderr)[-1000:])
    left = [f for f in FILES + ["/etc/gwlog_exporter", STATE, "/usr/share/gwlog-exporter"]
            if os.path.exists(f)]
    check("no file left (binaries, conffiles, %s, /usr/share/gwlog-exporter)" % STATE,
          not left, ", ".join(left))
    check("user and group %s removed" % USER, not user_exists() and not group_exists())


if __name__ == "__main__":
    if len(sys.argv) != 2 or not os.path.isfile(sys.argv[1]):
        sys.exit("usage: package.py build/deb/gwlog-exporter_VERSION_ARCH.deb (make deb)")
    t0 = time.time()
    try:
        main(os.path.abspath(sys.argv[1]))
    finally:
        print("package: %d passed, %d failed (%.0f s)" % (passed, failed, time.time() - t0))
    sys.exit(1 if failed else 0)
