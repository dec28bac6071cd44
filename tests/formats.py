#!/usr/bin/env python3
"""formats.py - The exposition formats and their negotiation: Prometheus text
0.0.4, OpenMetrics 1.0 text and the protobuf delimited format.

- Accept headers negotiate as client_golang's promhttp does
  (expfmt.NegotiateIncludingOpenMetrics): each case's expected format is
  written here, not read from the exporter.
- OpenMetrics is checked by a parser of our own (the spec's rules: "# EOF"
  last, one block per family, counter families named without _total and
  their samples with it, histogram buckets ascending and cumulative with
  +Inf equal to _count, escapes, numbers).
- The protobuf body is decoded by a minimal decoder written here
  (varint-delimited MetricFamily messages, field numbers from
  client_model's metrics.proto).
- Every format counts the lines written: sum of gwlog_lines_total equals the
  newline count of the log file (the independent figure); the three
  formats carry the same samples for the families that do not move between
  scrapes.
- promtool check metrics on the text body.
- Native buckets survive a SIGKILL (restart_tests(); alone with
  `python3 tests/formats.py restart`): lines counted, a checkpoint taken
  after them, SIGKILL, more lines, restart with the same --state.dir: the
  protobuf native buckets equal the python model over ALL the lines.
- The real Prometheus (2.42) scrapes through a recording proxy: without
  feature flags it asks for OpenMetrics, with --enable-feature=
  native-histograms for protobuf; the proxy sees the Content-Type the
  exporter answered, the target is up and the series arrive.

Prints one line per check and "formats: N passed, M failed".
"""

import http.server
import json
import math
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as R  # noqa: E402
from native_keys import exact_key  # noqa: E402
import tailing as T   # noqa: E402

OUT = os.path.join(T.HERE, "out", "formats")
check = T.check

CT_TEXT = "text/plain; version=0.0.4; charset=utf-8"
CT_OM1 = "application/openmetrics-text; version=1.0.0; charset=utf-8"
CT_OM0 = "application/openmetrics-text; version=0.0.1; charset=utf-8"
CT_PB = ("application/vnd.google.protobuf; "
         "proto=io.prometheus.client.MetricFamily; encoding=delimited")
PB_ACCEPT = ("application/vnd.google.protobuf;"
             "proto=io.prometheus.client.MetricFamily;encoding=delimited")

# (Accept header, the Content-Type client_golang would answer).
NEGOTIATION = [
    (None, CT_TEXT),
    ("*/*", CT_TEXT),
    ("application/json", CT_TEXT),
    ("text/plain", CT_TEXT),
    ("text/plain;version=0.0.4", CT_TEXT),
    ("application/openmetrics-text", CT_OM0),
    ("application/openmetrics-text; version=0.0.1", CT_OM0),
    ("application/openmetrics-text;version=1.0.0", CT_OM1),
    ("application/openmetrics-text;version=2.0.0", CT_TEXT),
    # Prometheus 2.42's header without feature flags.
    ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
     "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", CT_OM1),
    # ... and with --enable-feature=native-histograms.
    (PB_ACCEPT + ",application/openmetrics-text;version=1.0.0;q=0.8,"
     "application/openmetrics-text;version=0.0.1;q=0.75,"
     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1", CT_PB),
    # q decides, not the order; q=0 means "not acceptable".
    ("text/plain;version=0.0.4;q=0.5,application/openmetrics-text;q=0.9",
     CT_OM0),
    ("application/openmetrics-text;version=1.0.0;q=0,text/plain", CT_TEXT),
    ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
     "encoding=text", CT_TEXT),
    ("Application/OpenMetrics-Text; Version=\"1.0.0\"", CT_OM1),
    (PB_ACCEPT, CT_PB),
]

# Families that move between two scrapes (process, HTTP, event lag).
MOVING = ("process_", "gwlog_http_", "gwlog_event_lag_seconds")

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*$")


def get(port, accept):
    req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port)
    if accept is not None:
        req.add_header("Accept", accept)
    with urllib.request.urlopen(req, timeout=20) as r:
        return r.headers.get("Content-Type"), r.read()


# --- text formats -----------------------------------------------------------

def parse_labels(s, i):
    """Labels from s[i] == '{' to its '}': (dict, index after '}')."""
    labels = {}
    i += 1
    while s[i] != "}":
        m = re.match(r"[a-zA-Z_][a-zA-Z0-9_]*", s[i:])
        if not m:
            raise ValueError("bad label name at %r" % s[i:i + 20])
        name = m.group(0)
        i += len(name)
        if s[i:i + 2] != '="':
            raise ValueError("no =\" after %s" % name)
        i += 2
        v = []
        while s[i] != '"':
            if s[i] == "\\":
                esc = s[i + 1]
                if esc not in ('\\', '"', 'n'):
                    raise ValueError("bad escape \\%s" % esc)
                v.append("\n" if esc == "n" else esc)
                i += 2
            else:
                v.append(s[i])
                i += 1
        i += 1
        if name in labels:
            raise ValueError("label %s twice" % name)
        labels[name] = "".join(v)
        if s[i] == ",":
            i += 1
    return labels, i + 1


