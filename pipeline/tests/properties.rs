//! Properties that hold for any input, attacker-written input included:
//! framing does not depend on how the stream arrives, document ids do not
//! depend on how an object is read, a dead letter gives its record back byte
//! for byte, and index names are always names OpenSearch accepts.
//!
//! Run with `cargo test -p siem-pipeline --test properties`; set
//! `PROPTEST_CASES` for a longer search.

use std::io::{self, BufRead, Read, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use siem_pipeline::config::{Config, IndexRotation};
use siem_pipeline::decode::{FrameError, Framer, Framing};
use siem_pipeline::document::{IndexNaming, ObjectIdentity, RecordOrigin};
use siem_pipeline::log_types::{self, LogType};
use siem_pipeline::read::{Limits, ObjectMeta, read_object};
use siem_pipeline::redrive::record_of_letter;
use siem_pipeline::sink::dead_letter::DeadLetter;

const FRAMINGS: [Framing; 3] = [
    Framing::Lines,
    Framing::ConcatenatedJson,
    Framing::JsonArrayField("Records"),
];

// -- readers -------------------------------------------------------------------

/// A buffered reader that hands its input out in chunks of the given sizes,
/// in turn, as a network stream or a decompressor does.
struct Chunked<'a> {
    data: &'a [u8],
    pos: usize,
    end: usize,
    sizes: Vec<usize>,
    turn: usize,
}

impl<'a> Chunked<'a> {
    fn new(data: &'a [u8], sizes: &[usize]) -> Self {
        Chunked {
            data,
            pos: 0,
            end: 0,
            sizes: sizes.to_vec(),
            turn: 0,
        }
    }
}

impl BufRead for Chunked<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.end {
            let size = match self.sizes.len() {
                0 => 1,
                n => self.sizes[self.turn % n].max(1),
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

// -- framing -------------------------------------------------------------------

/// What the framer said, with over-long frames read back from disk.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Frame {
        ordinal: u64,
        bytes: Vec<u8>,
    },
    TooLong {
        ordinal: u64,
        len: usize,
        offset: u64,
        kept: Option<Vec<u8>>,
    },
    Garbage {
        ordinal: u64,
        len: usize,
        bytes: Vec<u8>,
    },
    Structure {
        offset: u64,
        message: String,
    },
    Stream {
        frames: u64,
        message: String,
    },
}

/// Every outcome of framing `reader`; fails if the framer goes on past one
/// outcome per input byte (plus the end), which only a loop would do.
fn frame_all(
    reader: impl BufRead,
    input_len: usize,
    framing: Framing,
    max: usize,
    keep: u64,
) -> Result<Vec<Outcome>, TestCaseError> {
    let mut framer = Framer::new(reader, framing, max).keeping_over_long(keep);
    let mut out = Vec::new();
    loop {
        prop_assert!(
            out.len() <= input_len + 1,
            "{framing:?} does not terminate: {out:?}"
        );
        let outcome = match framer.next_frame() {
            Ok(None) => break,
            Ok(Some((ordinal, bytes))) => Outcome::Frame {
                ordinal,
                bytes: bytes.to_vec(),
            },
            Err(FrameError::TooLong {
                ordinal,
                len,
                offset,
                kept,
                ..
            }) => Outcome::TooLong {
                ordinal,
                len,
                offset,
                kept: kept.map(|k| std::fs::read(k.path()).expect("a kept frame is readable")),
            },
            Err(FrameError::Garbage {
                ordinal,
                len,
                bytes,
            }) => Outcome::Garbage {
                ordinal,
                len,
                bytes,
            },
            Err(FrameError::Structure { offset, message }) => {
                Outcome::Structure { offset, message }
            }
            Err(FrameError::Io { frames, source }) => Outcome::Stream {
                frames,
                message: source.to_string(),
            },
        };
        out.push(outcome);
    }
    Ok(out)
}

/// Bytes that mean something to one framing or another.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    "\\",
    "\\\"",
    ",",
    ":",
    " ",
    "\n",
    "\r\n",
    "\t",
    "\"Records\"",
    "\"Records\":[",
    "\"a\"",
    "1",
    "-2.5e3",
    "true",
    "null",
    "x",
    "{\"a\":1}",
    "\"s\"",
    "é",
];

/// A JSON value, small but nested, with strings full of brackets and escapes.
fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[a-z\\\\\"{}\\[\\] ]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            vec(("[a-zA-Z]{1,6}", inner), 0..4).prop_map(|members| {
                let members: Vec<String> = members
                    .iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect();
                format!("{{{}}}", members.join(", "))
            }),
        ]
    })
}

