//! Per-stage and per-log-type throughput, on the project's own fixtures
//! repeated into objects of a few MiB. Throughput is reported in bytes of
//! uncompressed input (MB/s) and, where it means something, in records.
//!
//! `cargo bench -p siem-pipeline --bench stages` (add `-- --quick` for a short run).

use std::hint::black_box;
use std::io::{Read, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use siem_pipeline::config::IndexRotation;
use siem_pipeline::decode::{Compression, Framer, Framing};
use siem_pipeline::document::{IndexNaming, ObjectIdentity, document_id, encode_bulk};
use siem_pipeline::enrich::Additions;
use siem_pipeline::log_types::{self, Normalized};
use siem_pipeline::pipeline::{Limits, ObjectMeta, read_object};
use siem_pipeline::source::notification;

/// The allocator the `siem-pipeline` binary runs with, so that figures match production.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// A plain object of about `target` bytes for `log_type`, built from its fixtures.
fn object(log_type: &str, target: usize) -> Vec<u8> {
    let dir = fixtures().join(log_type);
    let mut out = Vec::with_capacity(target + 65536);
    match log_type {
        "cloudtrail" => {
            let text = std::fs::read_to_string(dir.join("identities.json")).expect("fixture");
            let v: serde_json::Value = serde_json::from_str(&text).expect("json");
            let records = v["Records"].as_array().cloned().unwrap_or_default();
            out.extend_from_slice(b"{\"Records\":[");
            let mut i = 0;
            while out.len() < target {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut out, &records[i % records.len()]).expect("encode");
                i += 1;
            }
            out.extend_from_slice(b"]}");
        }
        "vpcflow" => {
            let text = std::fs::read_to_string(dir.join("v2-default.log")).expect("fixture");
            let mut lines = text.lines();
            let header = lines.next().expect("header");
            let body: Vec<&str> = lines.collect();
            out.extend_from_slice(header.as_bytes());
            out.push(b'\n');
            let mut i = 0;
            while out.len() < target {
                out.extend_from_slice(body[i % body.len()].as_bytes());
                out.push(b'\n');
                i += 1;
            }
        }
        _ => {
            let mut lines = Vec::new();
            for f in std::fs::read_dir(&dir).expect("fixtures").flatten() {
                let p = f.path();
                if p.extension().is_some_and(|e| e == "jsonl") {
                    lines.extend(
                        std::fs::read_to_string(&p)
                            .expect("fixture")
                            .lines()
                            .map(str::to_owned),
                    );
                }
            }
            let mut i = 0;
            while out.len() < target {
                out.extend_from_slice(lines[i % lines.len()].as_bytes());
                out.push(b'\n');
                i += 1;
            }
        }
    }
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

fn frames(data: &[u8], framing: Framing) -> Vec<Vec<u8>> {
    let mut framer = Framer::new(data, framing, 16 << 20);
    let mut out = Vec::new();
    while let Ok(Some((_, f))) = framer.next_frame() {
        out.push(f.to_vec());
    }
    out
}

const SIZE: usize = 4 << 20;
const TYPES: &[&str] = &["cloudtrail", "vpcflow", "guardduty"];

fn notification_parsing(c: &mut Criterion) {
    let body = serde_json::json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-28T07:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "logs"}, "object": {"key": "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/28/123456789012_CloudTrail_us-east-1_20261128T0700Z_a1b2.json.gz", "size": 12345, "eTag": "abc"}}}]})
    .to_string();
    let mut g = c.benchmark_group("notification");
    g.throughput(Throughput::Elements(1));
    g.bench_function("s3_event", |b| {
        b.iter(|| notification::parse(black_box(&body)))
    });
    g.finish();
}

