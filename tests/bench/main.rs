//! `siem-bench`: the driver of `tests/bench/run`. It generates realistic
//! objects, runs the pipeline's read path on them into a null sink or into
//! OpenSearch, and provides the reference loader that sends pre-encoded
//! documents to the same node. Timing and memory are measured from outside
//! (`/usr/bin/time`) by the script, so this program only does the work and
//! prints what it counted as one JSON line.
//!
//! ```text
//! siem-bench generate <cloudtrail|vpcflow|guardduty|elb|waf> <MiB> <out.gz>
//! siem-bench pipeline <log type> <threads> <file>         # null sink
//! siem-bench index <log type> <url> <prefix> <file>       # into OpenSearch
//! siem-bench encode <log type> <file> <out.ndjson>        # pre-encoded documents
//! siem-bench load <url> <in.ndjson>                       # minimal bulk loader
//! siem-bench setup <url> <prefix>                         # index templates for a prefix
//! ```

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use siem_pipeline::config::IndexRotation;
use siem_pipeline::document::{IndexNaming, ObjectIdentity};
use siem_pipeline::log_types;
use siem_pipeline::pipeline::{EncodedRecord, Limits, ObjectMeta, read_object};

/// The same allocator as the `siem-pipeline` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a = |i: usize| args.get(i).map(String::as_str).unwrap_or_else(|| usage());
    match a(0) {
        "generate" => generate(
            a(1),
            a(2).parse().unwrap_or_else(|_| usage()),
            Path::new(a(3)),
        ),
        "pipeline" => null_sink(
            a(1),
            a(2).parse().unwrap_or_else(|_| usage()),
            Path::new(a(3)),
        ),
        "encode" => encode(a(1), Path::new(a(2)), Path::new(a(3))),
        "index" => index(a(1), a(2), a(3), Path::new(a(4))),
        "load" => load(a(1), Path::new(a(2))),
        "setup" => setup(a(1), a(2)),
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!("usage: see the module documentation of tests/bench/main.rs");
    std::process::exit(2)
}

// -- generation -----------------------------------------------------------------

