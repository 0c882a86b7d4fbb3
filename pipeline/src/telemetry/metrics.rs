//! Every metric the pipeline exports, registered once in one registry.
//! Names follow Prometheus conventions (`_total`, `_seconds`, `_bytes`).

use std::sync::LazyLock;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

pub struct Metrics {
    pub registry: Registry,
    pub messages_received: IntCounter,
    pub messages_deleted: IntCounter,
    /// Messages left for the queue to redeliver (something failed).
    pub messages_returned: IntCounter,
    /// Well-formed messages naming nothing to read, by `reason`.
    pub messages_discarded: IntCounterVec,
    /// Messages that are not a known notification, by `reason`.
    pub messages_invalid: IntCounterVec,
    pub sqs_errors: IntCounterVec,
    pub objects: IntCounterVec,
    pub object_bytes: IntCounterVec,
    pub decompressed_bytes: IntCounterVec,
    pub records: IntCounterVec,
    pub bulk_requests: IntCounterVec,
    pub bulk_duration: HistogramVec,
    pub bulk_items: IntCounterVec,
    pub bulk_retries: IntCounterVec,
    pub messages_in_flight: IntGauge,
    pub objects_in_flight: IntGauge,
    pub documents_in_flight: IntGauge,
    pub ack_lag: Histogram,
    pub dead_letters: IntCounterVec,
    pub visibility_extensions: IntCounterVec,
    pub queue_messages: prometheus::IntGaugeVec,
    pub bytes_in_flight: IntGauge,
    /// `pipeline.max_bytes_in_flight`, for dashboards that show how full it is.
    pub bytes_in_flight_limit: IntGauge,
    /// 1 while OpenSearch answers, 0 while the circuit is open.
    pub opensearch_available: IntGauge,
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    registry
        .register(Box::new(c.clone()))
        .expect("unique metric name");
    c
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("valid metric definition");
    registry
        .register(Box::new(c.clone()))
        .expect("unique metric name");
    c
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric definition");
    registry
        .register(Box::new(g.clone()))
        .expect("unique metric name");
    g
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let r = Registry::new();
    let bulk_duration = HistogramVec::new(
        HistogramOpts::new(
            "siem_bulk_request_duration_seconds",
            "Duration of _bulk requests.",
        )
        .buckets(vec![
            0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
        ]),
        &["outcome"],
    )
    .expect("valid metric definition");
    r.register(Box::new(bulk_duration.clone()))
        .expect("unique metric name");
    let ack_lag = Histogram::with_opts(
        HistogramOpts::new(
            "siem_message_lag_seconds",
            "Time from a notification's arrival on the queue to its deletion.",
        )
        .buckets(vec![
            0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0,
        ]),
    )
    .expect("valid metric definition");
    r.register(Box::new(ack_lag.clone()))
        .expect("unique metric name");
    Metrics {
        messages_received: counter(
            &r,
            "siem_sqs_messages_received_total",
            "SQS messages received.",
        ),
        messages_deleted: counter(
            &r,
            "siem_sqs_messages_deleted_total",
            "SQS messages deleted after completion.",
        ),
        messages_returned: counter(
            &r,
            "siem_sqs_messages_returned_total",
            "SQS messages left on the queue because a record or object failed.",
        ),
        messages_discarded: counter_vec(
            &r,
            "siem_sqs_messages_discarded_total",
            "Well-formed SQS messages that name no object to read (deleted).",
            &["reason"],
        ),
        messages_invalid: counter_vec(
            &r,
            "siem_sqs_messages_invalid_total",
            "SQS messages that are not a known notification (left for the redrive policy).",
            &["reason"],
        ),
        sqs_errors: counter_vec(
            &r,
            "siem_sqs_errors_total",
            "Failed SQS calls.",
            &["operation"],
        ),
        objects: counter_vec(
            &r,
            "siem_s3_objects_total",
            "S3 objects processed.",
            &["log_type", "outcome"],
        ),
        object_bytes: counter_vec(
            &r,
            "siem_s3_object_bytes_total",
            "Bytes read from S3 (as stored).",
            &["log_type"],
        ),
        decompressed_bytes: counter_vec(
            &r,
            "siem_decompressed_bytes_total",
            "Bytes after decompression.",
            &["log_type"],
        ),
        records: counter_vec(
            &r,
            "siem_records_total",
            "Records by log type and outcome.",
            &["log_type", "outcome"],
        ),
        bulk_requests: counter_vec(
            &r,
            "siem_bulk_requests_total",
            "_bulk requests sent.",
            &["outcome"],
        ),
        bulk_duration,
        bulk_items: counter_vec(
            &r,
            "siem_bulk_items_total",
            "_bulk response items by status class.",
            &["status"],
        ),
        bulk_retries: counter_vec(
            &r,
            "siem_bulk_retries_total",
            "Bulk retries, of whole requests or of items.",
            &["reason"],
        ),
        messages_in_flight: gauge(
            &r,
            "siem_messages_in_flight",
            "SQS messages being processed.",
        ),
        objects_in_flight: gauge(&r, "siem_objects_in_flight", "S3 objects being read."),
        documents_in_flight: gauge(
            &r,
            "siem_documents_in_flight",
            "Documents normalized but not yet settled.",
        ),
        ack_lag,
        dead_letters: counter_vec(
            &r,
            "siem_dead_letters_total",
            "Records sent to the dead-letter store, by outcome of the write (written, failed).",
            &["log_type", "outcome"],
        ),
        visibility_extensions: counter_vec(
            &r,
            "siem_sqs_visibility_changes_total",
            "ChangeMessageVisibility calls: extended (heartbeat), released (shutdown), capped.",
            &["outcome"],
        ),
        queue_messages: {
            let g = prometheus::IntGaugeVec::new(
                Opts::new(
                    "siem_sqs_queue_messages",
                    "Approximate messages in the queue, by state.",
                ),
                &["state"],
            )
            .expect("valid metric definition");
            r.register(Box::new(g.clone())).expect("unique metric name");
            g
        },
        bytes_in_flight: gauge(
            &r,
            "siem_bytes_in_flight",
            "Bulk bytes between normalization and OpenSearch.",
        ),
        bytes_in_flight_limit: gauge(
            &r,
            "siem_bytes_in_flight_limit",
            "The configured most bulk bytes between normalization and OpenSearch (pipeline.max_bytes_in_flight).",
        ),
        opensearch_available: {
            let g = gauge(
                &r,
                "siem_opensearch_available",
                "1 while OpenSearch answers; 0 while it does not and receiving is paused.",
            );
            g.set(1);
            g
        },
        registry: r,
    }
});

impl Metrics {
    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// The status class label of a bulk item.
pub fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "2xx",
        409 => "409",
        429 => "429",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
