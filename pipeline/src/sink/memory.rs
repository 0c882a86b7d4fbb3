//! An in-memory index behind [`BulkApi`], for tests that specify delivery
//! without a cluster. It keeps `create` semantics (201, then 409 for an
//! existing `_id`) and lets a test choose an item's status, fail whole
//! requests, or panic. The end-to-end tests prove the same against OpenSearch.

use std::collections::BTreeMap;
use std::sync::Mutex;

use bytes::Bytes;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::{BulkApi, RawResponse, SinkError};

/// Chooses an item's answer from its index, id and source: `Some((status,
/// error type))` overrides the normal create.
pub type ItemRule = Box<dyn Fn(&str, &str, &Value) -> Option<(u16, &'static str)> + Send + Sync>;

#[derive(Default)]
struct State {
    documents: BTreeMap<(String, String), Value>,
    /// External versions of documents written with `index`.
    versions: BTreeMap<(String, String), u64>,
    fail_requests: u32,
    panic_requests: u32,
    max_request_bytes: Option<usize>,
    down: bool,
    rule: Option<ItemRule>,
}

/// Documents by index and `_id`.
#[derive(Default)]
pub struct MemoryIndex {
    state: Mutex<State>,
}

impl std::fmt::Debug for MemoryIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryIndex")
            .field("documents", &self.documents().len())
            .finish()
    }
}

impl MemoryIndex {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every document: `(index, id, source)`.
    pub fn documents(&self) -> Vec<(String, String, Value)> {
        self.state()
            .documents
            .iter()
            .map(|((index, id), source)| (index.clone(), id.clone(), source.clone()))
            .collect()
    }

    /// The next `n` requests answer 503 as a whole.
    pub fn fail_next_requests(&self, n: u32) {
        self.state().fail_requests = n;
    }

    /// The next `n` requests panic (a bug in the sink's path).
    pub fn panic_on_next_requests(&self, n: u32) {
        self.state().panic_requests = n;
    }

    /// A cluster that does not answer (`true`), or answers again.
    pub fn set_down(&self, down: bool) {
        self.state().down = down;
    }

    /// Requests over `bytes` are answered 413, as `http.max_content_length` does.
    pub fn set_max_request_bytes(&self, bytes: usize) {
        self.state().max_request_bytes = Some(bytes);
    }

    /// Answers items by `rule` from now on.
    pub fn set_rule(&self, rule: ItemRule) {
        self.state().rule = Some(rule);
    }

    fn answer(&self, body: &[u8]) -> RawResponse {
        let mut state = self.state();
        if state.panic_requests > 0 {
            state.panic_requests -= 1;
            drop(state);
            panic!("injected panic in the bulk path");
        }
        if state.max_request_bytes.is_some_and(|max| body.len() > max) {
            return RawResponse {
                status: 413,
                body: Bytes::from_static(b"{\"error\":\"Request Entity Too Large\"}"),
            };
        }
        if state.fail_requests > 0 {
            state.fail_requests -= 1;
            return RawResponse {
                status: 503,
                body: Bytes::from_static(b"{\"error\":\"injected\"}"),
            };
        }
        let mut lines = body.split(|b| *b == b'\n').filter(|l| !l.is_empty());
        let mut items = Vec::new();
        while let (Some(action), Some(source)) = (lines.next(), lines.next()) {
            let action: Value = serde_json::from_slice(action).unwrap_or_default();
            let (verb, meta) = action
                .as_object()
                .and_then(|a| a.iter().next())
                .map(|(verb, meta)| (verb.clone(), meta.clone()))
                .unwrap_or_default();
            let index = meta["_index"].as_str().unwrap_or_default().to_owned();
            let id = meta["_id"].as_str().unwrap_or_default().to_owned();
            let answer = |status: u16, error: Option<(&str, String)>| {
                let mut item = json!({"_index": index, "_id": id, "status": status});
                if let Some((kind, reason)) = error {
                    item["error"] = json!({"type": kind, "reason": reason});
                }
                json!({ verb.clone(): item })
            };
            let Ok(source) = serde_json::from_slice::<Value>(source) else {
                items.push(answer(
                    400,
                    Some(("mapper_parsing_exception", "not JSON".into())),
                ));
                continue;
            };
            if let Some((status, kind)) = state
                .rule
                .as_ref()
                .and_then(|rule| rule(&index, &id, &source))
            {
                items.push(answer(status, Some((kind, format!("{kind} (injected)")))));
                continue;
            }
            let key = (index.clone(), id.clone());
            let status = match (verb.as_str(), meta["version"].as_u64()) {
                // `index` with external_gte versioning: an older version is refused.
                ("index", Some(version)) => {
                    if state
                        .versions
                        .get(&key)
                        .is_some_and(|stored| *stored > version)
                    {
                        409
                    } else {
                        state.versions.insert(key.clone(), version);
                        state.documents.insert(key, source);
                        200
                    }
                }
                _ => match state.documents.entry(key) {
                    std::collections::btree_map::Entry::Occupied(_) => 409,
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        slot.insert(source);
                        201
                    }
                },
            };
            items.push(answer(status, None));
        }
        let errors = items
            .iter()
            .filter_map(|i| i.as_object().and_then(|o| o.values().next()))
            .any(|i| !matches!(i["status"].as_u64(), Some(200 | 201)));
        RawResponse {
            status: 200,
            body: Bytes::from(json!({"took": 1, "errors": errors, "items": items}).to_string()),
        }
    }
}

fn unreachable() -> SinkError {
    SinkError::Transport {
        method: "POST",
        path: "/_bulk".into(),
        message: "connection refused (injected)".into(),
    }
}

impl BulkApi for MemoryIndex {
    fn bulk(&self, body: Vec<u8>) -> BoxFuture<'_, Result<RawResponse, SinkError>> {
        Box::pin(async move {
            if self.state().down {
                return Err(unreachable());
            }
            Ok(self.answer(&body))
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move {
            if self.state().down {
                Err(unreachable())
            } else {
                Ok(())
            }
        })
    }
}
