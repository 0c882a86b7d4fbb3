//! Every visualization and saved search, run as the query Dashboards sends,
//! against a real OpenSearch node holding the project's fixtures (normalized
//! and enriched as `siem-pipeline normalize` does, with GeoIP databases and a
//! threat list built for the test; each finding's latest state also in the
//! current-findings index; all under a prefix of this test's own, through the
//! project's templates): each returns data, and shows exactly the rows of
//! `panels.expected.json`.
//!
//! `UPDATE_GOLDEN=1` rewrites `panels.expected.json`: review its diff as you
//! would a golden file's, row by row.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use siem_pipeline::config::{Config, IndexRotation, OpenSearchAuth, OpenSearchConfig};
use siem_pipeline::document::IndexNaming;
use siem_pipeline::normalize::{self, Routing};
use siem_pipeline::read::Limits;
use siem_pipeline::sink::{OpenSearch, templates};
use siem_pipeline_tests::dashboards::{
    Vis, lacks_geo_module, lucene, pattern_title, run_panel, saved_objects, search_source_query,
};
use siem_pipeline_tests::{Stack, enrichment, fixture_inputs, repo_root, unique};

/// The public networks of the fixtures are located, and one is on the threat list.
const LOCATED: &[&str] = &["203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24"];
const THREATS: &[&str] = &["198.51.100.0/24"];

/// What the fixtures hold: documents, and distinct findings (by key).
struct Loaded {
    documents: usize,
    findings: std::collections::BTreeSet<String>,
}

/// Installs the templates under `prefix` and indexes every fixture of every
/// log type, enriched; each finding's latest state also goes to the
/// current-findings index.
async fn load_fixtures(http: &reqwest::Client, url: &str, prefix: &str) -> Loaded {
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

    let data = std::env::temp_dir().join(format!("{prefix}-enrichment"));
    let text = format!(
        "[sqs]\nqueue_url = \"http://127.0.0.1:1/000000000000/q\"\n[opensearch]\nurl = \"{url}\"\n{}",
        enrichment::enrich_config(&data, LOCATED, THREATS)
    );
    let config = Config::from_toml(
        std::path::Path::new("dashboards.toml"),
        &text,
        std::iter::empty(),
    )
    .expect("enrichment config");
    let enrichers = tokio::task::spawn_blocking(move || normalize::load_enrichers(&config))
        .await
        .expect("joins")
        .expect("enrichment data loads");

    let naming = IndexNaming {
        prefix: prefix.to_owned(),
        rotation: IndexRotation::Monthly,
    };
    let mut bulk = String::new();
    let mut documents = 0;
    let mut findings = std::collections::BTreeSet::new();
    for t in siem_pipeline::log_types::REGISTRY {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        // Relative, as the golden tests read them: a positional document id
        // hashes the key (here the path), and the searches' order breaks
        // ties on `_id`, so the rows must not depend on where the checkout is.
        let inputs: Vec<PathBuf> = fixture_inputs(t.name())
            .into_iter()
            .map(|p| Path::new("..").join(p.strip_prefix(repo_root()).unwrap_or(&p)))
            .collect();
        normalize::run_enriched(
            &inputs,
            &Routing::LogType(t.name().to_owned()),
            prefix,
            &enrichers,
            Limits::default(),
            &mut out,
            &mut err,
        )
        .unwrap_or_else(|e| panic!("normalizing the {} fixtures: {e}", t.name()));
        for line in String::from_utf8(out).expect("utf8").lines() {
            let doc: Value = serde_json::from_str(line).expect("normalize output is JSON");
            let source = &doc["_source"];
            bulk.push_str(
                &json!({"index": {"_index": doc["_index"], "_id": doc["_id"]}}).to_string(),
            );
            bulk.push('\n');
            bulk.push_str(&source.to_string());
            bulk.push('\n');
            if let Some(key) = source["siem"]["finding"]["key"].as_str() {
                findings.insert(key.to_owned());
                // As the pipeline keeps it: one document a finding, replaced only by
                // a state at least as recent (the state's time; the fixtures do not
                // need Security Hub's ProcessedAt).
                let at = chrono::DateTime::parse_from_rfc3339(
                    source["@timestamp"].as_str().unwrap_or_default(),
                )
                .expect("a finding's @timestamp");
                bulk.push_str(
                    &json!({"index": {"_index": naming.current_findings(), "_id": IndexNaming::current_finding_id(key),
                                      "version": at.timestamp_millis(), "version_type": "external_gte"}})
                    .to_string(),
                );
                bulk.push('\n');
                bulk.push_str(&source.to_string());
                bulk.push('\n');
            }
            documents += 1;
        }
    }
    let _ = std::fs::remove_dir_all(data);
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
    // A state older than the current one is refused (409), as in the pipeline.
    let failed = response["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|i| i["index"]["error"].is_object() && i["index"]["status"] != 409)
        })
        .cloned();
    if let Some(first) = failed {
        panic!("indexing the fixtures failed: {first}");
    }
    Loaded {
        documents,
        findings,
    }
}

