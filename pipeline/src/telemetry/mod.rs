//! What operators see: Prometheus metrics ([`metrics`]), the `/metrics`,
//! `/healthz` and `/readyz` endpoints ([`http`]) and structured JSON logs
//! ([`init_logging`]). Metric labels come from closed vocabularies (log type
//! names, outcome words), never from data.

pub mod http;
pub mod metrics;

pub use metrics::METRICS;

/// JSON logs on stderr; `RUST_LOG` filters (default `info`).
pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.compact().try_init()
    };
}
