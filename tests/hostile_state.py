#!/usr/bin/env python3
"""hostile_state.py - checkpoints with a right CRC and wrong content, and a
state dir removed while the exporter runs (issue 11, part 4).

Hostile checkpoints: the real exporter writes a good checkpoint of a log;
then, for each hostile variant, the state dir holds that good checkpoint
in its slot and, in the other slot with a newer generation, the same text
changed to hold one hostile field, gzip-compressed by python (so the CRC
is right).  Lines are appended while the exporter is down, then it starts:
it must not crash, must count the refused slot in
gwlog_checkpoint_corrupt_total, log the slot and the field, and resume
from the good slot, so that gwlog_lines_total equals the lines of the log
counted here and every series equals tests/reference.py on the log.

Removed state dir: rm -rf of the state dir while running; a checkpoint
file must exist again after a few checkpoint intervals, and
gwlog_checkpoint_errors_total must stop growing.

Prints one line per check and "hostile_state: N passed, M failed".
"""

import gzip
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tailing as T   # noqa: E402

T.OUT = os.path.join(T.HERE, "out", "hostile_state")
check = T.check
SLOTS = ("checkpoint.a.gz", "checkpoint.b.gz")


def read_slot(path):
    text = gzip.decompress(open(path, "rb").read()).decode("ascii")
    gen = int(text.split("\n", 1)[0].split()[2])
    return text, gen


def file_line(text, log):
    """The index and fields of the file record of log."""
    lines = text.split("\n")
    for i, l in enumerate(lines):
        f = l.split(" ")
        if f[0] == "file" and f[9] == log:
            return lines, i, f
    raise RuntimeError("no file record for %s in the checkpoint" % log)


def as_v3(text):
    """text in state version 3 or more: JOIN_AT (0) after each file
    record (version 4, with native buckets, has it already)."""
    lines = text.split("\n")
    h = lines[0].split(" ")
    assert h[0] == "gwlog_state" and h[1] in ("2", "3", "4"), lines[0]
    if h[1] == "2":
        h[1] = "3"
        lines[0] = " ".join(h)
        lines = [l + " 0" if l.startswith("file ") else l for l in lines]
    return "\n".join(lines)


def with_file(text, log, change):
    """text with log's file record changed by change(fields)."""
    lines, i, f = file_line(text, log)
    change(f)
    lines[i] = " ".join(f)
    return "\n".join(lines)


def set_field(k, v):
    def change(f):
        f[k] = v
    return change


def end_changed(text, change):
    lines = text.rstrip("\n").split("\n")
    f = lines[-1].split(" ")
    change(f)
    lines[-1] = " ".join(f)
    return "\n".join(lines) + "\n"


def duplicated_file(text, log):
    lines, i, f = file_line(text, log)
    lines.insert(i, lines[i])
    text = "\n".join(lines)
    return end_changed(text, lambda e: e.__setitem__(1, str(int(e[1]) + 1)))


