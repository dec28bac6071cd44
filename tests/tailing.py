#!/usr/bin/env python3
"""tailing.py - exactly-once tailing through rotation, truncation, restarts.

Each scenario runs the real exporter (with --state.dir) on files that a
writer appends to at a steady rate, splitting lines across write() calls,
while the real logrotate rotates them (create, copytruncate, compress,
delaycompress), the exporter is SIGKILLed and restarted, files are deleted
and recreated, and so on.  The writer keeps a copy of every byte it wrote
(the truth); at the end every series of the exporter must equal
tests/reference.py run on the truth: equal, not close.

Prints one line per check and "tailing: N passed, M failed".
"""

import gzip
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EXPORTER = os.environ.get("GWLOG_EXPORTER",
                          os.path.join(ROOT, "build", "gwlog_exporter"))
LOGGEN = os.path.join(ROOT, "build", "loggen")
OUT = os.path.join(HERE, "out", "tailing")
PY = sys.executable

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print("%s  %s%s" % ("ok  " if ok else "FAIL", name,
                        (": " + detail) if detail else ""))
    sys.stdout.flush()
    return ok


def make_config(d, rotate_wait="2s", checkpoint="1s", poll=False):
    """The default config, with test-sized tailing options."""
    text = open(os.path.join(ROOT, "config/gwlog_exporter.yml")).read()
    text = re.sub(r"rotate_wait: \S+", "rotate_wait: " + rotate_wait, text)
    text = re.sub(r"checkpoint_interval: \S+",
                  "checkpoint_interval: " + checkpoint, text)
    if poll:
        text = text.replace("poll: false", "poll: true")
    path = os.path.join(d, "config.yml")
    with open(path, "w") as f:
        f.write(text)
    return path


class Exporter:
    def __init__(self, d, inputs, state=None, config=None, name="exporter"):
        self.d = d
        self.args = [EXPORTER, "--web.listen-address=127.0.0.1:0",
                     "--dims.dir=" + os.path.join(d, "dims"),
                     "--config.file=" + (config or make_config(d))]
        self.args += ["--input.path=" + p for p in inputs]
        if state:
            self.args.append("--state.dir=" + state)
        self.name = name
        self.runs = 0
        self.p = None
        self.start()

    def start(self):
        self.runs += 1
        self.errpath = os.path.join(self.d, "%s.%d.stderr"
                                    % (self.name, self.runs))
        self.err = open(self.errpath, "wb+")
        self.p = subprocess.Popen(self.args, stderr=self.err)
        self.port = None
        deadline = time.time() + 10
        while self.port is None and time.time() < deadline:
            self.err.seek(0)
            m = re.search(rb'msg="listening"[^\n]* port=(\d+)', self.err.read())
            if m:
                self.port = int(m.group(1))
            elif self.p.poll() is not None:
                break
            else:
                time.sleep(0.01)
        if self.port is None:
            self.err.seek(0)
            check("%s run %d starts" % (self.name, self.runs), False,
                  self.err.read().decode(errors="replace")[-800:])
            raise RuntimeError("the exporter did not start: see %s"
                               % self.errpath)

    def metrics(self):
        url = "http://127.0.0.1:%d/metrics" % self.port
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read().decode()

    def value(self, name):
        total = 0.0
        for line in self.metrics().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def lines_total(self):
        return self.value("gwlog_lines_total")

    def kill(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                return self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
        return None


class Writer(threading.Thread):
    """Appends lines to path at rate lines/s, splitting some across two
    write() calls.  Unless copytruncate, it reopens path when the name no
    longer refers to its file, checked every reopen_every seconds: lines
    written in between go to the rotated file, as with a real server."""

    def __init__(self, path, lines, rate, truth, reopen_every=0.25,
                 copytruncate=False, seed=1):
        super().__init__(daemon=True)
        self.path, self.lines, self.rate = path, lines, rate
        self.truth = open(truth, "ab")
        self.reopen_every = reopen_every
        self.copytruncate = copytruncate
        self.rng = random.Random(seed)
        self.written = 0

    def open(self):
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                          0o644)
        self.ino = os.fstat(self.fd).st_ino

    def run(self):
        self.open()
        t0 = last_check = time.time()
        for i, line in enumerate(self.lines):
            due = t0 + i / self.rate
            now = time.time()
            if due > now:
                time.sleep(due - now)
            if len(line) > 2 and self.rng.random() < 0.3:
                cut = self.rng.randrange(1, len(line) - 1)
                os.write(self.fd, line[:cut])
                if self.rng.random() < 0.2:
                    time.sleep(0.002)
                os.write(self.fd, line[cut:])
            else:
                os.write(self.fd, line)
            self.truth.write(line)
            self.written += 1
            if not self.copytruncate and now - last_check > self.reopen_every:
                last_check = now
                try:
                    ino = os.stat(self.path).st_ino
                except FileNotFoundError:
                    ino = None
                if ino != self.ino:
                    os.close(self.fd)
                    self.open()
        os.close(self.fd)
        self.truth.close()


