#!/usr/bin/env python3
"""reference.py - independent reference computation of gwlog_exporter's
default metrics, written from the contract in README.md ("Semantics of the
default metrics") only.  Python 3 standard library, no exporter code.

    reference.py --dims-dir=DIR [--json] FILE...
    reference.py --self-test

Prints the expected sample lines (Prometheus text format, no HELP/TYPE),
sorted; with --json a JSON object {series: value}.

Importable:
    classify(line_bytes)        -> None (valid JSON object) or a reason
    parse_line(line_bytes)      -> ("invalid", reason) | ("ok", fields)
    load_dims(dir)              -> Dims
    Reference(dims).feed(line)  / .series() -> {series_string: value}
    compute(files, dims_dir)    -> {series_string: value}
    format_value(v), series_name(...), escape_label(...)
"""

import csv
import json
import math
import os
import re
import sys

MAX_DEPTH = 512

# ---------------------------------------------------------------------------
# Families (label order as in the README table).

PRODUCT = "gw_product_requests_total"
DURATION = "gw_product_request_duration_seconds"
API = "gw_api_requests_total"
SLOW = "gw_api_slow_requests_total"
ERRCODE = "gw_error_code_requests_total"
TENANT = "gw_tenant_requests_total"
THROTTLED = "gw_tenant_throttled_requests_total"
TENANT_LEVEL = "gw_tenant_level_requests_total"
THROTTLED_LEVEL = "gw_tenant_level_throttled_requests_total"
# README "Semantics of the default metrics": per-uid tenant series only for
# key customers (gc_level GC5, GC6 or GC7); every other line (any other
# level, "unknown" included) counts in the per-level families instead.
KEY_LEVELS = ("GC5", "GC6", "GC7")
LINES = "gwlog_lines_total"
PARSE_ERRORS = "gwlog_parse_errors_total"
FILTERED = "gwlog_lines_filtered_total"

LABELS = {
    PRODUCT: ("product", "region_id", "biz_region_id", "code_class"),
    DURATION: ("product", "region_id", "biz_region_id"),
    API: ("product", "api", "version", "priority", "code_class"),
    SLOW: ("product", "api", "version", "priority"),
    ERRCODE: ("product", "api", "http_code", "error_code"),
    TENANT: ("uid", "gc_level"),
    THROTTLED: ("uid", "gc_level"),
    TENANT_LEVEL: ("gc_level",),
    THROTTLED_LEVEL: ("gc_level",),
}

# Every sample name the reference can print (compare.py checks all of them).
METRIC_NAMES = (
    PRODUCT, DURATION + "_bucket", DURATION + "_sum", DURATION + "_count",
    API, SLOW, ERRCODE, TENANT, THROTTLED, TENANT_LEVEL, THROTTLED_LEVEL,
    LINES, PARSE_ERRORS, FILTERED,
)

BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
           "2.5", "5", "10")
BUCKET_VALUES = tuple(float(b) for b in BUCKETS)
SIBLING_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
REASONS = ("empty", "not_object", "truncated", "syntax", "too_deep",
           "missing_field")
WARMUP_DOMAIN = "popwarmup.aliyuncs.com"

# ---------------------------------------------------------------------------
# Strict JSON validator on bytes (RFC 8259), iterative, with a depth limit.
#
# Result of _scan_value: ("ok", end) | ("eof", pos) | ("syntax", pos) |
# ("too_deep", pos).  "eof" = input ended before the value was complete.

_WS = re.compile(rb"[ \t\r\n]*")
_STR_RUN = re.compile(rb'[^"\\\x00-\x1f]*')
_HEX = frozenset(b"0123456789abcdefABCDEF")
_DIGITS = frozenset(b"0123456789")
_ESCAPES = frozenset(b'"\\/bfnrtu')
_VALUE_START = frozenset(b'{["-0123456789tfn')


