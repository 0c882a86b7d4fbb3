//! Every input the fuzz targets have kept, replayed on the stable toolchain:
//! the minimized corpora (`fuzz/corpus/<target>/`) and the inputs that once
//! crashed (`fuzz/regressions/<target>/`). Each target's function is the one
//! `cargo fuzz` calls (`fuzz/src/lib.rs`), so a crash found by fuzzing stays
//! fixed without a nightly toolchain.

#[path = "../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

use std::path::{Path, PathBuf};

/// A target's name and the function it fuzzes.
type Target = (&'static str, fn(&[u8]));

const TARGETS: &[Target] = &[
    ("notification", harness::notification),
    ("decompression", harness::decompression),
    ("framing", harness::framing),
    ("normalize", harness::normalize),
    ("parquet", harness::parquet),
    ("config", harness::config),
    ("bulk_response", harness::bulk_response),
];

fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files: Vec<PathBuf> = ["corpus", "regressions"]
        .iter()
        .flat_map(|dir| {
            std::fs::read_dir(fuzz.join(dir).join(target))
                .into_iter()
                .flatten()
        })
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_kept_fuzz_input_returns_without_a_panic() {
    let mut replayed = 0;
    for (target, run) in TARGETS {
        let files = inputs(target);
        assert!(
            !files.is_empty(),
            "{target}: no corpus (fuzz/seed writes one)"
        );
        for file in files {
            let data = std::fs::read(&file).expect("readable input");
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target}: {} panics", file.display());
            replayed += 1;
        }
    }
    eprintln!("{replayed} fuzz inputs replayed");
}

/// Found by the `parquet` target: the parquet crate panics on a corrupt
/// dictionary page (`bit_util::read_num_bytes`); the reader makes the panic
/// an error of the object.
#[test]
fn a_parquet_page_that_panics_the_parquet_crate_is_an_error_of_its_object() {
    use std::io::Read;
    let data = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/regressions/parquet/parquet-crate-panics-on-a-corrupt-dictionary-page"),
    )
    .expect("the input");
    let error = siem_pipeline::decode::parquet::ParquetLines::spool(&data[..], 1 << 20)
        .and_then(|mut lines| lines.read_to_end(&mut Vec::new()))
        .expect_err("a corrupt file");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        error
            .to_string()
            .starts_with("Parquet error: corrupt file ("),
        "{error}"
    );
}
