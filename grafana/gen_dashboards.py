#!/usr/bin/env python3
"""gen_dashboards.py - writes grafana/dashboards/*.json (provisionable Grafana
dashboards, schemaVersion 37) from the panel lists below.  Edit here, run
`python3 grafana/gen_dashboards.py`, commit both.

Every dashboard has a `datasource` variable; dashboards tagged
`gwlog-global` query the global Prometheus (federated aggregates, the seed's
metric names), `gwlog-regional` ones a regional Prometheus (raw exporter
series).  tests/e2e.py runs every panel query against the matching
Prometheus and requires data.
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${datasource}"}
DEDUP = "max without (instance, job, replica)"   # see alerts/global.rules.yml


def ds_var(regex):
    return {"name": "datasource", "label": "Data source", "type": "datasource",
            "query": "prometheus", "regex": regex, "hide": 0, "refresh": 1,
            "current": {}, "options": []}


def query_var(name, q, label=None, all_=False, multi=False):
    v = {"name": name, "label": label or name, "type": "query",
         "datasource": DS, "definition": q,
         "query": {"query": q, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
         "refresh": 2, "sort": 1, "hide": 0, "multi": multi,
         "includeAll": all_, "options": [], "regex": ""}
    if all_:
        v["allValue"] = ".*"
        v["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    else:
        v["current"] = {}
    return v


REGION = query_var("region", "label_values(namespace_product_gw_http_req, region)",
                   "Region", all_=True, multi=True)
PRODUCT = query_var("product",
                    'label_values(namespace_product_gw_http_req{region=~"$region"}, product)',
                    "Product")
API = query_var("api",
                'label_values(namespace_api_gw_http_req{region=~"$region", product="$product"}, api)',
                "API")
INSTANCE = query_var("instance", 'label_values(gwlog_build_info{job="gwlog"}, instance)',
                     "Exporter", all_=True, multi=True)


def panel(title, exprs, unit="short", kind="timeseries", w=12, h=8,
          description=""):
    """exprs: [(expr, legendFormat)]"""
    p = {"type": kind, "title": title, "description": description,
         "datasource": DS,
         "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
         "targets": [{"refId": chr(ord("A") + i), "datasource": DS, "expr": e,
                      "legendFormat": lf, "range": True,
                      "instant": kind in ("table", "stat")}
                     for i, (e, lf) in enumerate(exprs)],
         "gridPos": {"w": w, "h": h}}
    if kind == "timeseries":
        p["options"] = {"legend": {"displayMode": "table", "placement": "bottom",
                                   "calcs": ["lastNotNull", "max"]},
                        "tooltip": {"mode": "multi", "sort": "desc"}}
    elif kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                          "values": False},
                        "colorMode": "value", "graphMode": "area"}
    return p


def dashboard(uid, title, tags, variables, panels, description):
    x = y = row_h = 0
    for i, p in enumerate(panels):
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if x + w > 24:
            x, y = 0, y + row_h
            row_h = 0
        p["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
        p["id"] = i + 1
        x += w
        row_h = max(row_h, h)
    return {
        "uid": uid, "title": title, "description": description,
        "tags": ["gwlog"] + tags, "timezone": "browser", "editable": True,
        "graphTooltip": 1, "schemaVersion": 37, "version": 1,
        "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
        "timepicker": {}, "fiscalYearStartMonth": 0, "liveNow": False,
        "links": [{"title": "gwlog dashboards", "type": "dashboards",
                   "tags": ["gwlog"], "asDropdown": True}],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "templating": {"list": variables},
        "panels": panels,
    }


R = 'region=~"$region"'
GLOBAL_DS = "/^Global/"
REGIONAL_DS = "/^Regional/"

fleet = dashboard(
    "gwlog-fleet", "Gateway fleet overview", ["gwlog-global"],
    [ds_var(GLOBAL_DS), REGION],
    [
        panel("Fleet QPS", [("sum(namespace_product_gw_http_req{%s})" % R, "QPS")],
              "reqps", "stat", 6, 4),
        panel("Fleet success rate",
              [("1 - sum(namespace_product_gw_http_5xx{%s}) / sum(namespace_product_gw_http_req{%s})" % (R, R), "success")],
              "percentunit", "stat", 6, 4),
        panel("Fleet 5xx per second", [("sum(namespace_product_gw_http_5xx{%s})" % R, "5xx/s")],
              "reqps", "stat", 6, 4),
        panel("Regions reporting", [("count(sum by (region) (namespace_product_gw_http_req{%s}))" % R, "regions")],
              "short", "stat", 6, 4),
        panel("QPS by product", [("sum by (product) (namespace_product_gw_http_req{%s})" % R, "{{product}}")],
              "reqps", description="The seed's `sum(namespace_product_gw_http_req) by (product)`."),
        panel("QPS by region", [("sum by (region) (namespace_product_gw_http_req{%s})" % R, "{{region}}")],
              "reqps"),
        panel("Success rate by product",
              [("1 - sum by (product) (namespace_product_gw_http_5xx{%s}) / sum by (product) (namespace_product_gw_http_req{%s})" % (R, R), "{{product}}")],
              "percentunit", description="Share of requests that did not end in 5xx."),
        panel("5xx error ratio by product and region",
              [("region_product:gw_product_requests_5xx_per_requests:ratio_rate1m{%s}" % R, "{{product}} {{region}}")],
              "percentunit", description="HighErrorRate fires above 1% for 2m."),
        panel("5xx per second by product and region",
              [("sum by (product, region) (namespace_product_gw_http_5xx{%s})" % R, "{{product}} {{region}}")],
              "reqps"),
        panel("Mean latency by product",
              [("1000 * sum by (product) (%s (region_product:gw_product_request_duration_seconds_sum:rate1m{%s})) / sum by (product) (%s (region_product:gw_product_request_duration_seconds_count:rate1m{%s}))" % (DEDUP, R, DEDUP, R), "{{product}}")],
              "ms", description="Weighted by requests (the seed's avg(namespace_product_gw_rt_mean) averages regions unweighted)."),
        panel("p99 latency by product",
              [("histogram_quantile(0.99, sum by (product, le) (%s (region_product:gw_product_request_duration_seconds_bucket:rate1m{%s})))" % (DEDUP, R), "{{product}}")],
              "s", description="Bucket rates of all selected regions summed by le before the quantile."),
        panel("p99 latency by product and region",
              [("histogram_quantile(0.99, sum by (product, region, le) (%s (region_product:gw_product_request_duration_seconds_bucket:rate1m{%s})))" % (DEDUP, R), "{{product}} {{region}}")],
              "s"),
    ],
    "QPS, success rate, mean and p99 latency, 5xx by product and region (global Prometheus).")

api = dashboard(
    "gwlog-api", "Gateway API drill-down", ["gwlog-global"],
    [ds_var(GLOBAL_DS), REGION, PRODUCT, API],
    [
        panel("Top 10 APIs of $product by QPS",
              [('topk(10, sum by (api) (namespace_api_gw_http_req{%s, product="$product"}))' % R, "{{api}}")],
              "reqps", w=24),
        panel("$api QPS by version and priority",
              [('sum by (version, priority) (namespace_api_gw_http_req{%s, product="$product", api="$api"})' % R, "{{version}} {{priority}}")],
              "reqps"),
        panel("$api QPS by region",
              [('sum by (region) (namespace_api_gw_http_req{%s, product="$product", api="$api"})' % R, "{{region}}")],
              "reqps"),
        panel("$api 5xx per second",
              [('sum by (region) (namespace_api_gw_http_5xx{%s, product="$product", api="$api"})' % R, "{{region}}")],
              "reqps"),
        panel("$api 503 ratio",
              [('namespace_api_gw_http503_rate{%s, product="$product", api="$api"}' % R, "{{region}}")],
              "percentunit", description="ApiHigh503Ratio fires above 5% for 5m."),
        panel("$api slow calls (> 1 s) per second",
              [('sum by (region) (namespace_api_gw_slow_http_req{%s, product="$product", api="$api"})' % R, "{{region}}")],
              "reqps"),
        panel("$api slow call ratio",
              [('sum by (region) (namespace_api_gw_slow_http_req{%s, product="$product", api="$api"}) / sum by (region) (namespace_api_gw_http_req{%s, product="$product", api="$api"})' % (R, R), "{{region}}")],
              "percentunit", description="ApiSlowRequests fires above 10% for 10m."),
        panel("$api error codes",
              [('sum by (error_code) (namespace_error_code_gw_error_code{%s, product="$product", api="$api"})' % R, "{{error_code}}")],
              "reqps", w=24),
    ],
    "One product and API: QPS, 5xx, 503 ratio, slow calls, error codes (global Prometheus).")
errors = dashboard(
    "gwlog-error-codes", "Gateway error codes", ["gwlog-global"],
    [ds_var(GLOBAL_DS), REGION, PRODUCT],
    [
        panel("Non-2xx responses of $product by HTTP code",
              [('sum by (http_code) (namespace_error_code_gw_http_code{%s, product="$product"})' % R, "{{http_code}}")],
              "reqps"),
        panel("Top 10 error codes of $product",
              [('topk(10, sum by (error_code) (namespace_error_code_gw_error_code{%s, product="$product"}))' % R, "{{error_code}}")],
              "reqps"),
        panel("Top 20 (API, error code) of $product",
              [('topk(20, sum by (api, error_code) (namespace_error_code_gw_error_code{%s, product="$product"}))' % R, "{{api}} {{error_code}}")],
              "reqps", w=24),
        panel("Top 10 products by 5xx per second",
              [('topk(10, sum by (product) (namespace_error_code_gw_http_code{%s, http_code=~"5.."}))' % R, "{{product}}")],
              "reqps"),
        panel("Non-2xx responses by HTTP code and region, all products",
              [('sum by (http_code, region) (namespace_error_code_gw_http_code{%s})' % R, "{{http_code}} {{region}}")],
              "reqps"),
    ],
    "Error codes and HTTP codes of non-2xx responses (global Prometheus).")

TENANT = DEDUP
tenants = dashboard(
    "gwlog-tenants", "Gateway tenant throttling", ["gwlog-global"],
    [ds_var(GLOBAL_DS), REGION],
    [
        panel("Throttled share of key tenants (GC6, GC7)",
              [('topk(20, namespace_tenant_gw_api_req_limiting_rate{%s, gc_level=~"GC6|GC7"})' % R, "{{uid}} {{gc_level}} {{region}}")],
              "percentunit", w=24,
              description="KeyTenantThrottled fires above 1% for 5m."),
        panel("Throttled requests per second by tenant level",
              [('sum by (gc_level) (%s (region_tenant:gw_tenant_throttled_requests:rate1m{%s}))' % (TENANT, R), "{{gc_level}}")],
              "reqps"),
        panel("Requests per second by tenant level",
              [('sum by (gc_level) (%s (region_tenant:gw_tenant_requests:rate1m{%s}))' % (TENANT, R), "{{gc_level}}")],
              "reqps"),
        panel("Top 10 throttled tenants",
              [('topk(10, sum by (uid, gc_level) (%s (region_tenant:gw_tenant_throttled_requests:rate1m{%s})))' % (TENANT, R), "{{uid}} {{gc_level}}")],
              "reqps"),
        panel("Top 10 tenants by QPS",
              [('topk(10, sum by (uid, gc_level) (%s (region_tenant:gw_tenant_requests:rate1m{%s})))' % (TENANT, R), "{{uid}} {{gc_level}}")],
              "reqps"),
    ],
    "Throttling (error code Throttling* or HTTP 429) per tenant and tenant level (global Prometheus).")

I = 'job="gwlog", instance=~"$instance"'
RI = "$__rate_interval"
health = dashboard(
    "gwlog-exporter-health", "gwlog_exporter health", ["gwlog-regional"],
    [ds_var(REGIONAL_DS), INSTANCE],
    [
        panel("Exporters up", [('up{%s}' % I, "{{instance}}")], "short", "stat", 8, 4),
        panel("Lines read per second",
              [('sum(rate(gwlog_lines_total{%s}[%s]))' % (I, RI), "lines/s")], "short", "stat", 8, 4),
        panel("Build", [('gwlog_build_info{%s}' % I, "{{instance}} {{version}} {{revision}}")],
              "short", "table", 8, 4),
        panel("Lines per second by result",
              [('sum by (instance, result) (rate(gwlog_lines_total{%s}[%s]))' % (I, RI), "{{instance}} {{result}}")],
              "short"),
        panel("Invalid line ratio",
              [('sum by (instance) (rate(gwlog_lines_total{%s, result="invalid"}[%s])) / sum by (instance) (rate(gwlog_lines_total{%s}[%s]))' % (I, RI, I, RI), "{{instance}}")],
              "percentunit", description="GwlogParseErrorsHigh fires above 1% for 10m."),
        panel("Invalid lines per second by reason",
              [('sum by (reason) (rate(gwlog_parse_errors_total{%s}[%s]))' % (I, RI), "{{reason}}")],
              "short"),
        panel("Filtered lines per second by filter",
              [('sum by (filter) (rate(gwlog_lines_filtered_total{%s}[%s]))' % (I, RI), "{{filter}}")],
              "short"),
        panel("Bytes read per second",
              [('sum by (instance) (rate(gwlog_bytes_read_total{%s}[%s]))' % (I, RI), "{{instance}}")],
              "Bps"),
        panel("Values a histogram could not observe",
              [('sum by (metric) (rate(gwlog_value_errors_total{%s}[%s]))' % (I, RI), "{{metric}}")],
              "short"),
        panel("Series per family",
              [('max by (metric) (gwlog_series{%s})' % I, "{{metric}}")], "short"),
        panel("Increments folded into __overflow__",
              [('sum by (metric) (increase(gwlog_series_overflow_total{%s}[%s]))' % (I, RI), "{{metric}}")],
              "short", description="GwlogSeriesOverflow fires on any."),
        panel("CPU (cores)",
              [('rate(process_cpu_seconds_total{%s}[%s])' % (I, RI), "{{instance}}")], "short"),
        panel("Resident memory",
              [('process_resident_memory_bytes{%s}' % I, "{{instance}}")], "bytes"),
        panel("Open file descriptors",
              [('process_open_fds{%s} / process_max_fds{%s}' % (I, I), "{{instance}}")], "percentunit"),
    ],
    "The exporters of one region: lines, parse errors, series, overflow, resources (regional Prometheus).")

for name, d in [("fleet-overview", fleet), ("api-drilldown", api),
                ("error-codes", errors), ("tenant-throttling", tenants),
                ("exporter-health", health)]:
    with open(os.path.join(HERE, "dashboards", "gwlog-%s.json" % name), "w") as f:
        json.dump(d, f, indent=2)
        f.write("\n")
