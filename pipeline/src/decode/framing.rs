//! Cuts a decompressed stream into frames, one per record, without parsing
//! the records and without holding more than one frame in memory.
//!
//! - [`Framing::Lines`]: newline-delimited (JSON Lines, text logs); `\r\n` and
//!   blank lines are tolerated.
//! - [`Framing::ConcatenatedJson`]: JSON values one after another with or without
//!   whitespace between them, as Firehose writes them. Garbage between values is
//!   reported and skipped up to the next `{`.
//! - [`Framing::JsonArrayField`]: the elements of one array member of a single
//!   top-level object (`{"Records":[...]}`), streamed element by element. A
//!   stream whose first object does not begin with that member is read as
//!   concatenated values instead: a CloudTrail event delivered alone (by
//!   EventBridge or CloudWatch Logs through Firehose) is one record.
//!
//! The JSON scanners only track strings and nesting; they find where a value
//! ends, and the log type's parser says whether it is valid.
//!
//! A frame over the limit is never held in memory. With
//! [`Framer::keeping_over_long`], its bytes go to a private temporary file
//! instead, so that its dead letter can keep the record whole.

use std::io::{self, BufRead, Write};

use crate::temp_file::TempFile;

use memchr::{memchr, memchr2};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Lines,
    ConcatenatedJson,
    JsonArrayField(&'static str),
}

impl Framing {
    pub fn label(self) -> &'static str {
        match self {
            Framing::Lines => "lines",
            Framing::ConcatenatedJson => "concatenated_json",
            Framing::JsonArrayField(_) => "json_array_field",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The stream itself failed (truncated gzip, bomb limit, network): nothing
    /// after this point can be read.
    #[error("stream error after {frames} frames: {source}")]
    Io { frames: u64, source: io::Error },
    /// One frame longer than the limit was skipped; reading goes on. It is
    /// not kept in memory: `offset` is where it starts in the decompressed
    /// object, and `kept` holds its bytes on disk when the framer keeps
    /// over-long frames (and the disk took them).
    #[error(
        "frame {ordinal} is {len} bytes at decompressed offset {offset}, over the limit of {limit}"
    )]
    TooLong {
        ordinal: u64,
        len: usize,
        limit: usize,
        offset: u64,
        kept: Option<TempFile>,
    },
    /// Bytes that cannot start a record were skipped; reading goes on. They
    /// are kept, up to the frame limit, for the dead-letter store.
    #[error("frame {ordinal}: {len} bytes of unexpected data skipped ({:?}...)", String::from_utf8_lossy(&bytes[..bytes.len().min(40)]))]
    Garbage {
        ordinal: u64,
        len: usize,
        bytes: Vec<u8>,
    },
    /// The document does not have the expected structure; reading stops.
    #[error("unexpected structure at byte {offset}: {message}")]
    Structure { offset: u64, message: String },
}

