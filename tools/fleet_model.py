#!/usr/bin/env python3
"""fleet_model.py - active series per exporter, per regional Prometheus and
at the global tier, from the fleet's shape, its traffic and the exporter
configuration (README, "Series budget").

    python3 tools/fleet_model.py [--config config/gwlog_exporter.yml]
        [--regions 60] [--nodes 100] [--rps 2000000] [--products 300]
        [--apis-per-product 11] [--tenants 84000] [--window 86400] ...

The defaults are the design's scale and the default configuration (per-uid
tenant series for GC5-GC7 only, the rest per gc_level): 47,453 series per
exporter, 4.8 M per regional Prometheus of 100 nodes.  --config
config/examples/all_tenants.yml models per-uid series for every tenant.
Families with zero_unmatched count a series for every line that reaches
their labels, whatever their `when`.

The traffic model (the same one tests/fleet.py writes as log lines):
products are Zipf-distributed (--product-skew), each product has
--apis-per-product APIs (Zipf --api-skew within the product), tenants are
Zipf (--tenant-skew) with gc_level by rank (the first --key-share of the
tenants are GC5-GC7, the others GC1-GC4), requests are spread evenly over
the nodes of a region by the load balancer.  A line is 2xx, 4xx or 5xx
with fixed shares and carries one of five (http_code, error_code) pairs
when it is not 2xx; --slow-share of the lines take over 1 s.

A key (a label set of a family) with probability q per line is present on
a node that has read n lines with probability 1 - (1 - q)^n; the expected
number of series of a family is the sum of that over its keys, times the
series per key (5 for a family with code_class siblings, buckets + 3 for a
histogram).  n is the node's lines in --window seconds: the exporter's
uptime for families without series_ttl (every key ever seen stays), or the
family's series_ttl.  A regional Prometheus holds every exporter's series
(each with its own instance label), 5 series per target (up, scrape_*), the
exporters' self-metrics (--self-series each) and the outputs of
alerts/regional.rules.yml (one per key of the rule's `by` labels present in
the region).  The global tier holds what is federated (the region_* rule
outputs of every region) and the outputs of alerts/global.rules.yml.

Prints a table; --json prints the same as JSON.
"""

import argparse
import json
import math
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (http_code, error_code) of non-2xx lines and their share of those lines.
ERRORS = [("400", "InvalidParameter", "4xx", 0.35), ("404", "NotFound", "4xx", 0.25),
          ("429", "Throttling.User", "4xx", 0.2), ("500", "InternalError", "5xx", 0.1),
          ("503", "ServiceUnavailable", "5xx", 0.1)]
KEY_LEVELS = ["GC7", "GC6", "GC5"]
OTHER_LEVELS = ["GC4", "GC3", "GC2", "GC1"]


def zipf(n, s):
    w = [1.0 / (k + 1) ** s for k in range(n)]
    tot = sum(w)
    return [x / tot for x in w]


class Traffic:
    """Probabilities per line of every key the default families use."""

    def __init__(self, a):
        self.a = a
        self.product = zipf(a.products, a.product_skew)
        api_in = zipf(a.apis_per_product, a.api_skew)
        self.api = [(p, i, sp * sa) for p, sp in enumerate(self.product)
                    for i, sa in enumerate(api_in)]
        self.tenant = zipf(a.tenants, a.tenant_skew)
        n_key = int(a.tenants * a.key_share)
        self.level = [KEY_LEVELS[k % 3] if k < n_key else OTHER_LEVELS[k % 4]
                      for k in range(a.tenants)]
        self.non2xx = a.share_4xx + a.share_5xx
        # share of non-2xx lines per (http_code, error_code)
        self.err = []
        for code, ec, cls, w in ERRORS:
            cls_share = a.share_4xx if cls == "4xx" else a.share_5xx
            cls_w = sum(x[3] for x in ERRORS if x[2] == cls)
            self.err.append((code, ec, cls, cls_share * w / cls_w))
        self.throttled = sum(s for code, ec, cls, s in self.err if code == "429")

    def keys(self, labels, when):
        """[q] per key of a family with these labels (code_class and le
        excluded) and this `when` condition."""
        ls = set(labels) - {"code_class"}
        cond = describe(when)
        if ls <= {"product", "region_id", "biz_region_id"}:
            base = list(self.product)
            factor = self.line_factor(cond)
            return [q * factor for q in base]
        if ls <= {"product", "api", "version", "priority"}:
            return [q * self.line_factor(cond) for p, i, q in self.api]
        if ls <= {"product", "api", "http_code", "error_code"}:
            out = []
            for p, i, q in self.api:
                for code, ec, cls, s in self.err:
                    if cond.get("code") and code not in cond["code"]:
                        continue
                    out.append(q * s)
            return out
        if ls <= {"product", "api"}:     # 503 rule
            return [q * self.line_factor(cond) for p, i, q in self.api]
        if ls == {"uid", "gc_level"} or ls == {"uid"}:
            return [q * self.line_factor(cond) for q, lvl in zip(self.tenant, self.level)
                    if level_ok(lvl, cond)]
        if ls == {"gc_level"}:
            per = {}
            for q, lvl in zip(self.tenant, self.level):
                if level_ok(lvl, cond):
                    per[lvl] = per.get(lvl, 0) + q * self.line_factor(cond)
            return list(per.values())
        raise SystemExit("fleet_model: no traffic model for labels %s" % sorted(labels))

    def line_factor(self, cond):
        f = 1.0
        if cond.get("non2xx"):
            f *= self.non2xx
        if cond.get("slow"):
            f *= self.a.slow_share
        if cond.get("throttled"):
            f *= self.throttled
        if cond.get("code"):
            f *= sum(s for code, ec, cls, s in self.err if code in cond["code"])
        if cond.get("class"):
            f *= {"5xx": self.a.share_5xx, "2xx": 1 - self.non2xx,
                  "4xx": self.a.share_4xx}[cond["class"]]
        return f