def _scan_string(b, i):
    """b[i] is the opening quote.  Returns (status, pos)."""
    n = len(b)
    i += 1
    while True:
        i = _STR_RUN.match(b, i).end()
        if i >= n:
            return "eof", i
        c = b[i]
        if c == 0x22:  # "
            return "ok", i + 1
        if c == 0x5C:  # backslash
            i += 1
            if i >= n:
                return "eof", i
            e = b[i]
            if e not in _ESCAPES:
                return "syntax", i
            i += 1
            if e == 0x75:  # u
                for _ in range(4):
                    if i >= n:
                        return "eof", i
                    if b[i] not in _HEX:
                        return "syntax", i
                    i += 1
            continue
        return "syntax", i  # control character < 0x20


def _scan_number(b, i):
    n = len(b)
    if b[i] == 0x2D:  # -
        i += 1
        if i >= n:
            return "eof", i
    c = b[i]
    if c == 0x30:
        i += 1
    elif 0x31 <= c <= 0x39:
        i += 1
        while i < n and b[i] in _DIGITS:
            i += 1
    else:
        return "syntax", i
    if i < n and b[i] == 0x2E:  # .
        i += 1
        if i >= n:
            return "eof", i
        if b[i] not in _DIGITS:
            return "syntax", i
        while i < n and b[i] in _DIGITS:
            i += 1
    if i < n and b[i] in (0x65, 0x45):  # e E
        i += 1
        if i >= n:
            return "eof", i
        if b[i] in (0x2B, 0x2D):
            i += 1
            if i >= n:
                return "eof", i
        if b[i] not in _DIGITS:
            return "syntax", i
        while i < n and b[i] in _DIGITS:
            i += 1
    return "ok", i


def _scan_literal(b, i, word):
    n = len(b)
    for k, ch in enumerate(word):
        if i + k >= n:
            return "eof", i + k
        if b[i + k] != ch:
            return "syntax", i + k
    return "ok", i + len(word)


def _scan_value(b, i, max_depth=MAX_DEPTH):
    """Scans one JSON value starting at b[i] (no leading whitespace)."""
    n = len(b)
    stack = []  # b"{" or b"["
    # states: 0 value expected; 1 after '{' (key or '}'); 2 key expected;
    # 3 ':' expected; 4 after a value inside a container (',' or close);
    # 5 after '[' (value or ']')
    state = 0
    while True:
        i = _WS.match(b, i).end()
        if i >= n:
            return "eof", i
        c = b[i]
        if state in (0, 5):
            if state == 5 and c == 0x5D:  # ]
                stack.pop()
                i += 1
                if not stack:
                    return "ok", i
                state = 4
                continue
            if c == 0x7B or c == 0x5B:  # { [
                if len(stack) + 1 > max_depth:
                    return "too_deep", i
                stack.append(c)
                i += 1
                state = 1 if c == 0x7B else 5
                continue
            if c == 0x22:
                st, i = _scan_string(b, i)
            elif c == 0x2D or c in _DIGITS:
                st, i = _scan_number(b, i)
            elif c == 0x74:
                st, i = _scan_literal(b, i, b"true")
            elif c == 0x66:
                st, i = _scan_literal(b, i, b"false")
            elif c == 0x6E:
                st, i = _scan_literal(b, i, b"null")
            else:
                return "syntax", i
            if st != "ok":
                return st, i
            if not stack:
                return "ok", i
            state = 4
            continue
        if state in (1, 2):
            if state == 1 and c == 0x7D:  # }
                stack.pop()
                i += 1
                if not stack:
                    return "ok", i
                state = 4
                continue
            if c != 0x22:
                return "syntax", i
            st, i = _scan_string(b, i)
            if st != "ok":
                return st, i
            state = 3
            continue
        if state == 3:
            if c != 0x3A:  # :
                return "syntax", i
            i += 1
            state = 0
            continue
        # state 4
        top = stack[-1]
        if c == 0x2C:  # ,
            i += 1
            state = 2 if top == 0x7B else 0
            continue
        if (c == 0x7D and top == 0x7B) or (c == 0x5D and top == 0x5B):
            stack.pop()
            i += 1
            if not stack:
                return "ok", i
            state = 4
            continue
        return "syntax", i