/// Writes a gzip object of about `mib` MiB uncompressed, varying the
/// project's fixture records so that no two records are equal.
fn generate(kind: &str, mib: u64, out: &Path) {
    let target = mib << 20;
    let file = File::create(out).expect("create output");
    let mut gz = flate2::write::GzEncoder::new(
        BufWriter::with_capacity(1 << 20, file),
        flate2::Compression::default(),
    );
    let mut written = 0u64;
    let mut n = 0u64;
    let root = siem_pipeline_tests::repo_root().join("tests/fixtures");
    // Objects generated with different seeds hold different events (ids).
    let seed: u64 = std::env::var("SIEM_BENCH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    match kind {
        "cloudtrail" => {
            let mut templates = Vec::new();
            for f in ["identities.json", "errors-and-console-logins.json"] {
                let v: Value = serde_json::from_str(
                    &std::fs::read_to_string(root.join("cloudtrail").join(f)).expect("fixture"),
                )
                .expect("fixture JSON");
                templates.extend(v["Records"].as_array().cloned().unwrap_or_default());
            }
            gz.write_all(b"{\"Records\":[").expect("write");
            while written < target {
                let mut r = templates[(n as usize) % templates.len()].clone();
                r["eventID"] = json!(format!("{:08x}-{seed:04x}-4000-8000-{:012x}", n >> 16, n));
                r["eventTime"] = json!(format!(
                    "2026-11-{:02}T{:02}:{:02}:{:02}Z",
                    1 + n % 28,
                    n % 24,
                    n % 60,
                    (n / 60) % 60
                ));
                r["sourceIPAddress"] = json!(format!("203.0.113.{}", n % 250));
                let mut line = serde_json::to_vec(&r).expect("encode");
                if n > 0 {
                    line.insert(0, b',');
                }
                gz.write_all(&line).expect("write");
                written += line.len() as u64;
                n += 1;
            }
            gz.write_all(b"]}").expect("write");
        }
        "vpcflow" => {
            let header = b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n";
            gz.write_all(header).expect("write");
            while written < target {
                let line = format!(
                    "2 123456789012 eni-0a1b2c3d4e5f6{:04x} 10.0.{}.{} 203.0.113.{} {} {} {} {} {} {} {} {} OK\n",
                    n % 4096,
                    (n / 250) % 250,
                    n % 250,
                    (n * 7) % 250,
                    1024 + n % 60000,
                    [443, 80, 22, 53, 3389][(n % 5) as usize],
                    [6, 17, 6, 6, 1][(n % 5) as usize],
                    1 + n % 90,
                    40 + (n * 13) % 90000,
                    1795833600 + n / 100,
                    1795833660 + n / 100,
                    if n.is_multiple_of(7) {
                        "REJECT"
                    } else {
                        "ACCEPT"
                    },
                );
                gz.write_all(line.as_bytes()).expect("write");
                written += line.len() as u64;
                n += 1;
            }
        }
        "guardduty" => {
            let mut templates = Vec::new();
            for f in std::fs::read_dir(root.join("guardduty"))
                .expect("fixtures")
                .flatten()
            {
                let p = f.path();
                if p.extension().is_some_and(|e| e == "jsonl") {
                    for l in std::fs::read_to_string(&p).expect("fixture").lines() {
                        let v: Value = serde_json::from_str(l).expect("fixture JSON");
                        if v.get("detail-type").is_none() {
                            templates.push(v);
                        }
                    }
                }
            }
            while written < target {
                let mut f = templates[(n as usize) % templates.len()].clone();
                f["id"] = json!(format!("{n:032x}"));
                f["updatedAt"] = json!(format!(
                    "2026-11-{:02}T{:02}:{:02}:{:02}.000Z",
                    1 + n % 28,
                    n % 24,
                    n % 60,
                    (n / 60) % 60
                ));
                let mut line = serde_json::to_vec(&f).expect("encode");
                line.push(b'\n');
                gz.write_all(&line).expect("write");
                written += line.len() as u64;
                n += 1;
            }
        }
        "elb" => {
            // The Application Load Balancer lines of the fixture, each client and time varied.
            let fixture = std::fs::read_to_string(root.join("elb/alb.log")).expect("fixture");
            let templates: Vec<&str> = fixture
                .lines()
                .filter(|l| l.matches('"').count() % 2 == 0)
                .collect();
            while written < target {
                let t = templates[(n as usize) % templates.len()];
                let mut fields: Vec<String> = t.splitn(5, ' ').map(str::to_owned).collect();
                fields[1] = format!(
                    "2026-11-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                    1 + n % 28,
                    n % 24,
                    n % 60,
                    (n / 60) % 60,
                    n % 1_000_000
                );
                fields[3] = format!("203.0.113.{}:{}", n % 250, 1024 + n % 60000);
                let mut line = fields.join(" ");
                line.push('\n');
                gz.write_all(line.as_bytes()).expect("write");
                written += line.len() as u64;
                n += 1;
            }
        }
        "waf" => {
            // The valid records of the S3 fixture, each client, time and request id varied.
            let fixture =
                std::fs::read_to_string(root.join("waf/s3-web-acl.log")).expect("fixture");
            let templates: Vec<Value> = fixture
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter(|v| v.get("timestamp").is_some())
                .collect();
            while written < target {
                let mut r = templates[(n as usize) % templates.len()].clone();
                r["timestamp"] = json!(1_795_996_800_000_u64 + n * 37);
                r["httpRequest"]["clientIp"] = json!(format!("203.0.113.{}", n % 250));
                r["httpRequest"]["requestId"] = json!(format!("1-{:08x}-{n:024x}", n >> 8));
                let mut line = serde_json::to_vec(&r).expect("encode");
                line.push(b'\n');
                gz.write_all(&line).expect("write");
                written += line.len() as u64;
                n += 1;
            }
        }
        _ => usage(),
    }
    gz.finish().expect("finish").flush().expect("flush");
    println!(
        "{}",
        json!({"kind": kind, "records": n, "uncompressed_bytes": written})
    );
}