def parse_sample(line):
    m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line)
    if not m:
        raise ValueError("bad sample name: %r" % line[:40])
    name = m.group(0)
    i = len(name)
    labels = {}
    if i < len(line) and line[i] == "{":
        labels, i = parse_labels(line, i)
    if line[i] != " ":
        raise ValueError("no space before the value: %r" % line[:60])
    parts = line[i + 1:].split(" ")
    if len(parts) != 1:
        raise ValueError("timestamp or junk after the value: %r" % line)
    return name, labels, float(parts[0])


def parse_om_sample(line):
    """An OpenMetrics sample line: (name, labels, value, exemplar), the
    exemplar (labels, value, timestamp or None) or None.  The spec's ABNF:
    sample SP "#" SP labels SP number [SP timestamp]."""
    head, sep, tail = line.partition(" # ")
    name, labels, v = parse_sample(head)
    if not sep:
        return name, labels, v, None
    if not tail.startswith("{"):
        raise ValueError("exemplar without labels: %r" % line)
    elabels, i = parse_labels(tail, 0)
    if tail[i:i + 1] != " ":
        raise ValueError("no space after the exemplar's labels: %r" % line)
    parts = tail[i + 1:].split(" ")
    if len(parts) not in (1, 2):
        raise ValueError("junk after the exemplar: %r" % line)
    ev = float(parts[0])
    ets = float(parts[1]) if len(parts) == 2 else None
    if sum(len(k) + len(x) for k, x in elabels.items()) > 128:
        raise ValueError("exemplar label set over 128 code points: %r"
                         % line)
    return name, labels, v, (elabels, ev, ets)


def key(name, labels):
    return (name, tuple(sorted((k, float(v) if k == "le" else v)
                               for k, v in labels.items())))


def parse_text(body):
    """Prometheus text 0.0.4: {(name, labels): value}, {family: type}."""
    samples, types = {}, {}
    for line in body.split("\n"):
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
        elif line and not line.startswith("#"):
            name, labels, v = parse_sample(line)
            samples[key(name, labels)] = v
    return samples, types


def check_openmetrics(body, exemplars=None):
    """Validates an OpenMetrics body; returns (samples, types) in the text
    format's naming (counter samples keep _total) or raises ValueError.
    Exemplars are allowed on counter _total and histogram _bucket samples
    only; with a dict, each is stored there under its sample's key."""
    if not body.endswith("# EOF\n"):
        raise ValueError("does not end with '# EOF\\n': %r" % body[-40:])
    lines = body[:-1].split("\n")
    if lines.count("# EOF") != 1:
        raise ValueError("# EOF %d times" % lines.count("# EOF"))
    samples, types, done = {}, {}, set()
    fam, typ, helped = None, None, set()
    hist = {}                       # labels without le -> [(le, v)]
    counts = {}

    def close_family():
        for lk, buckets in hist.items():
            les = [le for le, _ in buckets]
            if les != sorted(les) or les[-1] != math.inf:
                raise ValueError("%s%s: buckets not ascending to +Inf"
                                 % (fam, lk))
            vals = [v for _, v in buckets]
            if any(b < a for a, b in zip(vals, vals[1:])):
                raise ValueError("%s%s: buckets not cumulative" % (fam, lk))
            if counts.get(lk) != vals[-1]:
                raise ValueError("%s%s: +Inf %s != _count %s"
                                 % (fam, lk, vals[-1], counts.get(lk)))
        hist.clear()
        counts.clear()

    for line in lines[:-1]:
        if line == "":
            raise ValueError("empty line")
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4:
                raise ValueError("short line %r" % line)
            name = parts[2]
            if not NAME_RE.match(name):
                raise ValueError("bad family name %r" % name)
            if name != fam:
                if name in done:
                    raise ValueError("family %s in two blocks" % name)
                if fam is not None:
                    close_family()
                    done.add(fam)
                fam, typ = name, None
            if parts[1] == "TYPE":
                if typ is not None:
                    raise ValueError("two TYPE lines for %s" % name)
                typ = parts[3]
                if typ not in ("counter", "gauge", "histogram", "summary",
                               "info", "stateset", "gaugehistogram",
                               "unknown"):
                    raise ValueError("bad type %r" % typ)
                if typ == "counter" and name.endswith("_total"):
                    raise ValueError("counter family %s named with _total"
                                     % name)
                types[name + "_total" if typ == "counter" else name] = typ
            else:
                if name in helped:
                    raise ValueError("two HELP lines for %s" % name)
                helped.add(name)
                if re.search(r'\\[^\\"n]', parts[3]):
                    raise ValueError("bad escape in HELP of %s" % name)
            continue
        if line.startswith("#"):
            raise ValueError("unknown comment %r" % line)
        name, labels, v, ex = parse_om_sample(line)
        if fam is None or typ is None:
            raise ValueError("sample %s before its TYPE" % name)
        allowed = {"counter": ["_total", "_created"], "gauge": [""],
                   "histogram": ["_bucket", "_sum", "_count", "_created"]}
        suffix = name[len(fam):] if name.startswith(fam) else None
        if suffix not in allowed.get(typ, [""]):
            raise ValueError("sample %s outside family %s (%s)"
                             % (name, fam, typ))
        if ex is not None:
            if (typ, suffix) not in (("counter", "_total"),
                                     ("histogram", "_bucket")):
                raise ValueError("exemplar on %s (%s)" % (name, typ))
            if exemplars is not None:
                exemplars[key(name, labels)] = ex
        if typ == "counter" and (v < 0 or math.isnan(v)):
            raise ValueError("counter %s = %s" % (name, v))
        if typ == "histogram":
            lk = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
            if suffix == "_bucket":
                hist.setdefault(lk, []).append((float(labels["le"]), v))
            elif suffix == "_count":
                counts[lk] = v
        k = key(name, labels)
        if k in samples:
            raise ValueError("sample %s%s twice" % (name, labels))
        samples[k] = v
    if fam is not None:
        close_family()
    return samples, types


