#!/usr/bin/env python3
"""conventions.py - exporter-toolkit and node_exporter conventions, and what
an operator sees of a misconfigured node (make conventions, in make test).

- --web.listen-address given twice: both addresses serve;
- --web.systemd-socket: a listening socket inherited at fd 3 with
  LISTEN_FDS=1 and LISTEN_PID (set in a forked child before execve, as
  systemd does) serves; a wrong LISTEN_PID or no socket exits 1;
- --log.format=json: every stderr line is one JSON object with ts, level
  and msg; the keys of the dimension table loads equal the CSV files' rows
  (counted here with the csv module), "listening" has the port;
- --log.format=json through a rename rotation, a truncation and a reload:
  every line is one JSON object, the file is in path= (never in msg),
  offsets, byte counts and series are JSON numbers;
- signals logged by name (SIGHUP, SIGTERM, SIGINT), never as numbers, in
  logfmt and in JSON;
- /-/ready and /-/healthy on a misconfigured exporter
  (--input.path=/nonexistent/access.log): 200 both (ready means started,
  README "Readiness and health"), and gwlog_input_files says 0 for that
  glob; a glob's count follows files created and renamed away, compared
  with the files this test itself put there.

Prints one line per check and "conventions: N passed, M failed".
"""

import csv
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EXPORTER = os.environ.get("GWLOG_EXPORTER",
                          os.path.join(ROOT, "build", "gwlog_exporter"))
LOGGEN = os.path.join(ROOT, "build", "loggen")
OUT = os.path.join(HERE, "out", "conventions")

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    detail = str(detail) if detail else ""
    if ok and len(detail) > 100:
        detail = ""                     # long details only on a failure
    print("%s  %s%s" % ("ok  " if ok else "FAIL", name,
                        (": " + detail) if detail else ""))
    sys.stdout.flush()
    return ok


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                    timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def wait_for(pred, timeout=20.0, every=0.05):
    """Polls pred() until it is true or the deadline passes."""
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v or time.time() > deadline:
            return v
        time.sleep(every)


def stderr_of(path):
    with open(path, "rb") as f:
        return f.read().decode(errors="replace")


def logfmt(line):
    """key=value pairs of one logfmt line (values unquoted)."""
    out = {}
    for m in re.finditer(r'(\w[\w.]*)=("((?:[^"\\]|\\.)*)"|\S*)', line):
        v = m.group(3) if m.group(3) is not None else m.group(2)
        out[m.group(1)] = re.sub(r'\\(.)', lambda x: {"n": "\n"}.get(
            x.group(1), x.group(1)), v)
    return out


def sample(text, name, labels):
    """The value of the sample name{labels...} in an exposition, or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        body, value = line.rsplit(" ", 1)
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', body))
        if got == labels:
            return float(value)
    return None


class Run:
    """The exporter as a child, stderr to a file, stopped by PID."""

    def __init__(self, name, args, env=None):
        self.errpath = os.path.join(OUT, name + ".stderr")
        self.err = open(self.errpath, "wb")
        self.p = subprocess.Popen([EXPORTER] + args, stderr=self.err,
                                  stdout=subprocess.DEVNULL, env=env)

    def log(self):
        return stderr_of(self.errpath)

    def ready(self, timeout=20):
        return wait_for(lambda: self.p.poll() is not None
                        or "gwlog_exporter ready" in self.log(), timeout) \
            and self.p.poll() is None

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.err.close()
        return self.p.returncode


def dims_dir(name):
    d = os.path.join(OUT, name, "dims")
    os.makedirs(d)
    subprocess.run([LOGGEN, "--dims-dir=" + d], check=True)
    return d


def table_keys():
    """Each dimension table's key columns, read from the default config."""
    text = open(os.path.join(ROOT, "config", "gwlog_exporter.yml")).read()
    return {m.group(1): [k.strip() for k in m.group(2).split(",")]
            for m in re.finditer(r"- name: (\w+)[^\n]*\n\s+key: \[([^\]]*)\]",
                                 text)}


def csv_rows(path, keys):
    """Rows of a dimension CSV as the exporter keeps them: one per distinct
    key (the last one wins), header and blank lines excluded."""
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r and any(r)]
    header, body = rows[0], rows[1:]
    idx = [header.index(k) for k in keys]
    return len({tuple(r[i] for i in idx) for r in body if len(r) == len(header)})


