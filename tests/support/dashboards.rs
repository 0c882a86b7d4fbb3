//! The bundled dashboards as OpenSearch sees them: every saved object of
//! `dashboards/`, and each visualization or saved search as the request
//! Dashboards sends for it (the saved search source's Lucene query as
//! `query_string`, ANDed with the dashboard's query bar; the `visState` aggs
//! as nested aggregations, buckets in their order, metrics at every level),
//! and its answer as the rows a user sees.

use serde_json::{Map, Value, json};
use siem_pipeline::dashboards::SAVED_OBJECTS;

/// `(file, objects)` of every file the binary embeds.
pub fn saved_objects() -> Vec<(&'static str, Vec<Value>)> {
    SAVED_OBJECTS
        .iter()
        .map(|(file, ndjson)| {
            let objects = ndjson
                .lines()
                .filter(|l| !l.trim().is_empty())
                .enumerate()
                .map(|(i, l)| {
                    serde_json::from_str(l).unwrap_or_else(|e| panic!("{file} line {}: {e}", i + 1))
                })
                .collect();
            (*file, objects)
        })
        .collect()
}

/// The title of the index pattern an object's search source references.
pub fn pattern_title<'a>(objects: &'a [Value], object: &Value) -> Option<&'a str> {
    let reference = object["references"]
        .as_array()?
        .iter()
        .find(|r| r["name"] == "kibanaSavedObjectMeta.searchSourceJSON.index")?;
    objects
        .iter()
        .find(|o| o["type"] == "index-pattern" && o["id"] == reference["id"])?
        .pointer("/attributes/title")?
        .as_str()
}

/// What a panel shows: its rows, as a user reads them (bucket keys, then
/// metric values; for a saved search, the columns of each hit), and the
/// number of documents it counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub total: u64,
    pub rows: Vec<Vec<Value>>,
}

impl Panel {
    /// `{"total": …, "rows": […]}`, as the expected file holds it.
    pub fn to_json(&self) -> Value {
        json!({"total": self.total, "rows": self.rows})
    }
}