# --- protobuf ---------------------------------------------------------------

def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if c < 0x80:
            return v, i


def fields(b):
    """(field number, wire type, value) of one message; value is an int
    (varint), bytes (length-delimited) or float (fixed64 read as double)."""
    i, out = 0, []
    while i < len(b):
        tag, i = varint(b, i)
        num, wire = tag >> 3, tag & 7
        if wire == 0:
            v, i = varint(b, i)
        elif wire == 1:
            v = struct.unpack("<d", b[i:i + 8])[0]
            i += 8
        elif wire == 2:
            n, i = varint(b, i)
            v = b[i:i + n]
            if len(v) != n:
                raise ValueError("truncated field %d" % num)
            i += n
        elif wire == 5:
            v = struct.unpack("<f", b[i:i + 4])[0]
            i += 4
        else:
            raise ValueError("wire type %d" % wire)
        out.append((num, wire, v))
    if i != len(b):
        raise ValueError("message overruns")
    return out


def decode_exemplar(b):
    """An Exemplar message: (labels, value, timestamp in seconds or
    None)."""
    labels, value, ts = {}, 0.0, None
    for num, wire, v in fields(b):
        if num == 1 and wire == 2:
            lp = {k: x for k, _, x in fields(v)}
            labels[lp[1].decode()] = lp.get(2, b"").decode()
        elif num == 2 and wire == 1:
            value = v
        elif num == 3 and wire == 2:
            t = dict((k, x) for k, _, x in fields(v))
            ts = t.get(1, 0) + t.get(2, 0) / 1e9
    return labels, value, ts


def decode_protobuf(body, exemplars=None):
    """Delimited MetricFamily messages: (samples, types) in the text
    format's naming; with a dict, the exemplars of counters and buckets
    (decode_exemplar()) under their sample's key."""
    samples, types = {}, {}
    i = 0
    type_names = {0: "counter", 1: "gauge", 4: "histogram"}
    while i < len(body):
        n, i = varint(body, i)
        msg = body[i:i + n]
        if len(msg) != n:
            raise ValueError("truncated family")
        i += n
        name, typ, metrics = None, 0, []
        for num, wire, v in fields(msg):
            if num == 1 and wire == 2:
                name = v.decode()
            elif num == 3 and wire == 0:
                typ = v
            elif num == 4 and wire == 2:
                metrics.append(v)
        if name is None or typ not in type_names:
            raise ValueError("family without name or with type %d" % typ)
        if name in types:
            raise ValueError("family %s twice" % name)
        types[name] = type_names[typ]
        for m in metrics:
            labels, value = {}, None
            for num, wire, v in fields(m):
                if num == 1:
                    lp = {k: x for k, _, x in fields(v)}
                    labels[lp[1].decode()] = lp.get(2, b"").decode()
                elif num in (2, 3) and typ in (0, 1):
                    cf = dict((k, x) for k, _, x in fields(v))
                    value = cf.get(1, 0.0)
                    samples[key(name, labels)] = value
                    if 2 in cf and num == 3 and exemplars is not None:
                        exemplars[key(name, labels)] = decode_exemplar(cf[2])
                elif num == 7 and typ == 4:
                    count, total, buckets = 0, 0.0, []
                    for hn, _, hv in fields(v):
                        if hn == 1:
                            count = hv
                        elif hn == 2:
                            total = hv
                        elif hn == 3:
                            bk = dict((k, x) for k, _, x in fields(hv))
                            buckets.append((bk.get(2, 0.0), bk.get(1, 0)))
                            if 3 in bk and exemplars is not None:
                                exemplars[key(name + "_bucket", dict(
                                    labels, le=bk.get(2, 0.0)))] = \
                                    decode_exemplar(bk[3])
                    for ub, c in buckets:
                        samples[key(name + "_bucket",
                                    dict(labels, le=ub))] = float(c)
                    if not buckets or buckets[-1][0] != math.inf:
                        samples[key(name + "_bucket",
                                    dict(labels, le=math.inf))] = float(count)
                    samples[key(name + "_sum", labels)] = total
                    samples[key(name + "_count", labels)] = float(count)
    return samples, types


