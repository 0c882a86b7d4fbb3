//! Golden tests: every fixture under `tests/fixtures/<log type>/` is normalized
//! as `siem-pipeline normalize --log-type <log type>` would, and the output must
//! equal the reviewed `<case>.expected.ndjson` beside it. Then every emitted
//! document is checked against the ECS reference and the index templates.
//!
//! After an intended change, regenerate with `UPDATE_GOLDEN=1 cargo test -p
//! siem-pipeline-tests --test golden` and review the diff like code.

mod conformance;
mod corrupted;
mod ecs_properties;
mod ecs_reference;
mod mapping;
mod parquet;

use std::path::{Path, PathBuf};

use serde_json::Value;
use siem_pipeline::normalize::{self, Routing};
use siem_pipeline_tests::{fixture_inputs, repo_root};

/// One fixture and its golden output.
struct Case {
    log_type: String,
    input: PathBuf,
    expected: PathBuf,
}

fn cases() -> Vec<Case> {
    let root = repo_root().join("tests/fixtures");
    let mut cases = Vec::new();
    for dir in std::fs::read_dir(&root).expect("tests/fixtures exists") {
        let dir = dir.expect("dir entry").path();
        if !dir.is_dir() {
            continue;
        }
        let log_type = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let files = fixture_inputs(&log_type);
        for input in files {
            let name = input
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let stem = name.split('.').next().unwrap_or(name);
            let expected = dir.join(format!("{stem}.expected.ndjson"));
            cases.push(Case {
                log_type: log_type.clone(),
                input,
                expected,
            });
        }
    }
    assert!(
        !cases.is_empty(),
        "no fixtures found under {}",
        root.display()
    );
    cases
}

/// Normalizes one fixture; returns the NDJSON output and the error lines.
fn normalize_case(case: &Case) -> (String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    // The path stands for the S3 key, which enters the ids of records that
    // have no natural one: it must not depend on where the repository is.
    // Tests run in tests/, so this relative path is the same everywhere.
    let input = Path::new("..").join(case.input.strip_prefix(repo_root()).unwrap_or(&case.input));
    normalize::run(
        &[&input],
        &Routing::LogType(case.log_type.clone()),
        "siem",
        &mut out,
        &mut err,
    )
    .unwrap_or_else(|e| panic!("{}: {e}", case.input.display()));
    let err = String::from_utf8(err).expect("utf8");
    // Name files from the repository root in the error lines.
    let err = err.replace("../tests/", "tests/");
    (String::from_utf8(out).expect("utf8"), err)
}