/// Records laid out as each framing expects them.
fn well_formed() -> impl Strategy<Value = Vec<u8>> {
    (
        vec(json_value(), 0..6),
        select(vec!["", " ", "\n", " \r\n "]),
        0..3usize,
    )
        .prop_map(|(values, sep, layout)| {
            match layout {
                0 => format!(
                    "{{\"meta\":{{\"Records\":1}},\"Records\":[{}]}}",
                    values.join(&format!(",{sep}"))
                ),
                1 => values.join(sep),
                _ => values.join("\n"),
            }
            .into_bytes()
        })
}

/// A stream: well-formed records, a soup of meaningful tokens, or any bytes.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        well_formed(),
        vec(select(TOKENS), 0..64).prop_map(|t| t.concat().into_bytes()),
        vec(any::<u8>(), 0..256),
    ]
}

fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    vec(1..48usize, 1..12)
}

proptest! {
    #[test]
    fn framing_gives_the_same_frames_and_errors_however_the_stream_is_split(
        input in stream(),
        sizes in chunk_sizes(),
        framing in select(FRAMINGS.to_vec()),
        max in 1..64usize,
        keep in select(vec![0u64, 24, 1 << 20]),
    ) {
        let whole = frame_all(&input[..], input.len(), framing, max, keep)?;
        let split = frame_all(Chunked::new(&input, &sizes), input.len(), framing, max, keep)?;
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn an_over_long_frame_is_kept_with_exactly_its_bytes(
        input in stream(),
        sizes in chunk_sizes(),
        framing in select(FRAMINGS.to_vec()),
        max in 1..64usize,
    ) {
        let keep = 1 << 20;
        for outcome in frame_all(Chunked::new(&input, &sizes), input.len(), framing, max, keep)? {
            let Outcome::TooLong { len, offset, kept, .. } = outcome else { continue };
            let start = usize::try_from(offset).expect("an offset within the input");
            let mut original = &input[start..start + len];
            if framing == Framing::Lines {
                // The line end ends the frame; it is not part of it.
                original = original.strip_suffix(b"\n").unwrap_or(original);
            }
            prop_assert_eq!(kept.as_deref(), Some(original), "frame at {} of {:?}", offset, framing);
        }
    }

    #[test]
    fn no_frame_over_the_limit_is_yielded(
        input in stream(),
        framing in select(FRAMINGS.to_vec()),
        max in 1..64usize,
    ) {
        for outcome in frame_all(&input[..], input.len(), framing, max, 0)? {
            if let Outcome::Frame { bytes, .. } = outcome {
                prop_assert!(bytes.len() <= max, "{} bytes over {max}: {bytes:?}", bytes.len());
            }
        }
    }

    #[test]
    fn framing_any_bytes_never_panics_and_always_ends(
        input in prop_oneof![
            vec(any::<u8>(), 0..4096),
            vec(select(TOKENS), 0..1024).prop_map(|t| t.concat().into_bytes()),
        ],
        framing in select(FRAMINGS.to_vec()),
        max in select(vec![1usize, 16, 1 << 20]),
    ) {
        frame_all(&input[..], input.len(), framing, max, 0)?;
    }
}

// -- document ids ----------------------------------------------------------------

/// Every fixture record file (not its golden output), with its log type's name.
fn fixtures() -> Vec<(PathBuf, &'static str)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).expect("tests/fixtures") {
        let dir = dir.expect("a fixture folder").path();
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let log_type = log_types::by_name(name).expect("fixture folders are named after log types");
        for file in std::fs::read_dir(&dir).expect("a fixture folder") {
            let file = file.expect("a fixture").path();
            let file_name = file.to_string_lossy();
            if !file_name.ends_with(".expected.ndjson") && !file_name.ends_with(".errors.txt") {
                out.push((file, log_type.name()));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(!out.is_empty());
    out
}

/// The index and `_id` of every document, and the label of every record
/// error, of `object` read through `reader`.
fn ids(reader: impl Read + Send, key: &str, log_type: &dyn LogType) -> Vec<(String, String)> {
    let identity = ObjectIdentity {
        bucket: "bucket".into(),
        key: key.into(),
        version: "v1".into(),
        written_at: None,
    };
    let naming = IndexNaming {
        prefix: "siem".into(),
        rotation: IndexRotation::Monthly,
    };
    let mut out = Vec::new();
    read_object(
        reader,
        &ObjectMeta::default(),
        &identity,
        log_type,
        &naming,
        Limits::default(),
        &mut |record| {
            out.push(match record {
                Ok(r) => (r.index, r.id),
                Err(e) => ("error".to_owned(), e.label().to_owned()),
            });
            ControlFlow::Continue(())
        },
    );
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn document_ids_do_not_depend_on_how_the_object_is_read(
        fixture in select(fixtures()),
        sizes in vec(1..4096usize, 1..8),
    ) {
        let (path, name) = fixture;
        let log_type = log_types::by_name(name).expect("a registered log type");
        let bytes = std::fs::read(&path).expect("a readable fixture");
        let key = path.to_string_lossy().into_owned();
        let whole = ids(&bytes[..], &key, log_type);
        prop_assert!(!whole.is_empty(), "{key}");
        prop_assert_eq!(&whole, &ids(Chunked::new(&bytes, &sizes), &key, log_type), "chunked");
        if !key.ends_with(".parquet") {
            // Parquet compresses its own pages; it is never gzipped whole.
            let compressed = gzip(&bytes);
            prop_assert_eq!(&whole, &ids(Chunked::new(&compressed, &sizes), &key, log_type), "gzip, chunked");
        }
    }
}

// -- dead letters ----------------------------------------------------------------

fn letter(record: Vec<u8>) -> DeadLetter {
    DeadLetter {
        log_type: "cloudtrail",
        origin: RecordOrigin {
            object: Arc::new(ObjectIdentity {
                bucket: "b".into(),
                key: "k".into(),
                version: "v".into(),
                written_at: None,
            }),
            ordinal: 7,
        },
        index: None,
        id: None,
        status: Some(400),
        error_type: "mapper_parsing_exception".into(),
        reason: "refused".into(),
        record,
        record_location: None,
        kept_record: None,
        record_object: None,
    }
}

/// JSON as records come: compact, spaced, pretty-printed, scalars, numbers
/// that do not fit a double, repeated keys.
fn json_record() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json_value(),
        json_value().prop_map(|v| {
            serde_json::from_str::<serde_json::Value>(&v)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or(v)
        }),
        json_value().prop_map(|v| format!(" {v}\t")),
        (any::<u64>(), 0..100u32)
            .prop_map(|(n, e)| format!("{{\"n\":{n}{n}.50e{e},\"b\":1,\"a\":2}}")),
        Just(r#"{"a":1,"a":2}"#.to_owned()),
    ]
    .prop_map(String::into_bytes)
}

proptest! {
    #[test]
    fn a_dead_letter_gives_its_record_back_byte_for_byte(
        record in prop_oneof![
            json_record(),
            any::<String>().prop_map(String::into_bytes),
            vec(any::<u8>(), 0..64),
        ].prop_filter("a record is never empty", |r| !r.is_empty()),
    ) {
        let line = letter(record.clone()).to_line();
        prop_assert_eq!(line.iter().position(|b| *b == b'\n'), Some(line.len() - 1), "one line");
        prop_assert_eq!(record_of_letter(&line), Some(record));
    }
}

// -- index names -----------------------------------------------------------------

/// OpenSearch's rules for an index name.
fn is_valid_index_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name.starts_with(['_', '-', '+'])
        && !name.chars().any(|c| {
            c.is_uppercase()
                || matches!(
                    c,
                    '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ' ' | ',' | '#' | ':'
                )
        })
}

proptest! {
    #[test]
    fn every_index_name_is_one_opensearch_accepts(
        prefix in "[a-z0-9][a-z0-9_-]{0,300}",
        secs in DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp(),
        daily in any::<bool>(),
    ) {
        let text = format!(
            "[sqs]\nqueue_url = \"http://127.0.0.1:4566/000000000000/q\"\n\
             [opensearch]\nurl = \"http://127.0.0.1:9200\"\nindex_prefix = \"{prefix}\"\n\
             index_rotation = \"{}\"\n",
            if daily { "daily" } else { "monthly" }
        );
        let Ok(config) = Config::from_toml(Path::new("siem.toml"), &text, []) else {
            // Only the prefixes a configuration accepts name indices.
            return Ok(());
        };
        let naming = IndexNaming {
            prefix: config.opensearch.index_prefix,
            rotation: config.opensearch.index_rotation,
        };
        let at = DateTime::from_timestamp(secs, 0).expect("a time within chrono's range");
        for log_type in log_types::REGISTRY {
            let index = naming.index(log_type.name(), at);
            prop_assert!(is_valid_index_name(&index), "{index:?}");
        }
        let current = naming.current_findings();
        prop_assert!(is_valid_index_name(&current), "{current:?}");
    }
}