def hostile_variants(text, log):
    """(name, hostile text, the field the log must name)."""
    off = int(file_line(text, log)[2][4])
    return [
        ("fp_len 4000000000",
         with_file(text, log, set_field(5, "4000000000")), "fp_len"),
        ("negative offset", with_file(text, log, set_field(4, "-1")),
         "offset"),
        ("offset past INT64_MAX",
         with_file(text, log, set_field(4, str(2 ** 63))), "offset"),
        ("offset 2^64", with_file(text, log, set_field(4, str(2 ** 64))),
         "offset"),
        ("tfp_len > offset",
         with_file(with_file(text, log, set_field(4, "100")), log,
                   set_field(11, "101")), "offset"),
        ("carry longer than offset",
         with_file(text, log, set_field(10, "x" * (off + 1))),
         "carry_len <= offset"),
        ("carry's part from before a truncation longer than the carry",
         with_file(as_v3(text), log, set_field(13, "1")),
         "join_at <= carry_len"),
        ("carry past the offset by more than its part from before a "
         "truncation",
         with_file(with_file(as_v3(text), log,
                             set_field(10, "x" * (off + 3))), log,
                   set_field(13, "2")), "carry_len <= offset"),
        ("absurd counts",
         end_changed(text, lambda e: e.__setitem__(1, "4000000000")),
         "counts"),
        ("absurd series count",
         end_changed(text, lambda e: e.__setitem__(3, str(10 ** 15))),
         "counts"),
        ("truncated end line", end_changed(text, lambda e: e.pop()),
         "fields, not %d" % len(text.rstrip("\n").rsplit("\n", 1)[1]
                                .split(" "))),
        ("no end line", text.rstrip("\n").rsplit("\n", 1)[0] + "\n",
         "no end line"),
        ("duplicated file", duplicated_file(text, log), "recorded twice"),
        ("giant path", with_file(text, log, set_field(9, "/" + "x" * 100000)),
         "path"),
        ("negative counter", negative_counter(text), "count 0"),
        # Native buckets (state version 4): every observation went to
        # both the classic and the native buckets.
        ("native total above the series' count",
         native_changed(text, n_field(2, lambda z: str(int(z) + 1))),
         "native total"),
        ("native schema 9", native_changed(text, n_field(1, lambda s: "9")),
         "schema: 9"),
        ("native buckets past the family's cap", native_cap(text, 1),
         "more buckets"),
        ("native record without its series",
         native_changed(text, lambda lines, i: lines.pop(i - 1)),
         "not right after a series line"),
        # A right CRC, sane numbers, and an offset past the end of the file
        # it names: refused against the file (same inode, same first bytes).
        ("offset past the end of the file",
         with_file(text, log, set_field(4, str(off * 10))), "contradict"),
    ]


def native_changed(text, change):
    """text with the first "n" record (native buckets, state version 4)
    of the default config's native family changed by change(lines, i)."""
    lines = text.split("\n")
    assert lines[0].split(" ")[1] == "4", lines[0]
    for i, l in enumerate(lines):
        if l.startswith("n "):
            change(lines, i)
            return "\n".join(lines)
    raise RuntimeError("no native record in the checkpoint")


def n_field(k, f):
    def change(lines, i):
        fields = lines[i].split(" ")
        fields[k] = f(fields[k])
        lines[i] = " ".join(fields)
    return change


def native_cap(text, cap):
    return re.sub(r"^native (\S+) \d+$", lambda m: "native %s %d"
                  % (m.group(1), cap), text, count=1, flags=re.M)


def negative_counter(text):
    lines = text.split("\n")
    for i, l in enumerate(lines):
        if l.startswith("family gwlog_lines_total "):
            f = lines[i + 1].split(" ")
            f[-1] = "-" + f[-1]
            lines[i + 1] = " ".join(f)
            return "\n".join(lines)
    raise RuntimeError("no gwlog_lines_total family in the checkpoint")


def count_lines(path):
    with open(path, "rb") as f:
        return f.read().count(b"\n")