def zigzag(n):
    return (n >> 1) ^ -(n & 1)


def decode_natives(body):
    """{(family, sorted label pairs): native fields} of every histogram
    carrying them: schema, zero_threshold, zero_count and each side's
    spans [(offset, length)] and deltas."""
    out = {}
    i = 0
    while i < len(body):
        n, i = varint(body, i)
        msg = body[i:i + n]
        i += n
        fam = [v for num, _, v in fields(msg) if num == 1][0].decode()
        for num, _, m in fields(msg):
            if num != 4:
                continue
            labels, h = [], None
            for mn, _, mv in fields(m):
                if mn == 1:
                    lp = {k: x for k, _, x in fields(mv)}
                    labels.append((lp[1].decode(), lp.get(2, b"").decode()))
                elif mn == 7:
                    h = fields(mv)
            if h is None or not any(hn == 6 for hn, _, _ in h):
                continue
            nat = {"count": 0, "pos_spans": [], "pos_deltas": [],
                   "neg_spans": [], "neg_deltas": [], "zero_count": 0}
            for hn, wire, hv in h:
                if hn == 1:
                    nat["count"] = hv
                elif hn == 5:
                    nat["schema"] = zigzag(hv)
                elif hn == 6:
                    nat["zero_threshold"] = hv
                elif hn == 7:
                    nat["zero_count"] = hv
                elif hn in (9, 12):
                    sp = {k: x for k, _, x in fields(hv)}
                    nat["neg_spans" if hn == 9 else "pos_spans"].append(
                        (zigzag(sp.get(1, 0)), sp.get(2, 0)))
                elif hn in (10, 13):
                    if wire != 0:
                        raise ValueError("packed deltas")
                    nat["neg_deltas" if hn == 10 else "pos_deltas"].append(
                        zigzag(hv))
            out[(fam, tuple(sorted(labels)))] = nat
    return out


def expand(spans, deltas):
    """{index: count} of one side, empty buckets included; refuses spans
    that client_golang's makeBuckets() would not write."""
    out, idx, c, di = {}, 0, 0, 0
    for n, (off, length) in enumerate(spans):
        if n > 0 and off <= 2:
            raise ValueError("span after a gap of %d (<= 2)" % off)
        if length == 0:
            raise ValueError("empty span")
        idx += off
        for _ in range(length):
            c += deltas[di]
            di += 1
            if c < 0:
                raise ValueError("negative count")
            out[idx] = c
            idx += 1
        if out[idx - 1] == 0:
            raise ValueError("span ends with an empty bucket")
    if di != len(deltas):
        raise ValueError("%d deltas for %d buckets" % (len(deltas), di))
    return out