# --- --web.listen-address twice ----------------------------------------

def two_addresses():
    d = os.path.join(OUT, "two")
    os.makedirs(d)
    ports = [free_port(), free_port()]
    r = Run("two", ["--web.listen-address=127.0.0.1:%d" % ports[0],
                    "--web.listen-address=127.0.0.1:%d" % ports[1],
                    "--input.path=" + os.path.join(d, "*.log"),
                    "--dims.dir=" + d])
    check("two addresses: started", r.ready(), r.log()[-400:])
    for p in ports:
        status, body = get(p, "/metrics")
        check("two addresses: 127.0.0.1:%d serves /metrics" % p,
              status == 200 and "# TYPE gwlog_lines_total counter" in body,
              status)
    listening = [logfmt(l) for l in r.log().splitlines()
                 if 'msg="listening"' in l]
    check("two addresses: one 'listening' line each, with its port",
          sorted(int(k.get("port", 0)) for k in listening) == sorted(ports),
          listening)
    check("two addresses: SIGTERM exits 0", r.stop() == 0)

    # The default is replaced, not added to: one address given, one served.
    port = free_port()
    r = Run("one", ["--web.listen-address=127.0.0.1:%d" % port,
                    "--input.path=" + os.path.join(d, "*.log"),
                    "--dims.dir=" + d])
    r.ready()
    n = sum(1 for l in r.log().splitlines() if 'msg="listening"' in l)
    check("one address given: the default :3913 is not served too", n == 1,
          n)
    r.stop()

    # An address that cannot be bound fails the start, naming it.
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    bport = busy.getsockname()[1]
    r = Run("busy", ["--web.listen-address=127.0.0.1:%d" % free_port(),
                     "--web.listen-address=127.0.0.1:%d" % bport,
                     "--input.path=" + os.path.join(d, "*.log"),
                     "--dims.dir=" + d])
    rc = r.p.wait(timeout=20)
    log = r.log()
    check("an address in use: exit 1, logged with the address",
          rc == 1 and ("127.0.0.1:%d" % bport) in log
          and 'level=error msg="cannot serve"' in log, log[-300:])
    r.stop()
    busy.close()


# --- --web.systemd-socket -----------------------------------------------