# How a line whose first non-whitespace byte is not "{" is classified:
#   "start": the first byte alone decides: a byte that can start a JSON
#            value ([ " - 0-9 t f n) -> not_object, anything else -> syntax.
#            (an earlier reading of the README)
#   "full":  the whole value is validated: valid -> not_object, else the
#            reason of its error (truncated / syntax / too_deep).
#            (README: "the whole line is valid JSON, but not an object";
#            the default)
NOT_OBJECT_MODE = "full"


def classify(line, not_object_mode=None):
    """None when the line is one valid JSON object (plus whitespace),
    else one of empty, not_object, truncated, syntax, too_deep."""
    mode = not_object_mode or NOT_OBJECT_MODE
    b = bytes(line)
    n = len(b)
    i = _WS.match(b, 0).end()
    if i >= n:
        return "empty"
    c = b[i]
    if c != 0x7B:
        if c not in _VALUE_START:
            return "syntax"
        if mode == "start":
            return "not_object"
    st, j = _scan_value(b, i)
    if st == "ok":
        j = _WS.match(b, j).end()
        if j < n:
            return "syntax"
        return None if c == 0x7B else "not_object"
    if st == "eof":
        return "truncated"
    return st


# ---------------------------------------------------------------------------
# Field extraction.

_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_constant(name):
    raise ValueError("non-standard constant " + name)


def _last_wins(pairs):
    return dict(pairs)  # a later duplicate replaces an earlier one


def _text(v):
    """JSON value (as decoded with parse_int/parse_float=str) -> text or
    None (absent)."""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return _SURROGATE.sub("\ufffd", v)
    return None  # null, object, array


def decode_object(line):
    """The top-level object of a line that classify() accepted."""
    text = bytes(line).decode("utf-8", errors="replace")
    obj = json.loads(text, object_pairs_hook=_last_wins, parse_int=str,
                     parse_float=str, parse_constant=_no_constant)
    assert isinstance(obj, dict)
    return obj


_NUM_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def numeric(text):
    """float value when text is numeric per the contract, else None."""
    if text is None or not _NUM_RE.fullmatch(text):
        return None
    f = float(text)
    return f if math.isfinite(f) else None


def kv_region(text):
    """biz_region_id: the value of the first RegionId= pair."""
    if text is None:
        return None
    for piece in text.split(";"):
        if "=" not in piece:
            continue  # no "RegionId=" pair without "="
        k, v = piece.split("=", 1)
        if k == "RegionId":
            return v
    return None


def code_class(http_code):
    if http_code and "0" <= http_code[0] <= "9":
        return http_code[0] + "xx"
    return "unknown"


def log_region_id(ext5_raw):
    """logRegionId at the top level of Ext5 (object or string of JSON).
    Not used by any default metric; provided for completeness."""
    if isinstance(ext5_raw, dict):
        return _text(ext5_raw.get("logRegionId"))
    if not isinstance(ext5_raw, str):
        return None
    b = ext5_raw.encode("utf-8", errors="surrogatepass")
    if classify(b) is not None:
        return None
    try:
        return _text(decode_object(b).get("logRegionId"))
    except (ValueError, UnicodeDecodeError):
        return None


FIELD_KEYS = {
    "product": "Product", "api": "Api", "version": "Version",
    "domain": "Domain", "uid": "CallerUid", "http_code": "HttpCode",
    "local_ip": "LocalIp", "error_code": "ErrorCode",
    "total_used_time": "TotalUsedTime",
}


def parse_line(line):
    """("invalid", reason) or ("ok", fields) with fields a dict of the raw
    variables (text or None)."""
    reason = classify(line)
    if reason is not None:
        return "invalid", reason
    try:
        obj = decode_object(line)
    except (ValueError, RecursionError) as e:  # validator bug
        raise AssertionError("validator accepted a line json rejects: %r: %s"
                             % (bytes(line)[:200], e))
    f = {var: _text(obj.get(key)) for var, key in FIELD_KEYS.items()}
    f["biz_region_id"] = kv_region(_text(obj.get("RequestContent")))
    if not f["product"] or not f["http_code"]:
        return "invalid", "missing_field"
    f["_ext5"] = obj.get("Ext5")
    return "ok", f