async fn cleanup(http: &reqwest::Client, url: &str, prefix: &str) {
    let _ = http
        .delete(format!("{url}/{prefix}-*,{prefix}_findings_current"))
        .send()
        .await;
    for (name, _) in templates::index_templates().chain(templates::VIEW_TEMPLATES.iter().copied()) {
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

/// Each visualization and saved search, as Dashboards asks for it (maps with
/// their real `geohash_grid`), returns data.
async fn every_panel_returns_data(http: &reqwest::Client, url: &str, prefix: &str) -> Vec<String> {
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
                title.strip_prefix("siem").expect("siem pattern")
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
                (
                    json!({"size": 5, "track_total_hits": true, "query": lucene(&q), "sort": [{"@timestamp": "desc"}]}),
                    None,
                )
            };
            let (mut status, mut response) = search(http, url, &pattern, &body).await;
            if let Some(vis) = vis.as_ref().filter(|_| lacks_geo_module(&response)) {
                // Coordinate maps need geohash_grid, from OpenSearch's `geo` module, which every
                // distribution bundles but a node built without modules may lack: then check
                // that documents with locations exist.
                without_geo.push(format!("{file}: {id}"));
                let body = vis
                    .search_body(false)
                    .unwrap_or_else(|e| panic!("{file}: {id}: {e}"));
                (status, response) = search(http, url, &pattern, &body).await;
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
    if !without_geo.is_empty() {
        eprintln!(
            "note: this OpenSearch node has no geohash_grid (geo module); for these maps only the \
             presence of located documents was checked: {}",
            without_geo.join(", ")
        );
    }
    assert!(checked > 80, "only {checked} objects checked");
    failures
}

/// The triage dashboard counts every distinct finding of the fixtures once,
/// whatever the number of its states; each source's "open findings" are its
/// distinct findings minus those suppressed or resolved.
async fn findings_are_counted_once(
    http: &reqwest::Client,
    url: &str,
    prefix: &str,
    loaded: &Loaded,
) -> Vec<String> {
    let all = saved_objects();
    let panel = |file: &str, id: &str| {
        let (_, objects) = all.iter().find(|(f, _)| *f == file).expect("file");
        let object = objects
            .iter()
            .find(|o| o["id"] == id)
            .unwrap_or_else(|| panic!("{id}"));
        (objects.clone(), object.clone())
    };
    let mut failures = Vec::new();
    let (objects, by_status) = panel("siem-findings.ndjson", "siem-findings-by-status");
    let shown = run_panel(http, url, prefix, &objects, &by_status, "")
        .await
        .expect("by status");
    let counted: u64 = shown.rows.iter().filter_map(|r| r[1].as_u64()).sum();
    if counted != loaded.findings.len() as u64 {
        failures.push(format!(
            "triage counts {counted} findings by status, the fixtures hold {} distinct findings: {:?}",
            loaded.findings.len(),
            shown.rows
        ));
    }
    // GuardDuty: every finding whose key is a GuardDuty ARN, once, less the archived one.
    let guardduty = loaded
        .findings
        .iter()
        .filter(|k| k.starts_with("arn:aws:guardduty:"))
        .count() as u64;
    let (objects, open) = panel("siem-guardduty.ndjson", "siem-guardduty-metric-findings");
    let shown = run_panel(http, url, prefix, &objects, &open, "")
        .await
        .expect("open GuardDuty findings");
    if shown.rows != [vec![Value::from(guardduty - 1)]] {
        failures.push(format!(
            "GuardDuty shows {:?} open findings; the fixtures hold {guardduty} GuardDuty findings, one archived",
            shown.rows
        ));
    }
    failures
}

/// Each panel's rows, by object id, against `panels.expected.json`.
async fn every_panel_shows_the_expected_rows(
    http: &reqwest::Client,
    url: &str,
    prefix: &str,
) -> Vec<String> {
    let mut actual = BTreeMap::new();
    for (file, objects) in saved_objects() {
        for o in objects
            .iter()
            .filter(|o| o["type"] == "visualization" || o["type"] == "search")
        {
            let id = o["id"].as_str().unwrap_or_default().to_owned();
            let panel = run_panel(http, url, prefix, &objects, o, "")
                .await
                .unwrap_or_else(|e| panic!("{file}: {id}: {e}"));
            actual.insert(id, panel.to_json());
        }
    }
    let path = repo_root().join("tests/dashboards/panels.expected.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let mut text = serde_json::to_string_pretty(&actual).expect("JSON");
        text.push('\n');
        std::fs::write(&path, text).expect("write panels.expected.json");
        return Vec::new();
    }
    let expected: BTreeMap<String, Value> = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .expect("panels.expected.json");
    let mut failures = Vec::new();
    for id in expected.keys().filter(|id| !actual.contains_key(*id)) {
        failures.push(format!("{id}: expected, but no such panel any more"));
    }
    for (id, rows) in &actual {
        match expected.get(id) {
            None => failures.push(format!(
                "{id}: a panel without expected rows (UPDATE_GOLDEN=1, then review)"
            )),
            Some(want) if want != rows => {
                failures.push(format!("{id}:\n  expected {want}\n  shown    {rows}"))
            }
            Some(_) => {}
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread")]
async fn every_visualization_and_search_shows_the_expected_rows_of_the_fixtures() {
    let stack = Stack::get();
    let url = stack.opensearch_url.trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let prefix = unique("dashboards");
    let loaded = load_fixtures(&http, &url, &prefix).await;
    assert!(loaded.documents > 0, "no fixture documents");

    let mut failures = every_panel_returns_data(&http, &url, &prefix).await;
    failures.extend(findings_are_counted_once(&http, &url, &prefix, &loaded).await);
    failures.extend(every_panel_shows_the_expected_rows(&http, &url, &prefix).await);
    cleanup(&http, &url, &prefix).await;
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
