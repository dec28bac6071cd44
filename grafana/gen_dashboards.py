#!/usr/bin/env python3
"""gen_dashboards.py - writes grafana/dashboards/*.json (provisionable Grafana
dashboards, schemaVersion 39) from the panel lists below.  Edit here, run
`python3 grafana/gen_dashboards.py`, commit both; `make check-dashboards`
type-checks the result against Grafana's own schema (@grafana/schema).

Conventions: time series panels ask for range queries only, stat and table
panels for instant queries only (tables in "table" format); every stat has
thresholds; latencies are in seconds everywhere; the job is a variable
($job, default "gwlog": the job_name of the scrape config), never written
into a query.

Every dashboard has a `datasource` variable; dashboards tagged
`gwlog-global` query the global Prometheus (federated aggregates, the seed's
metric names), `gwlog-regional` ones a regional Prometheus (raw exporter
series).  tests/e2e.py runs every panel query against the matching
Prometheus and requires data.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# grafana/dashboards, or the directory given (make check-dashboards).
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "dashboards")
DS = {"type": "prometheus", "uid": "${datasource}"}
DEDUP = "max without (instance, job, replica)"   # see alerts/global.rules.yml


def ds_var(regex):
    return {"name": "datasource", "label": "Data source", "type": "datasource",
            "query": "prometheus", "regex": regex, "hide": 0, "refresh": 1,
            "current": {"text": "", "value": ""}, "options": []}


def query_var(name, q, label=None, all_=False, multi=False):
    v = {"name": name, "label": label or name, "type": "query",
         "datasource": DS,
         "query": {"query": q, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
         "refresh": 2, "sort": 1, "hide": 0, "multi": multi,
         "includeAll": all_, "options": [], "regex": ""}
    if all_:
        v["allValue"] = ".*"
        v["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    else:
        v["current"] = {"text": "", "value": ""}     # the first value
    return v


REGION = query_var("region", "label_values(namespace_product_gw_http_req, region)",
                   "Region", all_=True, multi=True)
PRODUCTS = query_var("product",
                     'label_values(namespace_product_gw_http_req{region=~"$region"}, product)',
                     "Product", all_=True, multi=True)
PRODUCT = query_var("product",
                    'label_values(namespace_product_gw_http_req{region=~"$region"}, product)',
                    "Product")
API = query_var("api",
                'label_values(namespace_api_gw_http_req{region=~"$region", product="$product"}, api)',
                "API")
# A tenant regex (textbox): ".*" all, "1098373503|42" two tenants.
UID = {"name": "uid", "label": "Tenant (uid regex)", "type": "textbox",
       "query": ".*", "hide": 0,
       "current": {"selected": False, "text": ".*", "value": ".*"},
       "options": [{"selected": True, "text": ".*", "value": ".*"}]}
# The exporters' scrape job: default "gwlog", the job_name of
# alerts/README's scrape config; pick another where yours differs.
JOB = query_var("job", "label_values(gwlog_build_info, job)", "Job")
JOB["current"] = {"selected": True, "text": "gwlog", "value": "gwlog"}
INSTANCE = query_var("instance", 'label_values(gwlog_build_info{job="$job"}, instance)',
                     "Exporter", all_=True, multi=True)


GREEN = [{"color": "green", "value": None}]


def steps(*pairs, base="green"):
    """Threshold steps: base colour, then (value, colour) pairs."""
    return [{"color": base, "value": None}] + \
        [{"color": c, "value": v} for v, c in pairs]


def panel(title, exprs, unit="short", kind="timeseries", w=12, h=8,
          description="", thresholds=None, decimals=None):
    """exprs: [(expr, legendFormat)].  thresholds: threshold steps (stat
    panels must give them; the others default to one green step)."""
    if kind == "stat" and thresholds is None:
        raise ValueError("stat panel %r without thresholds" % title)
    defaults = {"unit": unit,
                "thresholds": {"mode": "absolute",
                               "steps": thresholds or GREEN}}
    if decimals is not None:
        defaults["decimals"] = decimals
    if kind == "stat":
        defaults["color"] = {"mode": "thresholds"}
    if kind == "table":
        defaults["custom"] = {"align": "auto", "cellOptions": {"type": "auto"},
                              "inspect": False}
    targets = []
    for i, x in enumerate(exprs):
        e, lf = x[0], x[1]
        t = {"refId": chr(ord("A") + i), "datasource": DS, "expr": e,
             "legendFormat": lf, "editorMode": "code"}
        if len(x) > 2 and x[2].get("exemplar"):
            # The exporter's exemplars (README, "Exemplars"): a point per
            # bucket's latest request, for the drill-down to one request.
            t["exemplar"] = True
        if kind == "timeseries":
            t["range"], t["instant"] = True, False
        else:
            t["range"], t["instant"] = False, True
        if kind == "table":
            t["format"] = "table"
        targets.append(t)
    p = {"type": kind, "title": title, "description": description,
         "datasource": DS,
         "fieldConfig": {"defaults": defaults, "overrides": []},
         "targets": targets,
         "gridPos": {"w": w, "h": h}}
    if kind == "timeseries":
        p["options"] = {"legend": {"displayMode": "table", "placement": "bottom",
                                   "showLegend": True,
                                   "calcs": ["lastNotNull", "max"]},
                        "tooltip": {"mode": "multi", "sort": "desc"}}
    elif kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                          "values": False},
                        "orientation": "auto", "textMode": "auto",
                        "colorMode": "value", "graphMode": "none",
                        "justifyMode": "auto", "wideLayout": True,
                        "showPercentChange": False,
                        "percentChangeColorMode": "standard"}
    elif kind == "table":
        p["options"] = {"showHeader": True, "frameIndex": 0,
                        "cellHeight": "sm"}
        # One row per series: drop the Time column of the instant query.
        p["transformations"] = [{"id": "organize", "options": {
            "excludeByName": {"Time": True, "Value": True, "__name__": True}}}]
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
        "graphTooltip": 1, "schemaVersion": 39, "version": 1,
        "refresh": "30s", "time": {"from": "now-6h", "to": "now"},
        "timepicker": {}, "fiscalYearStartMonth": 0, "liveNow": False,
        "links": [{"title": "gwlog dashboards", "type": "dashboards",
                   "tags": ["gwlog"], "asDropdown": True, "icon": "external link",
                   "includeVars": True, "keepTime": True, "targetBlank": False,
                   "tooltip": "", "url": ""}],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "templating": {"list": variables},
        "panels": panels,
    }


R = 'region=~"$region"'
RP = 'region=~"$region", product=~"$product"'
GLOBAL_DS = "/^Global/"
REGIONAL_DS = "/^Regional/"

fleet = dashboard(
    "gwlog-fleet", "Gateway fleet overview", ["gwlog-global"],
    [ds_var(GLOBAL_DS), REGION, PRODUCTS],
    [
        panel("Fleet QPS", [("sum(namespace_product_gw_http_req{%s})" % RP, "QPS")],
              "reqps", "stat", 5, 4, thresholds=steps(base="blue"),
              description="Requests per second of the selected regions and products (no good or bad level: blue)."),
        panel("Fleet success rate",
              [("sum(namespace_product_gw_http_2xx{%s}) / sum(namespace_product_gw_http_req{%s})" % (RP, RP), "success")],
              "percentunit", "stat", 5, 4, decimals=3,
              thresholds=steps((0.9, "orange"), (0.95, "green"), base="red"),
              description="The seed's success_rate: the 2xx share of requests (4xx, 429 throttling included, are not successes, so it sits below availability). No SLO on it: orange below 95 %, red below 90 %."),
        panel("Fleet availability",
              [("1 - sum(namespace_product_gw_http_5xx{%s}) / sum(namespace_product_gw_http_req{%s})" % (RP, RP), "availability")],
              "percentunit", "stat", 5, 4, decimals=3,
              thresholds=steps((0.99, "orange"), (0.999, "green"), base="red"),
              description="1 - the 5xx share (namespace_product_gw_availability), what HighErrorRate's 99 % SLO measures: red below 99 %, orange below 99.9 %. HighErrorRate pages (fast tier, regional) at 5 % 5xx over a scrape interval and 2 % over 1m, and warns (slow tier, global) above 1 % over 30m and 5m, per product and region."),
        panel("Fleet 5xx per second", [("sum(namespace_product_gw_http_5xx{%s})" % RP, "5xx/s")],
              "reqps", "stat", 5, 4, thresholds=steps((1, "orange"), (10, "red"))),
        panel("Regions reporting", [("count(sum by (region) (namespace_product_gw_http_req{%s}))" % RP, "regions")],
              "short", "stat", 4, 4, thresholds=steps((1, "green"), base="red"),
              description="Red when no region reports."),
        panel("QPS by product", [("sum by (product) (namespace_product_gw_http_req{%s})" % RP, "{{product}}")],
              "reqps", description="The seed's `sum(namespace_product_gw_http_req) by (product)`."),
        panel("QPS by region", [("sum by (region) (namespace_product_gw_http_req{%s})" % RP, "{{region}}")],
              "reqps"),
        panel("Success rate by product",
              [("sum by (product) (namespace_product_gw_http_2xx{%s}) / sum by (product) (namespace_product_gw_http_req{%s})" % (RP, RP), "{{product}}")],
              "percentunit", description="The 2xx share of each product's requests (the seed's success_rate; 4xx and 429 throttling are not successes). Availability (1 - 5xx share) is the 5xx ratio panel's complement."),
        panel("5xx error ratio by product and region",
              [("region_product:gw_product_requests_5xx_per_requests:ratio_rate1m{%s}" % RP, "{{product}} {{region}}")],
              "percentunit", description="1 - availability. HighErrorRate, fast tier (critical, regional): >= 5 % over the last scrape interval and >= 2 % over 1m; slow tier (warning, global): > 1 % over 30m and over 5m for 2m."),
        panel("5xx per second by product and region",
              [("sum by (product, region) (namespace_product_gw_http_5xx{%s})" % RP, "{{product}} {{region}}")],
              "reqps"),
        panel("Mean latency by product",
              [("sum by (product) (%s (region_product:gw_product_request_duration_seconds_sum:rate1m{%s})) / sum by (product) (%s (region_product:gw_product_request_duration_seconds_count:rate1m{%s}))" % (DEDUP, RP, DEDUP, RP), "{{product}}")],
              "s", description="Weighted by requests (the seed's avg(namespace_product_gw_rt_mean) averages regions unweighted)."),
        panel("p99 latency by product",
              [("histogram_quantile(0.99, sum by (product, le) (%s (region_product:gw_product_request_duration_seconds_bucket:rate1m{%s})))" % (DEDUP, RP), "{{product}}")],
              "s", description="Bucket rates of all selected regions summed by le before the quantile."),
        panel("p99 latency by product and region",
              [("histogram_quantile(0.99, sum by (product, region, le) (%s (region_product:gw_product_request_duration_seconds_bucket:rate1m{%s})))" % (DEDUP, RP), "{{product}} {{region}}")],
              "s"),
        panel("p99 latency by product and region: native and classic buckets",
              [("max by (product, region) (namespace_product_gw_rt_native_p99{%s}) / 1000" % RP, "{{product}} {{region}} native"),
               ("max by (product, region) (namespace_product_gw_rt_p99{%s}) / 1000" % RP, "{{product}} {{region}} classic")],
              "s", description="The native p99 comes from the exporter's native buckets (8 per doubling, README \"Native histograms\"), present when the regional Prometheus runs with --enable-feature=native-histograms; the classic p99 interpolates inside the classic buckets (0.1-0.25 s, ...). max over the region's series (region_id, biz_region_id)."),
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
RU = 'region=~"$region", uid=~"$uid"'
tenants = dashboard(
    "gwlog-tenants", "Gateway tenant throttling", ["gwlog-global"],
    [ds_var(GLOBAL_DS), REGION, UID],
    [
        panel("Throttled share of key tenants (GC6, GC7)",
              [('topk(20, namespace_tenant_gw_api_req_limiting_rate{%s, gc_level=~"GC6|GC7"})' % RU, "{{uid}} {{gc_level}} {{region}}")],
              "percentunit", w=24,
              description="KeyTenantThrottled fires above 1% for 5m."),
        panel("Throttled share of the other tenant levels",
              [('namespace_tenant_level_gw_api_req_limiting_rate{%s}' % RU, "{{gc_level}} {{region}}")],
              "percentunit", w=24,
              description="Tenants that are not key customers (GC1-GC4, unknown) are folded per gc_level by the default configuration (gw_tenant_level_*): their throttled share per level and region."),
        panel("Throttled requests per second by tenant level",
              [('sum by (gc_level) (%s (region_tenant:gw_tenant_throttled_requests:rate1m{%s})) or sum by (gc_level) (%s (region_tenant_level:gw_tenant_level_throttled_requests:rate1m{%s}))' % (TENANT, RU, TENANT, RU), "{{gc_level}}")],
              "reqps", description="Key customers (GC5-GC7, per uid) and the folded levels (per gc_level) together."),
        panel("Requests per second by tenant level",
              [('sum by (gc_level) (%s (region_tenant:gw_tenant_requests:rate1m{%s})) or sum by (gc_level) (%s (region_tenant_level:gw_tenant_level_requests:rate1m{%s}))' % (TENANT, RU, TENANT, RU), "{{gc_level}}")],
              "reqps", description="Key customers (GC5-GC7, per uid) and the folded levels (per gc_level) together."),
        panel("Top 10 throttled key tenants",
              [('topk(10, sum by (uid, gc_level) (%s (region_tenant:gw_tenant_throttled_requests:rate1m{%s})))' % (TENANT, RU), "{{uid}} {{gc_level}}")],
              "reqps", description="Per-uid series exist for key customers (GC5-GC7) only in the default configuration."),
        panel("Top 10 key tenants by QPS",
              [('topk(10, sum by (uid, gc_level) (%s (region_tenant:gw_tenant_requests:rate1m{%s})))' % (TENANT, RU), "{{uid}} {{gc_level}}")],
              "reqps", description="Per-uid series exist for key customers (GC5-GC7) only in the default configuration."),
    ],
    "Throttling (error code Throttling* or HTTP 429) per tenant and tenant level; $uid narrows to tenants (a regex) (global Prometheus).")

I = 'job="$job", instance=~"$instance"'
RI = "$__rate_interval"


def or_zero(expr):
    """expr, or 0 per exporter where it has no series: for counters that
    are created on the first event (a rotation, a lost byte, a Redis
    error), so that "none" reads 0 rather than "No data"."""
    return "(%s) or sum by (instance) (0 * gwlog_build_info{%s})" % (expr, I)


health = dashboard(
    "gwlog-exporter-health", "gwlog_exporter health", ["gwlog-regional"],
    [ds_var(""), JOB, INSTANCE],
    [
        panel("Exporters up", [('min(up{%s})' % I, "up")], "short", "stat", 4, 4,
              thresholds=steps((1, "green"), base="red"),
              description="Red when any selected exporter is down (GwlogExporterDown, GwlogTargetAbsent)."),
        panel("Lines read per second",
              [('sum(rate(gwlog_lines_total{%s}[%s]))' % (I, RI), "lines/s")], "short", "stat", 4, 4,
              thresholds=steps(base="blue")),
        panel("Max event lag",
              [('max(gwlog_event_lag_seconds{%s})' % I, "lag")], "s", "stat", 4, 4,
              thresholds=steps((30, "orange"), (120, "red")),
              description="Now minus the log time of the last line read; GwlogEventLagHigh fires above 120 s."),
        panel("Reload failed",
              [('count(gwlog_config_last_reload_successful{%s} == 0) or vector(0)' % I, "exporters")],
              "short", "stat", 4, 4, thresholds=steps((1, "red")),
              description="Exporters whose last configuration reload was refused (GwlogReloadFailed)."),
        panel("Build", [('gwlog_build_info{%s}' % I, "{{instance}} {{version}} {{revision}}")],
              "short", "table", 8, 4),
        panel("Lines per second by result",
              [('sum by (instance, result) (rate(gwlog_lines_total{%s}[%s]))' % (I, RI), "{{instance}} {{result}}")],
              "short"),
        panel("Event lag",
              [('gwlog_event_lag_seconds{%s}' % I, "{{instance}}")], "s",
              description="How far behind the log each exporter is."),
        panel("Invalid line ratio",
              [('sum by (instance) (rate(gwlog_lines_total{%s, result="invalid"}[%s])) / sum by (instance) (rate(gwlog_lines_total{%s}[%s]))' % (I, RI, I, RI), "{{instance}}")],
              "percentunit", description="GwlogParseErrorsHigh fires above 1% for 10m."),
        panel("Invalid lines per second by reason",
              [('sum by (reason) (rate(gwlog_parse_errors_total{%s}[%s]))' % (I, RI), "{{reason}}")],
              "short"),
        panel("Rotations and truncations",
              [(or_zero('sum by (instance) (increase(gwlog_rotations_total{%s}[%s]))' % (I, RI)), "{{instance}}")],
              "short", description="Files rotated (rename) or truncated (copytruncate) per interval; the status page shows them per file and kind."),
        panel("Bytes lost to truncation",
              [(or_zero('sum by (instance) (increase(gwlog_truncated_bytes_lost_total{%s}[%s]))' % (I, RI)), "{{instance}}")],
              "bytes", description="Bytes a truncation removed before they were read and no rotated copy held (GwlogBytesLost)."),
        panel("Checkpoint age",
              [('time() - gwlog_last_checkpoint_timestamp_seconds{%s}' % I, "{{instance}}")], "s",
              description="Seconds since the last checkpoint (every 5 s by default); absent without --state.dir."),
        panel("Configuration reload status",
              [('gwlog_config_last_reload_successful{%s}' % I, "{{instance}}")], "short",
              description="1: the last reload (or the start) loaded the configuration; 0: refused, the previous one runs."),
        panel("Dimension lookups per second by table and result",
              [('sum by (table, result) (rate(gwlog_dim_lookups_total{%s}[%s]))' % (I, RI), "{{table}} {{result}}")],
              "short"),
        panel("Redis: lines waiting and errors per second",
              [(or_zero('sum by (instance) (gwlog_dim_pending_lines{%s})' % I), "{{instance}} waiting"),
               (or_zero('sum by (instance) (rate(gwlog_dim_redis_errors_total{%s}[%s]))' % (I, RI)), "{{instance}} errors/s")],
              "short", description="Redis dimension backend (0 with CSV tables); gwlog_dim_redis_up is 1 while Redis answers."),
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
    "The exporters: lines, lag, rotations, lost bytes, checkpoints, reloads, Redis, series, resources (any Prometheus that scrapes them).")

# One Prometheus, no recording rules: the raw gw_* families of the
# selected exporters.
NODE_PRODUCT = query_var("product", 'label_values(gw_product_requests_total{%s}, product)' % I,
                         "Product", all_=True, multi=True)
N = 'job="$job", instance=~"$instance", product=~"$product"'
node = dashboard(
    "gwlog-node", "Gateway node (raw exporter metrics)", ["gwlog-regional"],
    [ds_var(""), JOB, INSTANCE, NODE_PRODUCT],
    [
        panel("QPS", [('sum(rate(gw_product_requests_total{%s}[%s]))' % (N, RI), "QPS")],
              "reqps", "stat", 6, 4, thresholds=steps(base="blue")),
        panel("5xx ratio",
              [('sum(rate(gw_product_requests_total{%s, code_class="5xx"}[%s])) / sum(rate(gw_product_requests_total{%s}[%s]))' % (N, RI, N, RI), "5xx")],
              "percentunit", "stat", 6, 4, decimals=3,
              thresholds=steps((0.001, "orange"), (0.01, "red"))),
        panel("p99 latency",
              [('histogram_quantile(0.99, sum by (le) (rate(gw_product_request_duration_seconds_bucket{%s}[%s])))' % (N, RI), "p99")],
              "s", "stat", 6, 4, thresholds=steps((1, "orange"), (2.5, "red"))),
        panel("Slow call ratio (> 1 s)",
              [('sum(rate(gw_api_slow_requests_total{%s}[%s])) / sum(rate(gw_api_requests_total{%s}[%s]))' % (N, RI, N, RI), "slow")],
              "percentunit", "stat", 6, 4, decimals=3,
              thresholds=steps((0.01, "orange"), (0.1, "red"))),
        panel("QPS by product and code class",
              [('sum by (product, code_class) (rate(gw_product_requests_total{%s}[%s]))' % (N, RI), "{{product}} {{code_class}}")],
              "reqps"),
        panel("5xx ratio by product",
              [('sum by (product) (rate(gw_product_requests_total{%s, code_class="5xx"}[%s])) / sum by (product) (rate(gw_product_requests_total{%s}[%s]))' % (N, RI, N, RI), "{{product}}")],
              "percentunit"),
        panel("Mean and p99 latency by product",
              [('sum by (product) (rate(gw_product_request_duration_seconds_sum{%s}[%s])) / sum by (product) (rate(gw_product_request_duration_seconds_count{%s}[%s]))' % (N, RI, N, RI), "{{product}} mean"),
               ('histogram_quantile(0.99, sum by (product, le) (rate(gw_product_request_duration_seconds_bucket{%s}[%s])))' % (N, RI), "{{product}} p99",
                {"exemplar": True}),
               ('histogram_quantile(0.99, sum by (product) (rate(gw_product_request_duration_seconds{%s}[%s])))' % (N, RI), "{{product}} p99 native")],
              "s", description="p99 native: from the native buckets, with a Prometheus scraping them (--enable-feature=native-histograms; it then keeps no classic buckets, and the classic p99 is empty)."),
        panel("Top 10 APIs by QPS",
              [('topk(10, sum by (product, api) (rate(gw_api_requests_total{%s}[%s])))' % (N, RI), "{{product}} {{api}}")],
              "reqps"),
        panel("Top 10 APIs by slow calls per second",
              [('topk(10, sum by (product, api) (rate(gw_api_slow_requests_total{%s}[%s])))' % (N, RI), "{{product}} {{api}}")],
              "reqps", description="0 for an API without slow calls (zero_unmatched)."),
        panel("Top 10 error codes",
              [('topk(10, sum by (product, http_code, error_code) (rate(gw_error_code_requests_total{%s}[%s])))' % (N, RI), "{{product}} {{http_code}} {{error_code}}")],
              "reqps"),
        panel("Top 10 key tenants by QPS",
              [('topk(10, sum by (uid, gc_level) (rate(gw_tenant_requests_total{job="$job", instance=~"$instance"}[%s])))' % RI, "{{uid}} {{gc_level}}")],
              "reqps", description="Per-uid series exist for key customers (GC5-GC7) only in the default configuration; the other tenants are counted per level."),
        panel("Throttled requests per second by tenant level",
              [('sum by (gc_level) (rate(gw_tenant_throttled_requests_total{job="$job", instance=~"$instance"}[{ri}])) or sum by (gc_level) (rate(gw_tenant_level_throttled_requests_total{job="$job", instance=~"$instance"}[{ri}])) or sum by (gc_level) (0 * rate(gw_tenant_requests_total{job="$job", instance=~"$instance"}[{ri}])) or sum by (gc_level) (0 * rate(gw_tenant_level_requests_total{job="$job", instance=~"$instance"}[{ri}]))'.replace("{ri}", RI), "{{gc_level}}")],
              "reqps", description="Key customers (per uid) and the folded levels together; 0 for a level without throttling."),
    ],
    "One or more gateway nodes from their exporters' own gw_* series: needs one Prometheus scraping them, no recording rules, no federation.")

for name, d in [("fleet-overview", fleet), ("api-drilldown", api),
                ("error-codes", errors), ("tenant-throttling", tenants),
                ("exporter-health", health), ("node", node)]:
    with open(os.path.join(OUT, "gwlog-%s.json" % name), "w") as f:
        json.dump(d, f, indent=2)
        f.write("\n")