// -- the read path ----------------------------------------------------------------

/// Runs decompress → frame → normalize → encode on `file`, handing each
/// document to `sink`. Returns (documents, record errors, decompressed bytes).
fn read_path(
    log_type: &str,
    prefix: &str,
    file: &Path,
    sink: &mut dyn FnMut(EncodedRecord),
) -> (u64, u64, u64) {
    let log_type = log_types::by_name(log_type).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let naming = IndexNaming {
        prefix: prefix.into(),
        rotation: IndexRotation::Monthly,
    };
    let identity = ObjectIdentity {
        bucket: "bench".into(),
        key: file.display().to_string(),
        version: "1".into(),
        written_at: None,
    };
    let reader = File::open(file).expect("open object");
    let mut on_record = |r: Result<EncodedRecord, _>| {
        if let Ok(r) = r {
            sink(r);
        }
        ControlFlow::Continue(())
    };
    let s = read_object(
        reader,
        &ObjectMeta::default(),
        &identity,
        log_type,
        &naming,
        Limits::default(),
        &mut on_record,
    );
    (s.documents, s.record_errors, s.decompressed_bytes)
}

/// The pipeline alone: documents are encoded and dropped. `threads` copies of
/// the object are read at once, one per thread.
fn null_sink(log_type: &str, threads: usize, file: &Path) {
    let started = Instant::now();
    let handles: Vec<_> = (0..threads.max(1))
        .map(|_| {
            let (t, f) = (log_type.to_owned(), file.to_owned());
            std::thread::spawn(move || {
                let mut bulk_bytes = 0u64;
                let (docs, errors, bytes) =
                    read_path(&t, "bench", &f, &mut |r| bulk_bytes += r.bulk.len() as u64);
                (docs, errors, bytes, bulk_bytes)
            })
        })
        .collect();
    let (mut docs, mut errors, mut bytes, mut bulk) = (0, 0, 0, 0);
    for h in handles {
        let (d, e, b, k) = h.join().expect("thread");
        docs += d;
        errors += e;
        bytes += b;
        bulk += k;
    }
    println!(
        "{}",
        json!({"documents": docs, "record_errors": errors, "decompressed_bytes": bytes, "bulk_bytes": bulk,
               "seconds": started.elapsed().as_secs_f64()})
    );
}

/// Writes the documents as a `_bulk` body, for the reference loader.
fn encode(log_type: &str, file: &Path, out: &Path) {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(out).expect("create"));
    let (docs, _, _) = read_path(log_type, "bench", file, &mut |r| {
        w.write_all(&r.bulk).expect("write")
    });
    w.flush().expect("flush");
    println!("{}", json!({"documents": docs}));
}

// -- OpenSearch ----------------------------------------------------------------------

/// Installs the pipeline's templates for `prefix`, as `siem-pipeline setup` does.
fn setup(url: &str, prefix: &str) {
    let config = siem_pipeline::config::OpenSearchConfig {
        url: url.to_owned(),
        index_prefix: prefix.to_owned(),
        index_rotation: IndexRotation::Monthly,
        request_timeout: std::time::Duration::from_secs(60),
        auth: siem_pipeline::config::OpenSearchAuth::None,
        ca_file: None,
    };
    let client = siem_pipeline::sink::OpenSearch::new(&config, None).expect("client");
    let n = runtime()
        .block_on(siem_pipeline::sink::templates::install(&client, prefix))
        .expect("templates install");
    println!("{}", json!({"templates": n}));
}

