//! Whatever an attacker writes in a record, its documents hold only ECS
//! fields (the reference of `ecs_reference.rs`), the project's namespaces
//! and the fields their log type declares. Real fixture records are mutated
//! at random: a string replaced by any string, a member dropped, a value
//! turned into another type; text records get any token replaced.

use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::{Map, Value};
use siem_pipeline::decode::{Framer, Framing};
use siem_pipeline::log_types::{self, LogType, REGISTRY};
use siem_pipeline_tests::repo_root;

use super::ecs_reference::{CUSTOM_NAMESPACES, leaves, reference};
use super::undeclared_fields;

/// One record of a fixture, with the frames before it that its normalizer
/// needs (a flow log's header).
#[derive(Debug, Clone)]
struct Record {
    log_type: &'static str,
    before: Vec<Vec<u8>>,
    frame: Vec<u8>,
}

/// Every record of every fixture.
fn records() -> Vec<Record> {
    let mut out = Vec::new();
    for log_type in REGISTRY {
        let dir = repo_root().join("tests/fixtures").join(log_type.name());
        let Ok(files) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = files.filter_map(|f| f.ok().map(|f| f.path())).collect();
        files.sort();
        for file in files {
            let name = file.to_string_lossy();
            if name.ends_with(".expected.ndjson")
                || name.ends_with(".errors.txt")
                || name.ends_with(".parquet")
            {
                continue;
            }
            let bytes = std::fs::read(&file).expect("a readable fixture");
            let mut framer = Framer::new(&bytes[..], log_type.framing(), 1 << 20);
            let mut frames = Vec::new();
            while let Ok(Some((_, frame))) = framer.next_frame() {
                frames.push(frame.to_vec());
            }
            for (i, frame) in frames.iter().enumerate() {
                out.push(Record {
                    log_type: log_type.name(),
                    before: frames[..i.min(1)].to_vec(),
                    frame: frame.clone(),
                });
            }
        }
    }
    assert!(!out.is_empty());
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    ReplaceString(Index, String),
    Drop(Index),
    Retype(Index, Value),
    ReplaceToken(Index, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let text = prop_oneof![
        any::<String>(),
        "[a-z0-9.:/ -]{0,24}",
        Just(String::new()),
        select(vec![
            "0.0.0.0",
            "::1",
            "-1",
            "1e400",
            "NaN",
            "2026-13-45T99:99:99Z",
            "arn:aws:iam::000000000000:root",
            "a.b.c",
            "\u{202e}",
        ])
        .prop_map(str::to_owned),
    ];
    let value = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
        Just(serde_json::json!({"a": {"b": "c"}})),
        Just(serde_json::json!(["x", 1, null])),
        any::<String>().prop_map(Value::String),
    ];
    prop_oneof![
        (any::<Index>(), text.clone()).prop_map(|(i, s)| Mutation::ReplaceString(i, s)),
        any::<Index>().prop_map(Mutation::Drop),
        (any::<Index>(), value).prop_map(|(i, v)| Mutation::Retype(i, v)),
        (any::<Index>(), text).prop_map(|(i, s)| Mutation::ReplaceToken(i, s)),
    ]
}

/// The number of nodes of `v` (itself included).
fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(m) => m.values().map(count).sum(),
        _ => 0,
    }
}

/// The `n`-th node of `v` in pre-order.
fn nth(v: &mut Value, n: usize) -> Option<&mut Value> {
    if n == 0 {
        return Some(v);
    }
    let mut n = n - 1;
    let children: Vec<&mut Value> = match v {
        Value::Array(a) => a.iter_mut().collect(),
        Value::Object(m) => m.values_mut().collect(),
        _ => return None,
    };
    for child in children {
        let size = count(child);
        if n < size {
            return nth(child, n);
        }
        n -= size;
    }
    None
}

