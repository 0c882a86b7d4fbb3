//! The binary's offline commands, run as a user runs them.

use std::io::Write;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_siem-pipeline"))
}

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("siem-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(bytes))
        .expect("write");
    path
}

const FINDING: &str = r#"{"schemaVersion":"2.0","accountId":"123456789012","region":"us-east-1","id":"abc","type":"Recon:EC2/PortProbeUnprotectedPort","severity":2,"createdAt":"2026-11-01T00:00:00Z","updatedAt":"2026-11-02T00:00:00Z","resource":{},"service":{}}"#;

#[test]
fn normalize_routes_by_key_and_prints_index_id_and_source() {
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(format!("{FINDING}\n").as_bytes())
            .expect("gzip");
        e.finish().expect("gzip")
    };
    let file = temp_file("export.jsonl.gz", &gz);
    let out = bin()
        .args([
            "normalize",
            "--key",
            "AWSLogs/123456789012/GuardDuty/us-east-1/2026/11/02/x.jsonl.gz",
        ])
        .arg(&file)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(line["_index"], "siem-guardduty-2026.11");
    assert_eq!(line["_id"].as_str().map(str::len), Some(32));
    assert_eq!(line["_source"]["event"]["kind"], "alert");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("1 file(s), 1 document(s), 0 record error(s)")
    );
}

