//! Which compression an object uses, and a reader that undoes it.
//!
//! The decision is made in this order, most trustworthy first: the magic bytes
//! at the start of the stream, then the object's `Content-Encoding`, then its
//! `Content-Type`, then the key's suffix. Gzip streams are read with every
//! member (`MultiGzDecoder`): Firehose and `cat a.gz b.gz` produce multi-member
//! files, and a single-member decoder would silently stop after the first.

use std::io::{self, BufRead, Read};

use flate2::bufread::MultiGzDecoder;

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    None,
}

impl Compression {
    pub fn label(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::None => "none",
        }
    }

    /// Decides from the first bytes of the stream and what S3 says of it.
    pub fn detect(
        head: &[u8],
        content_encoding: Option<&str>,
        content_type: Option<&str>,
        key: &str,
    ) -> Compression {
        if head.starts_with(GZIP_MAGIC) {
            return Compression::Gzip;
        }
        if head.starts_with(ZSTD_MAGIC) {
            return Compression::Zstd;
        }
        // A stream long enough to hold a magic number that holds none is not
        // compressed, whatever its metadata claims.
        if head.len() >= ZSTD_MAGIC.len() {
            return Compression::None;
        }
        let from_name = |name: &str| {
            let name = name.trim().to_ascii_lowercase();
            if name.contains("gzip") {
                Some(Compression::Gzip)
            } else if name.contains("zstd") {
                Some(Compression::Zstd)
            } else {
                None
            }
        };
        content_encoding
            .and_then(from_name)
            .or_else(|| content_type.and_then(from_name))
            .or_else(|| {
                let key = key.to_ascii_lowercase();
                if key.ends_with(".gz") || key.ends_with(".gzip") {
                    Some(Compression::Gzip)
                } else if key.ends_with(".zst") || key.ends_with(".zstd") {
                    Some(Compression::Zstd)
                } else {
                    None
                }
            })
            .unwrap_or(Compression::None)
    }

    /// Wraps `reader` in the matching decoder.
    pub fn decoder<'a, R: BufRead + Send + 'a>(
        self,
        reader: R,
    ) -> io::Result<Box<dyn Read + Send + 'a>> {
        Ok(match self {
            Compression::Gzip => Box::new(MultiGzDecoder::new(reader)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(reader)?),
            Compression::None => Box::new(reader),
        })
    }
}

/// A stream whose first bytes were read: them, then the rest.
pub type Headed<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// How many bytes detection looks at: the longest magic number (zstd's, and
/// Parquet's `PAR1`).
pub const HEAD_LEN: usize = 4;

/// Reads the first [`HEAD_LEN`] bytes of `reader` (fewer only when it ends
/// sooner), however few bytes each read returns, and gives them back with a
/// reader that yields them again before the rest. A network stream's first
/// read may hold a single byte: too few to see a magic number in.
pub fn read_head<R: Read>(mut reader: R) -> io::Result<(Vec<u8>, Headed<R>)> {
    let mut head = Vec::with_capacity(HEAD_LEN);
    (&mut reader).take(HEAD_LEN as u64).read_to_end(&mut head)?;
    Ok((head.clone(), io::Cursor::new(head).chain(reader)))
}

/// Stops a decompression bomb: fails once more than `limit` bytes came out.
pub struct LimitedRead<R> {
    inner: R,
    remaining: u64,
    limit: u64,
}

impl<R: Read> LimitedRead<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        LimitedRead {
            inner,
            remaining: limit,
            limit,
        }
    }
}

impl<R: Read> Read for LimitedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            // One more byte tells "exactly at the limit" from "over it".
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "decompressed size exceeds the limit of {} bytes",
                        self.limit
                    ),
                )),
            };
        }
        let max = buf
            .len()
            .min(self.remaining.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..max])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).expect("write");
        e.finish().expect("finish")
    }

    fn read_all(c: Compression, bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        c.decoder(bytes)?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn magic_bytes_win_over_metadata_and_suffix() {
        let gz = gzip(b"hello");
        assert_eq!(
            Compression::detect(&gz, Some("zstd"), None, "a.zst"),
            Compression::Gzip
        );
        let zst = zstd::encode_all(&b"hello"[..], 1).expect("zstd");
        assert_eq!(
            Compression::detect(&zst, Some("gzip"), None, "a.gz"),
            Compression::Zstd
        );
        assert_eq!(
            Compression::detect(b"{\"a\":1}", Some("gzip"), None, "a.gz"),
            Compression::None
        );
    }

    #[test]
    fn short_streams_fall_back_to_encoding_then_type_then_suffix() {
        assert_eq!(
            Compression::detect(b"", Some("gzip"), Some("application/zstd"), "a"),
            Compression::Gzip
        );
        assert_eq!(
            Compression::detect(b"", None, Some("application/zstd"), "a.gz"),
            Compression::Zstd
        );
        assert_eq!(
            Compression::detect(b"", None, None, "a.json.GZ"),
            Compression::Gzip
        );
        assert_eq!(
            Compression::detect(b"", None, None, "a.log"),
            Compression::None
        );
    }

    #[test]
    fn every_gzip_member_is_read() {
        let mut two = gzip(b"first\n");
        two.extend(gzip(b"second\n"));
        assert_eq!(
            read_all(Compression::Gzip, &two).expect("decodes"),
            b"first\nsecond\n"
        );
    }

    #[test]
    fn zstd_and_none_round_trip() {
        let zst = zstd::encode_all(&b"zz"[..], 3).expect("zstd");
        assert_eq!(read_all(Compression::Zstd, &zst).expect("decodes"), b"zz");
        assert_eq!(
            read_all(Compression::None, b"plain").expect("reads"),
            b"plain"
        );
    }

    #[test]
    fn truncated_gzip_is_an_io_error_not_a_panic() {
        let gz = gzip(&b"x".repeat(10_000));
        let err = read_all(Compression::Gzip, &gz[..gz.len() / 2]).expect_err("an error");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn limited_read_stops_a_decompression_bomb() {
        let bomb = gzip(&vec![0u8; 1 << 20]);
        let mut out = Vec::new();
        let err = LimitedRead::new(Compression::Gzip.decoder(&bomb[..]).expect("decoder"), 1000)
            .read_to_end(&mut out)
            .expect_err("an error");
        assert!(err.to_string().contains("exceeds the limit"), "{err}");
        let mut exact = Vec::new();
        LimitedRead::new(&b"12345"[..], 5)
            .read_to_end(&mut exact)
            .expect("at the limit is fine");
        assert_eq!(exact, b"12345");
    }
}