def level_ok(lvl, cond):
    if "level_in" in cond and lvl not in cond["level_in"]:
        return False
    if "level_not_in" in cond and lvl in cond["level_not_in"]:
        return False
    return True


def describe(when):
    """The conditions of the default config (and the fold) the model knows."""
    cond = {}
    if not when:
        return cond
    text = json.dumps(when)
    if '"code_class"' in text and '"not_equals": "2xx"' in text:
        cond["non2xx"] = True
    if '"total_used_time"' in text and '"gt"' in text:
        cond["slow"] = True
    if "Throttling" in text:
        cond["throttled"] = True
    if isinstance(when, dict) and when.get("field") == "gc_level":
        if "in" in when:
            cond["level_in"] = set(when["in"])
        if "not_in" in when:
            cond["level_not_in"] = set(when["not_in"])
    for sub in when.get("all", []) if isinstance(when, dict) else []:
        for k, v in describe(sub).items():
            cond[k] = v
    return cond


def present(qs, n):
    """Expected number of keys seen at least once in n lines."""
    if n <= 0:
        return 0.0
    tot = 0.0
    for q in qs:
        if q <= 0:
            continue
        x = n * q
        tot += 1.0 if x > 50 else -math.expm1(n * math.log1p(-q)) if q < 1 else 1.0
    return tot


def duration(v):
    if v is None:
        return None
    m = re.match(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$", str(v))
    mult = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}[m.group(2)]
    return float(m.group(1)) * mult


def series_when(f):
    """The condition under which a line creates a series of family f: its
    `when`, or none with zero_unmatched (every line reaching the labels
    creates the series, at 0 when `when` does not hold)."""
    return None if f.get("zero_unmatched") else f.get("when")


def exporter_series(cfg, tr, a, lines_per_s):
    """{family: expected series} on one node."""
    out = {}
    for f in cfg["metrics"]:
        labels = [l if isinstance(l, str) else list(l.values())[0] for l in f.get("labels", [])]
        ttl = duration(f.get("series_ttl"))
        window = min(a.window, ttl) if ttl else a.window
        n = lines_per_s * window
        keys = present(tr.keys(labels, series_when(f)), n)
        if f.get("type") == "histogram":
            per = len(f.get("buckets", [])) + 1 + 2
        else:
            per = len(f.get("siblings", {}).get("code_class", [])) or 1
        # max_series caps the label sets; the rest fold into __overflow__
        cap = f.get("max_series", 100000)
        out[f["name"]] = (min(keys, cap) + (1 if keys > cap else 0)) * per
    return out


RULE_RE = re.compile(r"sum by \(([^)]*)\) \((?:rate|irate)\((\w+)(\{[^}]*\})?\[")


def rule_series(path, tr, n_lines, families):
    """Expected outputs of the recording rules in path, over n_lines of a
    region's traffic."""
    doc = yaml.safe_load(open(path))
    out = {}
    for g in doc["groups"]:
        for r in g["rules"]:
            if "record" not in r:
                continue
            m = RULE_RE.search(r["expr"])
            if not m and "histogram_quantile" in r["expr"]:   # of a rule above
                out[r["record"]] = present(tr.keys(["product"], None), n_lines)
                continue
            if not m:               # sum without by: one series (heartbeat)
                out[r["record"]] = 1
                continue
            by = [x.strip() for x in m.group(1).split(",")]
            metric, matchers = m.group(2), m.group(3) or ""
            fam = families.get(re.sub(r"_(bucket|sum|count)$", "", metric), {})
            cond = {}
            if 'code_class="5xx"' in matchers:
                cond["class"] = "5xx"
            if 'code_class="2xx"' in matchers:
                cond["class"] = "2xx"
            mc = re.search(r'http_code="(\d+)"', matchers)
            keys = tr.keys([l for l in by if l != "le"], series_when(fam))
            f = tr.line_factor(cond)
            if mc:
                keys = [q * tr.line_factor({"code": {mc.group(1)}}) / max(tr.non2xx, 1e-12)
                        for q in keys]
            per = len(fam.get("buckets", [])) + 1 if "le" in by else 1
            out[r["record"]] = present([q * f for q in keys], n_lines) * per
    return out