def logfmt(line):
    """key=value pairs of one logfmt line (values unquoted)."""
    out = {}
    for m in re.finditer(r'(\w[\w.]*)=("((?:[^"\\]|\\.)*)"|\S*)', line):
        v = m.group(3) if m.group(3) is not None else m.group(2)
        out[m.group(1)] = re.sub(r'\\(.)', lambda x: {"n": "\n"}.get(
            x.group(1), x.group(1)), v)
    return out


def rotator(conf, state, times, every, stop):
    for _ in range(times):
        if stop.wait(every):
            return
        subprocess.run(["logrotate", "-f", "-s", state, conf],
                       capture_output=True)


def logrotate_conf(d, path, mode):
    conf = os.path.join(d, "logrotate.conf")
    with open(conf, "w") as f:
        f.write('"%s" {\n    rotate 20\n    missingok\n    %s\n}\n'
                % (path, "\n    ".join(mode)))
    return conf


def pool(d, n, seed):
    """n seed-shaped lines (awkward JSON, 2% garbage), each ending in \\n."""
    p = os.path.join(d, "pool.log")
    subprocess.run([LOGGEN, "--lines=%d" % n, "--seed=%d" % seed, "--awkward",
                    "--garbage=0.02", "--output=" + p], check=True)
    data = open(p, "rb").read()
    os.unlink(p)
    return [l + b"\n" for l in data.split(b"\n")[:-1]]


def setup(name):
    d = os.path.join(OUT, re.sub(r"[^A-Za-z0-9+.-]+", "_", name))
    os.makedirs(os.path.join(d, "dims"))
    subprocess.run([LOGGEN, "--dims-dir=" + os.path.join(d, "dims")],
                   check=True)
    return d


def settle(ex, truth_files, timeout=30):
    want = sum(open(f, "rb").read().count(b"\n") for f in truth_files)
    deadline = time.time() + timeout
    got = -1
    while time.time() < deadline:
        try:
            got = ex.lines_total()
        except OSError:
            got = -1
        if got == want:
            break
        time.sleep(0.2)
    return want, got


def compare(ex, truth_files, d, name):
    """Every series of the four families and the line counters equal the
    reference run on what the writers wrote."""
    want, got = settle(ex, truth_files)
    check("%s: lines counted once" % name, got == want,
          "%d of %d lines" % (got, want))
    expo = os.path.join(d, "final.prom")
    with open(expo, "w") as f:
        f.write(ex.metrics())
    exp = os.path.join(d, "expected")
    with open(exp, "wb") as f:
        r = subprocess.run([PY, os.path.join(HERE, "reference.py"),
                            "--dims-dir=" + os.path.join(d, "dims")]
                           + truth_files, stdout=f)
    r = subprocess.run([PY, os.path.join(HERE, "compare.py"), exp, expo],
                       capture_output=True, text=True)
    out = (r.stdout + r.stderr).strip()
    check("%s: every series equals the reference" % name, r.returncode == 0,
          out.splitlines()[-1] if r.returncode == 0 else out[-1500:])
    return expo


