//! Objects of another account's bucket, read with a role assumed for it
//! (`[[s3.assume_roles]]`), against moto's STS and S3.

use serde_json::Value;
use siem_pipeline_tests::{Delivery, Scenario, fixture, gzip, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_of_a_bucket_with_a_role_are_read_as_that_role() {
    let s = Scenario::new("xacct", Delivery::Direct).await;
    let log = std::fs::read(fixture("vpcflow/v2-default.log")).expect("fixture");
    s.put(
        "AWSLogs/111111111111/vpcflowlogs/us-east-1/2026/11/28/111111111111_vpcflowlogs_us-east-1_fl-1_20261128T0700Z_1.log.gz",
        gzip(&log),
    )
    .await;
    let session = unique("siem");
    let external_id = unique("ext");

    let summary = s
        .run_pipeline(&format!(
            "[[s3.assume_roles]]\nbucket = \"{}\"\nprefix = \"AWSLogs/111111111111/\"\n\
             role_arn = \"arn:aws:iam::111111111111:role/siem-reader\"\n\
             external_id = \"{external_id}\"\nsession_name = \"{session}\"\n",
            s.bucket
        ))
        .await;

    assert_eq!(
        summary.indexed as usize,
        log.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count() - 1
    );
    // What STS was asked: the role, with its external id and session name.
    let state: Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!(
            "{}/moto-api/data.json",
            s.stack.aws_endpoint.trim_end_matches('/')
        ))
        .send()
        .await
        .expect("moto state")
        .json()
        .await
        .expect("moto state JSON");
    let assumed: Vec<&Value> = state["sts"]["AssumedRole"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["session_name"] == session.as_str())
        .collect();
    assert_eq!(assumed.len(), 1, "assumed once, then cached: {assumed:?}");
    assert_eq!(
        assumed[0]["role_arn"],
        "arn:aws:iam::111111111111:role/siem-reader"
    );
    assert_eq!(assumed[0]["external_id"], external_id.as_str());
    assert_eq!(s.queue_depth().await, 0);
}
