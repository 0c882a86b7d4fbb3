//! Retention (`[retention]`): the ISM policies `setup` installs. The local
//! node has no ISM plugin (it is not published where the node is assembled
//! from), so the protocol is checked against a fake of the ISM API that
//! answers as ISM does, and the real node proves the message and that the
//! templates are installed all the same.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use siem_pipeline::config::{IndexRotation, OpenSearchAuth, OpenSearchConfig, RetentionConfig};
use siem_pipeline::sink::OpenSearch;
use siem_pipeline::sink::retention::{Installed, install};
use siem_pipeline_tests::{Delivery, Scenario, pipeline_binary, unique};

/// The ISM policies API, in memory: a policy is created by a PUT without
/// `if_seq_no`, and replaced only by a PUT with its current `if_seq_no` and
/// `if_primary_term` (else 409, as ISM answers).
#[derive(Default)]
struct Ism {
    policies: Mutex<BTreeMap<String, (Value, i64)>>,
    /// `(method, path?query)` of every request.
    requests: Mutex<Vec<(String, String)>>,
    /// `_plugins/_ism/add` calls: (pattern, policy id).
    attached: Mutex<Vec<(String, String)>>,
}

fn reply(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn ism(
    State(ism): State<Arc<Ism>>,
    method: Method,
    uri: Uri,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    ism.requests.lock().expect("lock").push((
        method.to_string(),
        format!(
            "{path}{}",
            query
                .as_deref()
                .map(|q| format!("?{q}"))
                .unwrap_or_default()
        ),
    ));
    let params: BTreeMap<String, String> = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    if path == "/_plugins/_ism/policies" && method == Method::GET {
        return reply(StatusCode::OK, json!({"policies": [], "total_policies": 0}));
    }
    if let Some(id) = path.strip_prefix("/_plugins/_ism/policies/") {
        let mut policies = ism.policies.lock().expect("lock");
        return match method {
            Method::GET => match policies.get(id) {
                Some((policy, seq)) => reply(
                    StatusCode::OK,
                    json!({"_id": id, "_seq_no": seq, "_primary_term": 1, "policy": policy["policy"]}),
                ),
                None => reply(StatusCode::NOT_FOUND, json!({"error": "Policy not found"})),
            },
            Method::PUT => {
                let Ok(policy) = serde_json::from_slice::<Value>(&body) else {
                    return reply(StatusCode::BAD_REQUEST, json!({"error": "not JSON"}));
                };
                let current = policies.get(id).map(|(_, seq)| *seq);
                let asked = params.get("if_seq_no").and_then(|s| s.parse::<i64>().ok());
                let term = params.get("if_primary_term").map(String::as_str);
                let seq = match (current, asked, term) {
                    (None, None, None) => 0,
                    (Some(c), Some(a), Some("1")) if c == a => c + 1,
                    _ => {
                        return reply(
                            StatusCode::CONFLICT,
                            json!({"error": {"type": "version_conflict_engine_exception"}}),
                        );
                    }
                };
                policies.insert(id.to_owned(), (policy, seq));
                reply(
                    StatusCode::CREATED,
                    json!({"_id": id, "_seq_no": seq, "_primary_term": 1}),
                )
            }
            _ => reply(StatusCode::METHOD_NOT_ALLOWED, json!({})),
        };
    }
    if let Some(pattern) = path.strip_prefix("/_plugins/_ism/add/")
        && method == Method::POST
    {
        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
        ism.attached.lock().expect("lock").push((
            pattern.to_owned(),
            v["policy_id"].as_str().unwrap_or_default().to_owned(),
        ));
        return reply(
            StatusCode::OK,
            json!({"updated_indices": 1, "failures": false, "failed_indices": []}),
        );
    }
    reply(
        StatusCode::BAD_REQUEST,
        json!({"error": "no handler found"}),
    )
}

async fn fake_ism() -> (Arc<Ism>, String) {
    let state = Arc::new(Ism::default());
    let app = axum::Router::new().fallback(ism).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (state, url)
}

fn client(url: &str) -> OpenSearch {
    OpenSearch::new(
        &OpenSearchConfig {
            url: url.to_owned(),
            index_prefix: "siem".into(),
            index_rotation: IndexRotation::Monthly,
            request_timeout: Duration::from_secs(10),
            auth: OpenSearchAuth::None,
            ca_file: None,
        },
        None,
    )
    .expect("client")
}

#[tokio::test]
async fn policies_are_created_then_updated_in_place_and_attached_to_existing_indices() {
    let (ism, url) = fake_ism().await;
    let mut retention = RetentionConfig {
        default_days: None,
        by_log_type: [("vpcflow", 90), ("cloudtrail", 730)].into_iter().collect(),
    };

    let first = install(&client(&url), &retention, "siem", IndexRotation::Monthly)
        .await
        .expect("installs");
    assert_eq!(
        first,
        Installed::Policies(vec![
            "siem-retention-cloudtrail".into(),
            "siem-retention-vpcflow".into()
        ])
    );
    retention.by_log_type.insert("vpcflow", 30);
    install(&client(&url), &retention, "siem", IndexRotation::Monthly)
        .await
        .expect("updates");

    let policies = ism.policies.lock().expect("lock");
    let (vpcflow, seq) = &policies["siem-retention-vpcflow"];
    assert_eq!(*seq, 1, "replaced once, in place");
    assert_eq!(
        vpcflow["policy"]["states"][0]["transitions"][0]["conditions"]["min_index_age"], "61d",
        "30 days after the end of the month"
    );
    let puts: Vec<String> = ism
        .requests
        .lock()
        .expect("lock")
        .iter()
        .filter(|(m, p)| m == "PUT" && p.contains("vpcflow"))
        .map(|(_, p)| p.clone())
        .collect();
    assert_eq!(
        puts,
        [
            "/_plugins/_ism/policies/siem-retention-vpcflow",
            "/_plugins/_ism/policies/siem-retention-vpcflow?if_seq_no=0&if_primary_term=1"
        ]
    );
    assert_eq!(
        ism.attached.lock().expect("lock")[..2],
        [
            (
                "siem-cloudtrail-*".to_owned(),
                "siem-retention-cloudtrail".to_owned()
            ),
            (
                "siem-vpcflow-*".to_owned(),
                "siem-retention-vpcflow".to_owned()
            )
        ]
    );
}

#[tokio::test]
async fn without_a_retention_nothing_is_asked_of_the_cluster() {
    let (ism, url) = fake_ism().await;
    let outcome = install(
        &client(&url),
        &RetentionConfig::default(),
        "siem",
        IndexRotation::Monthly,
    )
    .await
    .expect("nothing to do");
    assert_eq!(outcome, Installed::NotConfigured);
    assert!(ism.requests.lock().expect("lock").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_on_a_node_without_ism_says_so_and_still_installs_the_templates() {
    let s = Scenario::new("retention", Delivery::Direct).await;
    let dir = std::env::temp_dir().join(unique("retention"));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("siem.toml");
    std::fs::write(
        &config,
        s.config_text(
            "[retention]\ndelete_after_days = 365\n[retention.log_types]\nvpcflow = 90\n",
        ),
    )
    .expect("config");

    let out = std::process::Command::new(pipeline_binary())
        .args(["setup", "--config"])
        .arg(&config)
        .output()
        .expect("setup runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: {} has no Index State Management plugin: [retention] is not applied",
            s.stack.opensearch_url.trim_end_matches('/')
        )),
        "{stderr}"
    );
    let template = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!(
            "{}/_index_template/{}-vpcflow",
            s.stack.opensearch_url.trim_end_matches('/'),
            s.index_prefix
        ))
        .send()
        .await
        .expect("template request");
    assert_eq!(
        template.status(),
        200,
        "templates are installed all the same"
    );
    let _ = std::fs::remove_dir_all(dir);
}