def disk_content(d):
    """What is left on disk of access.log: its rotated copies, oldest
    first (plain or gzip), then the live file."""
    parts = []
    for p in os.listdir(d):
        m = re.match(r"access\.log\.(\d+)(\.gz)?$", p)
        if m:
            parts.append((-int(m.group(1)), p))
    data = b""
    for _, p in sorted(parts):
        opener = gzip.open if p.endswith(".gz") else open
        with opener(os.path.join(d, p), "rb") as f:
            data += f.read()
    with open(os.path.join(d, "access.log"), "rb") as f:
        data += f.read()
    path = os.path.join(d, "disk.log")
    with open(path, "wb") as f:
        f.write(data)
    return path


def bounded_compare(ex, truth, d, name):
    """copytruncate has a window, between logrotate's copy and its
    truncate, where what the writer appends lands in neither file: those
    lines exist only if we read them in time (logrotate(8): "some logging
    data might be lost").  So every series must lie between the reference
    over the written lines left on disk and the reference over everything
    written (plus the lines the window made up, below): nothing on disk
    missed, nothing counted twice.  When we read every line in time, the
    series must equal the reference exactly."""
    import compare as cmp
    import reference as ref

    disk = disk_content(d)
    n_truth = open(truth, "rb").read().count(b"\n")
    n_disk = open(disk, "rb").read().count(b"\n")
    want, got = settle(ex, [truth], timeout=15)
    if got == want:
        compare(ex, [truth], d, name)
        check("%s: logrotate's window lost %d lines on disk, all were read "
              "in time" % (name, n_truth - n_disk), True)
        return
    # A line the writer split across two write()s can lose its second
    # half in the window and the next line its first half: on disk the two
    # halves meet and make a line nobody wrote, sometimes valid JSON.  Any
    # reader that joins the files counts it.  So the bounds are: at least
    # every written line still on disk, at most every written line plus
    # every such made-up line.
    written = ref.split_lines(open(truth, "rb").read())
    on_disk = ref.split_lines(open(disk, "rb").read())
    known = set(written)
    made_up = [l for l in on_disk if l not in known]
    dims = ref.load_dims(os.path.join(d, "dims"))
    lo, hi = {}, {}
    for lines, out in (([l for l in on_disk if l in known], lo),
                       (written + made_up, hi)):
        r = ref.Reference(dims)
        for line in lines:
            r.feed(line)
        for series, v in r.series().items():
            out[cmp.parse_sample(series + " 0")[:2]] = v
    actual = cmp.parse_exposition(ex.metrics().encode(), "exporter")
    bad = []
    for k in set(lo) | set(hi):
        if k[0].endswith("_sum"):
            continue
        if k[0].startswith("gwlog_"):
            # A line cut by the window is counted lost (its bytes), not
            # as the broken line a concatenation of the files shows; the
            # line totals are bounded below.
            continue
        a = actual.get(k, 0)
        low, high = sorted((lo.get(k, 0), hi.get(k, 0)))
        if not low <= a <= high:
            bad.append("%s = %s, not in [%s, %s]" % (cmp.show(k), a, low, high))
    check("%s: every series between what is on disk and what was written"
          % name, not bad and n_disk - len(made_up) <= got
          <= n_truth + len(made_up),
          "%d written, %d left on disk by logrotate, %d counted%s"
          % (n_truth, n_disk, got, "; " + "; ".join(bad[:5]) if bad else ""))