impl FrameError {
    /// Whether frames may still follow this error.
    pub fn is_fatal(&self) -> bool {
        matches!(self, FrameError::Io { .. } | FrameError::Structure { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Concatenated values, or lines.
    TopLevel,
    /// Array-field mode, before the outer `{`.
    Start,
    /// Inside the outer object, expecting a key, `,` or `}`.
    InObject,
    /// Inside the wanted array, expecting an element, `,` or `]`.
    InArray,
    /// After the top-level object: only whitespace may follow.
    AfterObject,
    Done,
}

/// Yields one frame at a time from a [`BufRead`].
pub struct Framer<R> {
    reader: Pushback<R>,
    framing: Framing,
    max_frame: usize,
    buf: Vec<u8>,
    state: State,
    /// Array-field mode: whether the wanted array was found.
    found_field: bool,
    /// Frames returned or skipped so far; also the ordinal of the next one.
    ordinal: u64,
    offset: u64,
    /// Over-long frames are kept on disk up to this many bytes; 0: not kept.
    keep_over_long: u64,
    /// The frame being read, once it is over the limit.
    overflow: Option<Overflow>,
}

/// The bytes of an over-long frame, on their way to a temporary file.
struct Overflow {
    file: Option<(TempFile, io::BufWriter<std::fs::File>)>,
    written: u64,
    max: u64,
}

impl Overflow {
    /// Starts keeping a frame whose first bytes are `head`; a frame that
    /// cannot be kept (no disk, over `max`) is only measured.
    fn start(max: u64, head: &[u8]) -> Overflow {
        let file = if max == 0 {
            None
        } else {
            TempFile::create("record")
                .ok()
                .map(|(t, f)| (t, io::BufWriter::with_capacity(64 << 10, f)))
        };
        let mut overflow = Overflow {
            file,
            written: 0,
            max,
        };
        overflow.write(head);
        overflow
    }

    /// Adds `bytes` to the frame being read: to `buf` while it fits the
    /// limit (`len` bytes of the frame are read so far, these included), to
    /// the overflow once it does not.
    fn keep(
        buf: &mut Vec<u8>,
        overflow: &mut Option<Overflow>,
        bytes: &[u8],
        len: usize,
        limit: usize,
        keep_over_long: u64,
    ) {
        match overflow {
            Some(o) => o.write(bytes),
            None if len <= limit => buf.extend_from_slice(bytes),
            None => {
                let mut o = Overflow::start(keep_over_long, buf);
                o.write(bytes);
                *overflow = Some(o);
                buf.clear();
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.written + bytes.len() as u64 > self.max {
            self.file = None;
        }
        if let Some((_, writer)) = &mut self.file
            && writer.write_all(bytes).is_err()
        {
            self.file = None;
        }
        self.written += bytes.len() as u64;
    }

    /// The whole frame on disk, or `None` if it could not be kept.
    fn finish(self) -> Option<TempFile> {
        let (file, writer) = self.file?;
        writer.into_inner().ok()?;
        Some(file)
    }
}

impl<R: BufRead> Framer<R> {
    pub fn new(reader: R, framing: Framing, max_frame: usize) -> Self {
        Framer {
            reader: Pushback {
                back: Vec::new(),
                pos: 0,
                inner: reader,
            },
            framing,
            max_frame,
            buf: Vec::with_capacity(16 * 1024),
            state: match framing {
                Framing::JsonArrayField(_) => State::Start,
                _ => State::TopLevel,
            },
            found_field: false,
            ordinal: 0,
            offset: 0,
            keep_over_long: 0,
            overflow: None,
        }
    }

    /// Keeps each frame over the limit, up to `max` bytes, in a temporary
    /// file carried by its [`FrameError::TooLong`].
    pub fn keeping_over_long(mut self, max: u64) -> Self {
        self.keep_over_long = max;
        self
    }

    fn too_long(&mut self, len: usize, offset: u64) -> FrameError {
        self.buf.clear();
        FrameError::TooLong {
            ordinal: self.ordinal,
            len,
            limit: self.max_frame,
            offset,
            kept: self.overflow.take().and_then(Overflow::finish),
        }
    }

    /// Decompressed bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.offset
    }

    /// The ordinal the next frame will have (0-based): also the number of
    /// frames seen so far, skipped ones included.
    pub fn next_ordinal(&self) -> u64 {
        self.ordinal
    }

    /// The next frame, `Ok(None)` at the end, or an error. After a fatal error
    /// (see [`FrameError::is_fatal`]) the framer returns `Ok(None)`.
    pub fn next_frame(&mut self) -> Result<Option<(u64, &[u8])>, FrameError> {
        let result = match self.framing {
            Framing::Lines => self.next_line(),
            Framing::ConcatenatedJson => self.next_concatenated(),
            Framing::JsonArrayField(field) => self.next_array_element(field),
        };
        match result {
            Ok(true) => {
                let ordinal = self.ordinal;
                self.ordinal += 1;
                Ok(Some((ordinal, &self.buf)))
            }
            Ok(false) => Ok(None),
            Err(e) => {
                if e.is_fatal() {
                    self.state = State::Done;
                } else {
                    self.ordinal += 1;
                }
                Err(e)
            }
        }
    }

    fn io_error(&self, source: io::Error) -> FrameError {
        FrameError::Io {
            frames: self.ordinal,
            source,
        }
    }

    fn consume(&mut self, n: usize) {
        self.reader.consume(n);
        self.offset += n as u64;
    }

    /// The next byte without consuming it, `None` at the end of the stream.
    fn peek(&mut self) -> Result<Option<u8>, FrameError> {
        loop {
            match self.reader.fill_buf() {
                Ok(chunk) => return Ok(chunk.first().copied()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(e)),
            }
        }
    }

    fn skip_whitespace(&mut self) -> Result<Option<u8>, FrameError> {
        loop {
            let chunk = fill(&mut self.reader, self.ordinal)?;
            if chunk.is_empty() {
                return Ok(None);
            }
            match chunk.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => {
                    let b = chunk[i];
                    self.consume(i);
                    return Ok(Some(b));
                }
                None => {
                    let n = chunk.len();
                    self.consume(n);
                }
            }
        }
    }

    // -- lines ---------------------------------------------------------------

    fn next_line(&mut self) -> Result<bool, FrameError> {
        if self.state == State::Done {
            return Ok(false);
        }
        loop {
            self.buf.clear();
            let start = self.offset;
            let mut len = 0usize;
            // The frame's own bytes: the line without its newline.
            let mut body_len = 0usize;
            let mut saw_any = false;
            loop {
                let chunk = fill(&mut self.reader, self.ordinal)?;
                if chunk.is_empty() {
                    break;
                }
                saw_any = true;
                let (take, end) = match memchr(b'\n', chunk) {
                    Some(i) => (i + 1, true),
                    None => (chunk.len(), false),
                };
                len += take;
                // The newline ends the frame; it is not part of it.
                let body = if end { take - 1 } else { take };
                body_len += body;
                Overflow::keep(
                    &mut self.buf,
                    &mut self.overflow,
                    &chunk[..body],
                    body_len,
                    self.max_frame,
                    self.keep_over_long,
                );
                self.reader.consume(take);
                self.offset += take as u64;
                if end {
                    break;
                }
            }
            if !saw_any {
                self.state = State::Done;
                return Ok(false);
            }
            if self.overflow.is_some() {
                return Err(self.too_long(len, start));
            }
            while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
                self.buf.pop();
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(true);
        }
    }

    // -- concatenated JSON -----------------------------------------------------

    fn next_concatenated(&mut self) -> Result<bool, FrameError> {
        if self.state == State::Done {
            return Ok(false);
        }
        match self.skip_whitespace()? {
            None => {
                self.state = State::Done;
                Ok(false)
            }
            Some(b'{' | b'[') => self.capture_value(),
            Some(_) => Err(self.skip_garbage()?),
        }
    }

    /// Skips to the next `{` (or the end) and describes what was skipped.
    fn skip_garbage(&mut self) -> Result<FrameError, FrameError> {
        let mut len = 0usize;
        let mut sample = Vec::new();
        loop {
            let chunk = fill(&mut self.reader, self.ordinal)?;
            if chunk.is_empty() {
                break;
            }
            let stop = memchr(b'{', chunk);
            let take = stop.unwrap_or(chunk.len());
            if sample.len() < self.max_frame {
                let more = (self.max_frame - sample.len()).min(take);
                sample.extend_from_slice(&chunk[..more]);
            }
            len += take;
            self.consume(take);
            if stop.is_some() {
                break;
            }
        }
        Ok(FrameError::Garbage {
            ordinal: self.ordinal,
            len,
            bytes: sample,
        })
    }

    // -- array field -------------------------------------------------------------

    fn next_array_element(&mut self, field: &str) -> Result<bool, FrameError> {
        loop {
            match self.state {
                State::Done | State::TopLevel => return Ok(false),
                State::Start => match self.skip_whitespace()? {
                    Some(b'{') if self.first_key_is_not(field)? => {
                        self.framing = Framing::ConcatenatedJson;
                        self.state = State::TopLevel;
                        return self.next_concatenated();
                    }
                    Some(b'{') => {
                        self.consume(1);
                        self.state = State::InObject;
                    }
                    None => {
                        self.state = State::Done;
                        return Ok(false);
                    }
                    Some(b) => {
                        return Err(self.structure(format!("expected '{{', found {:?}", b as char)));
                    }
                },
                State::InObject => match self.skip_whitespace()? {
                    // An object without the array holds nothing to read: say
                    // so, rather than yield nothing without a word.
                    Some(b'}') if !self.found_field => {
                        return Err(self.structure(format!("the object has no {field:?} array")));
                    }
                    Some(b'}') => {
                        self.consume(1);
                        self.state = State::AfterObject;
                    }
                    Some(b',') => self.consume(1),
                    Some(b'"') => {
                        let key_matches = self.read_key_is(field)?;
                        match self.skip_whitespace()? {
                            Some(b':') => self.consume(1),
                            _ => return Err(self.structure("expected ':' after a key".into())),
                        }
                        let next = self.skip_whitespace()?;
                        if key_matches && next == Some(b'[') {
                            self.consume(1);
                            self.found_field = true;
                            self.state = State::InArray;
                        } else if key_matches && next.is_some() {
                            return Err(self.structure(format!("{field:?} is not an array")));
                        } else if next.is_none() {
                            return Err(self.structure("unexpected end after a key".into()));
                        } else {
                            self.scan_value(false, self.max_frame)?;
                        }
                    }
                    None => {
                        return Err(
                            self.structure("unexpected end inside the top-level object".into())
                        );
                    }
                    Some(b) => {
                        return Err(
                            self.structure(format!("expected a key, found {:?}", b as char))
                        );
                    }
                },
                State::AfterObject => match self.skip_whitespace()? {
                    None => {
                        self.state = State::Done;
                        return Ok(false);
                    }
                    Some(b) => {
                        return Err(self.structure(format!(
                            "{:?} after the end of the top-level object",
                            b as char
                        )));
                    }
                },
                State::InArray => match self.skip_whitespace()? {
                    Some(b']') => {
                        self.consume(1);
                        self.state = State::InObject;
                    }
                    Some(b',') => self.consume(1),
                    Some(_) => return self.capture_value(),
                    None => {
                        return Err(self.structure("unexpected end inside the record array".into()));
                    }
                },
            }
        }
    }

    fn structure(&self, message: String) -> FrameError {
        FrameError::Structure {
            offset: self.offset,
            message,
        }
    }

    /// Whether the object that starts here (at its `{`) begins with a key
    /// other than `field`. The bytes up to the end of that key are read
    /// ahead (however few each read returns, at most [`READ_AHEAD`]) and
    /// given back, to be read again in the mode this decides.
    fn first_key_is_not(&mut self, field: &str) -> Result<bool, FrameError> {
        let mut ahead: Vec<u8> = Vec::new();
        let decision = loop {
            if let Some(decision) = first_key_differs(&ahead, field) {
                break decision;
            }
            if ahead.len() >= READ_AHEAD {
                break false;
            }
            let chunk = fill(&mut self.reader, self.ordinal)?;
            if chunk.is_empty() {
                break false;
            }
            let take = chunk.len().min(READ_AHEAD - ahead.len());
            ahead.extend_from_slice(&chunk[..take]);
            self.reader.consume(take);
        };
        self.reader.give_back(ahead);
        Ok(decision)
    }

    /// Reads a key string (at its opening quote) and says whether it equals `field`.
    fn read_key_is(&mut self, field: &str) -> Result<bool, FrameError> {
        self.buf.clear();
        // A key is read whole if it can be the field, quotes included, even
        // under a tiny frame limit.
        self.scan_value(true, self.max_frame.max(field.len() + 2))?;
        // A key over the frame limit is only compared, never kept.
        self.overflow = None;
        let key = &self.buf;
        Ok(key.len() == field.len() + 2 && &key[1..key.len() - 1] == field.as_bytes())
    }

    /// Captures one value into `buf`, enforcing the frame limit.
    fn capture_value(&mut self) -> Result<bool, FrameError> {
        self.buf.clear();
        let start = self.offset;
        let len = self.scan_value(true, self.max_frame)?;
        if self.overflow.is_some() {
            return Err(self.too_long(len, start));
        }
        Ok(true)
    }

    /// Consumes one complete JSON value starting at the current (non-space)
    /// byte, appending it to `buf` when `capture`, or to the overflow once it
    /// is over `limit` bytes. Returns its length.
    fn scan_value(&mut self, capture: bool, limit: usize) -> Result<usize, FrameError> {
        let first = self
            .peek()?
            .ok_or_else(|| self.structure("unexpected end of stream".into()))?;
        if matches!(first, b',' | b'}' | b']') {
            // A value that would be empty: reading on would not advance.
            return Err(self.structure(format!("expected a value, found {:?}", first as char)));
        }
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let scalar = !matches!(first, b'{' | b'[' | b'"');
        let mut len = 0usize;
        let frames = self.ordinal;
        loop {
            let chunk = fill(&mut self.reader, frames)?;
            if chunk.is_empty() {
                if scalar && len > 0 {
                    return Ok(len);
                }
                return Err(self.io_error(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "stream ended inside a JSON value",
                )));
            }
            let mut i = 0usize;
            let mut done = false;
            while i < chunk.len() {
                if in_string {
                    if escaped {
                        escaped = false;
                        i += 1;
                        continue;
                    }
                    match memchr2(b'"', b'\\', &chunk[i..]) {
                        Some(j) => {
                            i += j;
                            if chunk[i] == b'\\' {
                                escaped = true;
                            } else {
                                in_string = false;
                                if depth == 0 {
                                    i += 1;
                                    done = true;
                                    break;
                                }
                            }
                            i += 1;
                        }
                        None => i = chunk.len(),
                    }
                    continue;
                }
                let b = chunk[i];
                if scalar {
                    if matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace() {
                        done = true;
                        break;
                    }
                    i += 1;
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            i += 1;
                            done = true;
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            len += i;
            if capture {
                Overflow::keep(
                    &mut self.buf,
                    &mut self.overflow,
                    &chunk[..i],
                    len,
                    limit,
                    self.keep_over_long,
                );
            }
            self.reader.consume(i);
            self.offset += i as u64;
            if done {
                return Ok(len);
            }
        }
    }
}

/// How far [`Framer::first_key_is_not`] reads ahead at most.
const READ_AHEAD: usize = 4096;

/// Whether `ahead`, the start of an object (`{` first), begins with a key
/// other than `field`: `Some(true)` if it does, `Some(false)` if the key is
/// `field` or the object does not begin with a key (`{}`, garbage: the array
/// reading says what is wrong), `None` while the key is not read whole.
fn first_key_differs(ahead: &[u8], field: &str) -> Option<bool> {
    let rest = ahead.get(1..)?;
    let start = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &rest[start..];
    if rest.first() != Some(&b'"') {
        return Some(false);
    }
    let key = &rest[1..];
    match memchr2(b'"', b'\\', key) {
        // A key with an escape is not `field`.
        Some(end) => Some(&key[..end] != field.as_bytes() || key[end] == b'\\'),
        None if !field.as_bytes().starts_with(key) => Some(true),
        None => None,
    }
}

/// A reader that can take back bytes it gave, so that the framer can read
/// ahead to decide how to read a stream, then read those bytes again.
struct Pushback<R> {
    back: Vec<u8>,
    pos: usize,
    inner: R,
}

impl<R> Pushback<R> {
    fn give_back(&mut self, bytes: Vec<u8>) {
        debug_assert!(
            self.pos >= self.back.len(),
            "bytes are given back once, before any are read again"
        );
        self.back = bytes;
        self.pos = 0;
    }
}

impl<R: BufRead> io::Read for Pushback<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Pushback<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos < self.back.len() {
            Ok(&self.back[self.pos..])
        } else {
            self.inner.fill_buf()
        }
    }

    fn consume(&mut self, n: usize) {
        if self.pos < self.back.len() {
            self.pos = (self.pos + n).min(self.back.len());
        } else {
            self.inner.consume(n);
        }
    }
}

fn fill<R: BufRead>(reader: &mut R, frames: u64) -> Result<&[u8], FrameError> {
    reader
        .fill_buf()
        .map_err(|source| FrameError::Io { frames, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8], framing: Framing, max: usize) -> Vec<Result<String, String>> {
        // A tiny buffer exercises values that straddle reads.
        let reader = io::BufReader::with_capacity(7, input);
        let mut framer = Framer::new(reader, framing, max);
        let mut out = Vec::new();
        loop {
            match framer.next_frame() {
                Ok(Some((_, f))) => out.push(Ok(String::from_utf8_lossy(f).into_owned())),
                Ok(None) => break,
                Err(e) => out.push(Err(e.to_string())),
            }
            assert!(out.len() < 1000, "framer does not terminate");
        }
        out
    }

    fn ok(v: &[&str]) -> Vec<Result<String, String>> {
        v.iter().map(|s| Ok(s.to_string())).collect()
    }

    #[test]
    fn lines_skip_blank_lines_and_strip_crlf() {
        assert_eq!(
            frames(b"a\r\n\n  \nb\nc", Framing::Lines, 100),
            ok(&["a", "b", "c"])
        );
    }

    #[test]
    fn over_long_line_is_reported_and_reading_continues() {
        let out = frames(b"short\nthis line is too long\nnext\n", Framing::Lines, 10);
        assert_eq!(out[0], Ok("short".into()));
        assert!(
            out[1]
                .as_ref()
                .expect_err("an error")
                .contains("over the limit"),
            "{out:?}"
        );
        assert_eq!(out[2], Ok("next".into()));
    }

    /// The frames of `input`, and the bytes each over-long one kept on disk.
    fn kept(
        input: &[u8],
        framing: Framing,
        max: usize,
        keep: u64,
    ) -> Vec<Result<String, Option<Vec<u8>>>> {
        let reader = io::BufReader::with_capacity(7, input);
        let mut framer = Framer::new(reader, framing, max).keeping_over_long(keep);
        let mut out = Vec::new();
        loop {
            match framer.next_frame() {
                Ok(Some((_, f))) => out.push(Ok(String::from_utf8_lossy(f).into_owned())),
                Ok(None) => break,
                Err(FrameError::TooLong { kept, .. }) => {
                    out.push(Err(
                        kept.map(|k| std::fs::read(k.path()).expect("kept file"))
                    ));
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }
        out
    }

    #[test]
    fn an_over_long_line_is_kept_whole_on_disk_without_its_line_end() {
        let out = kept(
            b"short\nthis line is too long\r\nnext\n",
            Framing::Lines,
            10,
            1 << 20,
        );
        assert_eq!(out[0], Ok("short".into()));
        assert_eq!(out[1], Err(Some(b"this line is too long\r".to_vec())));
        assert_eq!(out[2], Ok("next".into()));
    }

    #[test]
    fn over_long_json_values_are_kept_whole_on_disk_in_every_json_framing() {
        let long = r#"{"a":"0123456789","b":{"c":[1,2,3]}}"#;
        let input = format!(r#"{{"Records":[{{"x":1}},{long},{{"y":2}}]}}"#);
        let out = kept(
            input.as_bytes(),
            Framing::JsonArrayField("Records"),
            10,
            1 << 20,
        );
        assert_eq!(
            out,
            [
                Ok(r#"{"x":1}"#.into()),
                Err(Some(long.as_bytes().to_vec())),
                Ok(r#"{"y":2}"#.into())
            ]
        );
        let input = format!(r#"{{"x":1}}{long}{{"y":2}}"#);
        let out = kept(input.as_bytes(), Framing::ConcatenatedJson, 10, 1 << 20);
        assert_eq!(
            out,
            [
                Ok(r#"{"x":1}"#.into()),
                Err(Some(long.as_bytes().to_vec())),
                Ok(r#"{"y":2}"#.into())
            ]
        );
    }

    #[test]
    fn a_json_record_one_or_two_bytes_over_the_limit_is_kept_whole() {
        // Such a record was refused but not kept: its dead letter had no record.
        for framing in [
            Framing::ConcatenatedJson,
            Framing::JsonArrayField("Records"),
        ] {
            for over in [1, 2] {
                let record = format!(r#"{{"a":"{}"}}"#, "x".repeat(over));
                let input = match framing {
                    Framing::ConcatenatedJson => record.clone(),
                    _ => format!(r#"{{"Records":[{record}]}}"#),
                };
                let out = kept(input.as_bytes(), framing, record.len() - over, 1 << 20);
                assert_eq!(out, [Err(Some(record.clone().into_bytes()))], "{framing:?}");
            }
        }
    }

    #[test]
    fn a_last_line_without_its_newline_over_the_limit_is_too_long() {
        // It was yielded one byte over the limit.
        let out = kept(b"ok\n01234", Framing::Lines, 4, 1 << 20);
        assert_eq!(out, [Ok("ok".into()), Err(Some(b"01234".to_vec()))]);
        let out = kept(b"0123\n0123", Framing::Lines, 4, 1 << 20);
        assert_eq!(out, [Ok("0123".into()), Ok("0123".into())], "at the limit");
    }

    #[test]
    fn a_frame_over_what_the_disk_may_keep_is_only_measured() {
        let out = kept(b"0123456789abcdef\nok\n", Framing::Lines, 4, 8);
        assert_eq!(out, [Err(None), Ok("ok".into())]);
        let out = kept(b"0123456789abcdef\nok\n", Framing::Lines, 4, 0);
        assert_eq!(out, [Err(None), Ok("ok".into())], "not kept unless asked");
    }

    #[test]
    fn the_temporary_file_of_a_kept_frame_goes_with_its_error() {
        let mut framer =
            Framer::new(&b"0123456789\n"[..], Framing::Lines, 4).keeping_over_long(1 << 20);
        let Err(FrameError::TooLong {
            kept: Some(kept), ..
        }) = framer.next_frame()
        else {
            panic!("an over-long frame, kept");
        };
        let path = kept.path().to_path_buf();
        assert!(path.exists());
        drop(kept);
        assert!(!path.exists(), "removed with its error");
    }

    #[test]
    fn concatenated_json_without_delimiters_is_split_per_value() {
        let input = br#"{"a":"}{\"x"}{"b":[1,{"c":2}]}  {"d":"\\"}
{"e":1}"#;
        assert_eq!(
            frames(input, Framing::ConcatenatedJson, 100),
            ok(&[
                r#"{"a":"}{\"x"}"#,
                r#"{"b":[1,{"c":2}]}"#,
                r#"{"d":"\\"}"#,
                r#"{"e":1}"#
            ])
        );
    }

    #[test]
    fn garbage_between_values_is_reported_and_skipped() {
        let out = frames(br#"{"a":1}oops{"b":2}"#, Framing::ConcatenatedJson, 100);
        assert_eq!(out[0], Ok(r#"{"a":1}"#.into()));
        assert!(
            out[1].as_ref().expect_err("an error").contains("oops"),
            "{out:?}"
        );
        assert_eq!(out[2], Ok(r#"{"b":2}"#.into()));
    }

    #[test]
    fn truncated_value_is_a_fatal_stream_error() {
        let out = frames(br#"{"a":1}{"b":"#, Framing::ConcatenatedJson, 100);
        assert_eq!(out.len(), 2);
        assert!(
            out[1]
                .as_ref()
                .expect_err("an error")
                .contains("ended inside"),
            "{out:?}"
        );
    }

    #[test]
    fn array_field_streams_elements_and_ignores_other_members() {
        let input = br#" { "Records" : [ {"x":"]"} , {"y":[1,2]},"s",3 ], "meta": {"Records": [9]}, "tail": "}" } "#;
        assert_eq!(
            frames(input, Framing::JsonArrayField("Records"), 100),
            ok(&[r#"{"x":"]"}"#, r#"{"y":[1,2]}"#, r#""s""#, "3"])
        );
    }

    #[test]
    fn an_object_whose_array_is_not_its_first_member_is_one_value() {
        // Not how CloudTrail writes its files: the log type reads the records of the whole value.
        let input = br#"{"meta":1,"Records":[{"x":1}]}"#;
        assert_eq!(
            frames(input, Framing::JsonArrayField("Records"), 100),
            ok(&[r#"{"meta":1,"Records":[{"x":1}]}"#])
        );
    }

    #[test]
    fn an_empty_array_or_an_empty_stream_yields_nothing() {
        assert!(
            frames(
                br#"{"Records":[]}"#,
                Framing::JsonArrayField("Records"),
                100
            )
            .is_empty()
        );
        assert!(frames(b"", Framing::JsonArrayField("Records"), 100).is_empty());
    }

    #[test]
    fn array_field_over_long_element_is_skipped() {
        let out = frames(
            br#"{"Records":[{"a":"0123456789"},{"b":1}]}"#,
            Framing::JsonArrayField("Records"),
            10,
        );
        assert!(out[0].is_err());
        assert_eq!(out[1], Ok(r#"{"b":1}"#.into()));
    }

    #[test]
    fn a_stream_that_does_not_begin_with_the_array_is_read_as_values() {
        // CloudTrail events one by one, as EventBridge or CloudWatch Logs deliver them through Firehose.
        let input = br#"{"eventVersion":"1.08","eventName":"GetObject"} {"version":"0","detail":{"Records":[1]}}{"messageType":"DATA_MESSAGE"}"#;
        assert_eq!(
            frames(input, Framing::JsonArrayField("Records"), 100),
            ok(&[
                r#"{"eventVersion":"1.08","eventName":"GetObject"}"#,
                r#"{"version":"0","detail":{"Records":[1]}}"#,
                r#"{"messageType":"DATA_MESSAGE"}"#
            ])
        );
    }

    /// A reader that gives one byte at a time, as a slow stream may.
    struct Trickle<'a>(&'a [u8]);

    impl io::Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(out.len()).min(1);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn the_reading_mode_is_decided_on_the_whole_first_key_however_the_stream_trickles() {
        for (input, expected) in [
            (
                &b"{\n  \"version\": \"0\", \"detail\": {}\n}"[..],
                vec!["{\n  \"version\": \"0\", \"detail\": {}\n}"],
            ),
            (&b"{ \"Records\" : [ {\"a\":1} ] }"[..], vec![r#"{"a":1}"#]),
            (&b"{\"Recordsx\":1}"[..], vec![r#"{"Recordsx":1}"#]),
        ] {
            // A one-byte BufReader over a one-byte reader: every read returns one byte.
            let reader = io::BufReader::with_capacity(1, Trickle(input));
            let mut framer = Framer::new(reader, Framing::JsonArrayField("Records"), 1000);
            let mut out = Vec::new();
            while let Some((_, f)) = framer.next_frame().expect("frames") {
                out.push(String::from_utf8_lossy(f).into_owned());
            }
            assert_eq!(out, expected, "{}", String::from_utf8_lossy(input));
            assert_eq!(
                framer.bytes_read(),
                input.len() as u64,
                "every byte counted once"
            );
        }
    }

    #[test]
    fn an_object_that_begins_with_the_array_is_streamed_whatever_follows() {
        let input = br#"  {"Records":[{"a":1}],"eventVersion":"x"}"#;
        assert_eq!(
            frames(input, Framing::JsonArrayField("Records"), 100),
            ok(&[r#"{"a":1}"#])
        );
    }

    #[test]
    fn an_empty_object_is_an_error_not_zero_records() {
        let out = frames(b"{ }", Framing::JsonArrayField("Records"), 100);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0]
                .as_ref()
                .is_err_and(|e| e.contains("no \"Records\" array")),
            "{out:?}"
        );
    }

    #[test]
    fn records_that_is_not_an_array_is_an_error() {
        let out = frames(
            br#"{"Records":{"a":1}}"#,
            Framing::JsonArrayField("Records"),
            100,
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0]
                .as_ref()
                .is_err_and(|e| e.contains("is not an array")),
            "{out:?}"
        );
    }

    #[test]
    fn content_after_the_top_level_object_is_an_error_after_its_records() {
        let out = frames(
            br#"{"Records":[{"a":1}]} {"Records":[{"b":2}]}"#,
            Framing::JsonArrayField("Records"),
            100,
        );
        assert_eq!(out[0], Ok(r#"{"a":1}"#.into()));
        assert!(
            out[1]
                .as_ref()
                .is_err_and(|e| e.contains("after the end of the top-level object")),
            "{out:?}"
        );
        assert_eq!(out.len(), 2);
        let fine = frames(
            b"{\"Records\":[]}\n",
            Framing::JsonArrayField("Records"),
            100,
        );
        assert!(
            fine.is_empty(),
            "an empty array and a final newline are fine: {fine:?}"
        );
    }

    #[test]
    fn array_field_on_a_non_object_is_a_structure_error() {
        let out = frames(b"[1,2]", Framing::JsonArrayField("Records"), 100);
        assert_eq!(out.len(), 1);
        assert!(
            out[0]
                .as_ref()
                .expect_err("an error")
                .contains("expected '{'"),
            "{out:?}"
        );
    }

    #[test]
    fn a_closing_brace_where_a_record_should_start_ends_the_object_instead_of_looping() {
        // A corrupted record (a quote lost) leaves the scanner before a `}`:
        // once yielded endless empty frames.
        let out = frames(
            br#"{"Records":[{"a":1},}]}"#,
            Framing::JsonArrayField("Records"),
            100,
        );
        assert_eq!(out[0], Ok(r#"{"a":1}"#.into()));
        assert!(
            out[1]
                .as_ref()
                .is_err_and(|e| e.contains("expected a value, found '}'")),
            "{out:?}"
        );
        assert_eq!(out.len(), 2);
        let out = frames(br#"{"a": }"#, Framing::JsonArrayField("Records"), 100);
        assert_eq!(out.len(), 1, "{out:?}");
    }

    #[test]
    fn truncated_record_array_keeps_the_complete_elements() {
        let out = frames(
            br#"{"Records":[{"a":1},{"b":2},{"c""#,
            Framing::JsonArrayField("Records"),
            100,
        );
        assert_eq!(out[0], Ok(r#"{"a":1}"#.into()));
        assert_eq!(out[1], Ok(r#"{"b":2}"#.into()));
        assert!(out[2].is_err());
        assert_eq!(out.len(), 3);
    }
}
