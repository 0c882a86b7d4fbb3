#!/usr/bin/env python3
"""Generate the OpenSearch Dashboards saved objects in dashboards/*.ndjson.

Usage:
    python3 dashboards/generate.py            # rewrites dashboards/*.ndjson
    python3 dashboards/generate.py --check    # exit 1 if a committed file differs (CI)
    python3 dashboards/generate.py --bin target/debug/siem-pipeline

The log types are the pipeline's registry, as `siem-pipeline log-types --json` lists them (see
mappings/log_types.py; --bin PATH or $SIEM_PIPELINE_BIN names the binary, otherwise it is run with
cargo). Every log type needs a dashboard builder in DASHBOARDS below: the generator stops when the
binary lists one it has none for.

The dashboards are declared below, panel by panel; the index patterns' field lists are
computed from mappings/ (component templates + the index template of every log type a
pattern matches), so that Dashboards never needs to refresh them and a visualization's
field is known the moment the file is imported.

Output targets OpenSearch Dashboards 2.x: the legacy `visualization` saved object
(`visState` JSON string, `searchSourceJSON` with `indexRefName`, `references[]`) and
migration versions that every 2.x release already knows. Queries are Lucene (query_string),
never KQL, so that the tests can run exactly the query Dashboards sends.

Standard library only. Output is deterministic (no timestamps).
"""

import argparse
import fnmatch
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent          # <repo>/dashboards
REPO = HERE.parent
MAPPINGS = REPO / "mappings"
PREFIX = "siem"

sys.dont_write_bytecode = True  # no __pycache__ in mappings/
sys.path.insert(0, str(MAPPINGS))
import log_types  # noqa: E402  (mappings/log_types.py)

# The registered log types, in registry order: set by main() from the binary.
LOG_TYPES = []

# Migration versions of the saved-object types as of Kibana 7.10.2, which OpenSearch
# Dashboards forked from; every 2.x release knows them, so no migration runs on import.
MIGRATION = {"index-pattern": "7.6.0", "visualization": "7.10.0", "search": "7.9.3", "dashboard": "7.9.3"}

INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"

# ---------------------------------------------------------------------------
# Index patterns, from the templates
# ---------------------------------------------------------------------------

STRING_TYPES = {"keyword", "wildcard", "text", "match_only_text"}
NUMBER_TYPES = {"long", "integer", "short", "byte", "float", "double", "half_float", "scaled_float",
                "unsigned_long"}
OSD_TYPE = {**{t: "string" for t in STRING_TYPES}, **{t: "number" for t in NUMBER_TYPES},
            "date": "date", "date_nanos": "date", "ip": "ip", "boolean": "boolean",
            "geo_point": "geo_point", "flat_object": "object"}


def render(path):
    return json.loads(path.read_text().replace("{prefix}", PREFIX))


# The index of every finding's current state (mappings/views/), and its pattern's id and title.
CURRENT = "siem-index-pattern-findings-current"
CURRENT_TITLE = f"{PREFIX}_findings_current"


def template_fields(log_type):
    """{name: spec} of every mapped field of `<prefix>-<log_type>-*` indices, or for `None` of
    the current-findings index."""
    fields = {}
    index_template = render(MAPPINGS / "views" / "findings_current.json" if log_type is None
                            else MAPPINGS / "index_templates" / f"{log_type}.json")
    parts = [render(MAPPINGS / "component_templates" / f"{c[len(PREFIX) + 1:]}.json")
             for c in index_template["composed_of"]] + [index_template]
    for part in parts:
        walk(part["template"].get("mappings", {}).get("properties", {}), "", None, fields)
    return fields


def walk(properties, parent, nested, out):
    for name, node in properties.items():
        path = f"{parent}{name}"
        if "properties" in node:
            walk(node["properties"], f"{path}.", path if node.get("type") == "nested" else nested, out)
            continue
        es_type = node.get("type", "object")
        if es_type == "object":      # `labels`: dynamic, nothing mapped yet
            continue
        out[path] = field_spec(path, es_type, node, nested, None)
        for sub, sub_node in node.get("fields", {}).items():
            out[f"{path}.{sub}"] = field_spec(f"{path}.{sub}", sub_node["type"], sub_node, nested, path)


def field_spec(name, es_type, node, nested, multi_parent):
    if es_type not in OSD_TYPE:
        sys.exit(f"{name}: no Dashboards type for {es_type}")
    searchable = node.get("index", True) is not False
    if es_type in ("text", "match_only_text", "flat_object"):
        aggregatable = False        # flat_object sub-fields do not aggregate (verified on 2.19)
    elif es_type == "wildcard":
        aggregatable = node.get("doc_values", False) is True
    else:
        aggregatable = node.get("doc_values", True) is not False
    spec = {"count": 0, "name": name, "type": OSD_TYPE[es_type], "esTypes": [es_type], "scripted": False,
            "searchable": searchable, "aggregatable": aggregatable, "readFromDocValues": aggregatable}
    if multi_parent:
        spec["subType"] = {"multi": {"parent": multi_parent}}
    elif nested:
        spec["subType"] = {"nested": {"path": nested}}
    return spec


META_FIELDS = [
    {"count": 0, "name": "_id", "type": "string", "esTypes": ["_id"], "scripted": False, "searchable": True,
     "aggregatable": True, "readFromDocValues": False},
    {"count": 0, "name": "_index", "type": "string", "esTypes": ["_index"], "scripted": False,
     "searchable": True, "aggregatable": True, "readFromDocValues": False},
    {"count": 0, "name": "_score", "type": "number", "scripted": False, "searchable": False,
     "aggregatable": False, "readFromDocValues": False},
    {"count": 0, "name": "_source", "type": "_source", "esTypes": ["_source"], "scripted": False,
     "searchable": False, "aggregatable": False, "readFromDocValues": False},
]


def matching_log_types(title):
    if title == CURRENT_TITLE:
        return [None]
    return [t for t in LOG_TYPES if fnmatch.fnmatchcase(f"{PREFIX}-{t}-2026.11", title)]


def index_pattern(pattern_id, title):
    fields = {}
    types = matching_log_types(title)
    assert types, title
    for t in types:
        for name, spec in template_fields(t).items():
            if name in fields and fields[name] != spec:
                sys.exit(f"{title}: {name} is mapped differently across log types")
            fields[name] = spec
    formats = {name: pivot_link(pivot) for name, pivot in sorted(PIVOTS.items()) if name in fields}
    return saved("index-pattern", pattern_id, {
        "title": title,
        "timeFieldName": "@timestamp",
        "fields": json.dumps(META_FIELDS + [fields[n] for n in sorted(fields)], separators=(",", ":")),
        "fieldFormatMap": json.dumps(formats, separators=(",", ":"), sort_keys=True),
    }, [])


# Ids are not the titles: those change with the index prefix, ids must not. The patterns of the
# log types themselves are added by main().
PATTERNS = {"siem-index-pattern-all": f"{PREFIX}-*", "siem-index-pattern-linux-auth-any": f"{PREFIX}-linux_auth*",
            CURRENT: CURRENT_TITLE}

# ---------------------------------------------------------------------------
# Saved objects
# ---------------------------------------------------------------------------


def saved(kind, object_id, attributes, references):
    return {"attributes": attributes, "id": object_id, "migrationVersion": {kind: MIGRATION[kind]},
            "references": references, "type": kind}