/// Drops one member of the `n`-th object of `v` that has any.
fn drop_member(v: &mut Value, n: usize) {
    let objects = count(v);
    for k in 0..objects {
        if let Some(Value::Object(m)) = nth(v, (n + k) % objects)
            && let Some(key) = m.keys().nth(n % m.len().max(1)).cloned()
        {
            m.remove(&key);
            return;
        }
    }
}

fn mutate(frame: &[u8], framing: Framing, mutations: &[Mutation]) -> Vec<u8> {
    if framing != Framing::Lines || frame.first() == Some(&b'{') {
        let Ok(mut v) = serde_json::from_slice::<Value>(frame) else {
            return frame.to_vec();
        };
        for m in mutations {
            let size = count(&v);
            match m {
                Mutation::ReplaceString(i, s) | Mutation::ReplaceToken(i, s) => {
                    let strings = (0..size)
                        .filter(|n| nth(&mut v, *n).is_some_and(|x| x.is_string()))
                        .collect::<Vec<_>>();
                    if !strings.is_empty()
                        && let Some(x) = nth(&mut v, strings[i.index(strings.len())])
                    {
                        *x = Value::String(s.clone());
                    }
                }
                Mutation::Drop(i) => drop_member(&mut v, i.index(size)),
                Mutation::Retype(i, value) => {
                    if let Some(x) = nth(&mut v, i.index(size)) {
                        *x = value.clone();
                    }
                }
            }
        }
        return serde_json::to_vec(&v).unwrap_or_default();
    }
    // A text line: tokens replaced, dropped or doubled.
    let text = String::from_utf8_lossy(frame);
    let mut tokens: Vec<String> = text.split(' ').map(str::to_owned).collect();
    for m in mutations {
        let n = tokens.len();
        match m {
            Mutation::ReplaceString(i, s) | Mutation::ReplaceToken(i, s) => {
                tokens[i.index(n)] = s.replace(['\n', '\r'], " ");
            }
            Mutation::Drop(i) if n > 1 => {
                tokens.remove(i.index(n));
            }
            Mutation::Drop(_) => {}
            Mutation::Retype(i, value) => {
                tokens[i.index(n)] = value.to_string().replace(['\n', '\r'], " ");
            }
        }
    }
    tokens.join(" ").into_bytes()
}

/// What in `source` is neither ECS nor a project namespace, nor declared by
/// its log type.
fn foreign_fields(
    log_type: &dyn LogType,
    source: &Map<String, Value>,
    fields: &Map<String, Value>,
) -> Vec<String> {
    let source = Value::Object(source.clone());
    let mut found = Vec::new();
    leaves("", &source, fields, &mut found);
    let mut foreign: Vec<String> = found
        .into_iter()
        .map(|(path, _)| path)
        .filter(|path| {
            let top = path.split('.').next().unwrap_or_default();
            !CUSTOM_NAMESPACES.contains(&top) && top != "labels" && !fields.contains_key(path)
        })
        .collect();
    foreign.extend(undeclared_fields(log_type.name(), &source));
    foreign
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mutated_records_give_only_ecs_and_declared_fields(
        record in select(records()),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let Some(fields) = reference() else {
            eprintln!("skipped: ../shared/ecs/ecs-8.17.0-fields.json is not present");
            return Ok(());
        };
        let log_type = log_types::by_name(record.log_type).expect("a registered log type");
        let frame = mutate(&record.frame, log_type.framing(), &mutations);
        let mut normalizer = log_type.normalizer();
        let mut out = Vec::new();
        for before in &record.before {
            let _ = normalizer.normalize(before, &mut out);
        }
        out.clear();
        if normalizer.normalize(&frame, &mut out).is_err() {
            return Ok(());
        }
        for mut normalized in out {
            log_types::stamp(log_type, &mut normalized.document);
            let foreign = foreign_fields(log_type, &normalized.document, &fields);
            prop_assert!(
                foreign.is_empty(),
                "{}: {:?} from {}",
                record.log_type,
                foreign,
                String::from_utf8_lossy(&frame)
            );
        }
    }
}
