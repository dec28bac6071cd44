#!/usr/bin/env python3
"""gen_corpus.py - independent generator of hostile-but-mostly-legal access
log corpora for the integration test (shares no code with tools/loggen.c).

    gen_corpus.py --seed=N --lines=N --out=FILE --dims-dir=DIR [--ambiguous]

Writes FILE (JSON lines in the seed's format, serialized by a custom
serializer that reorders keys, adds whitespace, escapes characters, repeats
keys, nests decoys, injects invalid UTF-8 ...; about 5% invalid lines of
every reason class) and DIR/{gateway_cluster,user_level,api_meta}.csv.
The output depends only on the arguments.

--ambiguous adds cases the README contract leaves open (see the list in
AMBIGUOUS below); leave it off for a corpus whose expectation is fixed by
the contract alone.
"""

import argparse
import json
import os
import random
import sys

# ---------------------------------------------------------------------------
# Value model for the serializer.


class Num:
    """A JSON number written exactly as text."""
    def __init__(self, text):
        self.text = text


class Obj:
    """A JSON object as a list of (key, value) pairs (duplicates allowed)."""
    def __init__(self, pairs):
        self.pairs = list(pairs)


class BStr:
    """A JSON string built of parts: str (escaped as usual) or bytes
    (written raw between the quotes, e.g. invalid UTF-8)."""
    def __init__(self, parts):
        self.parts = list(parts)


class Raw:
    """Raw bytes written in place of a value (for invalid lines)."""
    def __init__(self, data):
        self.data = data


SHORT_ESC = {'"': b'\\"', "\\": b"\\\\", "\b": b"\\b", "\f": b"\\f",
             "\n": b"\\n", "\r": b"\\r", "\t": b"\\t"}


class Serializer:
    def __init__(self, rng, esc_p=0.0, ws_p=0.0, slash_p=0.0):
        self.rng = rng
        self.esc_p = esc_p
        self.ws_p = ws_p
        self.slash_p = slash_p

    def ws(self):
        if self.ws_p and self.rng.random() < self.ws_p:
            return self.rng.choice([b" ", b"\t", b"\r", b"  ", b" \t", b"\r ",
                                    b"\t\t "])
        return b""

    def u(self, cp):
        h = "%04x" % cp
        if self.rng.random() < 0.5:
            h = h.upper()
        return b"\\u" + h.encode()

    def string(self, s):
        r = self.rng
        out = [b'"']
        for ch in s:
            cp = ord(ch)
            if 0xD800 <= cp <= 0xDFFF:  # lone surrogate: only as escape
                out.append(self.u(cp))
            elif ch == "/" and r.random() < self.slash_p:
                out.append(b"\\/")
            elif r.random() < self.esc_p:
                if cp > 0xFFFF:
                    v = cp - 0x10000
                    out.append(self.u(0xD800 + (v >> 10)))
                    out.append(self.u(0xDC00 + (v & 0x3FF)))
                else:
                    out.append(self.u(cp))
            elif ch in SHORT_ESC:
                out.append(SHORT_ESC[ch])
            elif cp < 0x20:
                out.append(self.u(cp))
            else:
                out.append(ch.encode("utf-8"))
        out.append(b'"')
        return b"".join(out)

    def value(self, v):
        if isinstance(v, Raw):
            return v.data
        if v is None:
            return b"null"
        if v is True:
            return b"true"
        if v is False:
            return b"false"
        if isinstance(v, Num):
            return v.text.encode()
        if isinstance(v, int):
            return str(v).encode()
        if isinstance(v, str):
            return self.string(v)
        if isinstance(v, BStr):
            body = []
            for p in v.parts:
                body.append(p if isinstance(p, bytes) else self.string(p)[1:-1])
            return b'"' + b"".join(body) + b'"'
        if isinstance(v, list):
            if not v:
                return b"[" + self.ws() + b"]"
            items = [self.ws() + self.value(x) + self.ws() for x in v]
            return b"[" + b",".join(items) + b"]"
        if isinstance(v, Obj):
            if not v.pairs:
                return b"{" + self.ws() + b"}"
            items = [self.ws() + self.string(k) + self.ws() + b":" +
                     self.ws() + self.value(x) + self.ws()
                     for k, x in v.pairs]
            return b"{" + b",".join(items) + b"}"
        raise TypeError(type(v))


# ---------------------------------------------------------------------------
# Vocabulary.

