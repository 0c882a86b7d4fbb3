//! One log object of each log type, and a flow log in Parquet, end to end:
//! S3 notification, object in S3, documents in OpenSearch with the fields an
//! analyst queries.

use serde_json::json;
use siem_pipeline::redrive::record_of_letter;
use siem_pipeline_tests::{Delivery, Scenario, at, dead_letter_lines, fixture, gzip, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vpc_flow_log_object_is_indexed_one_document_per_record() {
    let s = Scenario::new("vpcflow", Delivery::Direct).await;
    let text = std::fs::read(fixture("vpcflow/v5-all-fields.log")).expect("fixture");
    s.put(
        "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/28/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60718_20261128T0700Z_1a2b3c4d.log.gz",
        gzip(&text),
    )
    .await;

    let summary = s.run_pipeline("").await;

    assert_eq!((summary.indexed, summary.rejected), (3, 0), "{summary:?}");
    let os = s.opensearch();
    assert_eq!(os.count().await, 3);
    let inbound = os.sources_where("network.direction", "ingress").await;
    assert_eq!(inbound.len(), 1);
    let doc = &inbound[0];
    assert_eq!(at(doc, "source.ip"), "192.0.2.80");
    assert_eq!(at(doc, "destination.port"), 34210);
    assert_eq!(at(doc, "event.action"), "accept");
    assert_eq!(at(doc, "aws.vpcflow.pkt_src_aws_service"), "S3");
    assert_eq!(
        at(doc, "aws.vpcflow.tcp_flags_array"),
        &json!(["fin", "syn-ack"])
    );
    // Addresses and counters are typed.
    let r = os
        .search(json!({"size": 0, "track_total_hits": true, "query": {"bool": {"filter": [
            {"term": {"destination.ip": "198.51.100.0/24"}}, {"range": {"source.bytes": {"gte": 900}}}]}}}))
        .await;
    assert_eq!(at(&r, "hits.total.value"), 1, "{r}");
    assert_eq!(s.queue_depth().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vpc_flow_log_object_in_parquet_is_indexed_like_its_text_twin() {
    let s = Scenario::new("vpcflow-parquet", Delivery::Direct).await;
    // The flows of v5-all-fields.log, as VPC Flow Logs writes them in Parquet.
    let parquet = std::fs::read(fixture("vpcflow/parquet-v5.log.parquet")).expect("fixture");
    s.put(
        "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/28/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60718_20261128T0700Z_1a2b3c4d.log.parquet",
        parquet,
    )
    .await;

    let summary = s.run_pipeline("").await;

    assert_eq!((summary.indexed, summary.rejected), (3, 0), "{summary:?}");
    let os = s.opensearch();
    let inbound = os.sources_where("network.direction", "ingress").await;
    assert_eq!(inbound.len(), 1);
    let doc = &inbound[0];
    assert_eq!(at(doc, "source.ip"), "192.0.2.80");
    assert_eq!(at(doc, "destination.port"), 34210);
    assert_eq!(at(doc, "network.transport"), "tcp");
    assert_eq!(at(doc, "event.start"), "2026-11-28T07:00:00Z");
    assert_eq!(
        at(doc, "aws.vpcflow.tcp_flags_array"),
        &json!(["fin", "syn-ack"])
    );
    assert_eq!(s.queue_depth().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_firehose_object_of_cloudwatch_logs_is_indexed_one_document_per_log_event() {
    let s = Scenario::new("linux-auth", Delivery::Direct).await;
    let messages = std::fs::read(fixture("linux_auth/firehose-cloudwatch.json")).expect("fixture");
    s.put(
        "linux-auth/2026/11/28/07/linux-auth-stream-1-2026-11-28-07-01-02-0a1b2c3d-0000-4000-8000-000000000001.gz",
        gzip(&messages),
    )
    .await;

    let summary = s.run_pipeline("").await;

    // 1 control message (nothing) + 4 + 3 log events.
    assert_eq!((summary.indexed, summary.rejected), (7, 0), "{summary:?}");
    let os = s.opensearch();
    assert_eq!(os.count().await, 7);
    let failed = os
        .search(
            json!({"size": 0, "track_total_hits": true, "query": {"bool": {"filter": [
            {"term": {"event.action": "ssh_login"}}, {"term": {"event.outcome": "failure"}},
            {"term": {"source.ip": "203.0.113.60"}}]}}}),
        )
        .await;
    assert_eq!(at(&failed, "hits.total.value"), 2, "{failed}");
    let sudo = os.sources_where("event.action", "sudo").await;
    assert_eq!(sudo.len(), 1);
    assert_eq!(at(&sudo[0], "user.name"), "ec2-user");
    assert_eq!(at(&sudo[0], "user.effective.name"), "root");
    assert_eq!(at(&sudo[0], "process.command_line"), "/bin/yum update -y");
    assert_eq!(
        at(&sudo[0], "aws.cloudwatch_logs.log_stream"),
        "i-0fedcba9876543210"
    );
    assert_eq!(s.queue_depth().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloudtrail_digest_file_is_consumed_without_documents_or_dead_letters() {
    let s = Scenario::new("ct-digest", Delivery::Direct).await;
    let digest = json!({"awsAccountId": "123456789012", "digestStartTime": "2026-11-28T06:00:00Z",
        "digestEndTime": "2026-11-28T07:00:00Z", "digestS3Bucket": "b", "digestS3Object": "k",
        "digestSignatureAlgorithm": "SHA256withRSA", "logFiles": [{"s3Bucket": "b", "s3Object": "o",
        "hashValue": "00", "hashAlgorithm": "SHA-256", "newestEventTime": "2026-11-28T06:59:00Z",
        "oldestEventTime": "2026-11-28T06:00:00Z"}]});
    s.put(
        "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/11/28/123456789012_CloudTrail-Digest_us-east-1_trail_us-east-1_20261128T070000Z.json.gz",
        gzip(digest.to_string().as_bytes()),
    )
    .await;

    let skipped = siem_pipeline::telemetry::METRICS
        .objects
        .with_label_values(&["cloudtrail", "skipped"])
        .get();

    let summary = s.run_pipeline("").await;

    assert_eq!((summary.indexed, summary.rejected), (0, 0), "{summary:?}");
    assert_eq!(
        s.queue_depth().await,
        0,
        "the notification is deleted, not left for the dead-letter queue"
    );
    assert_eq!(
        siem_pipeline::telemetry::METRICS
            .objects
            .with_label_values(&["cloudtrail", "skipped"])
            .get(),
        skipped + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_delivered_alone_through_eventbridge_and_in_the_trail_s_file_is_one_document() {
    let s = Scenario::new("ct-paths", Delivery::Direct).await;
    let event = |id: &str| {
        json!({"eventVersion": "1.08", "eventTime": "2026-11-28T06:00:00Z", "eventName": "GetObject",
            "eventSource": "s3.amazonaws.com", "eventID": id, "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9",
            "userIdentity": {"type": "IAMUser", "userName": "alice", "accountId": "123456789012"},
            "recipientAccountId": "123456789012"})
    };
    let day = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/28";
    // Alone where a trail's file belongs, as EventBridge delivers it through Firehose,
    // then in the trail's own file with another event.
    s.put(
        &format!("{day}/123456789012_CloudTrail_us-east-1_20261128T0600Z_bare.json.gz"),
        gzip(event("e1").to_string().as_bytes()),
    )
    .await;
    let wrapped = json!({"version": "0", "id": "x", "detail-type": "AWS API Call via CloudTrail", "source": "aws.s3",
        "account": "123456789012", "time": "2026-11-28T06:00:01Z", "region": "us-east-1", "resources": [],
        "detail": event("e1")});
    s.put(
        "firehose/cloudtrail-events/2026/11/28/06/cloudtrail-events-1-2026-11-28-06-05-00-x.gz",
        gzip(wrapped.to_string().as_bytes()),
    )
    .await;
    s.put(
        &format!("{day}/123456789012_CloudTrail_us-east-1_20261128T0605Z_file.json.gz"),
        gzip(
            json!({"Records": [event("e1"), event("e2")]})
                .to_string()
                .as_bytes(),
        ),
    )
    .await;
    // Still an error of its object, never zero documents: Records that is not an array.
    s.put(
        &format!("{day}/123456789012_CloudTrail_us-east-1_20261128T0610Z_broken.json.gz"),
        gzip(br#"{"Records":{"eventID":"e3"}}"#),
    )
    .await;

    let summary = s.run_pipeline("").await;

    assert_eq!(
        (summary.indexed, summary.already_indexed),
        (2, 2),
        "{summary:?}"
    );
    let e1 = s.opensearch().sources_where("event.id", "e1").await;
    assert_eq!(
        e1.len(),
        1,
        "one document for the event, whatever path it took"
    );
    assert_eq!(at(&e1[0], "user.name"), "alice");
    assert_eq!(
        s.queue_depth().await,
        1,
        "only the broken object's message stays, for the redrive policy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_balancer_access_logs_under_their_real_key_become_web_and_network_events() {
    let s = Scenario::new("elb", Delivery::Direct).await;
    let day = "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/11/28";
    let alb = std::fs::read(fixture("elb/alb.log")).expect("ALB fixture");
    let nlb = std::fs::read(fixture("elb/nlb-tls.log")).expect("NLB fixture");
    s.put(
        &format!("{day}/123456789012_elasticloadbalancing_us-east-1_app.shop-prod.50dc6c495c0c9188_20261128T1020Z_203.0.113.5_2x9vq1zh.log.gz"),
        gzip(&alb),
    )
    .await;
    s.put(
        &format!("{day}/123456789012_elasticloadbalancing_us-east-1_net.api-front.a1b2c3d4e5f60718_20261128T1025Z_a7c4f6e1.log.gz"),
        gzip(&nlb),
    )
    .await;

    let summary = s.run_pipeline("").await;

    // The ALB fixture's last line has an unclosed quote: a record error, not the object's.
    assert_eq!(summary.indexed, 5 + 2, "{summary:?}");
    let blocked = s
        .opensearch()
        .sources_where("http.response.status_code", "403")
        .await;
    assert_eq!(blocked.len(), 1);
    assert_eq!(at(&blocked[0], "source.ip"), "203.0.113.9");
    assert_eq!(at(&blocked[0], "url.path"), "/login");
    assert_eq!(
        at(&blocked[0], "user_agent.original"),
        "sqlmap/1.8.2#stable (https://sqlmap.org)"
    );
    assert_eq!(at(&blocked[0], "aws.elb.actions_executed"), "waf");
    let tls = s
        .opensearch()
        .sources_where("tls.client.server_name", "api.example.com")
        .await;
    assert_eq!(tls.len(), 1);
    assert_eq!(at(&tls[0], "event.category"), &json!(["network"]));
    assert_eq!(at(&tls[0], "destination.port"), 443);
    assert_eq!(
        s.queue_depth().await,
        1,
        "without a dead-letter store, the message of the object with a bad line stays for the redrive policy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_server_access_logs_route_by_their_object_name_and_a_record_written_twice_is_one_document()
 {
    let s = Scenario::new("s3access", Delivery::Direct).await;
    let fixture_lines = std::fs::read_to_string(fixture("s3access/access.log")).expect("fixture");
    // The fixture without its broken last line: this object must be read whole.
    let good: String = fixture_lines
        .lines()
        .filter(|l| !l.contains("C0FFEE000EXAMPLE"))
        .map(|l| format!("{l}\n"))
        .collect();
    let first = good.lines().next().expect("a line").to_owned();
    // S3 writes access logs uncompressed, under a name of its own, in the
    // prefix the owner chose or the date-partitioned one; a record may come twice.
    s.put(
        "s3-access/2026-11-30-10-25-00-5A1B2C3D4E5F6A7B",
        good.clone().into_bytes(),
    )
    .await;
    s.put(
        "s3-access/123456789012/us-east-1/payroll-exports/2026/11/30/2026-11-30-10-30-00-6B2C3D4E5F6A7B8C",
        format!("{first}\n").into_bytes(),
    )
    .await;

    let summary = s.run_pipeline("").await;

    assert_eq!(
        (summary.indexed, summary.already_indexed),
        (6, 1),
        "{summary:?}"
    );
    let stolen = s
        .opensearch()
        .sources_where("aws.s3access.key", "2026/11/salaries.csv")
        .await;
    assert_eq!(stolen.len(), 1, "one document for the record written twice");
    assert_eq!(at(&stolen[0], "source.ip"), "198.51.100.23");
    assert_eq!(at(&stolen[0], "user.name"), "i-0a5b7c9d1e3f50617");
    assert_eq!(at(&stolen[0], "event.action"), "REST.GET.OBJECT");
    let denied = s
        .opensearch()
        .sources_where("error.code", "AccessDenied")
        .await;
    assert_eq!(
        at(&denied[0], "http.request.referrer"),
        "https://evil.example.net/"
    );
    assert_eq!(s.queue_depth().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_firewall_alerts_and_flows_become_alerts_and_connections_and_a_broken_line_is_its_own_error()
 {
    let s = Scenario::new("nfw", Delivery::Direct).await;
    let dir = "AWSLogs/123456789012/network-firewall";
    s.put(
        &format!("{dir}/alert/2026/11/30/10/123456789012_network-firewall_alert_202611301015_egress-fw.log.gz"),
        gzip(&std::fs::read(fixture("network_firewall/alert.log")).expect("alerts")),
    )
    .await;
    s.put(
        &format!("{dir}/flow/2026/11/30/10/123456789012_network-firewall_flow_202611301015_egress-fw.log.gz"),
        gzip(&std::fs::read(fixture("network_firewall/flow.log")).expect("flows")),
    )
    .await;
    let letters = std::env::temp_dir().join(siem_pipeline_tests::unique("nfw-letters"));

    let summary = s
        .run_pipeline(&format!(
            "[dead_letter]\ndirectory = {:?}",
            letters.display().to_string()
        ))
        .await;

    assert_eq!(summary.indexed, 4 + 3, "{summary:?}");
    let blocked = s
        .opensearch()
        .sources_where("rule.name", "ET MALWARE Possible Reverse Shell Outbound")
        .await;
    assert_eq!(blocked.len(), 1);
    assert_eq!(at(&blocked[0], "event.type"), &json!(["denied"]));
    assert_eq!(at(&blocked[0], "destination.ip"), "198.51.100.23");
    let dns = s
        .opensearch()
        .sources_where("dns.question.name", "c2.example.org")
        .await;
    assert_eq!(dns.len(), 1);
    assert_eq!(
        s.queue_depth().await,
        0,
        "the broken line is dead-lettered, both messages deleted"
    );
    let _ = std::fs::remove_dir_all(letters);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudfront_standard_logs_route_by_their_file_name_and_read_by_their_header() {
    let s = Scenario::new("cloudfront", Delivery::Direct).await;
    let log = std::fs::read_to_string(fixture("cloudfront/standard.log")).expect("fixture");
    // Without its broken line: this object must be read whole.
    let good: String = log
        .lines()
        .filter(|l| l.starts_with('#') || l.split('\t').count() > 4)
        .map(|l| format!("{l}\n"))
        .collect();
    s.put(
        "cf-logs/shop/EMLARXS9EXAMPLE.2026-11-28-10.a1b2c3d4.gz",
        gzip(good.as_bytes()),
    )
    .await;

    let summary = s.run_pipeline("").await;

    assert_eq!(summary.indexed, 5, "{summary:?}");
    let blocked = s
        .opensearch()
        .sources_where("http.response.status_code", "403")
        .await;
    assert_eq!(blocked.len(), 1);
    assert_eq!(
        at(&blocked[0], "user_agent.original"),
        "sqlmap/1.8.2#stable (https://sqlmap.org)"
    );
    assert_eq!(at(&blocked[0], "url.query"), "next=/account?a=1");
    assert_eq!(at(&blocked[0], "observer.geo.name"), "IAD89-C2");
    assert_eq!(s.queue_depth().await, 0);
}

/// The bytes of each dead letter's record, in the order of the records.
fn dead_letter_records(dir: &std::path::Path) -> Vec<Vec<u8>> {
    dead_letter_lines(dir)
        .iter()
        .map(|l| record_of_letter(l.as_bytes()).expect("the record is in the letter"))
        .collect()
}

/// Lines `from..` of a fixture, as bytes without their newline.
fn fixture_lines(rel: &str, from: usize) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(fixture(rel)).expect("fixture");
    text.lines()
        .skip(from)
        .map(|l| l.as_bytes().to_vec())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waf_logs_from_s3_and_from_firehose_become_web_events_and_broken_records_are_dead_lettered_whole()
 {
    let s = Scenario::new("waf", Delivery::Direct).await;
    s.put(
        "AWSLogs/123456789012/WAFLogs/eu-west-1/shop-web-acl/2026/11/28/07/05/\
         123456789012_waflogs_eu-west-1_shop-web-acl_20261128T0705Z_0b1c2d3e.log.gz",
        gzip(&std::fs::read(fixture("waf/s3-web-acl.log")).expect("fixture")),
    )
    .await;
    // Firehose: records one after another, under the stream's required name.
    s.put(
        "waf-firehose/2026/11/28/07/aws-waf-logs-shop-1-2026-11-28-07-05-00-0b1c2d3e",
        gzip(&std::fs::read(fixture("waf/firehose-concatenated.json")).expect("fixture")),
    )
    .await;
    let letters = std::env::temp_dir().join(unique("waf-letters"));

    let summary = s
        .run_pipeline(&format!(
            "[dead_letter]\ndirectory = {:?}",
            letters.display().to_string()
        ))
        .await;

    assert_eq!(summary.indexed, 4 + 2, "{summary:?}");
    let sqli = s
        .opensearch()
        .sources_where("rule.name", "AWS-AWSManagedRulesSQLiRuleSet")
        .await;
    assert_eq!(sqli.len(), 1);
    assert_eq!(at(&sqli[0], "event.action"), "block");
    assert_eq!(
        at(&sqli[0], "event.category"),
        &json!(["web", "network", "intrusion_detection"])
    );
    assert_eq!(at(&sqli[0], "event.type"), &json!(["access", "denied"]));
    assert_eq!(at(&sqli[0], "source.ip"), "203.0.113.66");
    assert_eq!(at(&sqli[0], "url.path"), "/search");
    assert_eq!(
        at(&sqli[0], "aws.waf.terminatingRuleMatchDetails")[0]["conditionType"],
        "SQL_INJECTION"
    );
    // User agents are parsed (on by default); sqlmap is not a known agent.
    assert_eq!(at(&sqli[0], "user_agent.name"), &json!(null));
    let browsing = s
        .opensearch()
        .sources_where("url.path", "/products/42")
        .await;
    assert_eq!(
        at(&browsing[0], "user_agent"),
        &json!({
            "original": "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
            "name": "Firefox", "version": "132.0", "os": {"name": "Linux", "full": "Linux"}
        })
    );
    let rate_limited = s
        .opensearch()
        .sources_where("rule.name", "rate-limit-per-ip")
        .await;
    assert_eq!(rate_limited.len(), 1, "read from the Firehose object");
    assert_eq!(at(&rate_limited[0], "source.ip"), "203.0.113.200");
    // The record that is not JSON and the one without a time, as read.
    assert_eq!(
        dead_letter_records(&letters),
        fixture_lines("waf/s3-web-acl.log", 4)
    );
    assert_eq!(s.queue_depth().await, 0);
    let _ = std::fs::remove_dir_all(letters);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route53_resolver_queries_become_dns_events_and_a_dns_firewall_block_is_denied() {
    let s = Scenario::new("r53", Delivery::Direct).await;
    s.put(
        "AWSLogs/123456789012/vpcdnsquerylogs/vpc-0a1b2c3d4e5f60718/2026/11/28/\
         vpc-0a1b2c3d4e5f60718_vpcdnsquerylogs_123456789012_20261128T0700Z_5b6c7d8e.log.gz",
        gzip(&std::fs::read(fixture("route53_resolver/vpc-queries.log")).expect("fixture")),
    )
    .await;
    let letters = std::env::temp_dir().join(unique("r53-letters"));

    let summary = s
        .run_pipeline(&format!(
            "[dead_letter]\ndirectory = {:?}",
            letters.display().to_string()
        ))
        .await;

    assert_eq!(summary.indexed, 6, "{summary:?}");
    let blocked = s
        .opensearch()
        .sources_where("dns.question.name", "c2.malicious-domain.example")
        .await;
    assert_eq!(blocked.len(), 1);
    assert_eq!(
        at(&blocked[0], "event.type"),
        &json!(["protocol", "denied"])
    );
    assert_eq!(at(&blocked[0], "event.outcome"), "failure");
    assert_eq!(at(&blocked[0], "rule.name"), "rslvr-frg-0a1b2c3d4e5f6a7b");
    assert_eq!(at(&blocked[0], "source.ip"), "10.0.2.40");
    let answered = s
        .opensearch()
        .sources_where("dns.question.name", "shop.example.com")
        .await;
    assert_eq!(
        at(&answered[0], "dns.resolved_ip"),
        &json!(["198.51.100.20", "198.51.100.21"])
    );
    assert_eq!(at(&answered[0], "cloud.instance.id"), "i-0123456789abcdef0");
    assert_eq!(
        dead_letter_records(&letters),
        fixture_lines("route53_resolver/vpc-queries.log", 6)
    );
    assert_eq!(s.queue_depth().await, 0);
    let _ = std::fs::remove_dir_all(letters);
}
