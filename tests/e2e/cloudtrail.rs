//! CloudTrail's `requestParameters` and `responseElements` have a different
//! shape for every API call: the same path is an object in one record, a
//! string, a number, an array, a date or null in the next. Indexed into one
//! index, none of them may be rejected, and they may not grow the mapping:
//! the template maps the original record as one `flat_object`.

use serde_json::{Value, json};
use siem_pipeline_tests::{Delivery, Scenario, at, gzip};

const KEY: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/28/123456789012_CloudTrail_us-east-1_20261128T0000Z_abc.json.gz";

/// The mapped leaf fields of an index: every property with a type other than
/// `object`/`nested`, and every multi-field.
fn leaf_fields(properties: &Value) -> usize {
    let Some(props) = properties.as_object() else {
        return 0;
    };
    props
        .values()
        .map(|p| {
            let own = match p.get("type").and_then(Value::as_str) {
                Some("object" | "nested") | None => 0,
                Some(_) => 1,
            };
            let multi = p
                .get("fields")
                .and_then(Value::as_object)
                .map_or(0, |f| f.len());
            own + multi + p.get("properties").map_or(0, leaf_fields)
        })
        .sum()
}

/// The value record `i` puts at a contested path: each JSON shape in turn.
fn shape(i: usize) -> Value {
    match i % 7 {
        0 => json!({"nested": {"deep": i, "list": [{"k": i}]}}),
        1 => json!(format!("text-{i}")),
        2 => json!(i),
        3 => json!([i, "mixed", {"k": format!("v{i}")}, [1, 2]]),
        4 => json!("2026-11-28T07:00:00Z"),
        5 => Value::Null,
        _ => json!(i as f64 + 0.5),
    }
}

fn corpus(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let mut request = json!({
                "contested": shape(i),
                "policy": shape(i + 1),
                "filter": {"Name": shape(i + 2), "Values": shape(i + 3)},
                "tag.with.dots": format!("v{i}"),
            });
            if i == 7 {
                // Larger than Lucene indexes as one term (32 766 bytes), as a
                // CreateStack template body can be.
                request["templateBody"] = json!("x".repeat(40_000));
            }
            json!({
                "eventVersion": "1.10",
                "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEALICE0001",
                    "arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012", "userName": "alice"},
                "eventTime": format!("2026-11-28T07:{:02}:{:02}Z", (i / 60) % 60, i % 60),
                "eventSource": "ec2.amazonaws.com",
                "eventName": if i % 2 == 0 { "DescribeInstances" } else { "ModifyInstanceAttribute" },
                "awsRegion": "us-east-1",
                "sourceIPAddress": "203.0.113.10",
                "userAgent": "aws-cli/2.22.0",
                "requestParameters": request,
                "responseElements": {"contested": shape(i + 4), "requestId": shape(i + 5)},
                "additionalEventData": shape(i + 6),
                "eventID": format!("00000000-0000-4000-8000-{i:012}"),
                "eventType": "AwsApiCall",
                "recipientAccountId": "123456789012"
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_whose_parameters_change_shape_all_index_into_one_index_with_a_bounded_mapping() {
    const RECORDS: usize = 240;
    const MAX_LEAF_FIELDS: usize = 700;
    let s = Scenario::new("ct-conflict", Delivery::Direct).await;
    let object = json!({"Records": corpus(RECORDS)}).to_string();
    s.put(KEY, gzip(object.as_bytes())).await;

    let summary = s.run_pipeline("").await;

    assert_eq!(summary.rejected, 0, "{summary:?}");
    assert_eq!(summary.indexed, RECORDS as u64, "{summary:?}");
    let os = s.opensearch();
    assert_eq!(os.count().await, RECORDS as u64);

    let mapping: Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client")
        .get(format!("{}/{}/_mapping", os.url, os.pattern))
        .send()
        .await
        .expect("mapping")
        .json()
        .await
        .expect("mapping json");
    let indices = mapping.as_object().expect("indices");
    assert_eq!(
        indices.len(),
        1,
        "one monthly index: {:?}",
        indices.keys().collect::<Vec<_>>()
    );
    let (index, body) = indices.iter().next().expect("an index");
    assert_eq!(
        at(body, "mappings.properties.aws.properties.cloudtrail.type"),
        "flat_object"
    );
    let leaves = leaf_fields(&body["mappings"]["properties"]);
    eprintln!("{index}: {leaves} leaf fields");
    assert!(
        leaves < MAX_LEAF_FIELDS,
        "{index} maps {leaves} leaf fields"
    );

    let cut = os
        .sources_where("tags", siem_pipeline::log_types::cloudtrail::TRUNCATED_TAG)
        .await;
    assert_eq!(
        cut.len(),
        1,
        "the record with a 40 000-byte value is indexed, cut"
    );
    assert!(
        at(&cut[0], "event.original")
            .as_str()
            .is_some_and(|o| o.len() > 40_000)
    );

    // Every shape stays searchable by its path inside the flat object.
    let r = os
        .search(json!({"size": 0, "track_total_hits": true,
            "query": {"term": {"aws.cloudtrail.requestParameters.contested": "text-8"}}}))
        .await;
    assert_eq!(at(&r, "hits.total.value"), 1, "{r}");
    let r = os
        .search(json!({"size": 0, "track_total_hits": true,
            "query": {"term": {"event.action": "ModifyInstanceAttribute"}}}))
        .await;
    assert_eq!(
        at(&r, "hits.total.value"),
        RECORDS as u64 / 2,
        "ECS fields are typed: {r}"
    );
}