PRODUCTS = ["ecs"] * 6 + ["rds"] * 3 + ["slb", "acc", "oss", "vpc", "cms",
            "ram", "sts", "kms", 'we"ird', "back\\slash", "new\nline",
            "ünïcødé", "产品", "rocket🚀", "tab\there", "a/b", "ecs,classic",
            "cr\rhere", "del\x7f", "sp ace "]
APIS = ["DescribeInstances"] * 4 + [
    "RunInstances", "CreateInstance", "DeleteInstance", "DescribeRegions",
    "DescribeCustomResourceDetail", "ListTagResources", "StopInstance",
    'Api"Quote', "Api\\Back", "Api\nNL", "接口"]
VERSIONS = ["2014-05-26", "2014-08-15", "2024-04-02", "2016-04-28"]
LOCAL_IPS = ["11.197.%d.%d" % (i // 4, 10 + i) for i in range(12)]
UIDS = ["1098370000%04d" % i for i in range(16)]
REGIONS = ["cn-hangzhou", "cn-beijing", "cn-shanghai", "cn-huhehaote",
           "us-west-1", "ap-southeast-1", "eu-central-1"]
HTTP_CODES = ["200"] * 40 + ["201", "204", "301", "304", "400", "403",
              "404", "404", "409", "429", "500", "502", "503", "503", "504"]
ERROR_CODES = ["ResourceNotFound", "InvalidParameter", "Forbidden.RAM",
               "InternalError", "ServiceUnavailable", "Throttling.User",
               "Throttling", "Throttling.Api", "ThrottlingX",
               "throttling.lower", " Throttling", "Err\"Q", "Err\\B",
               "Err\nNL"]
BAD_UTF8 = [b"\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82",
            b"\xf0\x9f\x98", b"\x80", b"\xf8\x88\x80\x80\x80",
            b"\xf4\x90\x80\x80", b"\xe0\x80\xaf", b"\xfe\xfe"]
WARMUP = "popwarmup.aliyuncs.com"

AMBIGUOUS = """\
  - top-level values that start like JSON but are invalid ([1, / "abc / tru)
  - RequestContent pieces "RegionId" without "="
  - \\u0000 in label values
  - non-dyadic TotalUsedTime (0.1, 12.34: _sum depends on summation order)
  - TotalUsedTime underflowing to 0 or subnormal (1e-400, 4.9e-324)
  - a UTF-8 BOM before the object; \\f or \\v in whitespace-only lines
  - nesting depth exactly 512 and 513
  - a CSV field with a quoted newline; a CSV row with an empty key
"""


# ---------------------------------------------------------------------------
# Generator.


class Gen:
    def __init__(self, seed, ambiguous):
        self.r = random.Random(seed)
        self.amb = ambiguous
        self.last_kind = None  # kind of the last invalid line (for tests)

    def chance(self, p):
        return self.r.random() < p

    def maybe_bad_utf8(self, s, p=0.03):
        """Returns s, or a BStr with raw invalid UTF-8 / lone surrogates."""
        r = self.r
        if not self.chance(p):
            if self.chance(0.01):  # lone surrogate escapes
                i = r.randint(0, len(s))
                sur = r.choice(["\ud800", "\udc00", "\udbff", "\ud800A",
                                "\udc00\ud800", "\ud800\ud83d\ude80"])
                return s[:i] + sur + s[i:]
            return s
        i = r.randint(0, len(s))
        parts = [s[:i]] + [r.choice(BAD_UTF8) for _ in range(r.randint(1, 2))]
        parts.append(s[i:])
        return BStr(parts)

    def http_code(self):
        r = self.r
        x = r.random()
        if x < 0.80:
            c = r.choice(HTTP_CODES)
            return Num(c) if self.chance(0.3) else c
        return r.choice([
            Num("4.04e2"), "4.04e2", Num("429"), "429", "429.0", Num("429.0"),
            "4.29e2", Num("4.29E+2"), "2000", "abc", "  12", "+5", "0x10",
            Num("-1"), Num("0"), "0", True, False, "١٢", "5", Num("503"),
            "429 ", " 429", "6xx", "\u0661\u0662\u0663", "9", Num("-0")])

    def used_time(self):
        r = self.r
        x = r.random()
        if x < 0.6:
            ms = int(r.expovariate(1 / 120.0))
            return Num(str(ms)) if self.chance(0.5) else str(ms)
        if x < 0.75:
            ms = r.choice([5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
                           10000, 4, 6, 9, 11, 999, 1001, 2499, 2501, 9999,
                           10001, 0])
            return Num(str(ms)) if self.chance(0.5) else str(ms)
        if x < 0.85:
            ms = r.randint(1000, 20000)
            return Num(str(ms)) if self.chance(0.5) else str(ms)
        choices = [
            Num("1.5e2"), "1.5e2", "12.5", Num("0.25"), Num("-3"), "-0",
            Num("-0.0"), " 14", "14 ", "+5", "1e3", Num("1E3"), "abc", "",
            None, Num("1e400"), "1e400", "-1e400", Num("7.5E1"), "1000",
            "1000.5", "1001", "0.5", Num("2500.125"), "1e-0", Num("1.0e+1"),
            "0x10", "01", "1.", ".5", True, [1], Obj([("ms", 5)]),
            Num("4.75"), "10000.0", "9999.875"]
        if self.amb:
            choices += ["0.1", "12.34", Num("1e-400"), "4.9e-324", "0.3"]
        return r.choice(choices)

    def error_code(self, code):
        r = self.r
        if self.chance(0.1):
            return r.choice([None, "", Num("5"), True, Obj([]),
                             "Throttling.User", "Throttling"])
        if isinstance(code, str) and code.startswith("2") and self.chance(0.9):
            return "" if self.chance(0.7) else None  # None: key absent
        return self.maybe_bad_utf8(r.choice(ERROR_CODES), 0.05)

    def request_content(self, api, version):
        r = self.r
        reg = r.choice(REGIONS)
        x = r.random()
        if x < 0.6:
            return "RegionId=%s;Action=%s;Version=%s;PageSize=10" % (
                reg, api if isinstance(api, str) else "X", version)
        choices = [
            "Action=DescribeInstances;Version=2014-05-26",
            "Action=X;RegionId=%s;RegionId=cn-shanghai" % reg,
            "RegionId=%s;RegionId=cn-beijing" % reg,
            "RegionId==weird;Action=X", "RegionId=", "RegionId=;x=1",
            " RegionId=cn-space", "regionid=cn-lower", "RegionIdX=nope",
            "Action=X;RegionId=a=b=c", "RegionId=cn-hangzhou ;x",
            "RegionId=%s" % reg, "", ";;;RegionId=cn-semi;;",
            "RegionId=quote\"back\\slash", "RegionId=nl\nx",
            None, Num("12"), True, Obj([("RegionId", "decoy")]),
            "RegionId=ünï;Action=Y"]
        if self.amb:
            choices += ["RegionId;RegionId=cn-after", "Foo;RegionId=z"]
        return r.choice(choices)

    def ext5(self):
        r = self.r
        x = r.random()
        inner = [("logRegionId", r.choice(REGIONS)),
                 ("appGroup", "pop-region-" + r.choice(REGIONS)),
                 ("callerInfo", {"callerType": "customer",
                                 "callerUid": r.choice(UIDS)}),
                 ("headers", {"x-acs-request-id": "%08X" % r.getrandbits(32),
                              "user-agent": "AlibabaCloud (Linux) Go/1.21"})]
        if x < 0.6:
            return json.dumps(dict(inner), separators=(",", ":"))
        if x < 0.8:
            return Obj([(k, Obj(list(v.items())) if isinstance(v, dict) else v)
                        for k, v in inner])
        return r.choice(['{"logRegionId":', "not json", "", None, Num("5"),
                         '{"logRegionId":null}', "[1,2]",
                         Obj([("logRegionId", Obj([]))])])

    def domain(self, product):
        r = self.r
        x = r.random()
        p = product if isinstance(product, str) else "x"
        if x < 0.04:
            return WARMUP
        if x < 0.06:
            return r.choice([WARMUP + " ", "POPWARMUP.aliyuncs.com",
                             "popwarmup.aliyuncs.co", " " + WARMUP,
                             BStr(["popwarmup", b"\xff", ".aliyuncs.com"])])
        if x < 0.08:
            return None  # absent
        return "%s-vpc.%s.aliyuncs.com" % (p, r.choice(REGIONS))

    def deep_value(self, depth):
        v = Num("1")
        for i in range(depth - 1):
            v = [v] if i % 2 else Obj([("k%d" % i, v)])
        return v

    def valid_pairs(self):
        """A list of (key, value) for a mostly valid log line."""
        r = self.r
        product = self.maybe_bad_utf8(r.choice(PRODUCTS))
        if self.chance(0.01):
            product = r.choice([True, False, Num("0"), Num("1.5")])
        api = self.maybe_bad_utf8(r.choice(APIS))
        version = self.maybe_bad_utf8(r.choice(VERSIONS), 0.01)
        code = self.http_code()
        pairs = [
            ("AK", "STS.NZD%06dLgwc" % r.randint(0, 999999)),
            ("Api", api),
            ("CallerUid", self.maybe_bad_utf8(r.choice(UIDS), 0.01)),
            ("ClientIp", "192.168.%d.%d" % (r.randint(0, 255),
                                            r.randint(0, 255))),
            ("Domain", self.domain(product)),
            ("ErrorCode", self.error_code(code)),
            ("Ext5", self.ext5()),
            ("HttpCode", code),
            ("LocalIp", r.choice(LOCAL_IPS)),
            ("Product", product),
            ("RegionId", r.choice(REGIONS)),
            ("RequestContent", self.request_content(api, r.choice(VERSIONS))),
            ("TotalUsedTime", self.used_time()),
            ("Version", version),
            ("__time__", Num(str(1768484243 + r.randint(0, 3600)))),
        ]
        # absent keys
        drop = {k for k in ("Api", "Version", "CallerUid", "LocalIp",
                            "ErrorCode", "TotalUsedTime", "RequestContent",
                            "Ext5", "Domain") if self.chance(0.03)}
        pairs = [(k, v) for k, v in pairs
                 if k not in drop and not (v is None and k in
                                           ("Domain", "ErrorCode")
                                           and self.chance(0.5))]
        if self.chance(0.02):
            pairs = [(k, None if k in ("Api", "CallerUid", "LocalIp")
                      and self.chance(0.5) else v) for k, v in pairs]
        if self.chance(0.1):
            pairs.append(("x", Obj([("Product", "decoy"), ("Api", "decoy"),
                                    ("HttpCode", "500"),
                                    ("Domain", WARMUP)])))
        if self.chance(0.05):
            pairs.append(("arr", [Obj([("Product", "decoy2")]), 1, "s",
                                  None, [Obj([("HttpCode", 429)])]]))
        if self.chance(0.03):
            pairs.append(("deep", self.deep_value(r.randint(40, 60))))
        if self.chance(0.05):
            pairs.append(("headers", "h" * r.randint(500, 4000)))
        if self.amb and self.chance(0.005):
            pairs.append(("Product", "nul\u0000byte"))
        r.shuffle(pairs)
        # duplicate keys: an earlier bogus value, the last one is the true one
        if self.chance(0.08):
            for k in r.sample(["Product", "HttpCode", "Api", "TotalUsedTime",
                               "Domain", "ErrorCode", "CallerUid"],
                              r.randint(1, 3)):
                idx = [i for i, (kk, _) in enumerate(pairs) if kk == k]
                if not idx:
                    continue
                bogus = r.choice(["bogus", None, Obj([("a", 1)]), Num("999"),
                                  WARMUP, "Throttling.Bogus", "429", [1]])
                pairs.insert(r.randint(0, idx[-1]), (k, bogus))
        # a duplicate whose last value is null / an object (last one wins)
        if self.chance(0.005):
            pairs.append((r.choice(["Product", "HttpCode"]),
                          r.choice([None, Obj([]), []])))
        return pairs

    def serializer(self):
        r = self.r
        style = r.random()
        if style < 0.5:
            return Serializer(r)
        if style < 0.8:
            return Serializer(r, esc_p=0.02, ws_p=0.1, slash_p=0.3)
        return Serializer(r, esc_p=0.15, ws_p=0.5, slash_p=0.8)

    def valid_line(self):
        s = self.serializer()
        body = s.value(Obj(self.valid_pairs()))
        return s.ws() + body + s.ws()

    # -- invalid lines -----------------------------------------------------

    def invalid_line(self):
        r = self.r
        s = Serializer(r)
        base = self.valid_pairs()
        kind = r.choice([
            "empty", "ws", "truncated", "truncated", "truncated",
            "trailing_comma", "nan", "leading_zero", "single_quote",
            "control", "top_array", "top_string", "top_number", "top_lit",
            "too_deep", "too_deep_obj", "garbage", "missing", "missing",
            "product_empty", "product_null", "httpcode_container",
            "after_object", "bad_escape", "unquoted_key", "bad_number",
            "bad_utf8_outside", "bad_literal", "no_colon", "amb"])
        self.last_kind = kind

        def ser(pairs):
            return s.value(Obj(pairs))

        def replace(key, raw):
            out = []
            done = False
            for k, v in base:
                if k == key and not done:
                    out.append((k, Raw(raw)))
                    done = True
                else:
                    out.append((k, v))
            if not done:
                out.append((key, Raw(raw)))
            return ser(out)

        if kind == "empty":
            return b""
        if kind == "ws":
            return bytes(r.choice(b" \t\r") for _ in range(r.randint(1, 8)))
        if kind == "truncated":
            full = ser(base)
            return full[:r.randint(1, len(full) - 1)]
        if kind == "trailing_comma":
            full = ser(base)
            return r.choice([full[:-1] + b",}", full[:-1] + b", }",
                             replace("Api", b'["a",]'), b"{,}",
                             replace("Api", b'{"a":1,}')])
        if kind == "nan":
            return replace("TotalUsedTime", r.choice(
                [b"NaN", b"Infinity", b"-Infinity", b"nan", b"inf"]))
        if kind == "leading_zero":
            return replace(r.choice(["TotalUsedTime", "HttpCode"]), r.choice(
                [b"0200", b"-01", b"00", b"012.5"]))
        if kind == "single_quote":
            return r.choice([b"{'Product':'ecs','HttpCode':'200'}",
                             replace("Product", b"'ecs'")])
        if kind == "control":
            c = bytes([r.choice([0, 1, 9, 13, 27, 31])])
            return replace("Api", b'"Describe' + c + b'Instances"')
        if kind == "top_array":
            return b"[" + ser(base) + b"]"
        if kind == "top_string":
            return r.choice([b'"just a string"', b' "x" ', b'"\\u00e9"'])
        if kind == "top_number":
            return r.choice([b"123", b"-1.5e3", b"0", b" 42 "])
        if kind == "top_lit":
            return r.choice([b"true", b"false", b"null", b"[]", b"[{}]"])
        if kind == "too_deep":
            d = r.randint(513, 700) if self.amb else 600
            return replace("Ext5", b"[" * d + b"]" * d)
        if kind == "too_deep_obj":
            return replace("x", b'{"a":' * 600 + b"1" + b"}" * 600)
        if kind == "garbage":
            # first byte can not start JSON, nor be whitespace; no newline
            first = r.choice([b for b in range(256)
                              if b not in b' \t\r\n\x0b\x0c\x85\xa0{["-0123456789tfn'])
            rest = bytes(r.choice([b for b in range(256) if b != 10])
                         for _ in range(r.randint(0, 60)))
            return bytes([first]) + rest
        if kind == "missing":
            drop = r.choice(["Product", "HttpCode"])
            return ser([(k, v) for k, v in base if k != drop])
        if kind == "product_empty":
            return replace(r.choice(["Product", "HttpCode"]), b'""')
        if kind == "product_null":
            return replace(r.choice(["Product", "HttpCode"]), b"null")
        if kind == "httpcode_container":
            return replace(r.choice(["Product", "HttpCode"]),
                           r.choice([b"[]", b"{}", b'{"Product":"ecs"}',
                                     b"[200]"]))
        if kind == "after_object":
            full = ser(base)
            return full + r.choice([b" x", b"{}", b",", b"}", b" 1", b"\x00",
                                    b" " + full])
        if kind == "bad_escape":
            return replace("Api", r.choice([b'"a\\x"', b'"\\u12G4"',
                                            b'"\\U0041"', b'"\\\'"',
                                            b'"\\u00"']))
        if kind == "unquoted_key":
            return b"{Product:\"ecs\",\"HttpCode\":\"200\"}"
        if kind == "bad_number":
            return replace("TotalUsedTime", r.choice(
                [b"1.", b".5", b"+1", b"1e", b"1e+", b"-", b"0x10", b"1.2.3",
                 b"--1"]))
        if kind == "bad_utf8_outside":
            full = ser(base)
            return r.choice([full + b"\xff", b"{\xc3\xa9:1}",
                             full[:-1] + b",\xff\"a\":1}"])
        if kind == "bad_literal":
            return replace("Api", r.choice([b"True", b"nul", b"tru e",
                                            b"falsey", b"NULL"]))
        if kind == "no_colon":
            return r.choice([b'{"Product" "ecs"}', b'{"Product"}',
                             b'{"Product":"ecs" "HttpCode":"200"}'])
        # "amb": cases the contract leaves open (only with --ambiguous)
        if not self.amb:
            return b"{}"
        return r.choice([
            b"[1,", b'"abc', b"tru", b"[1}", b"-",
            b"\xef\xbb\xbf" + ser(base), b" \x0c ", b"\x0b",
            b'{"a":' + b"[" * 511 + b"]" * 511 + b',"Product":"d","HttpCode":1}',
            b'{"a":' + b"[" * 512 + b"]" * 512 + b',"Product":"d","HttpCode":1}',
        ])

    def corpus(self, n):
        lines = []
        for _ in range(n):
            lines.append(self.invalid_line() if self.chance(0.05)
                         else self.valid_line())
        data = b"\n".join(lines)
        if lines and (self.chance(0.5) or lines[-1] == b""):
            data += b"\n"
        return data

    # -- dimension tables --------------------------------------------------

    def dims(self):
        r = self.r
        crlf = r.randint(1, 4)  # which data row ends with CRLF

        def csv_file(header, rows):
            out = [header + b"\n"]
            for i, row in enumerate(rows):
                out.append(row + (b"\r\n" if i == crlf else b"\n"))
            return b"".join(out)

        ips = LOCAL_IPS[:]
        gc = [b"%s,pop-region-cn-hangzhou,cn-hangzhou" % ips[0].encode(),
              b'%s,"pop-region-cn-beijing,blue",cn-beijing' % ips[1].encode(),
              b'%s,"pop ""quoted"" group","cn-""q"""' % ips[2].encode(),
              b"%s,pop-region-us,us-west-1" % ips[3].encode(),
              b"%s,pop-region-old,cn-old" % ips[4].encode(),
              b"%s,pop-region-x, cn-spaced " % ips[5].encode(),
              b"%s,pop-region-bad" % ips[6].encode(),          # 2 columns
              b"%s,pop-region-new,cn-new" % ips[4].encode(),  # later wins
              b"%s,a,b,c" % ips[7].encode(),                   # 4 columns
              b"%s,pop-empty," % ips[8].encode(),              # empty value
              b'"%s",pop-quoted-key,cn-qk' % ips[9].encode()]
        if self.amb:
            gc.append(b'%s,"multi\nline",cn-ml' % ips[10].encode())
            gc.append(b",empty-key,cn-empty")
        ul = [b"%s,GC%d" % (u.encode(), 5 + i % 3)
              for i, u in enumerate(UIDS[:10])]
        ul += [b"%s,GC9" % UIDS[0].encode(),                  # later wins
               b"%s,GC5,extra" % UIDS[10].encode(),           # 3 columns
               b'%s,"GC5,GC6"' % UIDS[11].encode(),
               b"%s" % UIDS[12].encode()]                    # 1 column
        am = [b"ecs,DescribeInstances,P0", b"ecs,RunInstances,P1",
              b"rds,DescribeInstances,P2", b'"ecs,classic",DescribeInstances,P3',
              b'"we""ird",RunInstances,PQ', b"acc,DescribeCustomResourceDetail,P1",
              b"slb,CreateInstance, P1 ", b"ecs,RunInstances,P9",  # later wins
              b"oss,DeleteInstance", b"vpc,StopInstance,P1,x",
              "产品,接口,P中".encode(), b"kms,DescribeRegions,"]
        r.shuffle(ul)
        return {
            "gateway_cluster.csv": csv_file(b"local_ip,app_group,region_id", gc),
            "user_level.csv": csv_file(b"uid,gc_level", ul),
            "api_meta.csv": csv_file(b"product,api,priority", am),
        }


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--lines", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dims-dir", required=True)
    ap.add_argument("--ambiguous", action="store_true",
                    help="also generate cases the contract leaves open")
    a = ap.parse_args(argv)
    g = Gen(a.seed, a.ambiguous)
    data = g.corpus(a.lines)
    dims = g.dims()
    with open(a.out, "wb") as fh:
        fh.write(data)
    os.makedirs(a.dims_dir, exist_ok=True)
    for name, content in dims.items():
        with open(os.path.join(a.dims_dir, name), "wb") as fh:
            fh.write(content)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