def native_model(values, schema, max_buckets, zt=2.0 ** -128):
    """client_golang's native buckets of values observed in this order:
    (schema, zero count, {index: count} positive, negative).  Over
    max_buckets, one schema down (ceil(k / 2)), not below -4."""
    pos, neg, zero = {}, {}, 0
    for v in values:
        if v > zt:
            side = pos
        elif v < -zt:
            side = neg
        else:
            zero += 1
            continue
        k = exact_key(abs(v), schema)
        created = k not in side
        side[k] = side.get(k, 0) + 1
        if created and len(pos) + len(neg) > max_buckets and schema > -4:
            schema -= 1
            for side in (pos, neg):
                merged = {}
                for k, c in side.items():
                    merged[-((-k) // 2)] = merged.get(-((-k) // 2), 0) + c
                side.clear()
                side.update(merged)
    return schema, zero, pos, neg


def native_tests(pb, d, log, name="native"):
    """Every native histogram of the protobuf body against native_model()
    of the values the reference read from the log for its series."""
    ref = R.Reference(R.load_dims(os.path.join(d, "dims")))
    for line in R.split_lines(open(log, "rb").read()):
        ref.feed(line)
    try:
        nats = decode_natives(pb)
    except (ValueError, KeyError, IndexError) as e:
        check(name + ": decodes", False, str(e))
        return
    fam = R.DURATION
    got = {k[1]: v for k, v in nats.items() if k[0] == fam}
    check(name + ": only %s has native buckets" % fam,
          set(k[0] for k in nats) == {fam}, str(set(k[0] for k in nats)))
    labels = R.LABELS[fam]
    bad, nbuckets, schemas, total = [], 0, set(), 0
    for values, ms in ref.observed.items():
        lk = tuple(sorted(zip(labels, values)))
        nat = got.pop(lk, None)
        if nat is None:
            bad.append((lk, "missing"))
            continue
        schema, zero, pos, neg = native_model([x / 1000 for x in ms], 3, 160)
        try:
            gp = {k: c for k, c in expand(nat["pos_spans"],
                                          nat["pos_deltas"]).items() if c}
            gn = {k: c for k, c in expand(nat["neg_spans"],
                                          nat["neg_deltas"]).items() if c}
        except (ValueError, IndexError) as e:
            bad.append((lk, str(e)))
            continue
        if (nat.get("schema"), nat["zero_count"], gp, gn) !=                 (schema, zero, pos, neg)                 or nat["zero_threshold"] != 2.0 ** -128                 or nat["count"] != len(ms)                 or nat["count"] != zero + sum(pos.values()) +                 sum(neg.values()):
            bad.append((lk, nat, (schema, zero, pos, neg)))
        nbuckets += len(pos) + len(neg)
        schemas.add(schema)
        total += len(ms)
    # Series without observations (none in the default config) would
    # carry the schema and nothing else.
    bad += [(k, "no observations", v) for k, v in got.items()
            if v["count"] or v["pos_spans"] or v["neg_spans"]]
    check(name + ": buckets, zero bucket, schema and count of every series "
          "= client_golang's rules on the reference's values", not bad
          and total > 1000, "%d series, %d observations, %d buckets, "
          "schemas %s; %s" % (len(ref.observed), total, nbuckets,
                              sorted(schemas), str(bad[:2])[:600]))


def restart_tests():
    """Native buckets survive a SIGKILL: lines are counted, a checkpoint
    is taken after the last one was, the exporter is SIGKILLed, more lines
    come, and the restarted exporter (same --state.dir) serves native
    buckets equal to native_model() of ALL the lines, before and after the
    restart (the reference reads the whole log)."""
    d = T.setup("native_restart")
    log = os.path.join(d, "access.log")
    state = os.path.join(d, "state")
    lines = T.pool(d, 4000, 15)
    with open(log, "wb") as f:
        f.writelines(lines[:2500])
    ex = T.Exporter(d, [log], state=state, name="restart")
    try:
        w, got = T.settle(ex, [log])
        check("restart: run 1 counts the first %d lines" % w, w == got,
              "%s of %s" % (got, w))
        counted = time.time()
        deadline = time.time() + 60
        ck = 0
        while time.time() < deadline:
            ck = ex.value("gwlog_last_checkpoint_timestamp_seconds")
            if ck > counted:
                break
            time.sleep(0.2)
        check("restart: a checkpoint after every line was counted",
              ck > counted, "last checkpoint %s, counted at %s"
              % (ck, counted))
        ex.kill()
        with open(log, "ab") as f:
            f.writelines(lines[2500:])
        ex.start()
        w, got = T.settle(ex, [log], timeout=60)
        check("restart: run 2 counts every line once (%d)" % w, w == got,
              "%s of %s" % (got, w))
        corrupt = ex.value("gwlog_checkpoint_corrupt_total")
        check("restart: no checkpoint refused as corrupt", corrupt == 0,
              "gwlog_checkpoint_corrupt_total %s" % corrupt)
        ct, pb = get(ex.port, PB_ACCEPT)
        check("restart: protobuf served", ct == CT_PB, str(ct))
        native_tests(pb, d, log, "restart: native after SIGKILL")
    finally:
        ex.stop()


# --- checks -----------------------------------------------------------------

def lines_total(samples):
    return sum(v for (n, _), v in samples.items() if n == "gwlog_lines_total")


def stable(samples, families):
    def fam_of(n):
        for s in ("_bucket", "_sum", "_count"):
            if n.endswith(s) and n[:-len(s)] in families:
                return n[:-len(s)]
        return n
    return {k: v for k, v in samples.items()
            if not k[0].startswith(MOVING)}


def same(a, b):
    diff = [k for k in set(a) | set(b)
            if k not in a or k not in b
            or not (a[k] == b[k] or abs(a[k] - b[k]) <= 1e-9 * abs(a[k]))]
    return diff


def exposition_tests(ex, want):
    for accept, ct in NEGOTIATION:
        got, _ = get(ex.port, accept)
        check("negotiation: Accept %s -> %s" % (accept, ct.split(";")[0]
              + (" " + ct.split(";")[1].strip() if ct != CT_PB else "")),
              got == ct, "got %s" % got)

    _, text = get(ex.port, None)
    text = text.decode()
    _, om = get(ex.port, "application/openmetrics-text;version=1.0.0")
    om = om.decode()
    _, pb = get(ex.port, PB_ACCEPT)

    ts, tt = parse_text(text)
    check("text: every line counted", lines_total(ts) == want,
          "%s of %d" % (lines_total(ts), want))
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       capture_output=True)
    check("text: promtool check metrics", p.returncode == 0,
          (p.stdout + p.stderr).decode()[-400:])

    try:
        os_, ot = check_openmetrics(om)
        ok, detail = True, "%d samples, %d families" % (len(os_), len(ot))
    except (ValueError, KeyError, IndexError) as e:
        os_, ot, ok, detail = {}, {}, False, str(e)
    check("openmetrics: valid (EOF, blocks, names, types, buckets, escapes)",
          ok, detail)
    # The checker itself: it must refuse what is not OpenMetrics.
    for what, bad in (("the text format", text),
                      ("a counter TYPE with _total",
                       om.replace("# TYPE gwlog_lines counter",
                                  "# TYPE gwlog_lines_total counter")),
                      ("a family in two blocks", om.replace(
                          "# EOF\n", om.split("\n", 3)[0] + "\n# EOF\n"))):
        try:
            check_openmetrics(bad)
            refused = False
        except (ValueError, KeyError, IndexError):
            refused = True
        check("openmetrics checker refuses %s" % what, refused)
    check("openmetrics: every line counted", lines_total(os_) == want,
          "%s of %d" % (lines_total(os_), want))
    check("openmetrics: counters end in _total, their TYPE does not",
          "# TYPE gwlog_lines counter\n" in om
          and "\ngwlog_lines_total{" in om
          and "# TYPE gwlog_lines_total" not in om)
    check("openmetrics: same families and types as text", ot == tt,
          str(set(ot.items()) ^ set(tt.items()))[:300])
    d = same(stable(os_, tt), stable(ts, tt))
    check("openmetrics: same samples as text", not d and len(
          stable(ts, tt)) > 1000, "%d compared, %s" % (len(stable(ts, tt)),
                                                      d[:5]))

    try:
        ps, pt = decode_protobuf(pb)
        ok, detail = True, "%d families, %d bytes" % (len(pt), len(pb))
    except (ValueError, KeyError, IndexError, UnicodeDecodeError) as e:
        ps, pt, ok, detail = {}, {}, False, str(e)
    check("protobuf: decodes as delimited MetricFamily messages", ok, detail)
    check("protobuf: every line counted", lines_total(ps) == want,
          "%s of %d" % (lines_total(ps), want))
    check("protobuf: same families and types as text",
          pt == tt, str(set(pt.items()) ^ set(tt.items()))[:300])
    d = same(stable(ps, tt), stable(ts, tt))
    check("protobuf: same samples as text (histograms too)", not d,
          "%d compared, %s" % (len(stable(ts, tt)), d[:5]))
    check("protobuf: a histogram is there",
          any(t == "histogram" for t in pt.values()))
    native_tests(pb, ex.d, ex.log)


def http_metrics_tests(ex):
    """gwlog_http_requests_total{handler,code} against requests made here:
    a scrape counts once its response is queued, so the scrape reading the
    counters sees the ones before it."""
    def scrape():
        s, _ = parse_text(get(ex.port, None)[1].decode())
        return s

    def val(s, handler, code):
        return s.get(key("gwlog_http_requests_total",
                         {"handler": handler, "code": code}), 0.0)

    def status(path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s"
                                        % (ex.port, path), timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    a = scrape()
    for _ in range(5):
        get(ex.port, PB_ACCEPT)
    codes = [status("/nope") for _ in range(3)]
    codes += [status("/-/healthy") for _ in range(2)]
    b = scrape()
    check("http: metrics 200 counted", val(b, "metrics", "200")
          == val(a, "metrics", "200") + 6, "%s -> %s" % (
              val(a, "metrics", "200"), val(b, "metrics", "200")))
    check("http: 404 and healthy counted", codes == [404] * 3 + [200] * 2
          and val(b, "other", "404") == val(a, "other", "404") + 3
          and val(b, "healthy", "200") == val(a, "healthy", "200") + 2,
          "%s, other 404 %s -> %s" % (codes, val(a, "other", "404"),
                                      val(b, "other", "404")))
    check("http: metrics 503 exists at 0 before any refusal",
          key("gwlog_http_requests_total", {"handler": "metrics",
                                            "code": "503"}) in b
          and val(b, "metrics", "503") == 0)
    check("http: in flight during a scrape is the scrape itself",
          b.get(key("gwlog_http_requests_in_flight", {})) == 1,
          str(b.get(key("gwlog_http_requests_in_flight", {}))))


def status_hit_ratio(ex):
    """The status page's hit ratio per table, against
    gwlog_dim_lookups_total in /metrics (no line is read in between)."""
    samples, _ = parse_text(get(ex.port, None)[1].decode())
    with urllib.request.urlopen("http://127.0.0.1:%d/" % ex.port,
                                timeout=10) as r:
        page = r.read().decode()
    tables = {}
    for (name, labels), v in samples.items():
        if name == "gwlog_dim_lookups_total":
            ls = dict(labels)
            tables.setdefault(ls["table"], {})[ls["result"]] = v
    got = {}
    for t in tables:
        m = re.search(r"<tr><td>%s</td>.*?<td class=\"n\">([0-9.]+) %%</td>"
                      "</tr>" % re.escape(t), page)
        got[t] = float(m.group(1)) if m else None
    want = {t: round(100.0 * r.get("hit", 0) / sum(r.values()), 1)
            for t, r in tables.items() if sum(r.values()) > 0}
    check("status page: hit ratio of every table = gwlog_dim_lookups_total",
          bool(want) and all(got.get(t) == w for t, w in want.items()),
          "want %s, page %s" % (want, got))


class Proxy(http.server.ThreadingHTTPServer):
    """Forwards GET /metrics to the exporter and records what Prometheus
    asked for and what the exporter answered."""
    daemon_threads = True

    def __init__(self, upstream):
        self.upstream = upstream
        self.seen = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), ProxyHandler)


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        req = urllib.request.Request("http://127.0.0.1:%d%s"
                                     % (self.server.upstream, self.path))
        for h in ("Accept", "Accept-Encoding"):
            if self.headers.get(h):
                req.add_header(h, self.headers[h])
        with urllib.request.urlopen(req, timeout=20) as r:
            body, ct = r.read(), r.headers.get("Content-Type")
            enc = r.headers.get("Content-Encoding")
        with self.server.lock:
            self.server.seen.append((self.headers.get("Accept"), ct))
        self.send_response(200)
        self.send_header("Content-Type", ct)
        if enc:
            self.send_header("Content-Encoding", enc)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def prom_query(port, q):
    url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (
        port, urllib.parse.quote(q))
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)["data"]["result"]


