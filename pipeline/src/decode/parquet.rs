//! Apache Parquet objects read as text lines, so that the log type's
//! ordinary line framing and normalizer take them from there.
//!
//! VPC Flow Logs can be delivered to S3 as Parquet (gzip-compressed pages,
//! one flat column per flow log field, `account_id` for the text format's
//! `account-id`). [`ParquetLines`] renders such a file in the layout of the
//! text format: a header line of the column names, then one line per row,
//! values separated by a space and `-` for a null or empty value. One
//! normalizer thus serves both formats, and a row that cannot be normalized
//! reaches the dead-letter store as a readable line.
//!
//! A Parquet file is read from its end (the footer holds the schema and
//! where each column's pages are), so the object is first copied to a
//! private temporary file in `$TMPDIR`, at most `limit` bytes of it
//! (`pipeline.max_parquet_bytes`); the file is unlinked as soon as it is
//! created and disappears with the reader. Rows are then read one at a time:
//! memory holds a page of each column, never the object.
//!
//! What the text layout cannot carry is refused, never guessed at: a file
//! whose columns are not flat numbers and strings (dates, decimals, nested
//! groups, lists), a column chunk over 512 MiB uncompressed, and a value
//! holding whitespace each stop the reading of the object with a message
//! naming the column. Flow logs hold none of them. A string of only
//! whitespace is read as no value.

use std::fs::File;
use std::io::{self, Read, Seek};

use parquet::basic::{ConvertedType, LogicalType, Type as PhysicalType};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::reader::RowIter;
use parquet::record::{Field, Row};

use crate::temp_file::private_temp_file;

/// Every Parquet file starts (and ends) with these bytes.
const MAGIC: &[u8] = b"PAR1";

/// The largest column chunk accepted, uncompressed. Pages are allocated at
/// the size their header declares; an honest page is never larger than its
/// chunk, and a flow log's chunks are far smaller.
const MAX_COLUMN_CHUNK: i64 = 512 << 20;

/// Whether the head of a stream is a Parquet file's.
pub fn is_parquet(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// The rows of a Parquet file as text lines (see the module docs).
pub struct ParquetLines {
    rows: RowIter<'static>,
    /// Rows rendered so far, for error messages.
    row: u64,
    /// The rendered line being handed out, and how much of it was read.
    line: Vec<u8>,
    pos: usize,
}

impl ParquetLines {
    /// Copies `reader` (the whole object) to a temporary file and opens it.
    /// Fails when the object is over `limit` bytes or is not a Parquet file
    /// this reader accepts.
    pub fn spool(reader: impl Read, limit: u64) -> io::Result<ParquetLines> {
        let context = |e: io::Error| {
            let dir = std::env::temp_dir();
            io::Error::new(
                e.kind(),
                format!(
                    "temporary copy of the Parquet object in {}: {e}",
                    dir.display()
                ),
            )
        };
        let (path, mut file) = private_temp_file("object.parquet").map_err(context)?;
        // Unlinked at once: the open handle keeps the data until it is
        // dropped, and nothing is left behind if the process dies.
        let _ = std::fs::remove_file(&path);
        let copied = io::copy(&mut reader.take(limit.saturating_add(1)), &mut file)?;
        if copied > limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the Parquet object is over {limit} bytes (pipeline.max_parquet_bytes)"),
            ));
        }
        file.rewind().map_err(context)?;
        ParquetLines::open(file)
    }

    /// Opens a complete Parquet file; the first line is the header.
    pub fn open(file: File) -> io::Result<ParquetLines> {
        guarded(|| ParquetLines::open_unguarded(file))
    }

    fn open_unguarded(file: File) -> io::Result<ParquetLines> {
        let length = file.metadata()?.len();
        let reader = SerializedFileReader::new(file).map_err(invalid)?;
        check(reader.metadata(), length)?;
        let mut line = Vec::new();
        for (i, column) in reader
            .metadata()
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .enumerate()
        {
            if i > 0 {
                line.push(b' ');
            }
            line.extend_from_slice(column.name().as_bytes());
        }
        line.push(b'\n');
        Ok(ParquetLines {
            rows: reader.into_iter(),
            row: 0,
            line,
            pos: 0,
        })
    }

    /// Renders the next row into `self.line`; false at the end of the file.
    fn next_line(&mut self) -> io::Result<bool> {
        let Some(row) = guarded(|| Ok(self.rows.next()))? else {
            return Ok(false);
        };
        let row = row.map_err(invalid)?;
        self.line.clear();
        self.pos = 0;
        self.row += 1;
        render(&row, &mut self.line).map_err(|(column, problem)| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("Parquet row {}, column {column}: {problem}", self.row),
            )
        })?;
        Ok(true)
    }
}

impl Read for ParquetLines {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.line.len() && !self.next_line()? {
            return Ok(0);
        }
        let n = buf.len().min(self.line.len() - self.pos);
        buf[..n].copy_from_slice(&self.line[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Runs a call into the parquet crate, which can panic on a corrupt file
/// (assertions in its metadata and page decoders): the panic becomes an
/// error of this object, like any other corrupt input.
fn guarded<T>(call: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("Parquet error: corrupt file ({what})"),
        ))
    })
}

