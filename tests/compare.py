#!/usr/bin/env python3
"""compare.py - compares the reference's expected series with an exporter's
/metrics exposition.

    compare.py EXPECTED ACTUAL_EXPOSITION

EXPECTED is reference.py's text output (sample lines) or its --json output.
ACTUAL is Prometheus text exposition (HELP/TYPE/comments ignored).

Every sample of the families the reference knows (reference.METRIC_NAMES),
plus any other metric name that appears in EXPECTED, must be present in both
with the same value (parsed as doubles, compared exactly; NaN equals NaN).
Label order does not matter; `le` is compared numerically.  Exit 0 on an
exact match, 1 on a mismatch, 2 on a malformed input.
"""

import json
import math
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference  # noqa: E402

MAX_SHOWN = 20


class ParseError(Exception):
    pass


def _parse_value(text):
    t = text.strip()
    if t in ("+Inf", "Inf"):
        return math.inf
    if t == "-Inf":
        return -math.inf
    if t == "NaN":
        return math.nan
    try:
        return float(t)
    except ValueError:
        raise ParseError("bad value %r" % text)


def _norm_le(v):
    try:
        f = _parse_value(v)
    except ParseError:
        return v
    return "+Inf" if f == math.inf else repr(f)


def parse_sample(line):
    """'name{l="v",...} value [timestamp]' -> (name, labels tuple, value).
    labels: sorted tuple of (name, unescaped value)."""
    n = len(line)
    i = 0
    while i < n and line[i] not in "{ \t":
        i += 1
    name = line[:i]
    if not name:
        raise ParseError("no metric name")
    labels = []
    if i < n and line[i] == "{":
        i += 1
        while True:
            while i < n and line[i] in " \t":
                i += 1
            if i < n and line[i] == "}":
                i += 1
                break
            j = i
            while j < n and line[j] not in "= \t":
                j += 1
            lname = line[i:j]
            i = j
            while i < n and line[i] in " \t":
                i += 1
            if i >= n or line[i] != "=" or not lname:
                raise ParseError("bad label name near %r" % line[j:j + 20])
            i += 1
            while i < n and line[i] in " \t":
                i += 1
            if i >= n or line[i] != '"':
                raise ParseError("label value not quoted")
            i += 1
            val = []
            while True:
                if i >= n:
                    raise ParseError("unterminated label value")
                c = line[i]
                if c == "\\":
                    if i + 1 >= n:
                        raise ParseError("dangling backslash")
                    e = line[i + 1]
                    val.append({"\\": "\\", '"': '"', "n": "\n"}.get(
                        e, "\\" + e))
                    i += 2
                    continue
                if c == '"':
                    i += 1
                    break
                val.append(c)
                i += 1
            v = "".join(val)
            if lname == "le":
                v = _norm_le(v)
            labels.append((lname, v))
            while i < n and line[i] in " \t":
                i += 1
            if i < n and line[i] == ",":
                i += 1
                continue
            if i < n and line[i] == "}":
                i += 1
                break
            raise ParseError("expected , or } in labels")
    rest = line[i:]
    if " # " in rest:  # OpenMetrics exemplar
        rest = rest.split(" # ", 1)[0]
    parts = rest.split()
    if not parts or len(parts) > 2:
        raise ParseError("bad value part %r" % rest)
    names = [l[0] for l in labels]
    if len(set(names)) != len(names):
        raise ParseError("duplicate label name")
    return name, tuple(sorted(labels)), _parse_value(parts[0])


def parse_exposition(data, what):
    """bytes -> {(name, labels): value}.  Duplicates are an error."""
    out = {}
    for no, raw in enumerate(data.split(b"\n"), 1):
        # invalid UTF-8 from the exporter must not compare equal to U+FFFD
        line = raw.decode("utf-8", errors="surrogateescape")
        if line.endswith("\r"):
            line = line[:-1]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            key = parse_sample(line)
        except ParseError as e:
            raise ParseError("%s:%d: %s: %r" % (what, no, e, line[:200]))
        k = key[:2]
        if k in out:
            raise ParseError("%s:%d: duplicate series %s" %
                             (what, no, show(k)))
        out[k] = key[2]
    return out


def parse_expected(data, what):
    if data.lstrip()[:1] == b"{":
        d = json.loads(data.decode("utf-8"))
        out = {}
        for s, v in d.items():
            name, labels, _ = parse_sample(s + " 0")
            out[(name, labels)] = float(v)
        return out
    return parse_exposition(data, what)


def show(key):
    name, labels = key
    return reference.series_name(name, list(labels))


def same(a, b):
    if a is None or b is None:
        return False
    if math.isnan(a) and math.isnan(b):
        return True
    return a == b


def fmt(v):
    if v is None:
        return "(absent)"
    return reference.format_value(v)


def compare(expected, actual):
    """-> (list of mismatch strings, number of equal series)."""
    names = set(reference.METRIC_NAMES) | {k[0] for k in expected}
    keys = set(expected) | {k for k in actual if k[0] in names}
    problems = []
    equal = 0
    for k in sorted(keys, key=lambda k: (k[0], k[1])):
        e = expected.get(k)
        a = actual.get(k)
        if same(e, a):
            equal += 1
            continue
        if e is None:
            problems.append("unexpected %s = %s" % (show(k), fmt(a)))
        elif a is None:
            problems.append("missing    %s (expected %s)" % (show(k), fmt(e)))
        else:
            problems.append("value      %s: expected %s, actual %s" %
                            (show(k), fmt(e), fmt(a)))
    return problems, equal


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: compare.py EXPECTED ACTUAL_EXPOSITION\n")
        return 2
    try:
        with open(argv[0], "rb") as fh:
            expected = parse_expected(fh.read(), argv[0])
        with open(argv[1], "rb") as fh:
            actual = parse_exposition(fh.read(), argv[1])
    except (OSError, ParseError, ValueError) as e:
        sys.stderr.write("compare: %s\n" % e)
        return 2
    problems, equal = compare(expected, actual)
    out = sys.stdout.buffer
    if problems:
        for p in problems[:MAX_SHOWN]:
            out.write(("  " + p + "\n").encode("utf-8", "backslashreplace"))
        if len(problems) > MAX_SHOWN:
            out.write(b"  ... and %d more\n" % (len(problems) - MAX_SHOWN))
        out.write(("compare: %d series differ, %d equal\n" %
                   (len(problems), equal)).encode())
        return 1
    out.write(("compare: %d series equal\n" % equal).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