# ---------------------------------------------------------------------------
# Dimension tables.

DIM_TABLES = {
    "gateway_cluster": (("local_ip",), ("app_group", "region_id")),
    "user_level": (("uid",), ("gc_level",)),
    "api_meta": (("product", "api"), ("priority",)),
}


def load_table(path, key_cols, provides):
    table = {}
    try:
        fh = open(path, newline="", encoding="utf-8", errors="replace")
    except OSError:
        return table
    with fh:
        rows = csv.reader(fh)
        header = next(rows, None)
        if header is None:
            return table
        try:
            kidx = [header.index(c) for c in key_cols]
            pidx = [header.index(c) for c in provides]
        except ValueError:
            return table
        for row in rows:
            if len(row) != len(header):
                continue  # wrong number of columns: skipped
            key = tuple(row[k] for k in kidx)
            table[key] = {c: row[p] for c, p in zip(provides, pidx)}
    return table


class Dims:
    def __init__(self, dims_dir=None):
        self.tables = {}
        for name, (keys, provides) in DIM_TABLES.items():
            path = os.path.join(dims_dir, name + ".csv") if dims_dir else ""
            self.tables[name] = load_table(path, keys, provides) if path else {}

    def lookup(self, name, key, column):
        if any(k is None for k in key):
            return "unknown"
        row = self.tables[name].get(tuple(key))
        return "unknown" if row is None else row[column]


def load_dims(dims_dir):
    return Dims(dims_dir)


# ---------------------------------------------------------------------------
# Series and formatting.

# README "max_label_bytes": a label value longer than 1024 bytes (in
# UTF-8) is cut to at most 1024 without splitting a character.
MAX_LABEL_BYTES = 1024


def cut_label(v):
    b = v.encode("utf-8", "surrogatepass")
    if len(b) <= MAX_LABEL_BYTES:
        return v
    n = MAX_LABEL_BYTES
    while n > 0 and (b[n] & 0xC0) == 0x80:
        n -= 1
    return b[:n].decode("utf-8", "surrogatepass")


def escape_label(v):
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def series_name(name, pairs):
    if not pairs:
        return name
    return name + "{" + ",".join('%s="%s"' % (k, escape_label(v))
                                 for k, v in pairs) + "}"


def format_value(v):
    if isinstance(v, int):
        return str(v)
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if math.isnan(v):
        return "NaN"
    r = repr(float(v))
    if r.endswith(".0"):
        r = r[:-2]
    return r


