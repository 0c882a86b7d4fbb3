//! Where documents go: [`batcher`] groups them into `_bulk` requests bounded
//! by bytes, count and time; [`bulk`] sends a batch and settles every document
//! item by item; [`dead_letter`] keeps what can never be indexed; [`intake`]
//! is where reading threads hand documents and failed records over;
//! [`circuit`] stops the receiving while the cluster does not answer;
//! [`opensearch`] is the HTTP client; [`templates`] installs the index
//! templates from `mappings/`; [`memory`] is an in-memory index for tests.

pub mod batcher;
pub mod bulk;
pub mod circuit;
pub mod dead_letter;
pub mod intake;
pub mod memory;
pub mod opensearch;
pub mod retention;
pub mod templates;

use futures::future::BoxFuture;

pub use opensearch::{OpenSearch, RawResponse, SinkError};

/// What the sink asks of the cluster: `POST /_bulk` with an NDJSON body (any
/// HTTP status is an answer; only a failed exchange is an error), and whether
/// it answers at all.
pub trait BulkApi: Send + Sync + 'static {
    fn bulk(&self, body: Vec<u8>) -> BoxFuture<'_, Result<RawResponse, SinkError>>;
    fn ping(&self) -> BoxFuture<'_, Result<(), SinkError>>;
}

impl BulkApi for OpenSearch {
    fn bulk(&self, body: Vec<u8>) -> BoxFuture<'_, Result<RawResponse, SinkError>> {
        Box::pin(self.request(
            ::opensearch::http::Method::Post,
            "/_bulk",
            "application/x-ndjson",
            Some(body),
        ))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(OpenSearch::ping(self))
    }
}
