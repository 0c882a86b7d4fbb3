//! The investigation path, end to end: the objects of an intrusion
//! (`tests/e2e/story/`, see its README) go through the pipeline into the
//! real node, and the Investigate dashboard's panels and saved searches,
//! queried as Dashboards queries them with a pivot in the query bar, show
//! every source's events for the address, the access key and the instance.

use std::collections::BTreeMap;

use serde_json::Value;
use siem_pipeline_tests::dashboards::{Panel, run_panel, saved_objects};
use siem_pipeline_tests::{Delivery, Scenario, gzip, repo_root};

const ADDRESS: &str = "198.51.100.23";
const ACCESS_KEY: &str = "ASIASTOLENKEY0000001";
const INSTANCE: &str = "i-0a5b7c9d1e3f50617";

fn story(name: &str) -> Vec<u8> {
    let path = repo_root().join("tests/e2e/story").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every panel of the Investigate dashboard, by the id after its
/// dashboard's, with `bar` in the query bar.
async fn investigate(s: &Scenario, bar: &str) -> BTreeMap<String, Panel> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let url = s.stack.opensearch_url.trim_end_matches('/');
    let (_, objects) = saved_objects()
        .into_iter()
        .find(|(file, _)| *file == "siem-investigate.ndjson")
        .expect("the Investigate dashboard is shipped");
    let mut panels = BTreeMap::new();
    for o in objects
        .iter()
        .filter(|o| o["type"] == "visualization" || o["type"] == "search")
    {
        let id = o["id"].as_str().unwrap_or_default();
        let panel = run_panel(&http, url, &s.index_prefix, &objects, o, bar)
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        panels.insert(id.trim_start_matches("siem-investigate-").to_owned(), panel);
    }
    panels
}

/// The "Events by source" table as `{source: count}`.
fn by_source(panels: &BTreeMap<String, Panel>) -> BTreeMap<String, u64> {
    panels["by-source"]
        .rows
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap_or_default().to_owned(),
                r[1].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// Column `i` of every row of a saved search, sorted.
fn column(panel: &Panel, i: usize) -> Vec<String> {
    let mut values: Vec<String> = panel
        .rows
        .iter()
        .map(|r| match &r[i] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    values.sort();
    values
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_a_credential_exfiltration_finding_to_the_logins_and_the_calls_of_the_stolen_key() {
    let s = Scenario::new("story", Delivery::Direct).await;
    let day = "2026/11/30";
    s.put(
        &format!("AWSLogs/123456789012/GuardDuty/us-east-1/{day}/5ec2b0a1-story.jsonl.gz"),
        gzip(&story("guardduty.jsonl")),
    )
    .await;
    s.put(
        "linux-auth/2026/11/30/10/linux-auth-to-firehose-1-2026-11-30-10-05-00-story.gz",
        gzip(&story("secure.json")),
    )
    .await;
    s.put(
        &format!("AWSLogs/123456789012/CloudTrail/us-east-1/{day}/123456789012_CloudTrail_us-east-1_20261130T1020Z_story.json.gz"),
        gzip(&story("cloudtrail.json")),
    )
    .await;
    s.put(
        &format!("AWSLogs/123456789012/vpcflowlogs/us-east-1/{day}/123456789012_vpcflowlogs_us-east-1_fl-story_20261130T1005Z_x.log.gz"),
        gzip(&story("vpcflow.log")),
    )
    .await;

    let summary = s.run_pipeline("").await;
    assert_eq!(summary.indexed, 1 + 5 + 4 + 3, "{summary:?}");
    s.opensearch().refresh().await;

    // The address: the finding, the SSH attempts from it, the flows, the calls made from outside.
    let by_address = investigate(&s, &format!("related.ip:\"{ADDRESS}\"")).await;
    assert_eq!(
        by_source(&by_address),
        counts(&[
            ("guardduty", 1),
            ("linux_auth", 4),
            ("vpcflow", 2),
            ("cloudtrail", 3)
        ])
    );
    let findings = &by_address["findings"];
    assert_eq!(findings.total, 1);
    assert_eq!(findings.rows[0][1], "GuardDuty");
    assert_eq!(
        findings.rows[0][2],
        "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"
    );
    assert_eq!(findings.rows[0][3], "open");
    assert_eq!(
        column(&by_address["cloudtrail"], 0),
        ["GetObject", "GetObject", "ListBuckets"]
    );
    assert_eq!(
        column(&by_address["linux-auth"], 3),
        ["failure", "failure", "failure", "success"],
        "three failed passwords, then the one that worked"
    );
    assert_eq!(column(&by_address["vpcflow"], 5), ["ACCEPT", "REJECT"]);
    assert!(
        by_address["timeline"]
            .rows
            .iter()
            .any(|r| r[1] == "linux_auth")
            && by_address["timeline"]
                .rows
                .iter()
                .any(|r| r[1] == "cloudtrail"),
        "one timeline for every source: {:?}",
        by_address["timeline"].rows
    );
    // What else the address leads to: the key, the instance, the users.
    assert_eq!(
        by_address["access-keys"].rows,
        [vec![Value::from(ACCESS_KEY), Value::from(4)]]
    );
    assert!(
        by_address["hosts"].rows.iter().any(|r| r[0] == INSTANCE),
        "{:?}",
        by_address["hosts"].rows
    );

    // The stolen key: the finding and every call made with it, also the one from inside.
    let by_key = investigate(&s, &format!("siem.access_key_id:\"{ACCESS_KEY}\"")).await;
    assert_eq!(
        by_source(&by_key),
        counts(&[("guardduty", 1), ("cloudtrail", 4)])
    );
    assert_eq!(
        column(&by_key["cloudtrail"], 4),
        ["10.0.1.40", ADDRESS, ADDRESS, ADDRESS],
        "the source address of each call with the key"
    );

    // The instance: the finding, its logins, the calls of its role.
    let by_instance = investigate(&s, &format!("related.hosts:\"{INSTANCE}\"")).await;
    assert_eq!(
        by_source(&by_instance),
        counts(&[("guardduty", 1), ("linux_auth", 5), ("cloudtrail", 4)])
    );
    assert_eq!(
        column(&by_instance["linux-auth"], 1),
        [INSTANCE; 5],
        "the log stream names the instance"
    );
}