def search_source(query, with_index=True, **extra):
    source = {"query": {"query": query, "language": "lucene"}, "filter": [], **extra}
    if with_index:
        source["indexRefName"] = INDEX_REF
    return {"searchSourceJSON": json.dumps(source, separators=(",", ":"))}


def index_reference(pattern):
    assert pattern in PATTERNS, pattern
    return [{"id": pattern, "name": INDEX_REF, "type": "index-pattern"}]


# Aggregations, in the shape the legacy visualize editor saves them.

def count(agg_id="1"):
    return {"id": agg_id, "enabled": True, "type": "count", "schema": "metric", "params": {}}


def metric(kind, field, agg_id="1", label=None):
    params = {"field": field}
    if label:
        params["customLabel"] = label
    return {"id": agg_id, "enabled": True, "type": kind, "schema": "metric", "params": params}


def terms(agg_id, field, schema, size=10, label=None, order_by="1", missing=False):
    """A terms bucket; `missing` adds a bucket of the documents without the field (string
    fields only), so that a table's row does not vanish when a column is empty."""
    params = {"field": field, "orderBy": order_by, "order": "desc", "size": size, "otherBucket": False,
              "otherBucketLabel": "Other", "missingBucket": missing, "missingBucketLabel": "Missing"}
    if label:
        params["customLabel"] = label
    return {"id": agg_id, "enabled": True, "type": "terms", "schema": schema, "params": params}


def date_histogram(agg_id="2", schema="segment", field="@timestamp", interval="auto"):
    return {"id": agg_id, "enabled": True, "type": "date_histogram", "schema": schema,
            "params": {"field": field, "useNormalizedOpenSearchInterval": True, "scaleMetricValues": False,
                       "interval": interval, "drop_partials": False, "min_doc_count": 1, "extended_bounds": {}}}


def filters(agg_id, schema, queries):
    return {"id": agg_id, "enabled": True, "type": "filters", "schema": schema,
            "params": {"filters": [{"input": {"query": q, "language": "lucene"}, "label": label}
                                   for label, q in queries]}}


def geohash(agg_id, field):
    return {"id": agg_id, "enabled": True, "type": "geohash_grid", "schema": "segment",
            "params": {"field": field, "autoPrecision": True, "precision": 2, "useGeocentroid": True,
                       "isFilteredByCollar": True, "mapZoom": 2, "mapCenter": [0, 0]}}


# Visualization params per type.

