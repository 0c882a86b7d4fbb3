//! What each fuzz target does with its input, one function per target, so
//! that a crash found by `cargo fuzz` is replayed by calling the same
//! function. Every function must return, without panicking, on any input.

use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use siem_pipeline::decode::compression::{Compression, LimitedRead, read_head};
use siem_pipeline::decode::parquet::ParquetLines;
use siem_pipeline::decode::{FrameError, Framer, Framing};
use siem_pipeline::log_types::{self, REGISTRY};

/// An SQS message body, as a notification.
pub fn notification(data: &[u8]) {
    if let Ok(body) = std::str::from_utf8(data) {
        let _ = siem_pipeline::source::notification::parse(body);
    }
}

/// The first byte picks the key's suffix; the rest is an object, detected
/// and decompressed within a bound.
pub fn decompression(data: &[u8]) {
    let Some((&pick, object)) = data.split_first() else {
        return;
    };
    let key = ["a.json", "a.json.gz", "a.log.zst"][usize::from(pick) % 3];
    let Ok((head, reader)) = read_head(object) else {
        return;
    };
    let compression = Compression::detect(&head, None, None, key);
    let Ok(decoder) = compression.decoder(BufReader::new(reader)) else {
        return;
    };
    let mut limited = LimitedRead::new(decoder, 1 << 20);
    let _ = io::copy(&mut limited, &mut io::sink());
}

/// A buffered reader that hands its input out in chunks of the given sizes.
pub struct Chunked<'a> {
    data: &'a [u8],
    pos: usize,
    end: usize,
    sizes: &'a [u8],
    turn: usize,
}

impl<'a> Chunked<'a> {
    pub fn new(data: &'a [u8], sizes: &'a [u8]) -> Self {
        Chunked {
            data,
            pos: 0,
            end: 0,
            sizes,
            turn: 0,
        }
    }
}

impl BufRead for Chunked<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.end {
            let size = match self.sizes.len() {
                0 => 1,
                n => usize::from(self.sizes[self.turn % n]).max(1),
            };
            self.turn += 1;
            self.end = (self.pos + size).min(self.data.len());
        }
        Ok(&self.data[self.pos..self.end])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
    }
}

impl Read for Chunked<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let chunk = self.fill_buf()?;
        let n = chunk.len().min(out.len());
        out[..n].copy_from_slice(&chunk[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// Frames and errors, comparable.
fn frames(reader: impl BufRead, framing: Framing, max: usize, limit: usize) -> Vec<String> {
    let mut framer = Framer::new(reader, framing, max).keeping_over_long(1 << 20);
    let mut out = Vec::new();
    loop {
        assert!(out.len() <= limit + 1, "{framing:?} does not terminate");
        match framer.next_frame() {
            Ok(None) => break,
            Ok(Some((ordinal, bytes))) => out.push(format!("{ordinal} {bytes:?}")),
            Err(FrameError::TooLong {
                ordinal,
                len,
                offset,
                kept,
                ..
            }) => out.push(format!(
                "{ordinal} too long {len} at {offset}: {:?}",
                kept.and_then(|k| std::fs::read(k.path()).ok())
            )),
            Err(e) => out.push(e.to_string()),
        }
    }
    out
}

/// Byte 0 picks the framing and the frame limit, bytes 1..9 the chunk
/// sizes; the rest, framed whole and in chunks, gives the same frames.
pub fn framing(data: &[u8]) {
    if data.len() < 9 {
        return;
    }
    let (control, input) = data.split_at(9);
    let framing = [
        Framing::Lines,
        Framing::ConcatenatedJson,
        Framing::JsonArrayField("Records"),
    ][usize::from(control[0] % 3)];
    let max = usize::from(control[0] / 3) + 1;
    let whole = frames(input, framing, max, input.len());
    let split = frames(
        Chunked::new(input, &control[1..]),
        framing,
        max,
        input.len(),
    );
    assert_eq!(whole, split, "{framing:?}, limit {max}");
}

/// Byte 0 picks the log type; the rest is one frame.
pub fn normalize(data: &[u8]) {
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    let log_type = REGISTRY[usize::from(pick) % REGISTRY.len()];
    let mut out = Vec::new();
    if log_type.normalizer().normalize(frame, &mut out).is_ok() {
        for mut normalized in out {
            log_types::stamp(log_type, &mut normalized.document);
        }
    }
}

/// A Parquet object, read as the flow-log lines it renders.
pub fn parquet(data: &[u8]) {
    if let Ok(mut lines) = ParquetLines::spool(data, 1 << 20) {
        let mut limited = LimitedRead::new(&mut lines, 4 << 20);
        let _ = io::copy(&mut limited, &mut io::sink());
    }
}

/// A configuration file.
pub fn config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = siem_pipeline::config::Config::from_toml(Path::new("siem.toml"), text, []);
    }
}

/// A `_bulk` response body for 1 to 4 actions (byte 0).
pub fn bulk_response(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let _ = siem_pipeline::sink::bulk::parse_items(body, usize::from(pick % 4) + 1);
}