def prometheus_scrapes(ex, d, name, flags, want_ct, histogram):
    proxy = Proxy(ex.port)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    pd = os.path.join(d, "prom-" + name)
    os.makedirs(pd)
    conf = os.path.join(pd, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: gwlog\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % proxy.server_port)
    port = free_port()
    log = open(os.path.join(pd, "prometheus.log"), "wb")
    p = subprocess.Popen(["prometheus", "--config.file=" + conf,
                          "--storage.tsdb.path=" + os.path.join(pd, "data"),
                          "--web.listen-address=127.0.0.1:%d" % port]
                         + flags, stdout=log, stderr=log)
    up = lines = hist = None
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                up = prom_query(port, 'up{job="gwlog"}')
                lines = prom_query(port, "sum(gwlog_lines_total)")
                hist = prom_query(port, 'count(%s)' % histogram)
                if up and up[0]["value"][1] == "1" and lines and hist \
                        and float(lines[0]["value"][1]) == ex.want:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.5)
    finally:
        stop(p)
        proxy.shutdown()
        log.close()
    with proxy.lock:
        seen = list(proxy.seen)
    check("prometheus %s: asks for %s and gets it" % (name, want_ct.split(";")
          [0]), bool(seen) and all(ct == want_ct for _, ct in seen),
          "%d scrapes, first %s" % (len(seen), seen[:1]))
    check("prometheus %s: target up" % name,
          bool(up) and up[0]["value"][1] == "1", str(up)[:200])
    check("prometheus %s: sum(gwlog_lines_total) = lines written" % name,
          bool(lines) and float(lines[0]["value"][1]) == ex.want,
          "%s of %d" % (lines and lines[0]["value"][1], ex.want))
    check("prometheus %s: histogram buckets arrive (%s)" % (name, histogram),
          bool(hist) and float(hist[0]["value"][1]) > 0, str(hist)[:200])


