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
//! private temporary file, at most `limit` bytes of it; the file is unlinked
//! as soon as it is open and disappears with the reader. Rows are then read
//! one at a time: memory holds the pages of one row group's columns, never
//! the object.

use std::fs::File;
use std::io::{self, Read};

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::reader::RowIter;
use parquet::record::{Field, Row};

use crate::enrich::source::private_temp_file;

/// Every Parquet file starts (and ends) with these bytes.
const MAGIC: &[u8] = b"PAR1";

/// Whether the head of a stream is a Parquet file's.
pub fn is_parquet(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// The rows of a Parquet file as text lines (see the module docs).
pub struct ParquetLines {
    rows: RowIter<'static>,
    /// The rendered line being handed out, and how much of it was read.
    line: Vec<u8>,
    pos: usize,
}

impl ParquetLines {
    /// Copies `reader` (the whole object) to a temporary file and opens it.
    /// Fails when the object is over `limit` bytes or is not a readable
    /// Parquet file.
    pub fn spool(reader: impl Read, limit: u64) -> io::Result<ParquetLines> {
        let (path, mut file) = private_temp_file("object.parquet")?;
        let copied = (|| {
            let copied = io::copy(&mut reader.take(limit.saturating_add(1)), &mut file)?;
            if copied > limit {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("Parquet object exceeds the limit of {limit} bytes"),
                ));
            }
            File::open(&path)
        })();
        // Unlinked at once: the open handle keeps the data until it is dropped.
        let _ = std::fs::remove_file(&path);
        ParquetLines::open(copied?)
    }

    /// Opens a complete Parquet file; the first line is the header.
    pub fn open(file: File) -> io::Result<ParquetLines> {
        let reader = SerializedFileReader::new(file).map_err(invalid)?;
        let mut line = Vec::new();
        let fields = reader
            .metadata()
            .file_metadata()
            .schema_descr()
            .root_schema()
            .get_fields()
            .to_vec();
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                line.push(b' ');
            }
            line.extend_from_slice(field.name().as_bytes());
        }
        line.push(b'\n');
        Ok(ParquetLines {
            rows: reader.into_iter(),
            line,
            pos: 0,
        })
    }

    /// Renders the next row into `self.line`; false at the end of the file.
    fn next_line(&mut self) -> io::Result<bool> {
        let Some(row) = self.rows.next() else {
            return Ok(false);
        };
        let row = row.map_err(invalid)?;
        self.line.clear();
        self.pos = 0;
        render(&row, &mut self.line);
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

fn invalid(e: parquet::errors::ParquetError) -> io::Error {
    // Its message starts with "Parquet error: ".
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// One row as space-separated values and a newline.
fn render(row: &Row, out: &mut Vec<u8>) {
    use std::io::Write;
    for (i, (_, field)) in row.get_column_iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        let start = out.len();
        // Writing to a Vec cannot fail.
        let _ = match field {
            Field::Null => Ok(()),
            Field::Str(s) => out.write_all(s.as_bytes()),
            Field::Bytes(b) => out.write_all(b.data()),
            Field::Bool(v) => write!(out, "{v}"),
            Field::Byte(v) => write!(out, "{v}"),
            Field::Short(v) => write!(out, "{v}"),
            Field::Int(v) => write!(out, "{v}"),
            Field::Long(v) => write!(out, "{v}"),
            Field::UByte(v) => write!(out, "{v}"),
            Field::UShort(v) => write!(out, "{v}"),
            Field::UInt(v) => write!(out, "{v}"),
            Field::ULong(v) => write!(out, "{v}"),
            other => write!(out, "{other}"),
        };
        if out.len() == start {
            out.push(b'-');
        }
    }
    out.push(b'\n');
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
            assert!(lines(&sample(codec)).expect("reads").ends_with("- - 0\n"), "{codec:?}");
        }
    }

    #[test]
    fn a_truncated_or_oversized_file_is_an_error_not_a_panic() {
        let bytes = sample(Codec::GZIP(Default::default()));
        let Err(err) = lines(&bytes[..bytes.len() - 10]) else { panic!("a truncated file reads") };
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().starts_with("Parquet error: "), "{err}");
        let err = ParquetLines::spool(&bytes[..], 100).err().expect("over the limit");
        assert!(err.to_string().contains("exceeds the limit of 100 bytes"), "{err}");
        assert!(!is_parquet(b"version account-id"));
    }
}