class Reference:
    def __init__(self, dims):
        self.dims = dims
        self.counters = {}   # (family, labels tuple) -> int
        self.hist = {}       # labels tuple -> [bucket counts..., count, sum_ms]
        self.observed = {}   # labels tuple -> [ms, ...] in line order
        self.lines = {"ok": 0, "invalid": 0, "filtered": 0}
        self.reasons = {}
        self.filtered = {"warmup": 0}

    def _inc(self, family, values, n=1):
        key = (family, tuple(values))
        self.counters[key] = self.counters.get(key, 0) + n

    def _inc_siblings(self, family, values):
        values = list(values)
        for cc in SIBLING_CLASSES:  # pre-created at 0
            sib = tuple(values[:-1] + [cc])
            self.counters.setdefault((family, sib), 0)
        self._inc(family, values)

    def feed(self, line):
        status, f = parse_line(line)
        if status == "invalid":
            self.lines["invalid"] += 1
            self.reasons[f] = self.reasons.get(f, 0) + 1
            return
        if f["domain"] == WARMUP_DOMAIN:
            self.lines["filtered"] += 1
            self.filtered["warmup"] += 1
            return
        self.lines["ok"] += 1
        d = self.dims
        v = {k: ("" if val is None else val) for k, val in f.items()
             if not k.startswith("_")}
        v["region_id"] = d.lookup("gateway_cluster", [f["local_ip"]],
                                  "region_id")
        v["gc_level"] = d.lookup("user_level", [f["uid"]], "gc_level")
        v["priority"] = d.lookup("api_meta", [f["product"], f["api"]],
                                 "priority")
        v["code_class"] = code_class(f["http_code"])

        def vals(fam):
            return [cut_label(v[k]) for k in LABELS[fam]]

        self._inc_siblings(PRODUCT, vals(PRODUCT))
        self._inc_siblings(API, vals(API))
        # The level is compared before the label cut (a condition sees the
        # variable; max_label_bytes applies to label values only).
        key_tenant = v["gc_level"] in KEY_LEVELS
        tenant, throttled = ((TENANT, THROTTLED) if key_tenant
                             else (TENANT_LEVEL, THROTTLED_LEVEL))
        self._inc(tenant, vals(tenant))
        ms = numeric(f["total_used_time"])
        # zero_unmatched: every counted line creates its slow series, at 0
        # unless the call took more than 1 s.
        self.counters.setdefault((SLOW, tuple(vals(SLOW))), 0)
        if ms is not None:
            h = self.hist.setdefault(tuple(vals(DURATION)),
                                     [0] * len(BUCKETS) + [0, 0.0])
            self.observed.setdefault(tuple(vals(DURATION)), []).append(ms)
            obs = ms / 1000
            for i, le in enumerate(BUCKET_VALUES):
                if obs <= le:
                    h[i] += 1
            h[-2] += 1
            h[-1] += ms
            if ms > 1000:
                self._inc(SLOW, vals(SLOW))
        if v["code_class"] != "2xx":
            self._inc(ERRCODE, vals(ERRCODE))
        hc = numeric(f["http_code"])
        if v["error_code"].startswith("Throttling") or hc == 429.0:
            self._inc(throttled, vals(throttled))

    def series(self):
        """{series_string: value} (ints for counts, float for _sum)."""
        out = {}
        for (fam, values), n in self.counters.items():
            out[series_name(fam, list(zip(LABELS[fam], values)))] = n
        for values, h in self.hist.items():
            base = list(zip(LABELS[DURATION], values))
            for i, le in enumerate(BUCKETS):
                out[series_name(DURATION + "_bucket",
                                base + [("le", le)])] = h[i]
            out[series_name(DURATION + "_bucket", base + [("le", "+Inf")])] = h[-2]
            out[series_name(DURATION + "_count", base)] = h[-2]
            out[series_name(DURATION + "_sum", base)] = h[-1] / 1000
        for r, n in self.lines.items():
            out[series_name(LINES, [("result", r)])] = n
        # README: every reason a JSON input can have is pre-created at 0
        # (too_long comes from the tailer, for lines over max_line_bytes;
        # the corpora here have none).
        for r in REASONS + ("too_long",):
            out[series_name(PARSE_ERRORS, [("reason", r)])] = \
                self.reasons.get(r, 0)
        for r, n in self.filtered.items():
            out[series_name(FILTERED, [("filter", r)])] = n
        return out


