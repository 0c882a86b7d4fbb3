//! Where documents go: [`batcher`] groups them into `_bulk` requests bounded
//! by bytes, count and time; [`bulk`] sends a batch and settles every document
//! item by item; [`opensearch`] is the HTTP client; [`templates`] installs the
//! index templates from `mappings/`.

pub mod batcher;
pub mod bulk;
pub mod dead_letter;
pub mod opensearch;
pub mod templates;

pub use opensearch::{OpenSearch, SinkError};