fn decompression(c: &mut Criterion) {
    let mut g = c.benchmark_group("decompress");
    for t in TYPES {
        let plain = object(t, SIZE);
        let gz = gzip(&plain);
        g.throughput(Throughput::Bytes(plain.len() as u64));
        g.bench_function(*t, |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(plain.len());
                Compression::Gzip
                    .decoder(&gz[..])
                    .expect("decoder")
                    .read_to_end(&mut out)
                    .expect("read");
                out
            })
        });
    }
    g.finish();
}

fn framing(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame");
    for t in TYPES {
        let plain = object(t, SIZE);
        let framing = log_types::by_name(t).expect("log type").framing();
        g.throughput(Throughput::Bytes(plain.len() as u64));
        g.bench_function(*t, |b| {
            b.iter(|| {
                let mut framer = Framer::new(&plain[..], framing, 16 << 20);
                let mut n = 0usize;
                while let Ok(Some((_, f))) = framer.next_frame() {
                    n += f.len();
                }
                n
            })
        });
    }
    g.finish();
}

fn normalization(c: &mut Criterion) {
    let mut g = c.benchmark_group("normalize");
    for t in TYPES {
        let log_type = log_types::by_name(t).expect("log type");
        let plain = object(t, SIZE);
        let frames = frames(&plain, log_type.framing());
        g.throughput(Throughput::Bytes(
            frames.iter().map(|f| f.len() as u64 + 1).sum(),
        ));
        g.bench_function(*t, |b| {
            b.iter(|| {
                let mut normalizer = log_type.normalizer();
                let mut out = Vec::new();
                for f in &frames {
                    let _ = normalizer.normalize(f, &mut out);
                    out.clear();
                }
            })
        });
    }
    g.finish();
}

fn encoding(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    let identity = ObjectIdentity {
        bucket: "b".into(),
        key: "k".into(),
        version: "v".into(),
        written_at: None,
    };
    for t in TYPES {
        let log_type = log_types::by_name(t).expect("log type");
        let plain = object(t, SIZE);
        let mut normalizer = log_type.normalizer();
        let mut docs: Vec<Normalized> = Vec::new();
        for f in frames(&plain, log_type.framing()) {
            let _ = normalizer.normalize(&f, &mut docs);
        }
        g.throughput(Throughput::Elements(docs.len() as u64));
        g.bench_function(*t, |b| {
            b.iter(|| {
                let naming = IndexNaming {
                    prefix: "siem".into(),
                    rotation: IndexRotation::Monthly,
                };
                let mut bytes = 0;
                for (i, d) in docs.iter().enumerate() {
                    let index = naming.index(t, d.timestamp);
                    let id = document_id(t, &d.id, &identity, i as u64, 0);
                    bytes += encode_bulk(&index, &id, d, &Additions::default()).len();
                }
                bytes
            })
        });
    }
    g.finish();
}

fn whole_object(c: &mut Criterion) {
    let mut g = c.benchmark_group("read_object");
    g.sample_size(10);
    let identity = ObjectIdentity {
        bucket: "b".into(),
        key: "k".into(),
        version: "v".into(),
        written_at: None,
    };
    let naming = IndexNaming {
        prefix: "siem".into(),
        rotation: IndexRotation::Monthly,
    };
    for t in TYPES {
        let log_type = log_types::by_name(t).expect("log type");
        let plain = object(t, SIZE);
        let gz = gzip(&plain);
        g.throughput(Throughput::Bytes(plain.len() as u64));
        g.bench_function(*t, |b| {
            b.iter(|| {
                let mut n = 0usize;
                let mut on_record = |r: Result<_, _>| {
                    if let Ok(r) = r {
                        let r: siem_pipeline::pipeline::EncodedRecord = r;
                        n += r.bulk.len();
                    }
                    ControlFlow::Continue(())
                };
                read_object(
                    &gz[..],
                    &ObjectMeta::default(),
                    &identity,
                    log_type,
                    &naming,
                    Limits::default(),
                    &mut on_record,
                );
                n
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    notification_parsing,
    decompression,
    framing,
    normalization,
    encoding,
    whole_object
);
criterion_main!(benches);
