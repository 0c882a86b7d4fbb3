//! Every visualization and saved search, run as the query Dashboards sends,
//! against a real OpenSearch node holding the project's fixtures (normalized
//! as `siem-pipeline normalize` does, indexed under a prefix of this test's
//! own through the project's templates), returns data.

use std::time::Duration;

use serde_json::{Value, json};
use siem_pipeline::config::{IndexRotation, OpenSearchAuth, OpenSearchConfig};
use siem_pipeline::normalize::{self, Routing};
use siem_pipeline::sink::{OpenSearch, templates};
use siem_pipeline_tests::{Stack, fixture_inputs, unique};

use super::query::{Vis, lacks_geo_module, lucene, search_source_query};
use super::{pattern_title, saved_objects};

/// Installs the templates under `prefix` and indexes every fixture of every
/// log type; returns the number of documents.
async fn load_fixtures(http: &reqwest::Client, url: &str, prefix: &str) -> usize {
    let client = OpenSearch::new(
        &OpenSearchConfig {
            url: url.to_owned(),
            index_prefix: prefix.to_owned(),
            index_rotation: IndexRotation::Monthly,
            request_timeout: Duration::from_secs(60),
            auth: OpenSearchAuth::None,
            ca_file: None,
        },
        None,
    )
    .expect("OpenSearch client");
    templates::install(&client, prefix)
        .await
        .expect("install templates");

    let mut bulk = String::new();
    let mut documents = 0;
    for t in siem_pipeline::log_types::REGISTRY {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        normalize::run(
            &fixture_inputs(t.name()),
            &Routing::LogType(t.name().to_owned()),
            prefix,
            &mut out,
            &mut err,
        )
        .unwrap_or_else(|e| panic!("normalizing the {} fixtures: {e}", t.name()));
        for line in String::from_utf8(out).expect("utf8").lines() {
            let doc: Value = serde_json::from_str(line).expect("normalize output is JSON");
            bulk.push_str(
                &json!({"index": {"_index": doc["_index"], "_id": doc["_id"]}}).to_string(),
            );
            bulk.push('\n');
            bulk.push_str(&doc["_source"].to_string());
            bulk.push('\n');
            documents += 1;
        }
    }
    let response: Value = http
        .post(format!("{url}/_bulk?refresh=true"))
        .header("content-type", "application/x-ndjson")
        .body(bulk)
        .send()
        .await
        .expect("bulk")
        .json()
        .await
        .expect("bulk JSON");
    if response["errors"] == true {
        let first = response["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["index"]["error"].is_object()))
            .cloned()
            .unwrap_or_default();
        panic!("indexing the fixtures failed: {first}");
    }
    documents
}

async fn cleanup(http: &reqwest::Client, url: &str, prefix: &str) {
    let _ = http.delete(format!("{url}/{prefix}-*")).send().await;
    for (name, _) in templates::index_templates() {
        let _ = http
            .delete(format!("{url}/_index_template/{prefix}-{name}"))
            .send()
            .await;
    }
    for (name, _) in templates::COMPONENT_TEMPLATES {
        let _ = http
            .delete(format!("{url}/_component_template/{prefix}-{name}"))
            .send()
            .await;
    }
}

async fn search(
    http: &reqwest::Client,
    url: &str,
    pattern: &str,
    body: &Value,
) -> (reqwest::StatusCode, Value) {
    let response = http
        .post(format!("{url}/{pattern}/_search"))
        .json(body)
        .send()
        .await
        .expect("search");
    let status = response.status();
    (status, response.json().await.expect("search JSON"))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_visualization_and_search_returns_data_from_the_fixtures() {
    let stack = Stack::get();
    let url = stack.opensearch_url.trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let prefix = unique("dashboards");
    let documents = load_fixtures(&http, &url, &prefix).await;
    assert!(documents > 0, "no fixture documents");

    let mut failures = Vec::new();
    let mut without_geo = Vec::new();
    let mut checked = 0;
    for (file, objects) in saved_objects() {
        for o in objects
            .iter()
            .filter(|o| o["type"] == "visualization" || o["type"] == "search")
        {
            let id = o["id"].as_str().unwrap_or_default();
            let title = pattern_title(&objects, o)
                .unwrap_or_else(|| panic!("{file}: {id}: no index pattern"));
            let pattern = format!(
                "{prefix}{}",
                title.strip_prefix("siem").expect("siem- pattern")
            );
            let (body, vis) = if o["type"] == "visualization" {
                let vis = Vis::parse(o).unwrap_or_else(|e| panic!("{file}: {id}: {e}"));
                (
                    vis.search_body(true)
                        .unwrap_or_else(|e| panic!("{file}: {id}: {e}")),
                    Some(vis),
                )
            } else {
                let q = search_source_query(o).unwrap_or_else(|e| panic!("{file}: {id}: {e}"));
                let sort: Vec<Value> = o["attributes"]["sort"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| json!({s[0].as_str().unwrap_or("@timestamp"): s[1].as_str().unwrap_or("desc")}))
                    .collect();
                (
                    json!({"size": 5, "track_total_hits": true, "query": lucene(&q), "sort": sort}),
                    None,
                )
            };
            let (mut status, mut response) = search(&http, &url, &pattern, &body).await;
            if let Some(vis) = vis.as_ref().filter(|_| lacks_geo_module(&response)) {
                // Coordinate maps need geohash_grid, from OpenSearch's `geo` module, which every
                // distribution bundles but a node built without modules may lack: then check
                // that documents with locations exist.
                without_geo.push(format!("{file}: {id}"));
                let body = vis
                    .search_body(false)
                    .unwrap_or_else(|e| panic!("{file}: {id}: {e}"));
                (status, response) = search(&http, &url, &pattern, &body).await;
            }
            checked += 1;
            let has_data = match &vis {
                _ if !status.is_success() => false,
                Some(vis) => vis.has_data(&response),
                None => response["hits"]["hits"]
                    .as_array()
                    .is_some_and(|h| !h.is_empty()),
            };
            if !has_data {
                failures.push(format!(
                    "{file}: {id} on {title} returned no data\n  request: {body}\n  response: {:.1500}",
                    response.to_string()
                ));
            }
        }
    }
    cleanup(&http, &url, &prefix).await;
    if !without_geo.is_empty() {
        eprintln!(
            "note: this OpenSearch node has no geohash_grid (geo module); for these maps only the \
             presence of located documents was checked: {}",
            without_geo.join(", ")
        );
    }
    assert!(checked > 50, "only {checked} objects checked");
    assert!(
        failures.is_empty(),
        "{} of {checked}:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
