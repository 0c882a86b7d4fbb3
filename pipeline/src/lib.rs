//! siem-pipeline reads AWS security findings and logs that S3 announces on SQS,
//! normalizes every record to the Elastic Common Schema (ECS) and bulk-indexes it
//! into OpenSearch, deleting a queue message only once every record it names is
//! indexed.
//!
//! # Layout
//!
//! ```text
//!  SQS ──receive──▶ source::visibility (heartbeat from receipt)
//!   ▲                 │
//!   │                 ▼
//!   │              source::notification ──ObjectRef──▶ source::s3 (streaming GetObject)
//!   │               (S3 / SNS / EventBridge shapes)               │ bytes
//!   │                                                             ▼
//!   │    read (blocking thread): decode::compression ─▶ decode::framing ─▶ log_types::<type>
//!   │                            ─▶ enrich ─▶ document (index, deterministic _id, bulk pair)
//!   │                                                             │ Document (+ ack::Pending)
//!   │                                                             ▼
//!   │                                      budget ─▶ sink::batcher ─▶ sink::bulk (_bulk, item by item)
//!   │                                                             │ rejected / unreadable records
//!   │                                                             ▼
//!   └──delete── ack (every Pending done) ◀───────────── sink::dead_letter
//! ```
//!
//! [`pipeline`] is the only module that knows this order; every other module does
//! one stage and knows nothing of its neighbours. Reading an object ([`read`]) is
//! synchronous and runs on a blocking thread: it is CPU work on a stream that
//! never lives in memory as a whole. Everything that waits on the network is
//! async.
//!
//! | module | role |
//! |---|---|
//! | [`config`] | TOML file + `SIEM_*` overrides → validated [`config::Config`] |
//! | [`source`] | the [`source::Queue`] and [`source::ObjectStore`] traits, SQS and S3 over the AWS SDK, in-memory fakes, notification shapes, visibility heartbeats |
//! | [`read`] | one object, synchronously: decode, frame, normalize, enrich, encode |
//! | [`decode`] | compression detection and framing |
//! | [`log_types`] | one file per log type; routing by key or by name |
//! | [`ecs`] | helpers that build ECS documents |
//! | [`enrich`] | GeoIP/ASN, related fields, network direction, threat intelligence, account names |
//! | [`document`] | index naming, document ids, the bulk-ready [`document::Document`] |
//! | [`budget`] | `pipeline.max_bytes_in_flight`, shared by the readers |
//! | [`sink`] | batching, the OpenSearch `_bulk` client, the dead-letter store, an in-memory index |
//! | [`ack`] | a message is deleted only when every piece of its work is done |
//! | [`batch`] | the one "gather until full or late" loop (bulk requests, deletions, dead letters) |
//! | [`telemetry`] | typed events (log + count), metrics, health endpoints, logging setup |
//! | [`redrive`] | the `redrive` command: dead letters indexed again after a fix |
//! | [`normalize`] | the offline `normalize` command (no AWS, no OpenSearch) |
//! | [`temp_file`] | private temporary files for data read whole (Parquet objects, GeoIP databases) |
//! | [`dashboards`] | the OpenSearch Dashboards saved objects of `dashboards/` and their import (`setup`) |

pub mod ack;
pub mod backfill;
pub mod batch;
pub mod budget;
pub mod config;
pub mod dashboards;
pub mod decode;
pub mod document;
pub mod ecs;
pub mod enrich;
pub mod log_types;
pub mod normalize;
pub mod pipeline;
pub mod read;
pub mod redrive;
pub mod sink;
pub mod source;
pub mod status;
pub mod telemetry;
pub mod temp_file;