def spawn_activated(name, sock, args, pid_offset=0):
    """Forks; the child puts sock at fd 3, sets LISTEN_FDS=1 and
    LISTEN_PID=its own pid (+ pid_offset, to test a wrong one), and execs
    the exporter, as systemd does for a socket unit.  Returns (pid,
    stderr path)."""
    errpath = os.path.join(OUT, name + ".stderr")
    err = os.open(errpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    env = dict(os.environ)
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(err, 2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            if sock is not None:
                # dup2(3, 3) keeps close-on-exec: clear it explicitly.
                os.dup2(sock.fileno(), 3, inheritable=True)
                os.set_inheritable(3, True)
            env["LISTEN_FDS"] = "1"
            env["LISTEN_PID"] = str(os.getpid() + pid_offset)
            os.execve(EXPORTER, [EXPORTER] + args, env)
        finally:
            os._exit(127)
    os.close(err)
    return pid, errpath


def wait_pid(pid, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        p, status = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def systemd_socket():
    d = os.path.join(OUT, "systemd")
    os.makedirs(d)
    common = ["--web.systemd-socket", "--input.path=" + os.path.join(d, "*.log"),
              "--dims.dir=" + d,
              # Ignored with --web.systemd-socket: nothing listens there.
              "--web.listen-address=127.0.0.1:%d" % free_port()]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    pid, errpath = spawn_activated("systemd", sock, common)
    sock.close()                        # the exporter holds the only copy
    ok = wait_for(lambda: "gwlog_exporter ready" in stderr_of(errpath))
    check("systemd socket: started", ok, stderr_of(errpath)[-400:])
    status, body = get(port, "/metrics")
    check("systemd socket: the inherited socket serves /metrics",
          status == 200 and "gwlog_lines_total" in body, status)
    status, _ = get(port, "/-/ready")
    check("systemd socket: /-/ready 200", status == 200, status)
    lines = [logfmt(l) for l in stderr_of(errpath).splitlines()
             if "systemd" in l and "listening" in l]
    check("systemd socket: logged with fd=3 and its port",
          len(lines) == 1 and lines[0].get("fd") == "3"
          and lines[0].get("port") == str(port), lines)
    check("systemd socket: --web.listen-address not used",
          'msg="listening" address' not in stderr_of(errpath))
    os.kill(pid, signal.SIGTERM)
    check("systemd socket: SIGTERM exits 0", wait_pid(pid) == 0)

    # LISTEN_PID naming another process: refused, exit 1.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    pid, errpath = spawn_activated("systemd-wrongpid", sock, common, 1)
    sock.close()
    rc = wait_pid(pid)
    check("systemd socket: a LISTEN_PID of another process exits 1",
          rc == 1 and "LISTEN_PID" in stderr_of(errpath),
          "%s %s" % (rc, stderr_of(errpath)[-300:]))

    # fd 3 not a listening socket (a plain file).
    with open(os.path.join(d, "not-a-socket"), "w") as f:
        pid, errpath = spawn_activated("systemd-file", f, common)
    rc = wait_pid(pid)
    check("systemd socket: fd 3 not a socket exits 1",
          rc == 1 and "not a stream socket" in stderr_of(errpath),
          "%s %s" % (rc, stderr_of(errpath)[-300:]))

    # No LISTEN_* at all.
    r = Run("systemd-none", common,
            env={k: v for k, v in os.environ.items()
                 if not k.startswith("LISTEN_")})
    rc = r.p.wait(timeout=20)
    check("systemd socket: without LISTEN_FDS exits 1, said",
          rc == 1 and "LISTEN_FDS" in r.log(), r.log()[-300:])
    r.stop()


# --- --log.format=json and signals by name ------------------------------

def json_logs():
    dims = dims_dir("json")
    d = os.path.dirname(dims)
    log = os.path.join(d, "a.log")
    open(log, "w").close()
    r = Run("json", ["--log.format=json", "--web.listen-address=127.0.0.1:0",
                     "--input.path=" + log, "--dims.dir=" + dims])
    check("json: started", r.ready(), r.log()[-400:])
    r.p.send_signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in r.log())
    check("json: SIGTERM exits 0", r.stop() == 0)
    lines = r.log().splitlines()
    objs, bad = [], []
    for l in lines:
        try:
            objs.append(json.loads(l))
        except ValueError:
            bad.append(l)
    check("json: every stderr line (%d) is a JSON object" % len(lines),
          lines and not bad and all(isinstance(o, dict) for o in objs),
          bad[:2])
    check("json: each has ts, level and msg",
          all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
                       o.get("ts", "")) and o.get("level") in
              ("debug", "info", "warn", "error") and o.get("msg")
              for o in objs))
    # Two loads of each table: at start and at the reload.
    keys = table_keys()
    want = {t: csv_rows(os.path.join(dims, t + ".csv"), k)
            for t, k in keys.items()}
    loads = [o for o in objs if o.get("msg") == "dimension table loaded"]
    got = {}
    for o in loads:
        got.setdefault(o.get("table"), set()).add((o.get("path"),
                                                    o.get("rows")))
    wanted = {t: {(os.path.join(dims, t + ".csv"), n)} for t, n in want.items()}
    check("json: 'dimension table loaded' has table, path and rows (a "
          "number) equal to each CSV's rows (%s)" % want,
          want and got == wanted
          and all(isinstance(o.get("rows"), int) for o in loads),
          got)
    listening = [o for o in objs if o.get("msg") == "listening"]
    check("json: 'listening' has address and a numeric port",
          len(listening) == 1 and listening[0].get("address") == "127.0.0.1:0"
          and isinstance(listening[0].get("port"), int)
          and listening[0]["port"] > 0, listening)
    sigs = [(o.get("msg"), o.get("signal")) for o in objs if "signal" in o]
    check("json: signals by name",
          sigs == [("reloading the configuration", "SIGHUP"),
                   ("shutting down", "SIGTERM")], sigs)
    reloaded = [o for o in objs if o.get("msg") == "configuration reloaded"]
    check("json: 'configuration reloaded' names the file",
          len(reloaded) == 1 and reloaded[0].get("file"), reloaded)


# Keys of the reading thread's lines: what varies is a key of its own, and
# a number is a JSON number.  Every key below is listed in README's
# "Logging" table.
NUMERIC_KEYS = ("offset", "end", "bytes", "carry_bytes", "size", "inode",
                "rows", "line", "series", "dropped_series", "files",
                "generation", "refused", "seconds", "saved_at", "port",
                "table_version", "previous_version", "max_columns")