fn invalid(e: parquet::errors::ParquetError) -> io::Error {
    // Its message starts with "Parquet error: ".
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// Refuses a file whose columns the text layout cannot carry, or whose
/// column chunks are implausibly large or lie outside the file's `length`.
fn check(meta: &ParquetMetaData, length: u64) -> io::Result<()> {
    let refuse = |message: String| Err(io::Error::new(io::ErrorKind::InvalidData, message));
    for column in meta.file_metadata().schema_descr().columns() {
        let flat = column.path().parts().len() == 1 && column.max_rep_level() == 0;
        let physical = matches!(
            column.physical_type(),
            PhysicalType::BOOLEAN
                | PhysicalType::INT32
                | PhysicalType::INT64
                | PhysicalType::BYTE_ARRAY
        );
        let logical = matches!(
            column.logical_type_ref(),
            None | Some(LogicalType::String | LogicalType::Enum | LogicalType::Integer { .. })
        );
        use ConvertedType as C;
        let converted = matches!(
            column.converted_type(),
            C::NONE
                | C::UTF8
                | C::ENUM
                | C::INT_8
                | C::INT_16
                | C::INT_32
                | C::INT_64
                | C::UINT_8
                | C::UINT_16
                | C::UINT_32
                | C::UINT_64
        );
        if !(flat && physical && logical && converted) {
            return refuse(format!(
                "Parquet column {} ({} {}) is not a flat number or string column, as flow log columns are",
                column.path().string(),
                column.physical_type(),
                column
                    .logical_type_ref()
                    .map_or(column.converted_type().to_string(), |l| format!("{l:?}")),
            ));
        }
    }
    for (g, group) in meta.row_groups().iter().enumerate() {
        for chunk in group.columns() {
            let start = chunk
                .dictionary_page_offset()
                .unwrap_or(chunk.data_page_offset());
            let inside = u64::try_from(start)
                .ok()
                .zip(u64::try_from(chunk.compressed_size()).ok())
                .is_some_and(|(start, len)| {
                    start.checked_add(len).is_some_and(|end| end <= length)
                });
            if !inside {
                return refuse(format!(
                    "Parquet error: corrupt file (column {} of row group {g} lies outside the file)",
                    chunk.column_path().string()
                ));
            }
            if chunk.uncompressed_size() > MAX_COLUMN_CHUNK {
                return refuse(format!(
                    "Parquet column {} of row group {g} is {} bytes uncompressed, over the {MAX_COLUMN_CHUNK} accepted",
                    chunk.column_path().string(),
                    chunk.uncompressed_size()
                ));
            }
        }
    }
    Ok(())
}

/// One row as space-separated values and a newline; on a value the layout
/// cannot carry, the column's name and what is wrong.
fn render(row: &Row, out: &mut Vec<u8>) -> Result<(), (String, String)> {
    for (i, (name, field)) in row.get_column_iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        let start = out.len();
        let number = |out: &mut Vec<u8>, n: &dyn std::fmt::Display| {
            // Writing to a Vec cannot fail.
            let _ = std::io::Write::write_fmt(out, format_args!("{n}"));
        };
        match field {
            Field::Null => {}
            Field::Str(s) => text(s.as_bytes(), out).map_err(|p| (name.clone(), p))?,
            Field::Bytes(b) => text(b.data(), out).map_err(|p| (name.clone(), p))?,
            Field::Bool(v) => number(out, v),
            Field::Byte(v) => number(out, v),
            Field::Short(v) => number(out, v),
            Field::Int(v) => number(out, v),
            Field::Long(v) => number(out, v),
            Field::UByte(v) => number(out, v),
            Field::UShort(v) => number(out, v),
            Field::UInt(v) => number(out, v),
            Field::ULong(v) => number(out, v),
            // `check` admits no other column type.
            _ => {
                return Err((
                    name.clone(),
                    "a value of a type flow logs do not use".into(),
                ));
            }
        }
        if out.len() == start {
            out.push(b'-');
        }
    }
    out.push(b'\n');
    Ok(())
}

