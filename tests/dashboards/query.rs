//! A visualization as the OpenSearch request Dashboards sends for it: the
//! saved search source's Lucene query as `query_string`, the `visState` aggs as
//! nested aggregations (buckets in their order, metrics at every level), and
//! how to tell that the answer has data.

use serde_json::{Map, Value, json};

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
            json!({"terms": {"field": field, "size": p["size"].as_u64().unwrap_or(10), "order": order}})
        }
        "date_histogram" => {
            json!({"date_histogram": {"field": field, "fixed_interval": "1h", "min_doc_count": 1}})
        }
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