def json_rotation_keys():
    """A rename rotation, a truncation and a reload with --log.format=json:
    each line is one object; the file is the value of path (never inside
    msg); offsets, byte counts and series are numbers."""
    dims = dims_dir("json_rotation")
    d = os.path.dirname(dims)
    log = os.path.join(d, "access.log")
    lines = subprocess.run([LOGGEN, "--lines=300", "--seed=5"],
                           capture_output=True, check=True).stdout
    lines = lines.splitlines(keepends=True)
    with open(log, "wb") as f:
        f.writelines(lines[:100])
    r = Run("json_rotation", ["--log.format=json",
                              "--web.listen-address=127.0.0.1:0",
                              "--input.path=" + log, "--dims.dir=" + dims])
    check("json rotation: started", r.ready(), r.log()[-400:])

    def objs():
        out = []
        for l in r.log().splitlines():
            try:
                out.append(json.loads(l))
            except ValueError:
                out.append({"unparsed": l})
        return out

    def has(pred):
        return wait_for(lambda: any(pred(o) for o in objs()), 30)

    def read_to_end():
        """The exporter read the live file to its end (so that the
        truncation below is seen as one: size below our offset)."""
        port = [o["port"] for o in objs() if o.get("msg") == "listening"][0]
        want = 'gwlog_file_offset_bytes{path="%s"} %d' % (
            log, os.path.getsize(log))
        return wait_for(lambda: want in (get(port, "/metrics")[1] or ""), 30)

    check("json rotation: 'following' with path and a numeric offset",
          has(lambda o: o.get("msg") == "following" and o.get("path") == log
              and o.get("offset") == 0), [o for o in objs()][-6:])
    os.rename(log, log + ".1")              # logrotate's "create"
    with open(log, "wb") as f:
        f.writelines(lines[100:200])
    check("json rotation: the rename names the old path in from=, the new "
          "one in to= and the wait in seconds",
          has(lambda o: o.get("msg", "").startswith("renamed")
              and o.get("from") == log and o.get("to") == log + ".1"
              and isinstance(o.get("seconds"), (int, float))),
          objs()[-6:])
    check("json rotation: the new file followed from offset 0",
          has(lambda o: o.get("msg") == "following" and o.get("path") == log
              and o.get("offset") == 0
              and sum(1 for p in objs() if p.get("msg") == "following") == 2),
          objs()[-6:])
    check("json rotation: the new file read to its end", read_to_end())
    with open(log, "r+b") as f:             # a truncation in place
        f.truncate(0)
    with open(log, "ab") as f:
        f.writelines(lines[200:210])
    check("json rotation: the truncation has path= and bytes= (a number)",
          has(lambda o: "truncated" in o.get("msg", "")
              and o.get("path") == log and isinstance(o.get("bytes"), int)),
          objs()[-6:])
    r.p.send_signal(signal.SIGHUP)
    check("json rotation: the reload has series= (a number)",
          has(lambda o: o.get("msg") == "configuration swapped in: series "
              "carried over" and isinstance(o.get("series"), int)),
          objs()[-6:])
    check("json rotation: SIGTERM exits 0", r.stop() == 0)
    all_objs = objs()
    bad = [o for o in all_objs if "unparsed" in o]
    check("json rotation: every stderr line (%d) is a JSON object"
          % len(all_objs), all_objs and not bad, bad[:2])
    inside = [o for o in all_objs if d in o.get("msg", "")
              or re.search(r"\d", o.get("msg", ""))]
    check("json rotation: no message carries a path or a number", not inside,
          inside[:2])
    strs = [(k, o[k]) for o in all_objs for k in NUMERIC_KEYS
            if k in o and not isinstance(o[k], (int, float))]
    check("json rotation: counts and offsets are JSON numbers", not strs,
          strs[:3])


