//! siem-pipeline reads AWS security findings and logs that S3 announces on SQS,
//! normalizes every record to the Elastic Common Schema (ECS) and bulk-indexes it
//! into OpenSearch, deleting a queue message only once every record it names is
//! indexed.
//!
//! # Layout
//!
//! ```text
//!  SQS ──receive──▶ source::notification ──ObjectRef──▶ source::s3 (streaming GetObject)
//!   ▲                (S3 / SNS / EventBridge /            │ bytes
//!   │                 CloudTrail shapes)                  ▼
//!   │                                          decode::compression (gzip · zstd · none)
//!   │                                                     │ bytes
//!   │                                                     ▼
//!   │                                          decode::framing (lines · concatenated JSON ·
//!   │                                                     │  {"Records":[...]} streamed)
//!   │                                                     │ Frame
//!   │                                                     ▼
//!   │                                          log_types::<type>::normalize ──▶ ecs (builder)
//!   │                                                     │ Normalized
//!   │                                                     ▼
//!   │                                          enrich (geo, AS, threat intel, related, …)
//!   │                                                     │ Normalized
//!   │                                                     ▼
//!   │                                          document (index name, deterministic _id,
//!   │                                                     │  bulk encoding)
//!   │                                                     │ Document (+ ack token)
//!   │                                                     ▼
//!   └──delete── ack ◀── every record done ──── sink::batcher ──▶ sink::bulk (OpenSearch _bulk,
//!                                                                item-by-item retries)
//! ```
//!
//! [`pipeline`] is the only module that knows this order; every other module does
//! one stage and knows nothing of its neighbours. The decode → normalize → encode
//! stages are synchronous and run on blocking threads: they are CPU work on a
//! stream that never lives in memory as a whole. Everything that waits on the
//! network is async.
//!
//! | module | role |
//! |---|---|
//! | [`config`] | TOML file + `SIEM_*` overrides → validated [`config::Config`] |
//! | [`source`] | SQS receive/delete, notification shapes, S3 object streams |
//! | [`decode`] | compression detection and framing |
//! | [`log_types`] | one file per log type; routing by key or by name |
//! | [`ecs`] | helpers that build ECS documents |
//! | [`enrich`] | GeoIP/ASN, related fields, network direction, threat intelligence, account names |
//! | [`document`] | index naming, document ids, the bulk-ready [`document::Document`] |
//! | [`sink`] | batching and the OpenSearch `_bulk` client |
//! | [`ack`] | per-message completion tracking |
//! | [`telemetry`] | metrics, health endpoints and logging setup |
//! | [`normalize`] | the offline `normalize` command (no AWS, no OpenSearch) |
//! | [`dashboards`] | the OpenSearch Dashboards saved objects of `dashboards/` and their import (`setup`) |

pub mod ack;
pub mod config;
pub mod dashboards;
pub mod decode;
pub mod document;
pub mod ecs;
pub mod enrich;
pub mod log_types;
pub mod normalize;
pub mod pipeline;
pub mod sink;
pub mod source;
pub mod telemetry;