/// Runs one visualization or saved search of `objects` against the indices
/// of `prefix` (the pattern titles' `siem` replaced by it), with `bar` in the
/// dashboard's query bar. Maps are asked for the documents they place (a
/// node without the geo module has no `geohash_grid`; the tests of the
/// bundled files run the real aggregation too).
pub async fn run_panel(
    http: &reqwest::Client,
    url: &str,
    prefix: &str,
    objects: &[Value],
    object: &Value,
    bar: &str,
) -> Result<Panel, String> {
    let id = object["id"].as_str().unwrap_or_default();
    let title = pattern_title(objects, object).ok_or_else(|| format!("{id}: no index pattern"))?;
    let pattern = format!(
        "{prefix}{}",
        title.strip_prefix("siem").ok_or("not a siem pattern")?
    );
    if object["type"] == "visualization" {
        let mut vis = Vis::parse(object)?;
        vis.query = and(&vis.query, bar);
        let body = vis.search_body(false)?;
        let response = post_search(http, url, &pattern, &body).await?;
        Ok(Panel {
            total: response["hits"]["total"]["value"].as_u64().unwrap_or(0),
            rows: vis.rows(&response),
        })
    } else {
        let query = and(&search_source_query(object)?, bar);
        let columns: Vec<String> = object["attributes"]["columns"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect();
        let body = json!({"size": 100, "track_total_hits": true, "query": lucene(&query),
                          "sort": [{"@timestamp": "desc"}, {"_id": "asc"}]});
        let response = post_search(http, url, &pattern, &body).await?;
        let rows = response["hits"]["hits"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|hit| columns.iter().map(|c| column(&hit["_source"], c)).collect())
            .collect();
        Ok(Panel {
            total: response["hits"]["total"]["value"].as_u64().unwrap_or(0),
            rows,
        })
    }
}

/// Both queries, as Dashboards combines a saved query with the query bar.
fn and(saved: &str, bar: &str) -> String {
    match (saved.trim().is_empty(), bar.trim().is_empty()) {
        (_, true) => saved.to_owned(),
        (true, false) => bar.to_owned(),
        (false, false) => format!("({saved}) AND ({bar})"),
    }
}

async fn post_search(
    http: &reqwest::Client,
    url: &str,
    pattern: &str,
    body: &Value,
) -> Result<Value, String> {
    let response = http
        .post(format!("{url}/{pattern}/_search"))
        .json(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let answer: Value = response.json().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(answer)
    } else {
        Err(format!("{status} for {body}: {answer}"))
    }
}

/// A saved search's cell: the value at the dotted `path` of a document, as
/// Discover shows it (an object's leaf under a `flat_object` included).
fn column(source: &Value, path: &str) -> Value {
    if let Some(v) = source.get(path) {
        return v.clone();
    }
    let mut node = source;
    for part in path.split('.') {
        match node.get(part) {
            Some(next) => node = next,
            None => return Value::Null,
        }
    }
    node.clone()
}

/// A parsed `visualization` saved object.
#[derive(Debug)]
pub struct Vis {
    pub id: String,
    pub vis_type: String,
    pub query: String,
    pub metrics: Vec<Value>,
    pub buckets: Vec<Value>,
}

/// The error OpenSearch gives for an aggregation of a module it lacks.
pub fn lacks_geo_module(response: &Value) -> bool {
    response
        .to_string()
        .contains("Unknown aggregation type [geohash_grid]")
}

impl Vis {
    pub fn parse(object: &Value) -> Result<Vis, String> {
        let attributes = &object["attributes"];
        let state: Value =
            serde_json::from_str(attributes["visState"].as_str().ok_or("no visState")?)
                .map_err(|e| format!("visState: {e}"))?;
        let query = search_source_query(object)?;
        let aggs: Vec<Value> = state["aggs"]
            .as_array()
            .ok_or("visState has no aggs")?
            .iter()
            .filter(|a| a["enabled"] != false)
            .cloned()
            .collect();
        let (metrics, buckets) = aggs.into_iter().partition(|a| a["schema"] == "metric");
        Ok(Vis {
            id: object["id"].as_str().unwrap_or_default().to_owned(),
            vis_type: state["type"].as_str().unwrap_or_default().to_owned(),
            query,
            metrics,
            buckets,
        })
    }

    /// Every field an aggregation reads, with the aggregation type.
    pub fn agg_fields(&self) -> Vec<(String, String)> {
        self.metrics
            .iter()
            .chain(&self.buckets)
            .filter_map(|a| {
                Some((
                    a["type"].as_str()?.to_owned(),
                    a["params"]["field"].as_str()?.to_owned(),
                ))
            })
            .collect()
    }

    /// Every Lucene query: the search source's and those of `filters` aggs.
    pub fn queries(&self) -> Vec<String> {
        let mut out = vec![self.query.clone()];
        for b in &self.buckets {
            for f in b["params"]["filters"].as_array().into_iter().flatten() {
                out.push(f["input"]["query"].as_str().unwrap_or_default().to_owned());
            }
        }
        out
    }

    /// The request; with `geo` false, a `geohash_grid` becomes one bucket of
    /// the documents that have the field (for nodes without the geo module).
    pub fn search_body(&self, geo: bool) -> Result<Value, String> {
        let mut aggs = Map::new();
        let metrics = self.metric_aggs()?;
        for bucket in self.buckets.iter().rev() {
            let mut node = if !geo && bucket["type"] == "geohash_grid" {
                let field = bucket["params"]["field"].as_str().unwrap_or_default();
                json!({"filters": {"filters": {"located": {"exists": {"field": field}}}}})
            } else {
                bucket_agg(bucket, &self.metrics)?
            };
            let mut children = metrics.clone();
            children.extend(aggs);
            if !children.is_empty() {
                node["aggs"] = Value::Object(children);
            }
            aggs = Map::new();
            aggs.insert(id_of(bucket)?, node);
        }
        if self.buckets.is_empty() {
            aggs = metrics;
        }
        Ok(json!({"size": 0, "track_total_hits": true, "query": lucene(&self.query), "aggs": aggs}))
    }

    fn metric_aggs(&self) -> Result<Map<String, Value>, String> {
        let mut out = Map::new();
        for m in &self.metrics {
            let kind = m["type"].as_str().ok_or("metric without type")?;
            match kind {
                "count" => {}
                "sum" | "avg" | "max" | "min" | "cardinality" => {
                    let field = m["params"]["field"]
                        .as_str()
                        .ok_or("metric without field")?;
                    out.insert(id_of(m)?, json!({kind: {"field": field}}));
                }
                other => return Err(format!("metric {other} is not translated")),
            }
        }
        Ok(out)
    }

    /// Whether the response has at least one bucket at every level (a path
    /// through them) whose metrics have values; without buckets, whether any
    /// document matched and the metrics have values.
    pub fn has_data(&self, response: &Value) -> bool {
        if response["hits"]["total"]["value"].as_u64().unwrap_or(0) == 0 {
            return false;
        }
        self.level_has_data(&response["aggregations"], 0)
    }

    /// The rows of a response: one per path through the buckets (keys in
    /// order), then the value of every metric; without buckets, one row of
    /// the metrics. Filters buckets keep their order; empty buckets are rows
    /// too (a table shows them as 0).
    pub fn rows(&self, response: &Value) -> Vec<Vec<Value>> {
        let mut rows = Vec::new();
        let total = response["hits"]["total"]["value"].clone();
        self.collect_rows(
            &response["aggregations"],
            0,
            &mut Vec::new(),
            &total,
            &mut rows,
        );
        rows
    }

    fn collect_rows(
        &self,
        level: &Value,
        depth: usize,
        keys: &mut Vec<Value>,
        count: &Value,
        rows: &mut Vec<Vec<Value>>,
    ) {
        let Some(bucket) = self.buckets.get(depth) else {
            let mut row = keys.clone();
            for m in &self.metrics {
                row.push(match (m["type"].as_str(), id_of(m)) {
                    (Some("count"), _) => count.clone(),
                    (_, Ok(id)) => level[id]["value"].clone(),
                    (_, Err(_)) => Value::Null,
                });
            }
            rows.push(row);
            return;
        };
        let Ok(id) = id_of(bucket) else { return };
        let named: Vec<(Value, &Value)> = match &level[&id]["buckets"] {
            Value::Array(a) => a
                .iter()
                .map(|b| {
                    let key = b.get("key_as_string").unwrap_or(&b["key"]);
                    // Dashboards labels the bucket of documents without the field.
                    let shown = match bucket["params"]["missingBucketLabel"].as_str() {
                        Some(label) if key == "__missing__" => Value::String(label.to_owned()),
                        _ => key.clone(),
                    };
                    (shown, b)
                })
                .collect(),
            Value::Object(o) => {
                // Filters buckets come back by name: show them in their order.
                let order: Vec<String> = bucket["params"]["filters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|f| {
                        let q = f["input"]["query"].as_str().unwrap_or_default();
                        f["label"]
                            .as_str()
                            .filter(|l| !l.is_empty())
                            .unwrap_or(q)
                            .to_owned()
                    })
                    .collect();
                let mut named: Vec<(Value, &Value)> = o
                    .iter()
                    .map(|(k, b)| (Value::String(k.clone()), b))
                    .collect();
                named.sort_by_key(|(k, _)| {
                    order.iter().position(|o| Some(o.as_str()) == k.as_str())
                });
                named
            }
            _ => Vec::new(),
        };
        for (key, b) in named {
            keys.push(key);
            self.collect_rows(b, depth + 1, keys, &b["doc_count"], rows);
            keys.pop();
        }
    }

    fn level_has_data(&self, level: &Value, depth: usize) -> bool {
        let Some(bucket) = self.buckets.get(depth) else {
            return self.metrics.iter().all(|m| {
                m["type"] == "count"
                    || id_of(m).is_ok_and(|id| level[id]["value"].as_f64().is_some())
            });
        };
        let Ok(id) = id_of(bucket) else { return false };
        let buckets: Vec<&Value> = match &level[&id]["buckets"] {
            Value::Array(a) => a.iter().collect(),
            Value::Object(o) => o.values().collect(),
            _ => Vec::new(),
        };
        buckets
            .into_iter()
            .filter(|b| b["doc_count"].as_u64().unwrap_or(0) > 0)
            .any(|b| self.level_has_data(b, depth + 1))
    }
}