def signal_names():
    d = os.path.join(OUT, "signals")
    os.makedirs(d)
    r = Run("sigint", ["--web.listen-address=127.0.0.1:0",
                       "--input.path=" + os.path.join(d, "*.log"),
                       "--dims.dir=" + d])
    r.ready()
    r.p.send_signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in r.log())
    rc = r.stop(signal.SIGINT)
    kv = [logfmt(l) for l in r.log().splitlines() if "signal=" in l]
    check("logfmt: SIGHUP and SIGINT logged by name, exit 0",
          rc == 0 and [(k["msg"], k["signal"]) for k in kv]
          == [("reloading the configuration", "SIGHUP"),
              ("shutting down", "SIGINT")], kv)
    check("logfmt: no signal logged as a number",
          re.search(r"signal[ =]\d", r.log()) is None)
    check("logfmt: no line outside logfmt",
          all(l.startswith("ts=") for l in r.log().splitlines()))


def bad_flags():
    r = subprocess.run([EXPORTER, "--log.format=xml", "--one-shot"],
                       capture_output=True, text=True)
    check("--log.format=xml refused (exit 1, names the choices)",
          r.returncode == 1 and "logfmt, json" in r.stderr, r.stderr.strip())


# --- readiness and the reading-nothing metric ---------------------------

def misconfigured():
    d = os.path.join(OUT, "misconfigured")
    os.makedirs(d)
    live = os.path.join(d, "logs")
    os.makedirs(live)
    pattern = os.path.join(live, "*.log")
    r = Run("misconfigured", ["--web.listen-address=127.0.0.1:0",
                              "--input.path=/nonexistent/access.log",
                              "--input.path=" + pattern,
                              "--dims.dir=" + d])
    check("misconfigured: started", r.ready(), r.log()[-400:])
    m = re.search(r'msg="listening" .*port=(\d+)', r.log())
    if not check("misconfigured: its port is logged", m is not None,
                 r.log()[-300:]):
        r.stop()
        return
    port = int(m.group(1))
    status, body = get(port, "/-/ready")
    check("misconfigured: /-/ready is 200 (ready means started)",
          status == 200 and "Ready" in body, status)
    status, _ = get(port, "/-/healthy")
    check("misconfigured: /-/healthy is 200", status == 200, status)
    _, text = get(port, "/metrics")
    nothing = {"input": "0", "glob": "/nonexistent/access.log"}
    other = {"input": "0", "glob": pattern}
    check("misconfigured: gwlog_input_files{glob=/nonexistent/access.log} 0",
          sample(text, "gwlog_input_files", nothing) == 0.0,
          [l for l in text.splitlines() if "input_files" in l])
    check("misconfigured: sum of gwlog_input_files is 0 (GwlogReadingNothing)",
          sample(text, "gwlog_input_files", other) == 0.0)

    # Files this test creates, renames away and removes; the count must
    # follow what is on disk under the glob (computed here).
    def count():
        _, t = get(port, "/metrics")
        return sample(t, "gwlog_input_files", other)

    def on_disk():
        return float(len([p for p in glob.glob(pattern)
                          if os.path.isfile(p)]))

    for i in range(3):
        with open(os.path.join(live, "f%d.log" % i), "w") as f:
            f.write('{"a": 1}\n')
    with open(os.path.join(live, ".hidden.log"), "w") as f:
        f.write("\n")                   # glob(3) skips it; so must we
    with open(os.path.join(live, "other.txt"), "w") as f:
        f.write("\n")
    want = on_disk()
    got = wait_for(lambda: count() == want and count())
    check("files created: gwlog_input_files equals the files on disk "
          "under the glob (%d)" % want, got == want, got)
    os.rename(os.path.join(live, "f0.log"), os.path.join(live, "f0.old"))
    want = on_disk()
    got = wait_for(lambda: count() == want and count())
    check("a file renamed away counts for no glob (%d)" % want,
          got == want, got)
    _, t = get(port, "/metrics")
    check("misconfigured glob still 0, and the rest still served",
          sample(t, "gwlog_input_files", nothing) == 0.0
          and "gwlog_lines_total" in t)
    for p in glob.glob(os.path.join(live, "*")):
        os.unlink(p)
    got = wait_for(lambda: count() == 0.0, 30)
    check("every file removed: back to 0", got, count())
    check("misconfigured: SIGTERM exits 0", r.stop() == 0)


def main():
    if not os.access(EXPORTER, os.X_OK):
        print("conventions: build the exporter first (make)")
        return 1
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    t0 = time.time()
    two_addresses()
    systemd_socket()
    json_logs()
    json_rotation_keys()
    signal_names()
    bad_flags()
    misconfigured()
    print("conventions: %d passed, %d failed (%.0f s)"
          % (passed, failed, time.time() - t0))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
