//! A fault-injecting HTTP proxy in front of OpenSearch: it answers 429 to
//! every n-th `_bulk` request, and rejects every m-th item of the others with
//! 429 (those items are not forwarded, as when a node's write queue is full).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug, Default)]
pub struct FaultCounters {
    pub requests: AtomicU64,
    pub rejected_requests: AtomicU64,
    pub rejected_items: AtomicU64,
}

struct ProxyState {
    upstream: String,
    every_nth_request: u64,
    every_nth_item: u64,
    counters: Arc<FaultCounters>,
    client: reqwest::Client,
}

pub struct FaultProxy {
    pub url: String,
    pub counters: Arc<FaultCounters>,
}

impl FaultProxy {
    pub async fn start(upstream: &str, every_nth_request: u64, every_nth_item: u64) -> FaultProxy {
        let counters = Arc::new(FaultCounters::default());
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_owned(),
            every_nth_request,
            every_nth_item,
            counters: counters.clone(),
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
        });
        let app = Router::new().fallback(handle).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FaultProxy {
            url: format!("http://{addr}"),
            counters,
        }
    }
}

async fn handle(
    State(st): State<Arc<ProxyState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let n = st.counters.requests.fetch_add(1, Ordering::Relaxed);
    let is_bulk = uri.path().ends_with("/_bulk");
    if is_bulk && n % st.every_nth_request == 0 {
        st.counters
            .rejected_requests
            .fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("content-type", "application/json")],
            json!({"error": {"type": "rejected_execution_exception", "reason": "injected"}, "status": 429}).to_string(),
        )
            .into_response();
    }
    if !is_bulk {
        return forward(&st, method, &uri, &headers, body.to_vec()).await;
    }
    // Split into (action, source) pairs; keep the ones that pass.
    let lines: Vec<&[u8]> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let pairs: Vec<(&[u8], &[u8])> = lines
        .chunks(2)
        .filter_map(|c| Some((c[0], *c.get(1)?)))
        .collect();
    let rejected: Vec<bool> = (0..pairs.len() as u64)
        .map(|i| (i + n) % st.every_nth_item == 0)
        .collect();
    let mut forwarded = Vec::new();
    for ((action, source), reject) in pairs.iter().zip(&rejected) {
        if !reject {
            forwarded.extend_from_slice(action);
            forwarded.push(b'\n');
            forwarded.extend_from_slice(source);
            forwarded.push(b'\n');
        }
    }
    let mut upstream_items: std::vec::IntoIter<Value> = Vec::new().into_iter();
    let mut took = 0;
    if !forwarded.is_empty() {
        let response = forward(&st, method, &uri, &headers, forwarded).await;
        if response.status() != StatusCode::OK {
            return response;
        }
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        took = v["took"].as_u64().unwrap_or(0);
        upstream_items = v["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter();
    }
    let mut items = Vec::new();
    let mut errors = false;
    for reject in rejected {
        if reject {
            st.counters.rejected_items.fetch_add(1, Ordering::Relaxed);
            errors = true;
            items.push(json!({"create": {"status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "injected"}}}));
        } else {
            let item = upstream_items.next().unwrap_or(Value::Null);
            errors |= item.get("create").and_then(|c| c.get("error")).is_some();
            items.push(item);
        }
    }
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        json!({"took": took, "errors": errors, "items": items}).to_string(),
    )
        .into_response()
}

async fn forward(
    st: &ProxyState,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Vec<u8>,
) -> Response {
    let url = format!(
        "{}{}",
        st.upstream,
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let method =
        reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut request = st.client.request(method, url).body(body);
    if let Some(ct) = headers.get("content-type").and_then(|v| v.to_str().ok()) {
        request = request.header("content-type", ct);
    }
    match request.send().await {
        Ok(r) => {
            let status =
                StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let bytes = r.bytes().await.unwrap_or_default();
            (status, [("content-type", "application/json")], bytes).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
