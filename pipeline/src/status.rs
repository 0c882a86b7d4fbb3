//! `siem-pipeline status`: one screen for an operator, gathered from where
//! the facts are — the queue and its dead-letter queue (SQS attributes), a
//! running task's `/metrics` (two scrapes, for rates), the indices
//! (`_cat/indices`) and the dead-letter store (its newest letters).
//!
//! Each part is gathered on its own: one that cannot be reached is shown as
//! unavailable, with why, and the others are still shown.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName as A;
use opensearch::http::Method;
use serde_json::Value;

use crate::sink::OpenSearch;
use crate::sink::dead_letter::DeadLetterStore;

/// One queue's depth.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Depth {
    pub name: String,
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

/// The queue, and its dead-letter queue when its redrive policy names one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStatus {
    pub queue: Depth,
    pub dead_letter_queue: Option<Depth>,
}

fn depth(name: String, attrs: &std::collections::HashMap<A, String>) -> Depth {
    let get = |a: A| attrs.get(&a).and_then(|v| v.parse().ok()).unwrap_or(0);
    Depth {
        name,
        visible: get(A::ApproximateNumberOfMessages),
        in_flight: get(A::ApproximateNumberOfMessagesNotVisible),
        delayed: get(A::ApproximateNumberOfMessagesDelayed),
    }
}

fn of_dlq(name: &str, e: &dyn std::error::Error) -> String {
    format!(
        "dead-letter queue {name}: {}",
        crate::telemetry::error_chain(e)
    )
}

fn queue_name(url: &str) -> String {
    url.rsplit('/').next().unwrap_or(url).to_owned()
}

/// The queue's depth and its dead-letter queue's.
pub async fn queue(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<QueueStatus, String> {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::All)
        .send()
        .await
        .map_err(|e| crate::telemetry::error_chain(&e))?
        .attributes
        .unwrap_or_default();
    let mut status = QueueStatus {
        queue: depth(queue_name(url), &attrs),
        dead_letter_queue: None,
    };
    let target = attrs
        .get(&A::RedrivePolicy)
        .and_then(|p| serde_json::from_str::<Value>(p).ok())
        .and_then(|p| p["deadLetterTargetArn"].as_str().map(str::to_owned));
    if let Some(arn) = target {
        let name = arn.rsplit(':').next().unwrap_or(&arn).to_owned();
        let dlq_url = sqs
            .get_queue_url()
            .queue_name(&name)
            .send()
            .await
            .map_err(|e| of_dlq(&name, &e))?
            .queue_url
            .unwrap_or_default();
        let dlq = sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(A::All)
            .send()
            .await
            .map_err(|e| of_dlq(&name, &e))?
            .attributes
            .unwrap_or_default();
        status.dead_letter_queue = Some(depth(name, &dlq));
    }
    Ok(status)
}

/// The indices of one log type (or of the current findings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexGroup {
    pub indices: u64,
    pub documents: u64,
    pub bytes: u64,
}

/// Indices under `prefix`, grouped by what follows the prefix up to the
/// date (`cloudtrail`, `vpcflow`, …; `findings_current`).
pub async fn indices(
    client: &OpenSearch,
    prefix: &str,
) -> Result<BTreeMap<String, IndexGroup>, String> {
    let path = format!(
        "/_cat/indices/{prefix}-*,{prefix}_*?format=json&bytes=b&h=index,docs.count,store.size&expand_wildcards=open"
    );
    let response = client
        .json(Method::Get, &path, None)
        .await
        .map_err(|e| e.to_string())?;
    let rows: Vec<Value> = serde_json::from_slice(&response.body).map_err(|e| e.to_string())?;
    Ok(group_indices(&rows, prefix))
}

fn group_indices(rows: &[Value], prefix: &str) -> BTreeMap<String, IndexGroup> {
    let mut groups: BTreeMap<String, IndexGroup> = BTreeMap::new();
    for row in rows {
        let Some(index) = row["index"].as_str() else {
            continue;
        };
        let Some(rest) = index.strip_prefix(prefix) else {
            continue;
        };
        let rest = rest.trim_start_matches(['-', '_']);
        // `<log type>-YYYY.MM[.DD]`: the date goes.
        let group = match rest.rsplit_once('-') {
            Some((name, date)) if date.starts_with(|c: char| c.is_ascii_digit()) => name,
            _ => rest,
        };
        let number = |k: &str| {
            row[k]
                .as_str()
                .and_then(|v| v.parse::<u64>().ok())
                .or_else(|| row[k].as_u64())
                .unwrap_or(0)
        };
        let g = groups.entry(group.to_owned()).or_default();
        g.indices += 1;
        g.documents += number("docs.count");
        g.bytes += number("store.size");
    }
    groups
}

/// A dead letter, as the status screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterSummary {
    pub time: String,
    pub log_type: String,
    pub error_type: String,
    pub reason: String,
    /// `s3://bucket/key#ordinal`
    pub record: String,
}

