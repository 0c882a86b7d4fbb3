//! `siem-pipeline normalize`: reads local files as the pipeline would read S3
//! objects and prints the ECS documents as NDJSON, one
//! `{"_index":...,"_id":...,"_source":{...}}` per line. Per-record errors go to
//! the error writer with the file and record number, then a one-line summary.
//! Needs neither AWS nor OpenSearch: it is how a routing or mapping problem is
//! seen before deploying.
//!
//! Without a configuration the documents are exactly what the log types make
//! (the golden files are that), within the default `[pipeline]` limits. With
//! `--config`, its `[enrich]` section and its `[pipeline]` limits (longest
//! record, largest object, Parquet size, decompression ratio) apply as in
//! `run` ([`run_enriched`]), so that what each record gets from enrichment,
//! and which records a deployment refuses, can be seen too.

use std::io::{Read, Write};
use std::ops::ControlFlow;
use std::path::Path;

use serde_json::value::RawValue;

use crate::config::{IndexRotation, PipelineConfig};
use crate::document::{IndexNaming, ObjectIdentity};
use crate::enrich::Enrichers;
use crate::log_types::{self, LogType};
use crate::pipeline::{EncodedRecord, Limits, ObjectMeta, read_object_enriched};

/// How to pick the log type of each file.
#[derive(Debug, Clone)]
pub enum Routing {
    /// Route every file as if it were stored under this S3 key.
    Key(String),
    /// Use this log type for every file.
    LogType(String),
    /// Route each file by its own path, as if it were the S3 key.
    ByPath,
}

#[derive(Debug, thiserror::Error)]
pub enum NormalizeCommandError {
    #[error("{file}: cannot open: {source}")]
    Open {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: no log type matches key {key:?}; use --log-type NAME (known: {known})")]
    Unrouted {
        file: String,
        key: String,
        known: String,
    },
    #[error(transparent)]
    UnknownLogType(#[from] log_types::UnknownLogType),
    #[error("writing output: {0}")]
    Output(std::io::Error),
}

/// Totals over every file.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NormalizeSummary {
    pub files: u64,
    pub documents: u64,
    pub errors: u64,
}

/// Normalizes `files` without enrichment, within the default limits.
pub fn run(
    files: &[impl AsRef<Path>],
    routing: &Routing,
    index_prefix: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<NormalizeSummary, NormalizeCommandError> {
    let limits = Limits::from_config(&PipelineConfig::default());
    run_enriched(
        files,
        routing,
        index_prefix,
        &Enrichers::none(),
        limits,
        out,
        err,
    )
}

/// Normalizes `files` within `limits` and enriches every document with `enrichers`.
pub fn run_enriched(
    files: &[impl AsRef<Path>],
    routing: &Routing,
    index_prefix: &str,
    enrichers: &Enrichers,
    limits: Limits,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<NormalizeSummary, NormalizeCommandError> {
    let naming = IndexNaming {
        prefix: index_prefix.to_owned(),
        rotation: IndexRotation::Monthly,
    };
    let mut total = NormalizeSummary::default();
    for file in files {
        let path = file.as_ref();
        let display = path.display().to_string();
        let key = match routing {
            Routing::Key(k) => k.clone(),
            _ => display.clone(),
        };
        let log_type: &dyn LogType = match routing {
            Routing::LogType(name) => log_types::by_name(name)?,
            _ => log_types::route(&key).ok_or_else(|| NormalizeCommandError::Unrouted {
                file: display.clone(),
                key: key.clone(),
                known: log_types::REGISTRY
                    .iter()
                    .map(|t| t.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?,
        };
        let reader: Box<dyn Read + Send> = Box::new(std::fs::File::open(path).map_err(
            |source| NormalizeCommandError::Open {
                file: display.clone(),
                source,
            },
        )?);
        let identity = ObjectIdentity {
            bucket: "local".into(),
            key,
            version: String::new(),
            written_at: None,
        };
        let mut write_error = None;
        let mut on_record = |record: Result<EncodedRecord, _>| {
            let result = match record {
                Ok(r) => write_document(out, &r),
                Err(e) => writeln!(err, "{display}: {e}"),
            };
            match result {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    write_error = Some(e);
                    ControlFlow::Break(())
                }
            }
        };
        let summary = read_object_enriched(
            reader,
            &ObjectMeta::default(),
            &identity,
            log_type,
            &naming,
            limits,
            enrichers,
            &mut on_record,
        );
        if let Some(e) = write_error {
            return Err(NormalizeCommandError::Output(e));
        }
        total.files += 1;
        total.documents += summary.documents;
        total.errors += summary.record_errors;
    }
    writeln!(
        err,
        "{} file(s), {} document(s), {} record error(s)",
        total.files, total.documents, total.errors
    )
    .map_err(NormalizeCommandError::Output)?;
    Ok(total)
}

/// The enrichers of `config`'s `[enrich]` section, their data loaded (S3
/// sources with the `[aws]` settings). Nothing is watched for changes: the
/// command is over before a reload would matter.
pub fn load_enrichers(config: &crate::config::Config) -> std::io::Result<Enrichers> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(async {
        let e = &config.enrich;
        let needs_s3 = [&e.geoip_city, &e.geoip_asn, &e.accounts_file]
            .into_iter()
            .flatten()
            .chain(e.threat_intel.iter().map(|l| &l.location))
            .any(crate::enrich::Location::is_s3);
        let s3 = if needs_s3 {
            let sdk = crate::source::aws_sdk_config(&config.aws).await;
            Some(crate::source::aws_clients(&sdk, &config.aws).0)
        } else {
            None
        };
        Enrichers::start(e, crate::enrich::Fetcher { s3 }).await
    }))
}

/// Rewrites the bulk pair as one `{"_index","_id","_source"}` line.
fn write_document(out: &mut dyn Write, record: &EncodedRecord) -> std::io::Result<()> {
    let source = std::str::from_utf8(crate::document::source_line(&record.bulk)).unwrap_or("{}");
    let source: &RawValue = serde_json::from_str(source).map_err(std::io::Error::other)?;
    let line = serde_json::json!({"_index": record.index, "_id": record.id, "_source": source});
    serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}