def xy_params(chart, metric_label="Count", mode="stacked", horizontal=False):
    category_axis = {"id": "CategoryAxis-1", "type": "category", "position": "left" if horizontal else "bottom",
                     "show": True, "style": {}, "scale": {"type": "linear"},
                     "labels": {"show": True, "filter": True, "truncate": 100}, "title": {}}
    value_axis = {"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value",
                  "position": "bottom" if horizontal else "left", "show": True, "style": {},
                  "scale": {"type": "linear", "mode": "normal"},
                  "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                  "title": {"text": metric_label}}
    series_type = "histogram" if chart in ("histogram", "horizontal_bar") else chart
    return {"type": chart, "grid": {"categoryLines": False}, "categoryAxes": [category_axis],
            "valueAxes": [value_axis],
            "seriesParams": [{"show": True, "type": series_type, "mode": mode,
                              "data": {"label": metric_label, "id": "1"}, "valueAxis": "ValueAxis-1",
                              "drawLinesBetweenPoints": True, "lineWidth": 2, "showCircles": True,
                              "interpolate": "linear"}],
            "addTooltip": True, "addLegend": True, "legendPosition": "right", "times": [],
            "addTimeMarker": False, "labels": {"show": False}, "thresholdLine": {"show": False, "value": 10,
                                                                                 "width": 1, "style": "full",
                                                                                 "color": "#E7664C"}}


def pie_params():
    return {"type": "pie", "addTooltip": True, "addLegend": True, "legendPosition": "right", "isDonut": True,
            "labels": {"show": False, "values": True, "last_level": True, "truncate": 100}}


def table_params(per_page=10):
    return {"perPage": per_page, "showPartialRows": False, "showMetricsAtAllLevels": False,
            "sort": {"columnIndex": None, "direction": None}, "showTotal": False, "totalFunc": "sum",
            "percentageCol": ""}


def metric_params():
    return {"addTooltip": True, "addLegend": False, "type": "metric",
            "metric": {"percentageMode": False, "useRanges": False, "colorSchema": "Green to Red",
                       "metricColorMode": "None", "colorsRange": [{"from": 0, "to": 10000}],
                       "labels": {"show": True}, "invertColors": False,
                       "style": {"bgFill": "#000", "bgColor": False, "labelColor": False, "subText": "",
                                 "fontSize": 48}}}


def tagcloud_params():
    return {"scale": "linear", "orientation": "single", "minFontSize": 18, "maxFontSize": 60,
            "showLabel": True}


def tile_map_params():
    return {"colorSchema": "Yellow to Red", "mapType": "Scaled Circle Markers", "isDesaturated": True,
            "addTooltip": True, "heatClusterSize": 1.5, "legendPosition": "bottomright", "mapZoom": 2,
            "mapCenter": [0, 0], "wms": {"enabled": False, "options": {"format": "image/png",
                                                                       "transparent": True}}}


class Board:
    """One dashboard and the objects its file holds."""

    def __init__(self, file, object_id, title, description, patterns):
        self.file, self.id, self.title, self.description = file, object_id, title, description
        self.patterns = patterns
        self.objects = []
        self.panels = []          # (object, width, height)

    def vis(self, slug, title, vis_type, pattern, aggs, params, query="", width=24, height=15):
        state = {"title": title, "type": vis_type, "aggs": aggs, "params": params}
        self.check_new(slug)
        obj = saved("visualization", f"{self.id}-{slug}", {
            "title": title, "description": "", "version": 1, "uiStateJSON": "{}",
            "visState": json.dumps(state, separators=(",", ":")),
            "kibanaSavedObjectMeta": search_source(query),
        }, index_reference(pattern))
        self.objects.append(obj)
        self.panels.append((obj, width, height))

    def check_new(self, slug):
        if any(o["id"] == f"{self.id}-{slug}" for o in self.objects):
            sys.exit(f"{self.file}: {slug} is used twice")

    def search(self, slug, title, pattern, query, columns, width=48, height=15):
        self.check_new(slug)
        obj = saved("search", f"{self.id}-{slug}", {
            "title": title, "description": "", "hits": 0, "version": 1, "columns": columns,
            "sort": [["@timestamp", "desc"]],
            "kibanaSavedObjectMeta": search_source(query, highlightAll=True, version=True),
        }, index_reference(pattern))
        self.objects.append(obj)
        self.panels.append((obj, width, height))

    # Shorthands for the common panels.

    def over_time(self, slug, title, pattern, split_field=None, query="", chart="histogram", size=5,
                  value=None, width=48, field="@timestamp", interval="auto"):
        aggs = [value or count(), date_histogram(field=field, interval=interval)]
        if split_field:
            aggs.append(terms("3", split_field, "group", size=size))
        label = value["params"].get("customLabel", "Value") if value else "Count"
        self.vis(slug, title, chart, pattern, aggs, xy_params(chart, label), query, width=width)

    def pie(self, slug, title, pattern, field, query="", size=10):
        self.vis(slug, title, "pie", pattern, [count(), terms("2", field, "segment", size=size)], pie_params(),
                 query)

    def table(self, slug, title, pattern, fields, query="", size=10, value=None, width=24):
        """Rows of `fields`: (field, label) pairs, or (field, label, True) for a column that may be
        empty (its rows stay, with "Missing")."""
        aggs = [value or count()]
        aggs += [terms(str(i + 2), f[0], "bucket", size=size, label=f[1], missing=len(f) > 2 and f[2])
                 for i, f in enumerate(fields)]
        self.vis(slug, title, "table", pattern, aggs, table_params(), query, width=width)

    def number(self, slug, title, pattern, query="", value=None, width=12):
        agg = value or count()
        agg = {**agg, "params": {**agg["params"], "customLabel": title}}
        self.vis(f"metric-{slug}", title, "metric", pattern, [agg], metric_params(), query, width=width, height=8)

    def counts_of(self, slug, title, pattern, queries, chart="pie", query=""):
        if chart == "pie":
            self.vis(slug, title, "pie", pattern, [count(), filters("2", "segment", queries)], pie_params(),
                     query)
        else:
            self.vis(slug, title, "table", pattern, [count(), filters("2", "bucket", queries)],
                     table_params(), query)

    def tags(self, slug, title, pattern, field, query="", size=30):
        self.vis(slug, title, "tagcloud", pattern, [count(), terms("2", field, "segment", size=size)],
                 tagcloud_params(), query)

    def map(self, slug, title, pattern, field, query=""):
        self.vis(slug, title, "tile_map", pattern, [count(), geohash("2", field)], tile_map_params(), query,
                 width=48, height=20)

    def objects_in_file(self):
        panels, references = [], []
        x = y = row_height = 0
        for i, (obj, width, height) in enumerate(self.panels):
            if x + width > 48:
                x, y, row_height = 0, y + row_height, 0
            panels.append({"version": "7.10.2", "gridData": {"x": x, "y": y, "w": width, "h": height, "i": str(i + 1)},
                           "panelIndex": str(i + 1), "embeddableConfig": {}, "panelRefName": f"panel_{i}"})
            references.append({"id": obj["id"], "name": f"panel_{i}", "type": obj["type"]})
            x += width
            row_height = max(row_height, height)
        dashboard = saved("dashboard", self.id, {
            "title": self.title, "description": self.description, "hits": 0, "version": 1,
            "timeRestore": True, "timeFrom": "now-30d", "timeTo": "now",
            "refreshInterval": {"pause": True, "value": 0},
            "optionsJSON": json.dumps({"hidePanelTitles": False, "useMargins": True}, separators=(",", ":")),
            "panelsJSON": json.dumps(panels, separators=(",", ":")),
            "kibanaSavedObjectMeta": search_source("", with_index=False),
        }, references)
        patterns = [index_pattern(p, PATTERNS[p]) for p in self.patterns]
        return patterns + self.objects + [dashboard]


# ---------------------------------------------------------------------------
# The dashboards
# ---------------------------------------------------------------------------

FINDINGS = "_exists_:siem.severity.label"
OPEN = "siem.finding.status:open"
MACIE_CATEGORIES = ("PERSONAL_INFORMATION", "FINANCIAL_INFORMATION", "CREDENTIALS", "CUSTOM_IDENTIFIER")
# A flat_object sub-field answers term queries, not exists (`field:*`) queries: name the values.
SENSITIVE = ("aws.macie.classificationDetails.result.sensitiveData.category:("
             + " OR ".join(MACIE_CATEGORIES) + ")")
PRIVATE = ('NOT destination.ip:"10.0.0.0/8" AND NOT destination.ip:"172.16.0.0/12" '
           'AND NOT destination.ip:"192.168.0.0/16" AND NOT destination.ip:"127.0.0.0/8" '
           'AND NOT destination.ip:"fc00::/7" AND NOT destination.ip:"fe80::/10"')
# The fields an analyst pivots on (see README, "Investigating"): in every index pattern, their
# values link to the Investigate dashboard, filtered on the pivot.
INVESTIGATE = "siem-investigate"
PIVOTS = {"related.ip": "related.ip", "source.ip": "related.ip", "destination.ip": "related.ip",
          "related.user": "related.user", "user.name": "related.user",
          "related.hosts": "related.hosts", "cloud.instance.id": "related.hosts", "host.name": "related.hosts",
          "siem.access_key_id": "siem.access_key_id"}


def pivot_link(pivot):
    """A Dashboards URL field format: the value links to the Investigate dashboard, its query set to
    the pivot, over the last 90 days."""
    query = f"{pivot}:\"{{{{value}}}}\""
    return {"id": "url", "params": {
        "urlTemplate": f"/app/dashboards#/view/{INVESTIGATE}?_g=(time:(from:now-90d,to:now))"
                       f"&_a=(query:(language:lucene,query:'{query}'))",
        "labelTemplate": "{{value}}"}}


def open_findings_of(product_query):
    """The query of a source's open findings, for the current-findings index (one a finding)."""
    return f"{product_query} AND {OPEN}"


def overview():
    b = Board("siem-overview.ndjson", "siem-overview", "SIEM: Security overview",
              "Open findings of every AWS source (GuardDuty, Security Hub, Inspector, Macie), one per "
              "finding (its current state), by normalized severity (siem.severity.label), source, type, "
              "account and region; what every source sent over time; threat-intelligence matches; "
              "source addresses on a map.",
              ["siem-index-pattern-all", CURRENT])
    p, c = "siem-index-pattern-all", CURRENT
    b.number("critical", "Open critical findings", c, f"{OPEN} AND siem.severity.label:critical")
    b.number("high", "Open high findings", c, f"{OPEN} AND siem.severity.label:high")
    b.number("accounts", "Accounts with open findings", c, OPEN, metric("cardinality", "cloud.account.id"))
    b.number("sources", "Sources", p, value=metric("cardinality", "siem.log_type"))
    b.over_time("findings-over-time", "Finding updates over time by severity", p, "siem.severity.label",
                FINDINGS)
    b.pie("by-severity", "Open findings by severity", c, "siem.severity.label", OPEN)
    b.pie("by-source", "Open findings by source", c, "observer.product", OPEN)
    b.table("top-finding-types", "Top open finding types", c, [("rule.name", "Finding type")], OPEN, size=20,
            width=48)
    b.table("by-account", "Open findings by account", c, [("cloud.account.id", "Account")], OPEN)
    b.table("by-region", "Open findings by region", c, [("cloud.region", "Region")], OPEN)
    b.over_time("events-over-time", "Events over time by source", p, "siem.log_type", size=10)
    b.number("threat-matches", "Threat-intelligence matches", p, "_exists_:threat.indicator.provider")
    b.table("threat-matches-by-list", "Threat-intelligence matches by list and source", p,
            [("threat.indicator.provider", "List or provider"), ("siem.log_type", "Source")],
            "_exists_:threat.indicator.provider", width=36)
    b.map("source-map", "Source addresses", p, "source.geo.location")
    b.table("top-sources", "Top source addresses", p,
            [("source.ip", "Source address"), ("source.geo.country_name", "Country", True)], width=48)
    b.search("latest-critical", "Open critical findings", c, f"{OPEN} AND siem.severity.label:critical",
             ["observer.product", "rule.name", "cloud.account.id", "cloud.region", "related.ip",
              "related.hosts", "siem.access_key_id", "message"])
    return b


def findings():
    c = CURRENT
    b = Board("siem-findings.ndjson", "siem-findings", "SIEM: Findings triage",
              "Every finding once, in its current state (index siem_findings_current): what is open by "
              "severity, source, account and type, how old the open findings are, what was suppressed "
              "and resolved over time. Click an address, user, instance or access key to investigate it.",
              [c])
    b.number("open", "Open findings", c, OPEN)
    b.number("open-critical-high", "Open critical and high", c, f"{OPEN} AND siem.severity.label:(critical OR high)")
    b.number("suppressed", "Suppressed findings", c, "siem.finding.status:suppressed")
    b.number("resolved", "Resolved findings", c, "siem.finding.status:resolved")
    b.pie("by-status", "Findings by status", c, "siem.finding.status")
    b.pie("open-by-severity", "Open findings by severity", c, "siem.severity.label", OPEN)
    b.table("open-by-source-severity", "Open findings by source and severity", c,
            [("observer.product", "Source"), ("siem.severity.label", "Severity", True)], OPEN)
    b.table("open-by-account", "Open findings by account and region", c,
            [("cloud.account.id", "Account"), ("cloud.region", "Region", True)], OPEN)
    b.table("open-by-type", "Open findings by type", c, [("rule.name", "Finding type")], OPEN, size=25,
            width=48)
    b.over_time("open-by-age", "Age of open findings (weeks since they were created)", c,
                "siem.severity.label", OPEN, field="event.created", interval="w", width=24)
    b.over_time("closed-over-time", "Suppressed and resolved over time", c, "siem.finding.status",
                "siem.finding.status:(suppressed OR resolved)", interval="d", width=24)
    b.map("open-map", "Open findings: source addresses", c, "source.geo.location", OPEN)
    b.search("open-critical-high-list", "Open critical and high findings", c,
             f"{OPEN} AND siem.severity.label:(critical OR high)",
             ["siem.severity.label", "observer.product", "rule.name", "cloud.account.id", "related.ip",
              "related.hosts", "siem.access_key_id", "related.user"])
    return b


def investigate():
    p = "siem-index-pattern-all"
    b = Board("siem-investigate.ndjson", INVESTIGATE, "SIEM: Investigate",
              "Every source's events for one address, user, host or instance, or access key, on one "
              "timeline: type the pivot in the query bar (related.ip:\"203.0.113.7\", "
              "related.user:alice, related.hosts:i-0123456789abcdef0, siem.access_key_id:AKIA...), or "
              "click one of these values on any dashboard.", [p])
    b.over_time("timeline", "Timeline by source", p, "siem.log_type", size=10)
    b.table("by-source", "Events by source", p, [("siem.log_type", "Source")], width=16)
    b.table("addresses", "Addresses", p, [("related.ip", "Address")], size=20, width=16)
    b.table("users", "Users", p, [("related.user", "User")], size=20, width=16)
    b.table("hosts", "Hosts and instances", p, [("related.hosts", "Host or instance")], size=20)
    b.table("access-keys", "Access keys", p, [("siem.access_key_id", "Access key")], size=20)
    b.search("findings", "Findings (every state)", p, FINDINGS,
             ["siem.severity.label", "observer.product", "rule.name", "siem.finding.status", "related.ip",
              "related.hosts", "siem.access_key_id", "related.user"])
    b.search("cloudtrail", "CloudTrail: management and data events", p, "siem.log_type:cloudtrail",
             ["event.action", "event.provider", "event.outcome", "user.name", "source.ip",
              "siem.access_key_id", "related.hosts"])
    b.search("linux-auth", "Linux authentication", p, "siem.log_type:(linux_auth OR linux_auth_file)",
             ["host.name", "cloud.instance.id", "event.action", "event.outcome", "user.name", "source.ip"])
    b.search("vpcflow", "VPC flows", p, "siem.log_type:vpcflow",
             ["source.ip", "source.port", "destination.ip", "destination.port", "network.transport",
              "aws.vpcflow.action", "network.bytes", "cloud.instance.id"])
    b.search("waf", "AWS WAF requests", p, "siem.log_type:waf",
             ["event.action", "rule.name", "source.ip", "http.request.method", "url.domain", "url.path",
              "user_agent.original"])
    b.search("dns", "DNS queries", p, "siem.log_type:route53_resolver",
             ["source.ip", "cloud.instance.id", "dns.question.name", "dns.question.type", "dns.response_code",
              "dns.resolved_ip", "event.outcome"])
    return b


def guardduty():
    p = "siem-index-pattern-guardduty"
    c = CURRENT
    mine = open_findings_of("observer.product:GuardDuty")
    b = Board("siem-guardduty.ndjson", "siem-guardduty", "SIEM: GuardDuty",
              "Amazon GuardDuty findings, one per finding in its current state (open ones), also those "
              "delivered through Security Hub: severity, finding types, MITRE ATT&CK tactics, affected "
              "instances and identities, remote addresses; every state over time.", [p, c])
    b.number("findings", "Open findings", c, mine)
    b.number("critical", "Open critical and high", c, f"{mine} AND siem.severity.label:(critical OR high)")
    b.number("instances", "Affected instances", c, mine, value=metric("cardinality", "cloud.instance.id"))
    b.number("remote-ips", "Remote addresses", c, mine, value=metric("cardinality", "source.ip"))
    b.over_time("over-time", "Finding updates over time by severity", p, "siem.severity.label")
    b.pie("by-severity", "Open findings by severity", c, "siem.severity.label", mine)
    b.pie("by-tactic", "MITRE ATT&CK tactics", c, "threat.tactic.name", mine)
    b.table("top-types", "Top finding types", c, [("rule.name", "Finding type")], mine, size=20, width=48)
    b.tags("categories", "Threat purposes", c, "rule.category", mine)
    b.table("by-account-region", "Findings by account and region", c,
            [("cloud.account.id", "Account"), ("cloud.region", "Region", True)], mine)
    b.table("instances", "Affected EC2 instances", c, [("cloud.instance.id", "Instance")], mine)
    b.table("identities", "Involved IAM identities and access keys", c,
            [("user.name", "User or role"), ("siem.access_key_id", "Access key", True)], mine)
    b.map("source-map", "Remote source addresses", c, "source.geo.location", mine)
    b.table("remote-sources", "Top remote addresses", c,
            [("source.ip", "Address"), ("source.geo.country_name", "Country", True),
             ("source.as.organization.name", "AS organization", True)], mine, width=48)
    b.search("latest", "Open high and critical GuardDuty findings", c,
             f"{mine} AND siem.severity.label:(critical OR high)",
             ["siem.severity.label", "rule.name", "cloud.account.id", "related.ip", "related.hosts",
              "siem.access_key_id", "message"])
    return b


def securityhub():
    p = "siem-index-pattern-securityhub"
    c = CURRENT
    mine = "siem.log_type:securityhub"
    b = Board("siem-securityhub.ndjson", "siem-securityhub", "SIEM: Security Hub",
              "AWS Security Hub findings, one per finding in its current state: control evaluations "
              "passed and failed per standard (event.outcome x rule.ruleset), workflow status, failing "
              "controls and resources; every state over time.", [p, c])
    b.number("failed", "Failed controls", c, f"{mine} AND event.outcome:failure AND {OPEN}")
    b.number("passed", "Passed controls", c, f"{mine} AND event.outcome:success")
    b.number("critical", "Open critical and high findings", c,
             f"{mine} AND {OPEN} AND siem.severity.label:(critical OR high)")
    b.vis("controls-by-standard", "Controls passed and failed by standard", "histogram", c,
          [count(), terms("2", "rule.ruleset", "segment", size=10), terms("3", "event.outcome", "group", size=3)],
          xy_params("histogram"), f"{mine} AND _exists_:event.outcome", width=48)
    # Workflow.Status exists only inside the aws.securityhub flat_object, whose sub-fields can be
    # queried but not aggregated: one query per status of the documented vocabulary.
    b.counts_of("workflow-status", "Workflow status", c,
                [(s.title(), f"aws.securityhub.Workflow.Status:{s}")
                 for s in ("NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED")], query=mine)
    b.pie("by-severity", "Open findings by severity", c, "siem.severity.label", f"{mine} AND {OPEN}")
    b.table("failed-controls", "Top failed controls", c, [("rule.id", "Control"), ("rule.name", "Title")],
            f"{mine} AND event.outcome:failure AND {OPEN}", width=48)
    b.table("failing-instances", "Top failing resources: EC2 instances", c, [("cloud.instance.id", "Instance")],
            f"{mine} AND event.outcome:failure AND {OPEN}")
    b.table("failing-accounts", "Failed controls by account and region", c,
            [("cloud.account.id", "Account"), ("cloud.region", "Region", True)],
            f"{mine} AND event.outcome:failure AND {OPEN}")
    b.pie("by-product", "Open findings by standard or product", c, "rule.ruleset", f"{mine} AND {OPEN}")
    b.over_time("over-time", "Finding updates over time by severity", p, "siem.severity.label", width=24)
    b.search("failed-findings", "Open failed control findings", c,
             f"{mine} AND event.outcome:failure AND {OPEN}",
             ["rule.id", "rule.name", "cloud.account.id", "cloud.region", "cloud.instance.id", "related.hosts",
              "related.user"])
    return b


def inspector():
    p = "siem-index-pattern-inspector"
    c = CURRENT
    mine = open_findings_of("observer.product:Inspector")
    b = Board("siem-inspector.ndjson", "siem-inspector", "SIEM: Inspector",
              "Amazon Inspector vulnerabilities, one per finding in its current state (open ones): "
              "severity, CVEs, vulnerable packages, affected EC2 instances, container images and Lambda "
              "functions, fix availability; every state over time.", [p, c])
    b.number("findings", "Open vulnerability findings", c, mine)
    b.number("cves", "Distinct CVEs", c, mine, value=metric("cardinality", "vulnerability.id"))
    b.number("critical", "Open critical and high", c, f"{mine} AND siem.severity.label:(critical OR high)")
    b.number("max-cvss", "Highest CVSS base score", c, mine, value=metric("max", "vulnerability.score.base"))
    b.pie("by-severity", "Vulnerabilities by severity", c, "siem.severity.label", mine)
    # fixAvailable is only inside the aws.inspector flat_object: queried, not aggregated.
    b.counts_of("fix-available", "Fix available", c,
                [("Yes", "aws.inspector.fixAvailable:YES"), ("Partial", "aws.inspector.fixAvailable:PARTIAL"),
                 ("No", "aws.inspector.fixAvailable:NO")], query=mine)
    b.table("top-cves", "Top CVEs", c, [("vulnerability.id", "CVE"), ("vulnerability.severity", "Severity", True)],
            mine, size=20)
    b.table("top-packages", "Top vulnerable packages", c, [("package.name", "Package"),
                                                           ("package.version", "Version", True)], mine, size=20)
    b.table("instances", "Affected EC2 instances", c, [("cloud.instance.id", "Instance")], mine)
    b.table("images", "Affected container images", c, [("container.image.name", "Image"),
                                                       ("container.image.tag", "Tag", True)], mine)
    b.table("functions", "Affected Lambda functions", c, [("faas.name", "Function")], mine)
    b.pie("by-type", "Finding types", c, "rule.category", mine)
    b.over_time("over-time", "Finding updates over time by severity", p, "siem.severity.label")
    return b


def macie():
    p = "siem-index-pattern-macie"
    c = CURRENT
    mine = open_findings_of("observer.product:Macie")
    b = Board("siem-macie.ndjson", "siem-macie", "SIEM: Macie",
              "Amazon Macie: sensitive data by S3 location and category (from findings and discovery "
              "results), open policy findings, buckets and identities involved.", [p, c])
    b.number("sensitive", "Objects with sensitive data", p, SENSITIVE)
    b.number("policy", "Open policy findings", c, f"{mine} AND rule.category:Policy")
    b.number("bytes", "Bytes classified", p, value=metric("sum", "file.size"))
    # The bucket name and the sensitive data categories are only inside the aws.macie
    # flat_object; file.directory (s3://bucket/prefix) is the aggregatable location.
    b.table("by-location", "Sensitive data by S3 location", p, [("file.directory", "S3 location")],
            SENSITIVE, width=48)
    b.counts_of("by-category", "Sensitive data by category", p,
                [(c_.replace("_", " ").title(), f"aws.macie.classificationDetails.result.sensitiveData.category:{c_}")
                 for c_ in MACIE_CATEGORIES])
    b.pie("by-type", "Open findings by type", c, "rule.name", mine)
    b.table("by-file-type", "Sensitive data by file type", p, [("file.extension", "Extension")],
            SENSITIVE)
    b.table("policy-actions", "Open policy findings: API calls and identities", c,
            [("event.action", "API call", True), ("user.name", "Identity", True)], f"{mine} AND rule.category:Policy")
    b.pie("by-severity", "Open findings by severity", c, "siem.severity.label", mine)
    b.over_time("over-time", "Finding updates over time by type", p, "rule.category", width=24)
    return b


# CIS AWS Foundations Benchmark monitoring controls (CloudWatch.1-14), as CloudTrail queries.
CIS_MONITORS = [
    ("Root account used", "aws.cloudtrail.userIdentity.type:Root"),
    ("Unauthorized API calls", "error.code:(*UnauthorizedOperation OR AccessDenied*)"),
    ("Console sign-in without MFA",
     "event.action:ConsoleLogin AND event.outcome:success AND aws.cloudtrail.additionalEventData.MFAUsed:No"),
    ("Console sign-in failures", "event.action:ConsoleLogin AND event.outcome:failure"),
    ("IAM policy changes", "event.provider:iam.amazonaws.com AND event.action:(DeleteGroupPolicy OR "
     "DeleteRolePolicy OR DeleteUserPolicy OR PutGroupPolicy OR PutRolePolicy OR PutUserPolicy OR CreatePolicy "
     "OR DeletePolicy OR CreatePolicyVersion OR DeletePolicyVersion OR AttachRolePolicy OR DetachRolePolicy OR "
     "AttachUserPolicy OR DetachUserPolicy OR AttachGroupPolicy OR DetachGroupPolicy)"),
    ("CloudTrail configuration changes",
     "event.action:(CreateTrail OR UpdateTrail OR DeleteTrail OR StartLogging OR StopLogging)"),
    ("KMS keys disabled or scheduled for deletion",
     "event.provider:kms.amazonaws.com AND event.action:(DisableKey OR ScheduleKeyDeletion)"),
    ("S3 bucket policy changes", "event.provider:s3.amazonaws.com AND event.action:(PutBucketAcl OR "
     "PutBucketPolicy OR PutBucketCors OR PutBucketLifecycle OR PutBucketReplication OR DeleteBucketPolicy OR "
     "DeleteBucketCors OR DeleteBucketLifecycle OR DeleteBucketReplication)"),
    ("AWS Config changes", "event.provider:config.amazonaws.com AND event.action:(StopConfigurationRecorder "
     "OR DeleteDeliveryChannel OR PutDeliveryChannel OR PutConfigurationRecorder)"),
    ("Security group changes", "event.action:(AuthorizeSecurityGroupIngress OR AuthorizeSecurityGroupEgress "
     "OR RevokeSecurityGroupIngress OR RevokeSecurityGroupEgress OR CreateSecurityGroup OR DeleteSecurityGroup)"),
    ("Network ACL changes", "event.action:(CreateNetworkAcl OR CreateNetworkAclEntry OR DeleteNetworkAcl OR "
     "DeleteNetworkAclEntry OR ReplaceNetworkAclEntry OR ReplaceNetworkAclAssociation)"),
    ("Network gateway changes", "event.action:(CreateCustomerGateway OR DeleteCustomerGateway OR "
     "AttachInternetGateway OR CreateInternetGateway OR DeleteInternetGateway OR DetachInternetGateway)"),
    ("Route table changes", "event.action:(CreateRoute OR CreateRouteTable OR ReplaceRoute OR "
     "ReplaceRouteTableAssociation OR DeleteRouteTable OR DeleteRoute OR DisassociateRouteTable)"),
    ("VPC changes", "event.action:(CreateVpc OR DeleteVpc OR ModifyVpcAttribute OR AcceptVpcPeeringConnection "
     "OR CreateVpcPeeringConnection OR DeleteVpcPeeringConnection OR RejectVpcPeeringConnection OR "
     "AttachClassicLinkVpc OR DetachClassicLinkVpc OR DisableVpcClassicLink OR EnableVpcClassicLink)"),
]


def cloudtrail():
    p = "siem-index-pattern-cloudtrail"
    console = "event.action:ConsoleLogin"
    b = Board("siem-cloudtrail.ndjson", "siem-cloudtrail", "SIEM: CloudTrail",
              "AWS CloudTrail: API calls over time, errors and access denied, console logins with and "
              "without MFA, root activity, the CIS AWS Foundations monitors, top users, access keys and "
              "source addresses, on a map.", [p])
    b.number("calls", "API calls", p)
    b.number("failed", "Failed calls", p, "event.outcome:failure")
    b.number("access-denied", "Access denied", p,
             "error.code:(AccessDenied OR *UnauthorizedOperation OR *UnauthorizedAccess OR *Forbidden*)")
    b.number("root", "Root activity", p, "aws.cloudtrail.userIdentity.type:Root")
    b.over_time("over-time", "API calls over time by service", p, "event.provider", size=10)
    b.counts_of("cis-monitors", "CIS AWS Foundations monitors", p, CIS_MONITORS, chart="table")
    b.table("top-actions", "Top API calls", p, [("event.action", "API call"), ("event.provider", "Service")],
            size=20)
    b.table("errors", "Errors", p, [("error.code", "Error code"), ("event.action", "API call")],
            "_exists_:error.code")
    # MFAUsed exists only inside the aws.cloudtrail flat_object: queried, not aggregated.
    b.counts_of("console-mfa", "Console logins with and without MFA", p,
                [("With MFA", "aws.cloudtrail.additionalEventData.MFAUsed:Yes"),
                 ("Without MFA", "aws.cloudtrail.additionalEventData.MFAUsed:No")], query=console)
    b.table("console-logins", "Console logins by user and outcome", p,
            [("user.name", "User"), ("event.outcome", "Outcome")], console)
    b.table("root-activity", "Root activity", p, [("event.action", "API call"), ("source.address", "Source", True)],
            "aws.cloudtrail.userIdentity.type:Root")
    b.table("top-users", "Top users", p, [("user.name", "User")], size=20)
    b.table("access-keys", "Top access keys", p, [("siem.access_key_id", "Access key"), ("user.name", "User", True)],
            size=20)
    b.table("top-sources", "Top source addresses", p, [("source.address", "Source")], size=20)
    b.map("source-map", "Source addresses", p, "source.geo.location")
    b.table("failed-by-user", "Failed calls by user", p, [("user.name", "User"), ("event.action", "API call")],
            "event.outcome:failure")
    b.pie("by-region", "Calls by region", p, "cloud.region")
    b.tags("user-agents", "User agents", p, "user_agent.original", size=20)
    b.table("accounts", "Calls by account", p, [("cloud.account.id", "Account")])
    return b


def vpcflow():
    p = "siem-index-pattern-vpcflow"
    b = Board("siem-vpcflow.ndjson", "siem-vpcflow", "SIEM: VPC Flow Logs",
              "Amazon VPC Flow Logs: rejected flows, top talkers, top ports, bytes over time, external "
              "destinations.", [p])
    bytes_sum = metric("sum", "network.bytes", label="Bytes")
    b.number("flows", "Flows", p)
    b.number("rejected", "Rejected flows", p, "aws.vpcflow.action:REJECT")
    b.number("bytes", "Bytes", p, value=bytes_sum)
    b.number("external", "Flows to external destinations", p, f"_exists_:destination.ip AND {PRIVATE}")
    b.over_time("bytes-over-time", "Bytes over time by action", p, "aws.vpcflow.action", chart="area",
                value=bytes_sum)
    b.over_time("rejected-over-time", "Rejected flows over time", p, None, "aws.vpcflow.action:REJECT",
                chart="line", width=24)
    b.table("rejected-sources", "Rejected flows: top sources", p,
            [("source.ip", "Source"), ("destination.port", "Port")], "aws.vpcflow.action:REJECT")
    b.table("top-talkers", "Top talkers (bytes)", p, [("source.ip", "Source"), ("destination.ip", "Destination")],
            value=bytes_sum, width=48)
    b.table("top-ports", "Top destination ports", p, [("destination.port", "Port"),
                                                      ("network.transport", "Transport")])
    b.pie("by-transport", "Flows by transport", p, "network.transport")
    b.table("external", "External destinations", p, [("destination.ip", "Destination")], PRIVATE,
            value=bytes_sum)
    b.table("interfaces", "Top interfaces (bytes)", p, [("aws.vpcflow.interface_id", "Interface")],
            value=bytes_sum)
    b.map("source-map", "Source addresses", p, "source.geo.location")
    return b


def linux_auth():
    p = "siem-index-pattern-linux-auth-any"
    # One document per attempt (sshd's Failed/Accepted lines, su's result): the PAM and sshd lines
    # around an attempt are event.type:info, so that each failed attempt counts once.
    failed = "event.category:authentication AND event.type:start AND event.outcome:failure"
    b = Board("siem-linux-auth.ndjson", "siem-linux-auth", "SIEM: Linux authentication",
              "Linux authentication logs (sshd, sudo, su, PAM), shipped through CloudWatch Logs "
              "(linux_auth) or uploaded as files (linux_auth_file): failed and successful logins, sudo "
              "commands, new users.", [p, "siem-index-pattern-linux_auth", "siem-index-pattern-linux_auth_file"])
    b.number("failed", "Failed logins", p, failed)
    b.number("succeeded", "Successful logins", p, "event.action:ssh_login AND event.outcome:success")
    b.number("sudo", "sudo commands", p, "event.action:sudo")
    b.number("new-users", "New users", p, "event.action:user_created")
    b.over_time("failed-over-time", "Failed logins over time by host", p, "host.name", failed)
    b.table("failed-by-source", "Failed logins by source address", p,
            [("source.ip", "Source address"), ("user.name", "User")], failed, size=20)
    b.table("failed-by-user", "Failed logins by user", p, [("user.name", "User")], failed)
    b.table("succeeded", "Successful logins", p,
            [("user.name", "User"), ("source.ip", "Source address"), ("host.name", "Host")],
            "event.action:ssh_login AND event.outcome:success", width=48)
    b.table("sudo", "sudo commands", p,
            [("user.name", "User"), ("process.command_line", "Command"), ("event.outcome", "Outcome")],
            "event.action:sudo", width=48)
    b.table("new-users", "New users", p, [("user.target.name", "User"), ("host.name", "Host")],
            "event.action:user_created")
    b.table("account-changes", "Account and group changes", p, [("event.action", "Change")],
            "event.category:iam")
    b.pie("actions", "Events by action", p, "event.action")
    b.tags("hosts", "Hosts", p, "host.name")
    return b


def elb():
    p = "siem-index-pattern-elb"
    b = Board("siem-elb.ndjson", "siem-elb", "SIEM: Load balancers",
              "Elastic Load Balancing access logs (Application, Network and Classic load balancers): "
              "requests and errors over time, top clients, paths and user agents, TLS versions, "
              "load balancer error reasons; client addresses on a map.", [p])
    web = "event.category:web"
    b.number("requests", "Requests", p, web)
    b.number("server-errors", "5xx responses", p, "http.response.status_code:[500 TO 599]")
    b.number("client-errors", "4xx responses", p, "http.response.status_code:[400 TO 499]")
    b.number("clients", "Distinct clients", p, value=metric("cardinality", "source.ip"))
    b.over_time("over-time", "Requests over time by status", p, "http.response.status_code", web, size=10)
    b.table("top-clients", "Top clients", p, [("source.ip", "Client"), ("source.geo.country_name", "Country", True)],
            size=20)
    b.table("top-paths", "Top paths", p, [("url.domain", "Host", True), ("url.path", "Path")], web, size=20)
    b.table("status-codes", "Responses by status", p, [("http.response.status_code", "Status")], web)
    # error.message is text: the reason as written is aws.elb.error_reason, a keyword.
    b.table("error-reasons", "Load balancer errors", p, [("aws.elb.error_reason", "Reason"),
                                                         ("observer.name", "Load balancer")],
            "_exists_:aws.elb.error_reason")
    b.table("balancers", "Traffic by load balancer", p, [("observer.name", "Load balancer")])
    b.table("tls", "TLS versions and ciphers", p, [("tls.version", "Version"), ("tls.cipher", "Cipher", True)],
            "_exists_:tls.version")
    b.tags("user-agents", "User agents", p, "user_agent.original", size=20)
    b.map("client-map", "Clients", p, "source.geo.location")
    b.search("failed", "Failed requests", p, "http.response.status_code:[400 TO 599]",
             ["http.response.status_code", "http.request.method", "url.original", "source.ip",
              "user_agent.original", "error.message", "observer.name"])
    return b


def s3access():
    p = "siem-index-pattern-s3access"
    b = Board("siem-s3access.ndjson", "siem-s3access", "SIEM: S3 server access",
              "Amazon S3 server access logs: requests by operation and status, denied requests, top "
              "requesters, buckets and objects, error codes; client addresses on a map.", [p])
    denied = "http.response.status_code:403"
    b.number("requests", "Requests", p)
    b.number("denied", "Denied requests", p, denied)
    b.number("errors", "Server errors", p, "http.response.status_code:[500 TO 599]")
    b.number("clients", "Distinct clients", p, value=metric("cardinality", "source.ip"))
    b.over_time("over-time", "Requests over time by operation", p, "event.action", size=10)
    b.table("operations", "Operations", p, [("event.action", "Operation"),
                                            ("http.response.status_code", "Status")], size=20)
    b.table("requesters", "Top requesters", p, [("user.name", "Requester", True), ("source.ip", "Address")],
            size=20)
    b.table("buckets", "Top buckets", p, [("aws.s3access.bucket", "Bucket")])
    b.table("denied", "Denied requests", p, [("source.ip", "Address"), ("aws.s3access.bucket", "Bucket"),
                                             ("aws.s3access.key", "Key", True)], denied, width=48)
    b.table("error-codes", "Error codes", p, [("error.code", "Error")], "_exists_:error.code")
    b.map("client-map", "Clients", p, "source.geo.location")
    b.search("failed", "Failed requests", p, "http.response.status_code:[400 TO 599]",
             ["http.response.status_code", "error.code", "event.action", "aws.s3access.bucket", "aws.s3access.key",
              "source.ip", "user.name", "user_agent.original"])
    return b


def network_firewall():
    p = "siem-index-pattern-network_firewall"
    alerts = "event.kind:alert"
    b = Board("siem-network-firewall.ndjson", "siem-network-firewall", "SIEM: Network Firewall",
              "AWS Network Firewall: alerts blocked and allowed by signature, the hosts behind them, flows "
              "and bytes over time, TLS inspection failures.", [p])
    b.number("alerts", "Alerts", p, alerts)
    b.number("blocked", "Blocked", p, f"{alerts} AND event.type:denied")
    # The event type of Suricata is only in the aws.network_firewall flat_object: queried, not aggregated.
    flows = "aws.network_firewall.event.event_type:(netflow OR flow)"
    b.number("flows", "Flows", p, flows)
    b.number("tls-failures", "TLS inspection failures", p, "_exists_:tls.client.server_name AND event.outcome:failure")
    b.over_time("alerts-over-time", "Alerts over time by action", p, "event.action", alerts)
    b.table("signatures", "Top signatures", p, [("rule.name", "Signature"), ("event.action", "Action")], alerts,
            size=20, width=48)
    b.table("internal-hosts", "Alerts by source", p, [("source.ip", "Source"), ("rule.name", "Signature")], alerts)
    b.table("destinations", "Alerts by destination", p,
            [("destination.ip", "Destination"), ("destination.port", "Port")], alerts)
    b.table("domains", "Domains in alerts", p, [("dns.question.name", "Domain")], "_exists_:dns.question.name")
    b.table("sni", "TLS server names", p, [("tls.client.server_name", "Server name"),
                                           ("event.outcome", "Outcome", True)], "_exists_:tls.client.server_name")
    b.over_time("bytes-over-time", "Flow bytes over time by protocol", p, "network.transport",
                flows, chart="area", value=metric("sum", "source.bytes", label="Bytes"))
    b.pie("by-firewall", "Events by firewall", p, "observer.name")
    b.search("blocked-list", "Blocked alerts", p, f"{alerts} AND event.type:denied",
             ["rule.name", "source.ip", "destination.ip", "destination.port", "network.transport",
              "dns.question.name", "observer.name"])
    return b


def cloudfront():
    p = "siem-index-pattern-cloudfront"
    b = Board("siem-cloudfront.ndjson", "siem-cloudfront", "SIEM: CloudFront",
              "Amazon CloudFront standard logs: requests and errors over time, top viewers, hosts and paths, "
              "edge result types and locations, user agents; viewers on a map.", [p])
    b.number("requests", "Requests", p)
    b.number("client-errors", "4xx responses", p, "http.response.status_code:[400 TO 499]")
    b.number("server-errors", "5xx responses", p, "http.response.status_code:[500 TO 599]")
    b.number("viewers", "Distinct viewers", p, value=metric("cardinality", "source.ip"))
    b.over_time("over-time", "Requests over time by status", p, "http.response.status_code", size=10)
    b.table("viewers", "Top viewers", p, [("source.ip", "Viewer"), ("source.geo.country_name", "Country", True)],
            size=20)
    b.table("paths", "Top hosts and paths", p, [("url.domain", "Host"), ("url.path", "Path")], size=20)
    b.table("results", "Edge results", p, [("aws.cloudfront.x_edge_result_type", "Result"),
                                           ("aws.cloudfront.x_edge_detailed_result_type", "Detail", True)])
    b.table("edges", "Edge locations", p, [("observer.geo.name", "Edge location")])
    b.tags("user-agents", "User agents", p, "user_agent.original", size=20)
    b.map("viewer-map", "Viewers", p, "source.geo.location")
    b.search("failed", "Failed requests", p, "http.response.status_code:[400 TO 599]",
             ["http.response.status_code", "http.request.method", "url.domain", "url.path", "source.ip",
              "user_agent.original", "aws.cloudfront.x_edge_detailed_result_type"])
    return b


def waf():
    p = "siem-index-pattern-waf"
    blocked = "event.action:block"
    b = Board("siem-waf.ndjson", "siem-waf", "SIEM: AWS WAF",
              "AWS WAF web ACL logs: requests over time by action, what was blocked or challenged and by "
              "which rule, the clients and countries behind blocked requests, hosts and user agents.", [p])
    b.number("requests", "Requests", p)
    b.number("blocked", "Blocked requests", p, blocked)
    b.number("challenged", "CAPTCHA and challenge", p, "event.action:(captcha OR challenge)")
    b.number("clients", "Client addresses", p, value=metric("cardinality", "source.ip"))
    b.over_time("over-time", "Requests over time by action", p, "event.action")
    b.pie("by-action", "Requests by action", p, "event.action")
    b.table("rules", "Terminating rules", p, [("rule.name", "Rule"), ("rule.ruleset", "Rule type")],
            "_exists_:rule.name")
    b.table("blocked-clients", "Blocked requests: top clients", p,
            [("source.ip", "Client"), ("source.geo.country_iso_code", "Country", True)], blocked, size=20)
    b.table("countries", "Requests by country and action", p,
            [("source.geo.country_iso_code", "Country"), ("event.action", "Action")], size=20)
    b.table("hosts", "Requests by host and method", p, [("url.domain", "Host"), ("http.request.method", "Method")])
    b.table("accounts", "Requests by account and region", p,
            [("cloud.account.id", "Account"), ("cloud.region", "Region")])
    b.tags("user-agents", "User agents", p, "user_agent.original", size=20)
    b.search("denied", "Blocked and challenged requests", p, "event.type:denied",
             ["event.action", "rule.name", "source.ip", "source.geo.country_iso_code", "http.request.method",
              "url.domain", "url.path", "user_agent.original"])
    return b


def route53_resolver():
    p = "siem-index-pattern-route53_resolver"
    firewall = "_exists_:rule.id"
    b = Board("siem-route53-resolver.ndjson", "siem-route53-resolver", "SIEM: Route 53 Resolver DNS",
              "Route 53 Resolver query logs: queries over time by response code, DNS Firewall blocks and "
              "alerts, top domains, failed lookups by source, the instances that query.", [p])
    b.number("queries", "DNS queries", p)
    b.number("blocked", "Blocked by DNS Firewall", p, "event.type:denied")
    b.number("nxdomain", "NXDOMAIN answers", p, "dns.response_code:NXDOMAIN")
    b.number("instances", "Querying instances", p, value=metric("cardinality", "cloud.instance.id"))
    b.over_time("over-time", "Queries over time by response code", p, "dns.response_code")
    b.table("firewall", "DNS Firewall matches", p,
            [("dns.question.name", "Domain"), ("rule.name", "Rule group"), ("event.outcome", "Outcome")],
            firewall, width=48)
    b.table("domains", "Top queried domains", p, [("dns.question.name", "Domain")], size=20)
    b.table("nxdomain-sources", "NXDOMAIN by source", p,
            [("source.ip", "Source"), ("cloud.instance.id", "Instance", True)], "dns.response_code:NXDOMAIN")
    b.pie("by-type", "Queries by record type", p, "dns.question.type")
    b.table("resolved", "Top resolved addresses", p, [("dns.resolved_ip", "Address")], size=20)
    b.table("instances", "Queries by instance", p, [("cloud.instance.id", "Instance")], size=20)
    b.search("firewall-list", "DNS Firewall matches", p, firewall,
             ["event.outcome", "dns.question.name", "dns.question.type", "rule.name", "source.ip",
              "cloud.instance.id", "cloud.account.id"])
    return b


# The dashboard of each log type; two log types may share one.
DASHBOARDS = {"guardduty": guardduty, "securityhub": securityhub, "inspector": inspector, "macie": macie,
              "cloudtrail": cloudtrail, "vpcflow": vpcflow, "linux_auth": linux_auth, "linux_auth_file": linux_auth,
              "elb": elb, "s3access": s3access, "network_firewall": network_firewall,
              "cloudfront": cloudfront,
              "waf": waf, "route53_resolver": route53_resolver}


def boards(names):
    """The overview, then each log type's dashboard once, in registry order."""
    missing = [n for n in names if n not in DASHBOARDS]
    unknown = [n for n in DASHBOARDS if n not in names]
    if missing or unknown:
        sys.exit("dashboards/generate.py: " + "; ".join(
            [f"log type {n} has no dashboard: add its builder to DASHBOARDS" for n in missing]
            + [f"DASHBOARDS names {n}, which the pipeline does not register" for n in unknown]))
    makers = [overview, findings, investigate]
    for n in names:
        if DASHBOARDS[n] not in makers:
            makers.append(DASHBOARDS[n])
    return makers


def outputs(names):
    makers = boards(names)
    LOG_TYPES[:] = names
    PATTERNS.update({f"siem-index-pattern-{t}": f"{PREFIX}-{t}-*" for t in names})
    files = {"siem-index-patterns.ndjson": [index_pattern(p, t) for p, t in PATTERNS.items()]}
    for make in makers:
        board = make()
        files[board.file] = board.objects_in_file()
    return {name: "".join(json.dumps(o, sort_keys=True, separators=(",", ":")) + "\n" for o in objects)
            for name, objects in files.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed file is stale")
    parser.add_argument("--bin", type=Path, default=None,
                        help="the siem-pipeline binary that lists the log types (default: $SIEM_PIPELINE_BIN, "
                             "else cargo run)")
    args = parser.parse_args()
    try:
        names = log_types.names(args.bin)
    except log_types.LogTypesError as e:
        sys.exit(f"dashboards/generate.py: {e}")
    stale = False
    for name, text in outputs(names).items():
        path = HERE / name
        if args.check:
            current = path.read_text() if path.exists() else ""
            if current != text:
                stale = True
                print(f"{name} differs from the generated output", file=sys.stderr)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(REPO)}")
    if stale:
        sys.exit("dashboards are stale: run python3 dashboards/generate.py")


if __name__ == "__main__":
    main()
