//! Bytes of an object → frames: [`compression`] undoes gzip/zstd, [`parquet`]
//! renders a Parquet file's rows as text lines, [`framing`] cuts the decoded
//! stream into one frame per record without ever holding the whole object.
//! None of them parses a record: that is the log type's job.

pub mod compression;
pub mod framing;
pub mod parquet;

pub use compression::Compression;
pub use framing::{FrameError, Framer, Framing};