def rotation_scenario(name, mode, copytruncate, kills=0, seconds=6.0,
                      rate=2000, seed=1):
    d = setup(name)
    log = os.path.join(d, "access.log")
    truth = os.path.join(d, "truth.log")
    lines = pool(d, int(seconds * rate), seed)
    conf = logrotate_conf(d, log, mode)
    open(log, "wb").close()
    ex = Exporter(d, [log], state=os.path.join(d, "state"))
    w = Writer(log, lines, rate, truth, copytruncate=copytruncate, seed=seed)
    stop = threading.Event()
    rot = threading.Thread(target=rotator, daemon=True,
                           args=(conf, os.path.join(d, "lr.state"), 5,
                                 seconds / 5.5, stop))
    w.start()
    rot.start()
    rng = random.Random(seed)
    for _ in range(kills):
        time.sleep(rng.uniform(0.5, seconds / (kills + 1)))
        ex.kill()
        time.sleep(rng.uniform(0.05, 0.5))
        ex.start()
    w.join()
    stop.set()
    rot.join()
    if copytruncate:
        bounded_compare(ex, truth, d, name)
    else:
        compare(ex, [truth], d, name)
    rotations = ex.value("gwlog_rotations_total")
    check("%s: rotations seen" % name, rotations >= 3,
          "%d (%s)" % (rotations, ", ".join(mode)))
    lost = ex.value("gwlog_truncated_bytes_lost_total")
    if copytruncate:
        # What logrotate's window took is counted, and never more.
        window = os.path.getsize(truth) - os.path.getsize(disk_content(d))
        check("%s: lost bytes counted, at most logrotate's window" % name,
              0 <= lost <= window, "%d counted, %d bytes of the writer's not "
              "on disk" % (lost, window))
    else:
        check("%s: nothing counted lost" % name, lost == 0,
              "%d bytes" % lost)
    check("%s: SIGTERM exits 0" % name, ex.stop() == 0)


def many_files():
    d = setup("many_files")
    truth = []
    lines = pool(d, 4000, 7)
    rng = random.Random(7)
    it = iter(lines)
    for i in range(1000):
        p = os.path.join(d, "f%04d.log" % i)
        with open(p, "wb") as f:
            for _ in range(2):
                f.write(next(it))
        truth.append(p)
    ex = Exporter(d, [os.path.join(d, "*.log")], state=os.path.join(d, "st"))
    settle(ex, truth, timeout=20)
    for i in rng.sample(range(1000), 300):
        with open(truth[i], "ab") as f:
            f.write(next(it))
    for i in range(1000, 1100):
        p = os.path.join(d, "f%04d.log" % i)
        with open(p, "wb") as f:
            f.write(next(it))
        truth.append(p)
    compare(ex, truth, d, "1,100 files under one glob")
    files = ex.value("gwlog_open_files")
    check("1,100 files: at most max_open_files (1024) held open", files == 1024,
          "%d open" % files)
    # A file closed as idle is reopened when it grows.
    with open(truth[0], "ab") as f:
        f.write(next(it))
    with open(truth[1099], "ab") as f:
        f.write(next(it))
    want, got = settle(ex, truth)
    check("1,100 files: closed idle files reopened when they grow",
          got == want, "%d of %d lines" % (got, want))
    ex.stop()


def delete_recreate():
    d = setup("delete_recreate")
    log = os.path.join(d, "a.log")
    lines = pool(d, 600, 8)
    keep = os.path.join(d, "truth.log")
    with open(log, "wb") as f:
        f.writelines(lines[:200])
    ex = Exporter(d, [log], state=os.path.join(d, "st"))
    settle(ex, [log])
    os.unlink(log)
    with open(log, "wb") as f:
        f.writelines(lines[200:500])
    time.sleep(0.5)
    with open(log, "ab") as f:
        f.writelines(lines[500:])
    with open(keep, "wb") as f:
        f.writelines(lines)
    compare(ex, [keep], d, "file deleted and recreated")
    ex.stop()


def inode_reuse():
    """Stopped exporter; the file is replaced by a new one that gets the
    same inode number: the new file must be read from its start."""
    d = setup("inode_reuse")
    log = os.path.join(d, "a.log")
    lines = pool(d, 800, 9)
    with open(log, "wb") as f:
        f.writelines(lines[:300])
    ex = Exporter(d, [log], state=os.path.join(d, "st"))
    settle(ex, [log])
    ex.stop()
    ino = os.stat(log).st_ino
    reused = False
    for _ in range(50):
        os.unlink(log)
        with open(log, "wb") as f:
            f.writelines(lines[300:])
        if os.stat(log).st_ino == ino:
            reused = True
            break
    check("inode reuse: the filesystem reused the inode", reused,
          "inode %d" % ino)
    truth = os.path.join(d, "truth.log")
    with open(truth, "wb") as f:
        f.writelines(lines)
    ex.start()
    compare(ex, [truth], d, "inode reuse")
    ex.stop()


