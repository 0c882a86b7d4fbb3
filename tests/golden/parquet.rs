//! The Parquet flow log fixture, `tests/fixtures/vpcflow/parquet-v5.log.parquet`,
//! holds the flows of `v5-all-fields.log` written the way VPC Flow Logs
//! writes Parquet: one optional column per field in the format's order,
//! named with underscores, `int32` for version, ports, tcp_flags and
//! traffic_path, `int64` for protocol, packets, bytes, start and end, UTF-8
//! strings for the rest, nulls for `-`, gzip-compressed pages.
//!
//! The fixture is binary, so it is not reviewed by reading it: these tests
//! prove it is that text written as Parquet, and that both give the same
//! documents. `UPDATE_GOLDEN=1` writes it anew.

use std::io::Read;
use std::sync::Arc;

use parquet::basic::{Compression, GzipLevel};
use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use serde_json::Value;
use siem_pipeline::decode::parquet::ParquetLines;
use siem_pipeline_tests::repo_root;

use super::{Case, documents, normalize_case};

const TEXT: &str = "tests/fixtures/vpcflow/v5-all-fields.log";
const PARQUET: &str = "tests/fixtures/vpcflow/parquet-v5.log.parquet";

const INT32: &[&str] = &["version", "srcport", "dstport", "tcp_flags", "traffic_path"];
const INT64: &[&str] = &["protocol", "packets", "bytes", "start", "end"];

/// The text fixture's header (underscored) and rows (`None` for `-`).
fn text_fixture() -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let text = std::fs::read_to_string(repo_root().join(TEXT)).expect("text fixture");
    let mut lines = text.lines();
    let header = lines
        .next()
        .expect("header")
        .split(' ')
        .map(|n| n.replace('-', "_"))
        .collect();
    let rows = lines
        .map(|l| {
            l.split(' ')
                .map(|v| (v != "-").then(|| v.to_owned()))
                .collect()
        })
        .collect();
    (header, rows)
}

/// The text fixture written as Parquet.
fn write_parquet() -> Vec<u8> {
    let (header, rows) = text_fixture();
    let columns: Vec<String> = header
        .iter()
        .map(|name| {
            let physical = if INT32.contains(&name.as_str()) {
                "int32"
            } else if INT64.contains(&name.as_str()) {
                "int64"
            } else {
                "binary"
            };
            let logical = if physical == "binary" {
                " (STRING)"
            } else {
                ""
            };
            format!("optional {physical} {name}{logical};")
        })
        .collect();
    let schema = Arc::new(
        parse_message_type(&format!("message flow_log {{ {} }}", columns.join(" ")))
            .expect("schema"),
    );
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::GZIP(GzipLevel::default()))
            .set_created_by("siem-pipeline test fixture".into())
            .build(),
    );
    let mut out = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut out, schema, props).expect("writer");
    let mut group = writer.next_row_group().expect("row group");
    for (c, name) in header.iter().enumerate() {
        let values: Vec<Option<&String>> = rows.iter().map(|r| r[c].as_ref()).collect();
        let levels: Vec<i16> = values.iter().map(|v| i16::from(v.is_some())).collect();
        let present = values.iter().flatten();
        let mut column = group.next_column().expect("column").expect("one per field");
        if INT32.contains(&name.as_str()) {
            let v: Vec<i32> = present.map(|s| s.parse().expect("int32")).collect();
            column
                .typed::<Int32Type>()
                .write_batch(&v, Some(&levels), None)
                .expect("write");
        } else if INT64.contains(&name.as_str()) {
            let v: Vec<i64> = present.map(|s| s.parse().expect("int64")).collect();
            column
                .typed::<Int64Type>()
                .write_batch(&v, Some(&levels), None)
                .expect("write");
        } else {
            let v: Vec<ByteArray> = present.map(|s| ByteArray::from(s.as_str())).collect();
            column
                .typed::<ByteArrayType>()
                .write_batch(&v, Some(&levels), None)
                .expect("write");
        }
        column.close().expect("close column");
    }
    group.close().expect("close row group");
    writer.close().expect("close file");
    out
}

#[test]
fn the_parquet_fixture_holds_the_text_fixture_s_flows() {
    let path = repo_root().join(PARQUET);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, write_parquet()).expect("write the Parquet fixture");
    }
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|e| panic!("{PARQUET}: {e}; write it with UPDATE_GOLDEN=1"));
    let mut lines = String::new();
    ParquetLines::open(file)
        .expect("a Parquet file")
        .read_to_string(&mut lines)
        .expect("reads");
    let (header, rows) = text_fixture();
    let mut expected = header.join(" ") + "\n";
    for row in rows {
        let values: Vec<&str> = row.iter().map(|v| v.as_deref().unwrap_or("-")).collect();
        expected += &(values.join(" ") + "\n");
    }
    assert_eq!(lines, expected);
}

#[test]
fn parquet_and_text_flow_logs_give_the_same_documents() {
    let case = |file: &str, stem: &str| Case {
        log_type: "vpcflow".into(),
        input: repo_root().join(file),
        expected: repo_root().join(format!("tests/fixtures/vpcflow/{stem}.expected.ndjson")),
    };
    let sources = |case: &Case| -> Vec<Value> {
        let (out, errors) = normalize_case(case);
        assert!(errors.lines().all(|l| l.contains(" file(s), ")), "{errors}");
        documents(&out)
            .into_iter()
            .map(|d| d["_source"].clone())
            .collect()
    };
    let text = sources(&case(TEXT, "v5-all-fields"));
    let parquet = sources(&case(PARQUET, "parquet-v5"));
    assert_eq!(text.len(), 3);
    assert_eq!(parquet, text);
}
