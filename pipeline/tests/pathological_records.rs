//! Records written to hurt: 1 MiB of one byte, JSON nested 100,000 deep, a
//! 1 MiB SSH user name or user agent. Every log type's normalizer, and the
//! whole reading of an object made of such a record, must return (a
//! document or a record error) without panicking, overflowing its stack or
//! going quadratic. Each runs on a thread with the default 2 MiB stack, like
//! the blocking threads that read objects, and gets a generous 30 s.

use std::ops::ControlFlow;
use std::sync::mpsc;
use std::time::Duration;

use siem_pipeline::config::IndexRotation;
use siem_pipeline::document::{IndexNaming, ObjectIdentity};
use siem_pipeline::log_types::{self, REGISTRY};
use siem_pipeline::read::{Limits, ObjectMeta, read_object};

const MIB: usize = 1 << 20;

/// Runs `work` on a thread of its own; fails if it panics (a stack overflow
/// aborts the whole test binary) or takes more than 30 s.
fn finishes(what: &str, work: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name(what.to_owned())
        .spawn(move || {
            work();
            let _ = done.send(());
        })
        .expect("a thread");
    match finished.recv_timeout(Duration::from_secs(30)) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: still running after 30 s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let panic = worker.join().err().map(|p| {
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default()
            });
            panic!("{what}: panicked: {panic:?}");
        }
    }
}

/// Frames that are pathological whatever the log type.
fn generic_frames() -> Vec<(&'static str, Vec<u8>)> {
    let nested = |open: &str, close: &str| {
        let depth = 100_000;
        let mut v = open.repeat(depth);
        v.push_str(&close.repeat(depth));
        v.into_bytes()
    };
    vec![
        ("1 MiB of spaces", vec![b' '; MIB]),
        ("1 MiB of quotes", vec![b'"'; MIB]),
        ("1 MiB of [", vec![b'['; MIB]),
        ("1 MiB of {", vec![b'{'; MIB]),
        ("1 MiB of backslashes", vec![b'\\'; MIB]),
        ("1 MiB of 0xff", vec![0xff; MIB]),
        ("arrays nested 100k deep", nested("[", "]")),
        ("objects nested 100k deep", nested("{\"a\":", "}")),
        (
            "a 1 MiB string",
            format!("{{\"a\":\"{}\"}}", "x".repeat(MIB)).into_bytes(),
        ),
        (
            "a 1 MiB number",
            format!("{{\"a\":{}}}", "9".repeat(MIB)).into_bytes(),
        ),
        (
            "1 MiB of tiny members",
            format!("{{{}\"z\":1}}", "\"a\":1,".repeat(MIB / 6)).into_bytes(),
        ),
    ]
}

/// An SSH line whose user name an attacker chose.
fn ssh_line(user: &str) -> String {
    format!(
        "2026-11-28T08:10:02.300000+00:00 web-2 sshd[5101]: Failed password for invalid user {user} from 203.0.113.70 port 53110 ssh2"
    )
}

/// Frames aimed at one log type's own parsing.
fn specific_frames(log_type: &str) -> Vec<(&'static str, Vec<u8>)> {
    let user_names = [
        ("a 1 MiB SSH user name", "u".repeat(MIB)),
        ("an SSH user name of 1 MiB of spaces", " ".repeat(MIB)),
        (
            "an SSH user name of repeated ' from '",
            " from 1.2.3.4 port 1".repeat(MIB / 20),
        ),
    ];
    match log_type {
        "linux_auth_file" => user_names
            .into_iter()
            .map(|(what, user)| (what, ssh_line(&user).into_bytes()))
            .collect(),
        "linux_auth" => user_names
            .into_iter()
            .map(|(what, user)| {
                let record = serde_json::json!({
                    "messageType": "DATA_MESSAGE", "owner": "123456789012",
                    "logGroup": "/var/log/secure", "logStream": "i-0123456789abcdef0",
                    "subscriptionFilters": ["f"],
                    "logEvents": [{"id": "1", "timestamp": 1_795_849_200_000_u64, "message": ssh_line(&user)}],
                });
                (what, record.to_string().into_bytes())
            })
            .collect(),
        "cloudtrail" => vec![(
            "a 1 MiB user agent",
            serde_json::json!({
                "eventVersion": "1.08", "eventTime": "2026-11-02T10:00:00Z",
                "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
                "awsRegion": "us-east-1", "eventID": "e1", "sourceIPAddress": "203.0.113.7",
                "userAgent": "Mozilla/5.0 (".repeat(MIB / 13),
                "userIdentity": {"type": "IAMUser", "userName": "[".repeat(MIB)},
            })
            .to_string()
            .into_bytes(),
        )],
        "vpcflow" => vec![
            (
                "a 1 MiB flow line of fields",
                "1 ".repeat(MIB / 2).into_bytes(),
            ),
            (
                "a 1 MiB header line",
                "version ".repeat(MIB / 8).into_bytes(),
            ),
        ],
        _ => Vec::new(),
    }
}

#[test]
fn every_normalizer_returns_on_pathological_one_mebibyte_records() {
    for log_type in REGISTRY {
        let name = log_type.name();
        let frames = generic_frames().into_iter().chain(specific_frames(name));
        for (what, frame) in frames {
            finishes(&format!("{name}: {what}"), move || {
                let log_type = log_types::by_name(name).expect("a registered log type");
                let mut normalizer = log_type.normalizer();
                let mut out = Vec::new();
                // A header first, for the log types that keep one.
                let _ = normalizer.normalize(b"version account-id", &mut out);
                let _ = normalizer.normalize(&frame, &mut out);
            });
        }
    }
}

#[test]
fn reading_an_object_of_one_pathological_record_returns() {
    for log_type in REGISTRY {
        let name = log_type.name();
        let frames = generic_frames().into_iter().chain(specific_frames(name));
        for (what, frame) in frames {
            finishes(&format!("{name}, read whole: {what}"), move || {
                let log_type = log_types::by_name(name).expect("a registered log type");
                let identity = ObjectIdentity {
                    bucket: "b".into(),
                    key: "k".into(),
                    version: "v".into(),
                    written_at: None,
                };
                let naming = IndexNaming {
                    prefix: "siem".into(),
                    rotation: IndexRotation::Monthly,
                };
                read_object(
                    &frame[..],
                    &ObjectMeta::default(),
                    &identity,
                    log_type,
                    &naming,
                    Limits::default(),
                    &mut |_| ControlFlow::Continue(()),
                );
            });
        }
    }
}