def model(a):
    cfg = yaml.safe_load(open(a.config))
    families = {f["name"]: f for f in cfg["metrics"]}
    tr = Traffic(a)
    rps_region = a.rps / a.regions
    per_node = exporter_series(cfg, tr, a, rps_region / a.nodes)
    node_total = sum(per_node.values())
    region_rules = rule_series(os.path.join(a.alerts, "regional.rules.yml"), tr,
                               rps_region * a.window, families)
    regional = a.nodes * (node_total + a.self_series + 5) + sum(region_rules.values())
    federated = sum(v for k, v in region_rules.items() if re.match(r"region_[a-z_]+:", k))
    # Global rules: one output per federated input series of the same level
    # (the seed names keep every label but the federation target's), the
    # fleet aggregates are small (per product or region).
    glob_rules = 0.0
    doc = yaml.safe_load(open(os.path.join(a.alerts, "global.rules.yml")))
    for g in doc["groups"]:
        for r in g["rules"]:
            if "record" not in r:
                continue
            name, expr = r["record"], r["expr"]
            src = re.findall(r"(region_[a-z_]+:[a-z0-9_]+:[a-z0-9_]+)", expr)
            if name.startswith("namespace_") and src:
                glob_rules += a.regions * region_rules.get(src[0], 0) / (
                    13 if src[0].endswith("_bucket:rate1m") else 1)
            elif name.startswith("namespace_"):
                glob_rules += a.regions * region_rules.get(
                    "region_product:gw_product_requests:rate1m", 0)
            elif name.startswith("region_product:"):
                glob_rules += a.regions * present(tr.keys(["product"], None), rps_region * a.window)
            elif name.startswith("region:"):
                glob_rules += a.regions
            else:
                glob_rules += a.products
    glob = a.regions * (federated + 5) + glob_rules
    return {"per_exporter": {k: round(v) for k, v in per_node.items()},
            "exporter_total": round(node_total + a.self_series),
            "regional_rules": {k: round(v) for k, v in region_rules.items()},
            "regional_prometheus": round(regional),
            "federated_per_region": round(federated),
            "global": round(glob),
            "fleet_exporter_series": round(a.regions * a.nodes * (node_total + a.self_series))}


def parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=os.path.join(ROOT, "config", "gwlog_exporter.yml"))
    p.add_argument("--alerts", default=os.path.join(ROOT, "alerts"))
    p.add_argument("--regions", type=int, default=60)
    p.add_argument("--nodes", type=int, default=100, help="gateway nodes (exporters) per region")
    p.add_argument("--rps", type=float, default=2000000, help="requests/s, whole fleet")
    p.add_argument("--products", type=int, default=300)
    p.add_argument("--product-skew", type=float, default=1.2)
    p.add_argument("--apis-per-product", type=int, default=11,
                   help="APIs per product in a region (200,000 API series / 60 regions / 300 products)")
    p.add_argument("--api-skew", type=float, default=1.0)
    p.add_argument("--tenants", type=int, default=84000,
                   help="distinct tenants per region (5 %% key tenants: 250,000 / 60 regions)")
    p.add_argument("--tenant-skew", type=float, default=1.0)
    p.add_argument("--key-share", type=float, default=0.05, help="share of tenants that are GC5-GC7")
    p.add_argument("--share-4xx", type=float, default=0.04)
    p.add_argument("--share-5xx", type=float, default=0.005)
    p.add_argument("--slow-share", type=float, default=0.02)
    p.add_argument("--window", type=float, default=86400,
                   help="seconds of traffic an exporter keeps series for (its uptime) without series_ttl")
    p.add_argument("--self-series", type=int, default=95,
                   help="gwlog_*/process_* series per exporter (95 with one log file)")
    p.add_argument("--json", action="store_true")
    return p


def main():
    a = parser().parse_args()
    r = model(a)
    if a.json:
        print(json.dumps(r, indent=1))
        return
    print("config %s; %d regions x %d nodes, %.0f req/s" % (
        os.path.relpath(a.config, ROOT), a.regions, a.nodes, a.rps))
    for k, v in r["per_exporter"].items():
        print("  %-40s %10d series per exporter" % (k, v))
    print("  %-40s %10d (with %d self-metrics)" % ("exporter total", r["exporter_total"], a.self_series))
    print("  %-40s %10d" % ("regional Prometheus (head series)", r["regional_prometheus"]))
    print("  %-40s %10d" % ("federated per region", r["federated_per_region"]))
    print("  %-40s %10d" % ("global tier", r["global"]))
    print("  %-40s %10d" % ("all exporters together", r["fleet_exporter_series"]))


if __name__ == "__main__":
    sys.exit(main())