const BODY_BYTES: usize = 5 << 20;
const CONCURRENCY: usize = 2;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Sends bodies with `CONCURRENCY` requests in flight; returns item errors.
async fn send_bodies(url: &str, mut bodies: tokio::sync::mpsc::Receiver<Vec<u8>>) -> u64 {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let slots = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    while let Some(body) = bodies.recv().await {
        let permit = slots.clone().acquire_owned().await.expect("semaphore");
        let (client, url) = (client.clone(), format!("{url}/_bulk"));
        tasks.spawn(async move {
            let r = client
                .post(url)
                .header("content-type", "application/x-ndjson")
                .body(body)
                .send()
                .await
                .expect("bulk");
            let v: Value = r.json().await.expect("bulk response");
            drop(permit);
            v["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter(|i| i["create"]["status"].as_u64().unwrap_or(500) >= 300)
                        .count() as u64
                })
                .unwrap_or(u64::MAX)
        });
    }
    let mut errors = 0;
    while let Some(r) = tasks.join_next().await {
        errors += r.expect("task");
    }
    errors
}

/// `_bulk` bodies of about `BODY_BYTES`, sent with `CONCURRENCY` requests in
/// flight: the same shape for the system and for the ceiling.
struct BulkSender {
    rt: tokio::runtime::Runtime,
    tx: tokio::sync::mpsc::Sender<Vec<u8>>,
    sender: tokio::task::JoinHandle<u64>,
    body: Vec<u8>,
}

impl BulkSender {
    fn start(url: &str) -> Self {
        let rt = runtime();
        let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(CONCURRENCY);
        let url = url.to_owned();
        let sender = rt.spawn(async move { send_bodies(&url, rx).await });
        BulkSender {
            rt,
            tx,
            sender,
            body: Vec::with_capacity(BODY_BYTES + (1 << 20)),
        }
    }

    /// Appends one document (its action and source lines).
    fn push(&mut self, pair: &[u8]) {
        self.body.extend_from_slice(pair);
        if self.body.len() >= BODY_BYTES {
            let full =
                std::mem::replace(&mut self.body, Vec::with_capacity(BODY_BYTES + (1 << 20)));
            self.tx.blocking_send(full).expect("send");
        }
    }

    /// Sends the rest and waits; returns the item errors.
    fn finish(self) -> u64 {
        if !self.body.is_empty() {
            self.tx.blocking_send(self.body).expect("send");
        }
        drop(self.tx);
        self.rt.block_on(self.sender).expect("sender")
    }
}

/// The system: the read path feeding `_bulk` requests (5 MiB, 2 in flight),
/// the same shape as the pipeline's sink.
fn index(log_type: &str, url: &str, prefix: &str, file: &Path) {
    let mut bulk = BulkSender::start(url);
    let started = Instant::now();
    let (docs, _, bytes) = read_path(log_type, prefix, file, &mut |r| bulk.push(&r.bulk));
    let errors = bulk.finish();
    println!(
        "{}",
        json!({"documents": docs, "decompressed_bytes": bytes, "item_errors": errors, "seconds": started.elapsed().as_secs_f64()})
    );
}

/// The ceiling: pre-encoded documents, read from a file and sent as fast as
/// the node takes them, with the same body size and concurrency.
fn load(url: &str, file: &Path) {
    let mut bulk = BulkSender::start(url);
    let started = Instant::now();
    let mut reader = BufReader::with_capacity(1 << 20, File::open(file).expect("open"));
    let mut docs = 0u64;
    let mut pair = Vec::new();
    loop {
        pair.clear();
        // Action and source lines travel together.
        if reader.read_until(b'\n', &mut pair).expect("read") == 0
            || reader.read_until(b'\n', &mut pair).expect("read") == 0
        {
            break;
        }
        bulk.push(&pair);
        docs += 1;
    }
    let errors = bulk.finish();
    println!(
        "{}",
        json!({"documents": docs, "item_errors": errors, "seconds": started.elapsed().as_secs_f64()})
    );
}
