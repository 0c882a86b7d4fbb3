//! Bytes of an object → frames: [`compression`] undoes gzip/zstd, [`framing`]
//! cuts the decompressed stream into one frame per record without ever holding
//! the whole object. Neither parses a record: that is the log type's job.

pub mod compression;
pub mod framing;

pub use compression::Compression;
pub use framing::{FrameError, Framer, Framing};