fn documents(ndjson: &str) -> Vec<Value> {
    ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Every document of every golden file, with its log type.
pub fn golden_documents() -> Vec<(String, PathBuf, Value)> {
    cases()
        .into_iter()
        .flat_map(|c| {
            let text = std::fs::read_to_string(&c.expected).unwrap_or_default();
            documents(&text)
                .into_iter()
                .map(move |d| (c.log_type.clone(), c.expected.clone(), d))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn relative(p: &Path) -> String {
    p.strip_prefix(repo_root())
        .unwrap_or(p)
        .display()
        .to_string()
}

#[test]
fn every_fixture_normalizes_to_its_reviewed_golden_output() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for case in cases() {
        let (actual, errors) = normalize_case(&case);
        let errors_file = case
            .expected
            .with_extension("")
            .with_extension("errors.txt");
        if update {
            std::fs::write(&case.expected, &actual).expect("write golden");
            let record_errors: String = errors
                .lines()
                .filter(|l| !l.contains(" file(s), "))
                .map(|l| format!("{l}\n"))
                .collect();
            if record_errors.is_empty() {
                let _ = std::fs::remove_file(&errors_file);
            } else {
                std::fs::write(&errors_file, record_errors).expect("write errors");
            }
            continue;
        }
        let expected = std::fs::read_to_string(&case.expected).unwrap_or_else(|_| {
            panic!(
                "{} has no golden file {}; create it with UPDATE_GOLDEN=1 and review it",
                relative(&case.input),
                relative(&case.expected)
            )
        });
        let (a, e) = (documents(&actual), documents(&expected));
        if a.len() != e.len() {
            failures.push(format!(
                "{}: {} documents, golden has {}",
                relative(&case.input),
                a.len(),
                e.len()
            ));
            continue;
        }
        for (i, (a, e)) in a.iter().zip(&e).enumerate() {
            if a != e {
                failures.push(format!(
                    "{} document {i} differs:\n  actual:   {a}\n  expected: {e}",
                    relative(&case.input)
                ));
            }
        }
        let expected_errors = std::fs::read_to_string(&errors_file).unwrap_or_default();
        let actual_errors: String = errors
            .lines()
            .filter(|l| !l.contains(" file(s), "))
            .map(|l| format!("{l}\n"))
            .collect();
        if actual_errors != expected_errors {
            failures.push(format!(
                "{}: record errors differ:\n  actual:\n{actual_errors}  expected:\n{expected_errors}",
                relative(&case.input)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_registered_log_type_has_fixtures() {
    let cases = cases();
    for t in siem_pipeline::log_types::REGISTRY {
        assert!(
            cases.iter().any(|c| c.log_type == t.name()),
            "log type {} has no fixtures under tests/fixtures/{}/",
            t.name(),
            t.name()
        );
    }
}

/// The fields of `source` (a document's `_source`) that `log_type` does not
/// declare (`LogType::ecs_fields`), by dotted path.
pub fn undeclared_fields(log_type: &str, source: &Value) -> Vec<String> {
    let log_type = siem_pipeline::log_types::by_name(log_type).expect("registered");
    let Some(declared) = log_type.ecs_fields() else {
        return Vec::new();
    };
    let mut fields = all_fields(source);
    fields.retain(|f| {
        !declared
            .iter()
            .any(|d| siem_pipeline::enrich::fields::within(f, d))
    });
    fields
}

/// Every field of `source`, by dotted path.
fn all_fields(source: &Value) -> Vec<String> {
    fn leaves(v: &Value, path: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    leaves(
                        v,
                        if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        },
                        out,
                    );
                }
            }
            _ => out.push(path),
        }
    }
    let mut fields = Vec::new();
    leaves(source, String::new(), &mut fields);
    fields
}

#[test]
fn every_single_field_a_log_type_declares_is_in_one_of_its_fixtures() {
    // A field declared one by one (`source.ip`, not a whole object) is a
    // claim about what the normalizer writes: a fixture shows it, so that a
    // misspelt or stale declaration does not go unseen.
    let documents = golden_documents();
    let mut unused = Vec::new();
    for t in siem_pipeline::log_types::REGISTRY {
        let Some(declared) = t.ecs_fields() else {
            continue;
        };
        let leaves: Vec<String> = documents
            .iter()
            .filter(|(log_type, _, _)| log_type == t.name())
            .flat_map(|(_, _, doc)| all_fields(&doc["_source"]))
            .collect();
        for d in declared.iter().filter(|d| d.contains('.')) {
            if !leaves
                .iter()
                .any(|l| siem_pipeline::enrich::fields::within(l, d))
            {
                unused.push(format!("{}: `{d}` is declared but in no fixture", t.name()));
            }
        }
    }
    assert!(unused.is_empty(), "{}", unused.join("\n"));
}

#[test]
fn every_document_holds_only_the_fields_its_log_type_declares() {
    // Enrichers look for no other field (`LogType::ecs_fields`): a field
    // missing from the declaration would silently go unenriched.
    let mut problems = Vec::new();
    for (log_type, file, doc) in golden_documents() {
        for field in undeclared_fields(&log_type, &doc["_source"]) {
            problems.push(format!(
                "{}: {log_type} documents hold `{field}`, not in its ecs_fields",
                relative(&file)
            ));
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_document_carries_its_log_type_dataset_module_and_ecs_version() {
    let mut problems = Vec::new();
    for (log_type, file, doc) in golden_documents() {
        let source = &doc["_source"];
        let t = siem_pipeline::log_types::by_name(&log_type).expect("registered");
        for (field, expected) in [
            ("siem.log_type", t.name()),
            ("ecs.version", siem_pipeline::ecs::ECS_VERSION),
            ("event.module", t.module()),
            ("event.dataset", t.dataset()),
        ] {
            let actual = field.split('.').fold(source, |v, p| &v[p]);
            if actual != expected {
                problems.push(format!(
                    "{}: {field} is {actual}, not {expected:?}",
                    relative(&file)
                ));
            }
        }
    }
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