/// The `n` newest letters of the newest day in `store`, newest first, and
/// how many files that day holds.
pub async fn last_letters(
    store: &dyn DeadLetterStore,
    n: usize,
) -> Result<(Vec<LetterSummary>, usize), String> {
    let mut names = store.list().await.map_err(|e| e.to_string())?;
    names.sort();
    let Some(day) = names
        .last()
        .and_then(|n| n.rsplit_once('/'))
        .map(|(d, _)| d.to_owned())
    else {
        return Ok((Vec::new(), 0));
    };
    let of_day: Vec<String> = names
        .into_iter()
        .filter(|n| n.rsplit_once('/').is_some_and(|(d, _)| d == day))
        .collect();
    let files = of_day.len();
    let mut letters = Vec::new();
    for name in of_day {
        let body = store.read(name).await.map_err(|e| e.to_string())?;
        for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let Ok(v) = serde_json::from_slice::<Value>(line) else {
                continue;
            };
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            letters.push(LetterSummary {
                time: s("time"),
                log_type: s("log_type"),
                error_type: s("error_type"),
                reason: s("reason"),
                record: format!("s3://{}/{}#{}", s("bucket"), s("key"), v["ordinal"]),
            });
        }
    }
    letters.sort_by(|a, b| b.time.cmp(&a.time));
    letters.truncate(n);
    Ok((letters, files))
}

/// Counters and gauges of one `/metrics` scrape, summed over labels, by
/// `name` and by `name{label="value"}` for the labels kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape(BTreeMap<String, f64>);

impl Scrape {
    /// Parses the Prometheus text format; lines it does not understand are skipped.
    pub fn parse(text: &str) -> Scrape {
        let mut values = BTreeMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, labels.trim_end_matches('}')),
                None => (series, ""),
            };
            *values.entry(name.to_owned()).or_default() += value;
            for label in labels.split(',').filter(|l| !l.is_empty()) {
                if let Some((k, v)) = label.split_once('=')
                    && matches!(k, "outcome" | "status")
                {
                    *values
                        .entry(format!("{name}{{{k}={}}}", v.trim_matches('"')))
                        .or_default() += value;
                }
            }
        }
        Scrape(values)
    }

    pub fn get(&self, series: &str) -> f64 {
        self.0.get(series).copied().unwrap_or(0.0)
    }
}

/// What a running task did between two scrapes.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub window: Duration,
    pub records_per_sec: f64,
    pub indexed_per_sec: f64,
    pub item_errors_per_sec: f64,
    pub dead_letters_per_sec: f64,
    pub messages_in_flight: f64,
    pub objects_in_flight: f64,
    pub bytes_in_flight: f64,
    pub opensearch_available: bool,
}

impl Activity {
    pub fn between(before: &Scrape, after: &Scrape, window: Duration) -> Activity {
        let secs = window.as_secs_f64().max(0.001);
        let rate = |s: &str| ((after.get(s) - before.get(s)) / secs).max(0.0);
        let items = rate("siem_bulk_items_total");
        Activity {
            window,
            records_per_sec: rate("siem_records_total"),
            indexed_per_sec: rate("siem_records_total{outcome=indexed}"),
            item_errors_per_sec: (items - rate("siem_bulk_items_total{status=2xx}")).max(0.0),
            dead_letters_per_sec: rate("siem_dead_letters_total"),
            messages_in_flight: after.get("siem_messages_in_flight"),
            objects_in_flight: after.get("siem_objects_in_flight"),
            bytes_in_flight: after.get("siem_bytes_in_flight"),
            opensearch_available: after.get("siem_opensearch_available") > 0.0,
        }
    }
}

/// Scrapes `url` twice, `window` apart.
pub async fn activity(url: &str, window: Duration) -> Result<Activity, String> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let scrape = || async {
        let text = http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| crate::telemetry::error_chain(&e))?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(Scrape::parse(&text))
    };
    let before = scrape().await?;
    tokio::time::sleep(window).await;
    let after = scrape().await?;
    Ok(Activity::between(&before, &after, window))
}

/// The newest letters of a store and how many files their day holds, or why
/// they could not be read.
pub type Letters = Result<(Vec<LetterSummary>, usize), String>;

/// Everything the screen shows; each part is its value or why it is missing.
#[derive(Debug)]
pub struct Status {
    pub queue: Result<QueueStatus, String>,
    pub activity: Option<(String, Result<Activity, String>)>,
    pub prefix: String,
    pub indices: Result<BTreeMap<String, IndexGroup>, String>,
    pub letters: Option<(String, Letters)>,
}