def hostile_checkpoints():
    d = T.setup("hostile_checkpoints")
    log = os.path.join(d, "a.log")
    st = os.path.join(d, "st")
    lines = T.pool(d, 300 + 14 * 40, 21)
    with open(log, "wb") as f:
        f.writelines(lines[:300])
    ex = T.Exporter(d, [log], state=st)
    T.settle(ex, [log])
    check("good checkpoint: exporter stops cleanly", ex.stop() == 0)
    good_slot = max(SLOTS, key=lambda s: read_slot(os.path.join(st, s))[1]
                    if os.path.exists(os.path.join(st, s)) else -1)
    good_bytes = open(os.path.join(st, good_slot), "rb").read()
    text, gen = read_slot(os.path.join(st, good_slot))
    other = SLOTS[1 - SLOTS.index(good_slot)]
    check("good checkpoint: in slot %s, generation %d" % (good_slot, gen),
          gen % 2 == SLOTS.index(good_slot))

    written = 300
    for name, bad, field in hostile_variants(text, log):
        shutil.rmtree(st)
        os.makedirs(st)
        with open(os.path.join(st, good_slot), "wb") as f:
            f.write(good_bytes)
        bad = re.sub(r"^gwlog_state (\d+) %d " % gen,
                     lambda m: "gwlog_state %s %d " % (m.group(1), gen + 1),
                     bad, count=1)
        with open(os.path.join(st, other), "wb") as f:
            f.write(gzip.compress(bad.encode("ascii")))
        # Lines written while it was down: read from the good offset on.
        with open(log, "ab") as f:
            f.writelines(lines[written:written + 40])
        written += 40
        try:
            ex.start()
        except RuntimeError:
            continue                        # "starts" failed: counted
        want, got = T.settle(ex, [log])
        check("%s: lines counted once from the good slot" % name,
              got == want == count_lines(log),
              "%d of %d lines" % (got, want))
        corrupt = ex.value("gwlog_checkpoint_corrupt_total")
        check("%s: counted corrupt" % name, corrupt >= 1,
              "gwlog_checkpoint_corrupt_total %d" % corrupt)
        check("%s: still running" % name, ex.p.poll() is None)
        ex.err.seek(0)
        err = ex.err.read().decode(errors="replace")
        logged = [kv for kv in map(T.logfmt, err.splitlines())
                  if kv.get("msg") == "checkpoint refused"
                  and kv.get("path") == os.path.join(st, other)
                  and field in kv.get("err", "")]
        check("%s: the log names the slot and the field" % name,
              len(logged) == 1, err[-600:] if not logged else "")
        if name == "fp_len 4000000000":
            T.compare(ex, [log], d, name)
        check("%s: SIGTERM exits 0" % name, ex.stop() == 0)


def removed_state_dir():
    d = T.setup("removed_state_dir")
    log = os.path.join(d, "a.log")
    st = os.path.join(d, "st")
    lines = T.pool(d, 400, 22)
    with open(log, "wb") as f:
        f.writelines(lines[:200])
    ex = T.Exporter(d, [log], state=st)
    T.settle(ex, [log])

    def slots():
        return [s for s in SLOTS if os.path.exists(os.path.join(st, s))]

    deadline = time.time() + 20
    while not slots() and time.time() < deadline:
        time.sleep(0.2)
    check("removed state dir: a checkpoint before", bool(slots()))
    shutil.rmtree(st)
    with open(log, "ab") as f:
        f.writelines(lines[200:])
    # Checkpoints every 1 s: poll for one in the recreated directory.
    deadline = time.time() + 30
    while not slots() and time.time() < deadline:
        time.sleep(0.2)
    check("removed state dir: recreated with a checkpoint", bool(slots()))
    e1 = ex.value("gwlog_checkpoint_errors_total")
    time.sleep(4)                           # four checkpoint intervals
    e2 = ex.value("gwlog_checkpoint_errors_total")
    check("removed state dir: checkpoint errors stop growing", e2 == e1,
          "gwlog_checkpoint_errors_total %d, then %d" % (e1, e2))
    ex.err.seek(0)
    err = ex.err.read().decode(errors="replace")
    logged = [kv for kv in map(T.logfmt, err.splitlines())
              if kv.get("msg") == "the state directory was removed: created "
              "it again"]
    check("removed state dir: logged once at info, dir= names it",
          len(logged) == 1 and logged[0].get("level") == "info"
          and logged[0].get("dir") == st,
          "" if len(logged) == 1 and logged[0].get("dir") == st
          else err[-600:])
    check("removed state dir: SIGTERM exits 0", ex.stop() == 0)
    # What it wrote in the new directory restores exactly.
    with open(log, "ab") as f:
        f.writelines(lines[:50])
    ex.start()
    T.compare(ex, [log], d, "removed state dir, restart")
    check("removed state dir: restart, nothing corrupt",
          ex.value("gwlog_checkpoint_corrupt_total") == 0)
    ex.stop()


def main():
    for tool in (T.EXPORTER, T.LOGGEN):
        if not os.access(tool, os.X_OK):
            print("hostile_state: %s missing; run make" % tool)
            return 1
    shutil.rmtree(T.OUT, ignore_errors=True)
    os.makedirs(T.OUT)
    t0 = time.time()
    hostile_checkpoints()
    removed_state_dir()
    print("hostile_state: %d passed, %d failed (%.0f s)"
          % (T.passed, T.failed, time.time() - t0))
    return 0 if T.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
