//! Enrichment end to end: a GuardDuty finding and a VPC flow from a public
//! address reach OpenSearch with GeoIP, ASN, a threat-intelligence match, the
//! account's name and a network direction; the same from a private address
//! get none of the lookups. The GeoIP databases are built at test time, with
//! `mmdb-writer`: nothing is downloaded.

use std::path::Path;

use serde_json::{Value, json};
use siem_pipeline_tests::{Delivery, Scenario, at, enrichment, guardduty_findings, gzip, unique};

const GUARDDUTY_KEY: &str = "AWSLogs/123456789012/GuardDuty/us-east-1/2026/11/28/0a7e1c55-e2e0-4c1a-8e11-enrichment01.jsonl.gz";
const VPC_KEY: &str = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/28/x.log.gz";

fn enrich_config(dir: &Path) -> String {
    enrichment::enrich_config(dir, &["203.0.113.0/24", "10.0.0.0/8"], &["203.0.113.0/24"])
}

fn vpc_flows() -> Vec<u8> {
    gzip(
        b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n\
          2 123456789012 eni-0a1b2c3d 203.0.113.7 10.0.0.5 44321 22 6 10 840 1795000000 1795000060 ACCEPT OK\n\
          2 123456789012 eni-0a1b2c3d 192.168.7.7 10.0.0.5 44322 22 6 10 840 1795000000 1795000060 ACCEPT OK\n",
    )
}

/// One finding probed from 203.0.113.0 (no geo of GuardDuty's own), one from
/// 192.168.9.0.
fn guardduty_export() -> Vec<u8> {
    let public = guardduty_findings(1, "2026-11", "e2eenrichpub");
    let private =
        guardduty_findings(1, "2026-11", "e2eenrichpriv").replace("203.0.113.", "192.168.9.");
    gzip(format!("{public}{private}").as_bytes())
}

fn assert_looked_up(doc: &Value, ip: &str) {
    assert_eq!(at(doc, "source.ip"), ip);
    assert_eq!(at(doc, "source.geo.city_name"), "Testville", "{doc}");
    assert_eq!(at(doc, "source.geo.country_iso_code"), "NL");
    assert_eq!(
        at(doc, "source.geo.location"),
        &json!({"lat": 52.37, "lon": 4.9})
    );
    assert_eq!(at(doc, "source.as.number"), 64500);
    assert_eq!(at(doc, "source.as.organization.name"), "Example Transit");
    let enrichments = at(doc, "threat.enrichments")
        .as_array()
        .expect("threat.enrichments");
    assert_eq!(enrichments.len(), 1, "{enrichments:?}");
    assert_eq!(
        enrichments[0],
        json!({"indicator": {"type": "ipv4-addr", "ip": ip, "provider": "e2e feed", "name": "203.0.113.0/24"},
               "matched": {"atomic": ip, "field": "source.ip", "type": "indicator_match_rule"}})
    );
    assert_eq!(at(doc, "threat.indicator.provider"), "e2e feed");
    assert_eq!(at(doc, "cloud.account.name"), "production");
}

fn assert_not_looked_up(doc: &Value, ip: &str) {
    assert_eq!(at(doc, "source.ip"), ip);
    for field in [
        "source.geo",
        "source.as",
        "threat.enrichments",
        "threat.indicator",
    ] {
        assert!(
            at(doc, field).is_null(),
            "{field} on a private source: {doc}"
        );
    }
    assert_eq!(
        at(doc, "cloud.account.name"),
        "production",
        "account names need no public address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_sources_get_geo_asn_and_threat_matches_and_private_ones_none() {
    let s = Scenario::new("enrich", Delivery::Direct).await;
    let dir = std::env::temp_dir().join(unique("siem-e2e-enrich"));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    s.put(GUARDDUTY_KEY, guardduty_export()).await;
    s.put(VPC_KEY, vpc_flows()).await;

    let summary = s.run_pipeline(&enrich_config(&dir)).await;

    assert_eq!(summary.indexed, 4, "{summary:?}");
    assert_eq!(
        summary.rejected, 0,
        "every enriched field is mapped: {summary:?}"
    );
    let os = s.opensearch();

    let finding = os.sources_where("source.ip", "203.0.113.0").await;
    assert_eq!(finding.len(), 1);
    assert_looked_up(&finding[0], "203.0.113.0");
    assert_eq!(
        at(&finding[0], "network.direction"),
        "inbound",
        "GuardDuty's own direction is kept"
    );
    let finding = os.sources_where("source.ip", "192.168.9.0").await;
    assert_eq!(finding.len(), 1);
    assert_not_looked_up(&finding[0], "192.168.9.0");

    let flow = os.sources_where("source.ip", "203.0.113.7").await;
    assert_eq!(flow.len(), 1);
    assert_looked_up(&flow[0], "203.0.113.7");
    assert_eq!(
        at(&flow[0], "network.direction"),
        "inbound",
        "from internal_networks"
    );
    assert!(
        at(&flow[0], "related.ip")
            .as_array()
            .is_some_and(|ips| ips.contains(&json!("10.0.0.5"))),
        "{}",
        flow[0]
    );
    let flow = os.sources_where("source.ip", "192.168.7.7").await;
    assert_eq!(flow.len(), 1);
    assert_not_looked_up(&flow[0], "192.168.7.7");
    assert_eq!(
        at(&flow[0], "network.direction"),
        "inbound",
        "192.168/16 is not among the internal networks"
    );

    // threat.enrichments is nested: its fields are queried together.
    let r = os
        .search(json!({"size": 0, "query": {"nested": {"path": "threat.enrichments", "query": {"bool": {"filter": [
            {"term": {"threat.enrichments.matched.field": "source.ip"}},
            {"term": {"threat.enrichments.indicator.provider": "e2e feed"}}]}}}}}))
        .await;
    assert_eq!(at(&r, "hits.total.value"), 2, "{r}");
    let _ = std::fs::remove_dir_all(&dir);
}