fn bytes(n: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        match &self.queue {
            Ok(q) => {
                let d = &q.queue;
                let _ = writeln!(
                    out,
                    "queue {}: {} visible, {} in flight, {} delayed",
                    d.name, d.visible, d.in_flight, d.delayed
                );
                match &q.dead_letter_queue {
                    Some(d) => {
                        let _ = writeln!(
                            out,
                            "  dead-letter queue {}: {} message(s)",
                            d.name,
                            d.visible + d.in_flight + d.delayed
                        );
                    }
                    None => {
                        let _ = writeln!(out, "  no dead-letter queue (no redrive policy)");
                    }
                }
            }
            Err(e) => {
                let _ = writeln!(out, "queue: unavailable: {e}");
            }
        }
        match &self.activity {
            Some((url, Ok(a))) => {
                let _ = writeln!(
                    out,
                    "task {url}, over {}s: {:.1} records/s, {:.1} indexed/s, {:.1} item errors/s, {:.1} dead letters/s",
                    a.window.as_secs(),
                    a.records_per_sec,
                    a.indexed_per_sec,
                    a.item_errors_per_sec,
                    a.dead_letters_per_sec
                );
                let _ = writeln!(
                    out,
                    "  in flight: {} message(s), {} object(s), {}; OpenSearch {}",
                    a.messages_in_flight,
                    a.objects_in_flight,
                    bytes(a.bytes_in_flight),
                    if a.opensearch_available {
                        "available"
                    } else {
                        "unavailable"
                    }
                );
            }
            Some((url, Err(e))) => {
                let _ = writeln!(out, "task {url}: unavailable: {e}");
            }
            None => {
                let _ = writeln!(out, "task: no metrics address (--metrics URL)");
            }
        }
        match &self.indices {
            Ok(groups) => {
                let _ = writeln!(out, "indices {}-*:", self.prefix);
                let _ = writeln!(
                    out,
                    "  {:<20} {:>8} {:>12} {:>12}",
                    "", "indices", "documents", "size"
                );
                for (name, g) in groups {
                    let _ = writeln!(
                        out,
                        "  {:<20} {:>8} {:>12} {:>12}",
                        name,
                        g.indices,
                        g.documents,
                        bytes(g.bytes as f64)
                    );
                }
                if groups.is_empty() {
                    let _ = writeln!(out, "  none yet");
                }
            }
            Err(e) => {
                let _ = writeln!(out, "indices: unavailable: {e}");
            }
        }
        match &self.letters {
            Some((store, Ok((letters, files)))) => {
                let _ = writeln!(
                    out,
                    "dead letters {store}: {} newest of the latest day's {files} file(s)",
                    letters.len()
                );
                for l in letters {
                    let _ = writeln!(
                        out,
                        "  {} {} {}: {} ({})",
                        l.time, l.log_type, l.error_type, l.reason, l.record
                    );
                }
            }
            Some((store, Err(e))) => {
                let _ = writeln!(out, "dead letters {store}: unavailable: {e}");
            }
            None => {
                let _ = writeln!(out, "dead letters: no store configured");
            }
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rates_come_from_two_scrapes_of_the_counters() {
        let before = Scrape::parse(
            "# HELP x\nsiem_records_total{log_type=\"vpcflow\",outcome=\"indexed\"} 100\n\
             siem_records_total{log_type=\"vpcflow\",outcome=\"malformed\"} 4\n\
             siem_bulk_items_total{status=\"2xx\"} 100\nsiem_bulk_items_total{status=\"4xx\"} 1\n\
             siem_messages_in_flight 3\n",
        );
        let after = Scrape::parse(
            "siem_records_total{log_type=\"vpcflow\",outcome=\"indexed\"} 600\n\
             siem_records_total{log_type=\"vpcflow\",outcome=\"malformed\"} 14\n\
             siem_bulk_items_total{status=\"2xx\"} 600\nsiem_bulk_items_total{status=\"4xx\"} 11\n\
             siem_messages_in_flight 2\nsiem_opensearch_available 1\n",
        );
        let a = Activity::between(&before, &after, Duration::from_secs(5));
        assert_eq!(a.records_per_sec, 102.0);
        assert_eq!(a.indexed_per_sec, 100.0);
        assert_eq!(a.item_errors_per_sec, 2.0);
        assert_eq!(a.messages_in_flight, 2.0);
        assert!(a.opensearch_available);
    }

    #[test]
    fn indices_are_grouped_by_log_type_without_their_date() {
        let rows = [
            json!({"index": "siem-cloudtrail-2026.10", "docs.count": "10", "store.size": "1000"}),
            json!({"index": "siem-cloudtrail-2026.11", "docs.count": "5", "store.size": "500"}),
            json!({"index": "siem-linux_auth_file-2026.11.28", "docs.count": "2", "store.size": "20"}),
            json!({"index": "siem_findings_current", "docs.count": "7", "store.size": "70"}),
        ];
        let g = group_indices(&rows, "siem");
        assert_eq!(
            g["cloudtrail"],
            IndexGroup {
                indices: 2,
                documents: 15,
                bytes: 1500
            }
        );
        assert_eq!(g["linux_auth_file"].documents, 2);
        assert_eq!(g["findings_current"].documents, 7);
        assert_eq!(g.len(), 3);
    }
}