fn id_of(agg: &Value) -> Result<String, String> {
    agg["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("agg without id: {agg}"))
}

fn bucket_agg(agg: &Value, metrics: &[Value]) -> Result<Value, String> {
    let p = &agg["params"];
    let field = p["field"].as_str().unwrap_or_default();
    Ok(match agg["type"].as_str().unwrap_or_default() {
        "terms" => {
            let order_by = p["orderBy"].as_str().unwrap_or("_count");
            let direction = p["order"].as_str().unwrap_or("desc");
            let order = match metrics.iter().find(|m| m["id"] == order_by) {
                _ if order_by == "_key" => json!({"_key": direction}),
                Some(m) if m["type"] == "count" => json!({"_count": direction}),
                Some(_) => json!({order_by: direction}),
                None => json!({"_count": direction}),
            };
            let mut terms =
                json!({"field": field, "size": p["size"].as_u64().unwrap_or(10), "order": order});
            if p["missingBucket"] == true {
                // As Dashboards asks for its "Missing" row.
                terms["missing"] = json!("__missing__");
            }
            json!({ "terms": terms })
        }
        "date_histogram" => match p["interval"].as_str().unwrap_or("auto") {
            "auto" => {
                json!({"date_histogram": {"field": field, "fixed_interval": "1h", "min_doc_count": 1}})
            }
            unit => {
                json!({"date_histogram": {"field": field, "calendar_interval": format!("1{unit}"), "min_doc_count": 1}})
            }
        },
        "histogram" => {
            json!({"histogram": {"field": field, "interval": p["interval"].as_f64().unwrap_or(1.0)}})
        }
        "filters" => {
            let mut named = Map::new();
            for f in p["filters"].as_array().into_iter().flatten() {
                if f["input"]["language"] != "lucene" {
                    return Err(format!("filters agg query is not Lucene: {f}"));
                }
                let q = f["input"]["query"].as_str().unwrap_or_default();
                let label = f["label"].as_str().filter(|l| !l.is_empty()).unwrap_or(q);
                named.insert(label.to_owned(), lucene(q));
            }
            json!({"filters": {"filters": named}})
        }
        "geohash_grid" => json!({
            "geohash_grid": {"field": field, "precision": p["precision"].as_u64().unwrap_or(2)},
            "aggs": {"centroid": {"geo_centroid": {"field": field}}}
        }),
        other => return Err(format!("bucket agg {other} is not translated")),
    })
}

/// The query Dashboards sends for a Lucene query string.
pub fn lucene(query: &str) -> Value {
    if query.trim().is_empty() {
        json!({"match_all": {}})
    } else {
        json!({"query_string": {"query": query, "analyze_wildcard": true}})
    }
}

/// The Lucene query of a saved object's search source; other languages and
/// pinned filters are refused (the tests could not run them as Dashboards does).
pub fn search_source_query(object: &Value) -> Result<String, String> {
    let source: Value = serde_json::from_str(
        object["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]
            .as_str()
            .ok_or("no searchSourceJSON")?,
    )
    .map_err(|e| format!("searchSourceJSON: {e}"))?;
    if source["query"]["language"] != "lucene" {
        return Err(format!("query language is not lucene: {}", source["query"]));
    }
    if source["filter"].as_array().is_some_and(|f| !f.is_empty()) {
        return Err("pinned filters are not used by these dashboards".into());
    }
    Ok(source["query"]["query"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// Field names a Lucene query names (`field:value`, `_exists_:field`);
/// quoted text is skipped.
pub fn query_fields(query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut token = String::new();
    let mut in_quotes = false;
    let mut exists_next = false;
    for c in query.chars() {
        if in_quotes {
            in_quotes = c != '"';
            continue;
        }
        match c {
            '"' => {
                in_quotes = true;
                token.clear();
            }
            ':' => {
                if token == "_exists_" {
                    exists_next = true;
                } else if !token.is_empty() {
                    out.push(std::mem::take(&mut token));
                }
                token.clear();
            }
            c if c.is_alphanumeric() || "_.@".contains(c) => token.push(c),
            _ => {
                if exists_next && !token.is_empty() {
                    out.push(token.clone());
                    exists_next = false;
                }
                token.clear();
            }
        }
    }
    if exists_next && !token.is_empty() {
        out.push(token);
    }
    out
}

#[cfg(test)]
#[test]
fn query_fields_are_found_outside_quotes() {
    assert_eq!(
        query_fields(
            r#"_exists_:destination.ip AND NOT destination.ip:"10.0.0.0/8" AND a.b:(x OR y)"#
        ),
        vec!["destination.ip", "destination.ip", "a.b"]
    );
    assert_eq!(
        query_fields("_exists_:siem.severity.label"),
        vec!["siem.severity.label"]
    );
}