def bad_state_dir(kind):
    """A full or read-only state dir never stops ingestion."""
    d = setup("state_" + kind)
    st = os.path.join(d, "st")
    os.makedirs(st)
    opts = "size=64k" if kind == "full" else "ro,size=64k"
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", st],
                       capture_output=True)
    if not check("%s state dir: tmpfs mounted" % kind, r.returncode == 0,
                 r.stderr.decode().strip()):
        return
    try:
        if kind == "full":
            with open(os.path.join(st, "fill"), "wb") as f:
                try:
                    f.write(b"\0" * 70000)
                except OSError:
                    pass
        log = os.path.join(d, "a.log")
        truth = os.path.join(d, "truth.log")
        lines = pool(d, 3000, 10)
        ex = Exporter(d, [log], state=st)
        w = Writer(log, lines, 1500, truth)
        w.start()
        w.join()
        compare(ex, [truth], d, "%s state dir" % kind)
        errors = ex.value("gwlog_checkpoint_errors_total")
        check("%s state dir: failures counted" % kind, errors >= 1,
              "gwlog_checkpoint_errors_total %d" % errors)
        check("%s state dir: SIGTERM exits 0" % kind, ex.stop() == 0)
    finally:
        subprocess.run(["umount", st], capture_output=True)


def torn_checkpoint():
    """The newest checkpoint is torn: the previous one is used, and since
    it holds offsets and counts together, totals stay exact."""
    d = setup("torn_checkpoint")
    log = os.path.join(d, "a.log")
    st = os.path.join(d, "st")
    lines = pool(d, 900, 11)
    with open(log, "wb") as f:
        f.writelines(lines[:300])
    ex = Exporter(d, [log], state=st)
    settle(ex, [log])
    time.sleep(1.5)                             # a checkpoint at 300
    with open(log, "ab") as f:
        f.writelines(lines[300:600])
    settle(ex, [log])
    ex.stop()                                   # the last one, at 600
    slots = sorted((os.path.getmtime(os.path.join(st, s)), s)
                   for s in os.listdir(st) if s.endswith(".gz"))
    newest = os.path.join(st, slots[-1][1])
    data = open(newest, "rb").read()
    with open(newest, "wb") as f:
        f.write(data[:len(data) // 2])
    with open(log, "ab") as f:
        f.writelines(lines[600:])
    ex.start()
    compare(ex, [log], d, "torn checkpoint")
    corrupt = ex.value("gwlog_checkpoint_corrupt_total")
    check("torn checkpoint: detected and counted", corrupt == 1,
          "gwlog_checkpoint_corrupt_total %d" % corrupt)
    ex.stop()


def main():
    for tool in (EXPORTER, LOGGEN):
        if not os.access(tool, os.X_OK):
            print("tailing: %s missing; run make" % tool)
            return 1
    if shutil.which("logrotate") is None:
        print("tailing: logrotate missing (make test installs it)")
        return 1
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    t0 = time.time()
    rotation_scenario("create", ["create"], False)
    rotation_scenario("create+compress", ["create", "compress"], False,
                      seed=2)
    rotation_scenario("copytruncate+delaycompress",
                      ["copytruncate", "compress", "delaycompress"], True,
                      seed=3)
    rotation_scenario("copytruncate+compress", ["copytruncate", "compress"],
                      True, seed=4)
    rotation_scenario("create, 3 SIGKILLs", ["create", "delaycompress",
                                             "compress"], False, kills=3,
                      seconds=8.0, seed=5)
    rotation_scenario("copytruncate, 3 SIGKILLs", ["copytruncate"], True,
                      kills=3, seconds=8.0, seed=6)
    many_files()
    delete_recreate()
    inode_reuse()
    bad_state_dir("full")
    bad_state_dir("read-only")
    torn_checkpoint()
    print("tailing: %d passed, %d failed (%.0f s)"
          % (passed, failed, time.time() - t0))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