def split_lines(data):
    """Lines of a file's bytes; a last line without newline counts."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def compute(files, dims_dir=None):
    ref = Reference(load_dims(dims_dir))
    for path in files:
        with open(path, "rb") as fh:
            data = fh.read()
        for line in split_lines(data):
            ref.feed(line)
    return ref.series()


_LE_ORDER = {le: i for i, le in enumerate(BUCKETS + ("+Inf",))}


def _sort_key(s):
    # family name, then labels without le, then le in bucket order
    name, _, rest = s.partition("{")
    m = re.search(r',?le="([^"]*)"\}$', s)
    if m and name.endswith("_bucket"):
        return (name, s[:m.start()], _LE_ORDER.get(m.group(1), 99))
    return (name, s, -1)


def render_text(series):
    return "".join("%s %s\n" % (s, format_value(series[s]))
                   for s in sorted(series, key=_sort_key))


# ---------------------------------------------------------------------------
# Self-test.

def self_test():
    passed = failed = 0

    def check(what, got, want):
        nonlocal passed, failed
        if got == want:
            passed += 1
        else:
            failed += 1
            print("FAIL %s: got %r, want %r" % (what, got, want))

    deep = lambda n: b'{"a":' + b"[" * (n - 1) + b"]" * (n - 1) + b"}"
    cases = [
        (b"", "empty"), (b"   \t\r", "empty"), (b"\x0b", "syntax"),
        (b"{}", None), (b' \t{ "a" : 1 } \r', None),
        (b"[1,2]", "not_object"), (b'"str"', "not_object"),
        (b"123", "not_object"), (b"null", "not_object"),
        (b"true", "not_object"), (b"[1,", "truncated"),
        (b"{", "truncated"), (b'{"a":1', "truncated"),
        (b'{"a":1,', "truncated"), (b'{"a"', "truncated"),
        (b'{"a":"abc', "truncated"), (b'{"a":"ab\\', "truncated"),
        (b'{"a":"\\u00', "truncated"), (b'{"a":tr', "truncated"),
        (b'{"a":-', "truncated"), (b'{"a":1.', "truncated"),
        (b'{"a":1e+', "truncated"), (b'{"a":[1,{"b":', "truncated"),
        (b'{"a":"\xc3', "truncated"),
        (b'{"a":1,}', "syntax"), (b'{"a":NaN}', "syntax"),
        (b'{"a":Infinity}', "syntax"), (b'{"a":-Infinity}', "syntax"),
        (b'{"a":01}', "syntax"), (b'{"a":-01}', "syntax"),
        (b'{"a":1.}', "syntax"), (b'{"a":.5}', "syntax"),
        (b'{"a":+1}', "syntax"), (b'{"a":1e}', "syntax"),
        (b"{'a':1}", "syntax"), (b"{a:1}", "syntax"),
        (b'{"a":"x\x01y"}', "syntax"), (b'{"a":"x\ty"}', "syntax"),
        (b'{"a":"\\x"}', "syntax"), (b'{"a":"\\u12G4"}', "syntax"),
        (b'{"a":1} x', "syntax"), (b'{"a":1}{"b":2}', "syntax"),
        (b'{"a":1}\xff', "syntax"), (b'\xef\xbb\xbf{"a":1}', "syntax"),
        (b'{"a":True}', "syntax"), (b'{"a":nul}', "syntax"),
        (b'{"a" 1}', "syntax"), (b'{"a":1 "b":2}', "syntax"),
        (b'{,}', "syntax"), (b'{"a":[1,]}', "syntax"), (b"]", "syntax"),
        (b"NaN", "syntax"), (b"\xff\xfe", "syntax"), (b"{\xff:1}", "syntax"),
        (b'{"a":"\xff\xc3\xc0\xaf\xed\xa0\x80"}', None),
        (b'{"a":"\x7f"}', None), (b'{"a":"\\ud800"}', None),
        (b'{"a":-0.0e+00,"b":[],"c":{},"d":[{}],"e":true,"f":null}', None),
        (deep(512), None), (deep(513), "too_deep"),
        (b'{"a":' + b"[" * 600, "too_deep"),
        (b'{"a":' + b'{"b":' * 511 + b"1" + b"}" * 511 + b"}", None),
        (b'{"a":' + b'{"b":' * 512 + b"1" + b"}" * 512 + b"}", "too_deep"),
    ]
    for line, want in cases:
        check("classify(%r)" % line[:40], classify(line), want)
        if want is None:  # json itself must accept what we accept
            try:
                decode_object(line)
                passed += 1
            except Exception as e:  # noqa
                failed += 1
                print("FAIL json rejects %r: %s" % (line[:40], e))
    check("full-mode [1,", classify(b"[1,", "full"), "truncated")
    check("full-mode [1]", classify(b"[1] ", "full"), "not_object")
    check("full-mode [1}", classify(b"[1}", "full"), "syntax")

    pl = parse_line
    check("missing", pl(b'{"HttpCode":"200"}'), ("invalid", "missing_field"))
    check("null", pl(b'{"Product":null,"HttpCode":"200"}')[1],
          "missing_field")
    check("empty str", pl(b'{"Product":"","HttpCode":"200"}')[1],
          "missing_field")
    check("array", pl(b'{"Product":"a","HttpCode":[200]}')[1],
          "missing_field")
    check("dup last wins", pl(b'{"Product":"a","Product":null,'
                              b'"HttpCode":1}')[1], "missing_field")
    ok = pl(b'{"Pr\\u006fduct":"x\\ud800y\\ud83d\\ude80","HttpCode":4.04e2,'
            b'"Api":true,"x":{"Api":"decoy"},"Version":"\xc0\xaf",'
            b'"RequestContent":"A=1;RegionId==x;RegionId=y",'
            b'"Domain":"\\/\\"\\\\"}')
    check("status", ok[0], "ok")
    f = ok[1]
    check("product", f["product"], "x\ufffdy\U0001F680")
    check("http_code text", f["http_code"], "4.04e2")
    check("bool", f["api"], "true")
    check("invalid utf8", f["version"], "\ufffd\ufffd")
    check("kv", f["biz_region_id"], "=x")
    check("escapes", f["domain"], '/"\\')
    check("code_class", code_class("4.04e2"), "4xx")
    check("code_class -1", code_class("-1"), "unknown")
    check("numeric", [numeric(t) for t in
                      ("14", "1e3", " 14", "+5", "0x10", "1e400", "-0", "",
                       "429.0", "01")],
          [14.0, 1000.0, None, None, None, None, -0.0, None, 429.0, None])
    check("kv no =", kv_region("RegionId;RegionId=z"), "z")
    check("kv none", kv_region("Action=x"), None)
    check("log_region_id", log_region_id('{"logRegionId":"cn-x"}'), "cn-x")
    check("log_region_id bad", log_region_id('{"logRegionId":'), None)
    check("escape", escape_label('a\\b"c\nd'), 'a\\\\b\\"c\\nd')
    check("format", [format_value(x) for x in (12.0, 0.1, 1.5, 3, 1e-05)],
          ["12", "0.1", "1.5", "3", "1e-05"])
    check("split", split_lines(b"a\n\nb"), [b"a", b"", b"b"])
    check("split2", split_lines(b"a\n"), [b"a"])
    # Tenants: per uid for GC5-GC7, folded per level otherwise.
    dims = Dims()
    dims.tables["user_level"] = {("7",): {"gc_level": "GC7"},
                                 ("3",): {"gc_level": "GC3"}}
    ref = Reference(dims)
    for uid, code in (("7", "200"), ("7", "429"), ("3", "429"), ("3", "200"),
                      ("9", "200")):
        ref.feed(b'{"Product":"p","HttpCode":"%s","CallerUid":"%s"}'
                 % (code.encode(), uid.encode()))
    got = {k: n for k, n in ref.series().items() if "tenant" in k}
    check("tenant fold", got, {
        'gw_tenant_requests_total{uid="7",gc_level="GC7"}': 2,
        'gw_tenant_throttled_requests_total{uid="7",gc_level="GC7"}': 1,
        'gw_tenant_level_requests_total{gc_level="GC3"}': 2,
        'gw_tenant_level_throttled_requests_total{gc_level="GC3"}': 1,
        'gw_tenant_level_requests_total{gc_level="unknown"}': 1})
    print("reference self-test: %d passed, %d failed" % (passed, failed))
    return failed == 0


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dims-dir", default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--not-object", choices=("start", "full"),
                    default="full", help="see NOT_OBJECT_MODE")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args(argv)
    global NOT_OBJECT_MODE
    NOT_OBJECT_MODE = a.not_object
    if a.self_test:
        return 0 if self_test() else 1
    if not a.files:
        ap.error("no input files")
    series = compute(a.files, a.dims_dir)
    out = sys.stdout.buffer
    if a.json:
        out.write(json.dumps(series, ensure_ascii=False, sort_keys=True,
                             indent=0).encode("utf-8") + b"\n")
    else:
        out.write(render_text(series).encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    sys.exit(main(sys.argv[1:]))
