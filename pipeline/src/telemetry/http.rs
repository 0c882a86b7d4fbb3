//! `/metrics` (Prometheus text), `/healthz` (the process's loops are turning)
//! and `/readyz` (OpenSearch and the queue answered, templates installed).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::METRICS;

/// Liveness and readiness, updated by the pipeline's loops.
#[derive(Debug, Default)]
pub struct Health {
    /// When a receive loop last turned or said it was rightly waiting.
    last_turn: Mutex<Option<Instant>>,
    ready: AtomicBool,
    queue_unreachable: AtomicBool,
}

impl Health {
    /// Called by the receive loops on every turn, and every few seconds while
    /// they wait for room or for OpenSearch: waiting on back-pressure is
    /// healthy, a stuck loop is not.
    pub fn turned(&self) {
        if let Ok(mut last) = self.last_turn.lock() {
            *last = Some(Instant::now());
        }
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// Ready once started (OpenSearch answered, templates installed) and
    /// while the queue answers.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed) && !self.queue_unreachable.load(Ordering::Relaxed)
    }

    pub fn set_queue_reachable(&self, reachable: bool) {
        self.queue_unreachable.store(!reachable, Ordering::Relaxed);
    }

    /// Alive when a receive loop turned recently. A long poll takes at most
    /// 20 s and a wait says so every 10 s, so a minute and a half of silence
    /// means a stuck loop.
    pub fn is_alive(&self, stale_after: Duration) -> bool {
        match self.last_turn.lock() {
            Ok(last) => last.is_none_or(|t| t.elapsed() <= stale_after),
            Err(_) => false,
        }
    }
}

/// Binds the listener first, so that a taken port is a start-up error.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

pub async fn serve(listener: tokio::net::TcpListener, health: Arc<Health>) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(|| async { METRICS.render() }))
        .route(
            "/healthz",
            get(|State(h): State<Arc<Health>>| async move {
                if h.is_alive(Duration::from_secs(90)) {
                    (StatusCode::OK, "ok\n")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "receive loop stalled\n")
                }
            }),
        )
        .route(
            "/readyz",
            get(|State(h): State<Arc<Health>>| async move {
                if h.is_ready() {
                    (StatusCode::OK, "ready\n")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
                }
            }),
        )
        .with_state(health);
    axum::serve(listener, app).await
}

/// Asks a running pipeline's `/healthz` (for container health checks, where
/// no shell or curl exists). Returns whether it answered 200.
pub fn probe(addr: SocketAddr, path: &str, timeout: Duration) -> std::io::Result<bool> {
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    Ok(head.starts_with(b"HTTP/1.") && &head[9..12] == b"200")
}