#[test]
fn normalize_reports_bad_records_with_file_and_number_and_keeps_going() {
    let file = temp_file(
        "mixed.jsonl",
        format!("{FINDING}\nnot json\n{FINDING}\n").as_bytes(),
    );
    let out = bin()
        .args(["normalize", "--log-type", "guardduty"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "record errors make the exit code 2"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("mixed.jsonl: record 1: invalid JSON"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 file(s), 2 document(s), 1 record error(s)"),
        "{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
}

#[test]
fn normalize_with_a_config_refuses_records_over_its_pipeline_limit() {
    // A finding of about 2 KiB: within the default limit (16 MiB), over 1 KiB.
    let long = FINDING.replace(
        r#""id":"abc""#,
        &format!(r#""id":"abc","title":"{}""#, "x".repeat(2048)),
    );
    let file = temp_file("long.jsonl", format!("{long}\n").as_bytes());
    let config = temp_file(
        "limits.toml",
        b"[sqs]\nqueue_url = \"http://q\"\n[opensearch]\nurl = \"http://os\"\n[pipeline]\nmax_record_bytes = 1024\n",
    );

    let without = bin()
        .args(["normalize", "--log-type", "guardduty"])
        .arg(&file)
        .output()
        .expect("runs");
    assert!(
        without.status.success(),
        "{}",
        String::from_utf8_lossy(&without.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&without.stdout).lines().count(), 1);

    let with = bin()
        .args(["normalize", "--log-type", "guardduty", "--config"])
        .arg(&config)
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(
        with.status.code(),
        Some(2),
        "a refused record makes the exit code 2"
    );
    let stderr = String::from_utf8_lossy(&with.stderr);
    assert!(
        stderr.contains("long.jsonl") && stderr.contains("over the limit of 1024"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 file(s), 0 document(s), 1 record error(s)"),
        "{stderr}"
    );
    assert!(with.stdout.is_empty());
}

#[test]
fn normalize_without_a_route_names_the_known_log_types() {
    let file = temp_file("unknown.log", b"hello\n");
    let out = bin().arg("normalize").arg(&file).output().expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no log type matches") && stderr.contains("guardduty"),
        "{stderr}"
    );
}

#[test]
fn check_config_names_the_file_and_key_of_an_error() {
    let file = temp_file(
        "bad.toml",
        b"[sqs]\nqueue_url = \"http://q\"\n[opensearch]\nurl = \"ftp://x\"\n",
    );
    let out = bin()
        .args(["check-config", "--config"])
        .arg(&file)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("opensearch.url"),
        "{stderr}"
    );
}

#[test]
fn healthcheck_fails_when_nothing_listens() {
    let out = bin()
        .args(["healthcheck", "--addr", "127.0.0.1:9"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
}

/// The container runs `siem-pipeline run --config /etc/siem-pipeline/config.toml`
/// with the ECS task definition's environment; where no Docker engine exists,
/// this is the closest check that the image starts: the same file, the same
/// variables, validated by the same binary.
#[test]
fn the_image_config_validates_with_the_task_definition_environment() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root");
    let task: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.join("deploy/ecs/task-definition.json"))
            .expect("task definition"),
    )
    .expect("task definition is JSON");
    let container = &task["containerDefinitions"][0];
    let mut cmd = bin();
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    let fill = |v: &str| {
        // ${Region}, ${AccountId}, ... are filled in at deploy time.
        let mut out = String::new();
        let mut rest = v;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .map_or(rest.len(), |e| start + e + 1);
            out.push_str("placeholder");
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    };
    for e in container["environment"].as_array().into_iter().flatten() {
        let (Some(name), Some(value)) = (e["name"].as_str(), e["value"].as_str()) else {
            continue;
        };
        cmd.env(name, fill(value));
    }
    for s in container["secrets"].as_array().into_iter().flatten() {
        if let Some(name) = s["name"].as_str() {
            cmd.env(
                name,
                format!("{}-from-secrets-manager", name.to_ascii_lowercase()),
            );
        }
    }
    let out = cmd
        .args(["check-config", "--config"])
        .arg(repo.join("deploy/docker/config.toml"))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("sqs.placeholder.amazonaws.com"), "{stdout}");
    assert!(
        !stdout.contains("password-from-secrets-manager"),
        "the password is not printed: {stdout}"
    );
    let help = bin().arg("--help").output().expect("runs");
    assert!(help.status.success());
}

#[test]
fn check_config_warns_of_a_password_sent_over_plain_http_and_never_prints_it() {
    let config = temp_file(
        "clear.toml",
        br#"
[sqs]
queue_url = "http://127.0.0.1:4566/000000000000/q"
[opensearch]
url = "http://search.internal:9200"
username = "admin"
password = "s3cret-value"
"#,
    );
    let out = bin()
        .args(["check-config", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: opensearch.url") && stderr.contains("https://"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("s3cret-value") && !stderr.contains("s3cret-value"),
        "{stdout}"
    );
}

#[test]
fn normalize_fails_on_an_object_that_yields_nothing_without_an_error() {
    // An empty object where a trail's log file ({"Records":[...]}) belongs.
    let file = temp_file("empty-trail-file.json", b"{ }");
    let out = bin()
        .args(["normalize", "--log-type", "cloudtrail"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no \"Records\" array"), "{stderr}");
}

#[test]
fn normalize_reads_a_cloudtrail_event_delivered_alone_as_one_document() {
    let file = temp_file(
        "bare-event.json",
        br#"{"eventVersion":"1.08","eventTime":"2026-11-28T06:00:00Z","eventName":"GetObject","eventSource":"s3.amazonaws.com","eventID":"e1"}"#,
    );
    let out = bin()
        .args(["normalize", "--log-type", "cloudtrail"])
        .arg(&file)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains(r#""action":"GetObject""#), "{stdout}");
}

#[test]
fn check_config_warns_that_serverless_time_series_collections_refuse_document_ids() {
    let config = temp_file(
        "aoss.toml",
        br#"
[aws]
region = "us-east-1"
[sqs]
queue_url = "http://127.0.0.1:4566/000000000000/q"
[opensearch]
url = "https://abc123.us-east-1.aoss.amazonaws.com"
auth = "sigv4"
sigv4_service = "aoss"
"#,
    );
    let out = bin()
        .args(["check-config", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("aoss") && stderr.contains("search collection"),
        "{stderr}"
    );
}