/// Appends a string value: nothing for one of only whitespace (no value),
/// an error for one holding whitespace (it would read as two values).
fn text(value: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    if value.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    if value.iter().any(u8::is_ascii_whitespace) {
        let shown: String = String::from_utf8_lossy(value).chars().take(80).collect();
        return Err(format!(
            "the value {shown:?} holds whitespace, which the flow log text layout cannot carry"
        ));
    }
    out.extend_from_slice(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use parquet::basic::Compression as Codec;
    use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    /// A small file in the flow log's Parquet layout: a string, an int32
    /// and an int64 column, the second row with nulls.
    fn sample(codec: Codec) -> Vec<u8> {
        let schema = Arc::new(
            parse_message_type(
                "message schema { optional binary srcaddr (STRING); optional int32 srcport; optional int64 bytes; }",
            )
            .expect("schema"),
        );
        let props = Arc::new(WriterProperties::builder().set_compression(codec).build());
        let mut out = Vec::new();
        let mut writer = SerializedFileWriter::new(&mut out, schema, props).expect("writer");
        let mut group = writer.next_row_group().expect("row group");
        let mut column = group.next_column().expect("column").expect("srcaddr");
        column
            .typed::<ByteArrayType>()
            .write_batch(&[ByteArray::from("203.0.113.5")], Some(&[1, 0]), None)
            .expect("write");
        column.close().expect("close");
        let mut column = group.next_column().expect("column").expect("srcport");
        column
            .typed::<Int32Type>()
            .write_batch(&[443], Some(&[1, 0]), None)
            .expect("write");
        column.close().expect("close");
        let mut column = group.next_column().expect("column").expect("bytes");
        column
            .typed::<Int64Type>()
            .write_batch(&[840, 0], Some(&[1, 1]), None)
            .expect("write");
        column.close().expect("close");
        group.close().expect("close");
        writer.close().expect("close");
        out
    }

    fn lines(bytes: &[u8]) -> io::Result<String> {
        let mut text = String::new();
        ParquetLines::spool(bytes, 1 << 20)?.read_to_string(&mut text)?;
        Ok(text)
    }

    #[test]
    fn rows_become_lines_under_a_header_of_column_names() {
        let bytes = sample(Codec::GZIP(Default::default()));
        assert!(is_parquet(&bytes));
        assert_eq!(
            lines(&bytes).expect("reads"),
            "srcaddr srcport bytes\n203.0.113.5 443 840\n- - 0\n"
        );
    }

    #[test]
    fn snappy_and_uncompressed_pages_are_read_too() {
        for codec in [Codec::SNAPPY, Codec::UNCOMPRESSED] {
            assert!(
                lines(&sample(codec)).expect("reads").ends_with("- - 0\n"),
                "{codec:?}"
            );
        }
    }

    #[test]
    fn a_truncated_or_oversized_file_is_an_error_not_a_panic() {
        let bytes = sample(Codec::GZIP(Default::default()));
        let Err(err) = lines(&bytes[..bytes.len() - 10]) else {
            panic!("a truncated file reads")
        };
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().starts_with("Parquet error: "), "{err}");
        let err = ParquetLines::spool(&bytes[..], 100)
            .err()
            .expect("over the limit");
        assert!(
            err.to_string()
                .contains("over 100 bytes (pipeline.max_parquet_bytes)"),
            "{err}"
        );
        assert!(!is_parquet(b"version account-id"));
    }

    /// A file of one string column holding `values`, and optionally a date column.
    fn strings(values: &[&str], with_date: bool) -> Vec<u8> {
        let date = if with_date {
            " optional int32 day (DATE);"
        } else {
            ""
        };
        let schema = Arc::new(
            parse_message_type(&format!(
                "message m {{ optional binary srcaddr (STRING);{date} }}"
            ))
            .expect("schema"),
        );
        let mut out = Vec::new();
        let mut writer =
            SerializedFileWriter::new(&mut out, schema, Default::default()).expect("writer");
        let mut group = writer.next_row_group().expect("row group");
        let mut column = group.next_column().expect("column").expect("srcaddr");
        let v: Vec<ByteArray> = values.iter().map(|v| ByteArray::from(*v)).collect();
        let present = vec![1; values.len()];
        column
            .typed::<ByteArrayType>()
            .write_batch(&v, Some(&present), None)
            .expect("write");
        column.close().expect("close");
        if with_date {
            let mut column = group.next_column().expect("column").expect("day");
            let days = vec![i32::MAX; values.len()];
            column
                .typed::<Int32Type>()
                .write_batch(&days, Some(&present), None)
                .expect("write");
            column.close().expect("close");
        }
        group.close().expect("close");
        writer.close().expect("close");
        out
    }

    #[test]
    fn a_value_of_only_whitespace_is_no_value() {
        assert_eq!(
            lines(&strings(&["10.0.0.1", " ", ""], false)).expect("reads"),
            "srcaddr\n10.0.0.1\n-\n-\n"
        );
    }

    #[test]
    fn a_value_holding_whitespace_stops_the_object_naming_row_and_column() {
        let err = lines(&strings(&["10.0.0.1", "10.0.0.2 10.0.0.3"], false))
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(
            err.starts_with(
                "Parquet row 2, column srcaddr: the value \"10.0.0.2 10.0.0.3\" holds whitespace"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_column_flow_logs_never_have_is_refused_before_any_row_is_read() {
        // A date far out of range: rendering it would panic in the parquet crate.
        let err = lines(&strings(&["10.0.0.1"], true))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("Parquet column day (INT32 Date) is not a flat number or string column"),
            "{err}"
        );
    }

    #[test]
    fn corrupted_files_are_errors_never_panics() {
        // The parquet crate asserts on some corruptions; every one of these
        // must come back as an error (or, by chance, as a readable file).
        let base = sample(Codec::GZIP(Default::default()));
        let mut seed = 0x5eed_u64;
        for i in 0..2000 {
            let mut bytes = base.clone();
            for _ in 0..1 + i % 8 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed % bytes.len() as u64) as usize;
                bytes[at] = (seed >> 32) as u8;
            }
            let _ = lines(&bytes);
        }
    }
}
