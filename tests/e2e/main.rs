//! End-to-end tests: real S3/SQS/SNS (moto) and a real OpenSearch node, the
//! pipeline running in-process exactly as the binary runs it. Start the stack
//! with `deploy/local/stack up`, or run everything with `tests/run`.

mod backfill;
mod cloudtrail;
mod conformance_logs;
mod cross_account;
mod delivery;
mod enrichment;
mod findings;
mod foundation;
mod investigation;
mod logs;
mod operations;
mod retention;
mod status;
