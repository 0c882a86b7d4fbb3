//! What operators see: Prometheus metrics ([`metrics`]), the events that
//! update them and log together ([`events`]), the `/metrics`, `/healthz` and
//! `/readyz` endpoints ([`http`]) and structured JSON logs
//! ([`init_logging`]). Metric labels come from closed vocabularies (log type
//! names, outcome words), never from data.

pub mod events;
pub mod http;
pub mod metrics;
pub mod rate_limit;

pub use metrics::METRICS;

/// Logs on stderr, as JSON or compact text; `RUST_LOG` filters (default
/// `default_level`).
pub fn init_logging(json: bool, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.compact().try_init()
    };
}

/// An error with its chain of sources, for logs and error messages: the
/// AWS SDK's and reqwest's `Display` alone omit the useful part.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