def start_prometheus(d, name, target, flags):
    """A Prometheus scraping target every second, evaluating the shipped
    regional recording rules every second."""
    pd = os.path.join(d, "prom-" + name)
    os.makedirs(pd)
    conf = os.path.join(pd, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "  evaluation_interval: 1s\n"
                "rule_files: ['%s', '%s']\n"
                % (os.path.join(T.ROOT, "alerts", "regional.rules.yml"),
                   os.path.join(T.ROOT, "alerts", "global.rules.yml")))
        f.write("scrape_configs:\n  - job_name: gwlog\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % target)
    port = free_port()
    log = open(os.path.join(pd, "prometheus.log"), "wb")
    p = subprocess.Popen(["prometheus", "--config.file=" + conf,
                          "--storage.tsdb.path=" + os.path.join(pd, "data"),
                          "--web.listen-address=127.0.0.1:%d" % port]
                         + flags, stdout=log, stderr=log)
    log.close()
    return p, port


def stop(p):
    p.terminate()
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def quantile_tests(ex, d, log):
    """A constant 120 ms latency (product "nativeprobe"), appended while two
    Prometheus servers scrape: the native p99 (protobuf) lands within 10 %
    of 0.12 s; the classic one (OpenMetrics, buckets 0.1 and 0.25) can only
    interpolate inside (0.1, 0.25]."""
    base = json.loads(T.pool(d, 40, 5)[0])
    base.update(Product="nativeprobe", TotalUsedTime=120, HttpCode="200",
                ErrorCode="")
    line = (json.dumps(base, separators=(",", ":")) + "\n").encode()
    stop_ev = threading.Event()

    def writer():
        with open(log, "ab") as f:
            while not stop_ev.is_set():
                f.write(line * 20)
                f.flush()
                stop_ev.wait(0.25)
    native, nport = start_prometheus(d, "native-p99", ex.port,
                                     ["--enable-feature=native-histograms"])
    classic, cport = start_prometheus(d, "classic-p99", ex.port, [])
    w = threading.Thread(target=writer, daemon=True)
    w.start()
    qn = ('histogram_quantile(0.99, sum(rate(gw_product_request_duration_'
          'seconds{product="nativeprobe"}[1m])))')
    qc = ('histogram_quantile(0.99, sum by (le) (rate(gw_product_request_'
          'duration_seconds_bucket{product="nativeprobe"}[1m])))')
    # The shipped recording rules (alerts/regional.rules.yml).
    rn = ('region_product:gw_product_request_duration_seconds:'
          'native_p99_rate1m{product="nativeprobe"}')
    rc_ = ('region_product:gw_product_request_duration_seconds:'
           'p99_rate1m{product="nativeprobe"}')
    # The global tier's (alerts/global.rules.yml, in ms).
    gn = 'namespace_product_gw_rt_native_p99{product="nativeprobe"}'
    nat = cla = rnat = rcla = gnat = None
    try:
        # Both need two scrapes with the probe's series in them; then a few
        # more seconds so that each rate spans several scrapes.
        deadline, seen = time.time() + 120, None
        while time.time() < deadline:
            try:
                a, b = prom_query(nport, qn), prom_query(cport, qc)
                c, e = prom_query(nport, rn), prom_query(cport, rc_)
                g = prom_query(nport, gn)
                if a and b and c and e and g:
                    gnat = float(g[0]["value"][1])
                    nat = float(a[0]["value"][1])
                    cla = float(b[0]["value"][1])
                    rnat = float(c[0]["value"][1])
                    rcla = float(e[0]["value"][1])
                    seen = seen or time.time()
                    if time.time() - seen > 5:
                        break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.5)
    finally:
        stop_ev.set()
        w.join()
        stop(native)
        stop(classic)
    check("prometheus native-histograms: histogram_quantile(0.99) of a "
          "constant 120 ms within 10 %% of 0.12 s (classic: %s)" % cla,
          nat is not None and abs(nat - 0.12) <= 0.012, "native %s" % nat)
    check("prometheus default: the classic p99 of the same lines lies in "
          "the classic bucket (0.1, 0.25]",
          cla is not None and 0.1 < cla <= 0.25, "classic %s" % cla)
    check("rules: region_product:...:native_p99_rate1m within 10 %% of 0.12 "
          "s (classic rule: %s)" % rcla,
          rnat is not None and abs(rnat - 0.12) <= 0.012, "native %s" % rnat)
    check("global rules: namespace_product_gw_rt_native_p99 within 10 % "
          "of 120 ms", gnat is not None and abs(gnat - 120) <= 12,
          "native %s" % gnat)
    print("    native p99 %s s (rule %s), classic p99 %s s (rule %s)"
          % (nat, rnat, cla, rcla))


def main():
    if sys.argv[1:] == ["restart"]:
        shutil.rmtree(OUT, ignore_errors=True)
        T.OUT = OUT
        t0 = time.time()
        try:
            restart_tests()
        except Exception as e:  # noqa: BLE001
            check("restart test", False, "%s: %s" % (type(e).__name__, e))
        print("formats restart: %d passed, %d failed (%.0f s)"
              % (T.passed, T.failed, time.time() - t0))
        return 0 if T.failed == 0 else 1
    if shutil.which("promtool") is None or shutil.which("prometheus") is None:
        print("formats: prometheus/promtool missing (make test installs them)")
        return 1
    shutil.rmtree(OUT, ignore_errors=True)
    T.OUT = OUT                     # T.setup() makes its folder there
    t0 = time.time()
    d = T.setup("formats")
    log = os.path.join(d, "access.log")
    with open(log, "wb") as f:
        f.writelines(T.pool(d, 3000, 14))
    want = open(log, "rb").read().count(b"\n")
    ex = T.Exporter(d, [log], name="formats")
    ex.want = want
    ex.log = log
    try:
        w, got = T.settle(ex, [log])
        check("exporter read the log", w == got, "%s of %s" % (got, w))
        exposition_tests(ex, want)
        http_metrics_tests(ex)
        status_hit_ratio(ex)
        prometheus_scrapes(ex, d, "default", [], CT_OM1,
                           'gw_product_request_duration_seconds_bucket'
                           '{le="+Inf"}')
        # Prometheus 2.42 keeps only the native buckets of a histogram
        # that has both: the series is the family's own name.
        prometheus_scrapes(ex, d, "native-histograms",
                           ["--enable-feature=native-histograms"], CT_PB,
                           "gw_product_request_duration_seconds")
        quantile_tests(ex, d, log)
    except Exception as e:  # noqa: BLE001
        check("formats test", False, "%s: %s" % (type(e).__name__, e))
    finally:
        ex.stop()
    try:
        restart_tests()
    except Exception as e:  # noqa: BLE001
        check("restart test", False, "%s: %s" % (type(e).__name__, e))
    print("formats: %d passed, %d failed (%.0f s)"
          % (T.passed, T.failed, time.time() - t0))
    return 0 if T.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
