//! Retention: one Index State Management (ISM) policy per log type that has
//! a retention (`[retention]`), installed by `siem-pipeline setup`.
//!
//! Indices are named by time (`{prefix}-{log type}-YYYY.MM`, or `.DD`), not
//! rolled over: each policy deletes an index once its newest events are at
//! least the retention old, that is the retention plus one rotation period
//! (31 days for monthly indices, one for daily) after the index was created.
//! Rollover does not apply. The current-findings index (`{prefix}_findings_current`)
//! holds the latest state of open findings and is never deleted.
//!
//! The policy applies to new indices through its `ism_template`, and is
//! attached to the existing indices of its log type that have none
//! (`_plugins/_ism/add`). A policy already installed is updated in place
//! (`if_seq_no` / `if_primary_term`, as ISM requires).
//!
//! Where ISM is not installed (a bare OpenSearch node; Amazon OpenSearch
//! Serverless, whose collections use data lifecycle policies instead),
//! [`install`] says so and installs nothing; Amazon OpenSearch Service
//! domains have ISM.

use opensearch::http::Method;
use serde_json::{Value, json};

use super::{OpenSearch, SinkError};
use crate::config::{IndexRotation, RetentionConfig};
use crate::log_types::REGISTRY;

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// No `[retention]`: nothing to do.
    NotConfigured,
    /// The cluster has no ISM plugin: nothing installed.
    NoIsm,
    /// Policies created or updated, by id.
    Policies(Vec<String>),
}

/// The id of the policy of `log_type`.
pub fn policy_id(prefix: &str, log_type: &str) -> String {
    format!("{prefix}-retention-{log_type}")
}

/// `min_index_age` of a retention of `days`: the newest events of an index
/// are that old once its whole period has passed.
fn min_index_age(days: u32, rotation: IndexRotation) -> String {
    let period = match rotation {
        IndexRotation::Monthly => 31,
        IndexRotation::Daily => 1,
    };
    format!("{}d", days + period)
}

/// Every policy `config` asks for: (id, log type, body).
pub fn policies(
    config: &RetentionConfig,
    prefix: &str,
    rotation: IndexRotation,
) -> Vec<(String, &'static str, Value)> {
    REGISTRY
        .iter()
        .filter_map(|t| {
            let days = config.days(t.name())?;
            let body = json!({"policy": {
                "description": format!(
                    "siem-pipeline: delete {prefix}-{} indices once their newest events are {days} days old",
                    t.name()
                ),
                "default_state": "hot",
                "states": [
                    {"name": "hot", "actions": [], "transitions": [
                        {"state_name": "delete", "conditions": {"min_index_age": min_index_age(days, rotation)}}
                    ]},
                    {"name": "delete", "actions": [{"delete": {}}], "transitions": []}
                ],
                "ism_template": [{"index_patterns": [index_pattern(prefix, t.name())], "priority": 100}]
            }});
            Some((policy_id(prefix, t.name()), t.name(), body))
        })
        .collect()
}

/// The indices of one log type (and not of another whose name it begins:
/// `linux_auth-*` leaves `linux_auth_file-…` alone).
pub fn index_pattern(prefix: &str, log_type: &str) -> String {
    format!("{prefix}-{log_type}-*")
}

/// Installs or updates the policies of `config`.
pub async fn install(
    client: &OpenSearch,
    config: &RetentionConfig,
    prefix: &str,
    rotation: IndexRotation,
) -> Result<Installed, SinkError> {
    if !config.is_set() {
        return Ok(Installed::NotConfigured);
    }
    let probe = client
        .request(
            Method::Get,
            "/_plugins/_ism/policies",
            "application/json",
            None,
        )
        .await?;
    if !(200..300).contains(&probe.status) {
        return Ok(Installed::NoIsm);
    }
    let mut installed = Vec::new();
    for (id, log_type, body) in policies(config, prefix, rotation) {
        let path = format!("/_plugins/_ism/policies/{id}");
        let existing = client
            .request(Method::Get, &path, "application/json", None)
            .await?;
        let put = match existing.status {
            200 => {
                let v: Value = serde_json::from_slice(&existing.body).unwrap_or_default();
                format!(
                    "{path}?if_seq_no={}&if_primary_term={}",
                    v["_seq_no"].as_i64().unwrap_or(0),
                    v["_primary_term"].as_i64().unwrap_or(0)
                )
            }
            _ => path,
        };
        client
            .json(Method::Put, &put, Some(body.to_string().into_bytes()))
            .await?;
        // Existing indices that have no policy yet; the answer lists those
        // that already have one as failures, which is expected.
        client
            .json(
                Method::Post,
                &format!("/_plugins/_ism/add/{}", index_pattern(prefix, log_type)),
                Some(json!({"policy_id": id}).to_string().into_bytes()),
            )
            .await?;
        installed.push(id);
    }
    Ok(Installed::Policies(installed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn config(default: Option<u32>, by: &[(&'static str, u32)]) -> RetentionConfig {
        RetentionConfig {
            default_days: default,
            by_log_type: by.iter().copied().collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn a_policy_deletes_a_monthly_index_once_its_newest_events_are_the_retention_old() {
        let all = policies(
            &config(None, &[("vpcflow", 90)]),
            "siem",
            IndexRotation::Monthly,
        );
        assert_eq!(all.len(), 1);
        let (id, log_type, body) = &all[0];
        assert_eq!(
            (id.as_str(), *log_type),
            ("siem-retention-vpcflow", "vpcflow")
        );
        assert_eq!(
            body["policy"]["states"],
            json!([
                {"name": "hot", "actions": [], "transitions": [
                    {"state_name": "delete", "conditions": {"min_index_age": "121d"}}]},
                {"name": "delete", "actions": [{"delete": {}}], "transitions": []}
            ])
        );
        assert_eq!(
            body["policy"]["ism_template"],
            json!([{"index_patterns": ["siem-vpcflow-*"], "priority": 100}])
        );
        let daily = policies(&config(Some(7), &[]), "siem", IndexRotation::Daily);
        assert_eq!(
            daily.len(),
            REGISTRY.len(),
            "the default covers every log type"
        );
        assert!(daily.iter().all(
            |(_, _, b)| b["policy"]["states"][0]["transitions"][0]["conditions"]["min_index_age"]
                == "8d"
        ));
    }

    /// The ISM policy model (`states`, `actions`, `transitions`,
    /// `ism_template`), checked where no ISM plugin can be asked.
    #[test]
    fn every_policy_is_a_valid_ism_policy_for_its_own_indices_only() {
        let all = policies(
            &config(Some(365), &[("cloudtrail", 730)]),
            "siem",
            IndexRotation::Monthly,
        );
        for (id, log_type, body) in &all {
            let policy = body["policy"].as_object().expect("policy object");
            let keys: Vec<&str> = policy.keys().map(String::as_str).collect();
            assert!(
                keys.iter().all(
                    |k| ["description", "default_state", "states", "ism_template"].contains(k)
                ),
                "{id}: {keys:?}"
            );
            let states = policy["states"].as_array().expect("states");
            let names: Vec<&str> = states.iter().filter_map(|s| s["name"].as_str()).collect();
            assert!(names.contains(&policy["default_state"].as_str().expect("default_state")));
            for state in states {
                for action in state["actions"].as_array().expect("actions") {
                    let action = action.as_object().expect("action object");
                    assert_eq!(action.len(), 1, "{id}: one action per entry");
                    assert!(action.contains_key("delete"), "{id}: only delete is used");
                }
                for t in state["transitions"].as_array().expect("transitions") {
                    assert!(names.contains(&t["state_name"].as_str().expect("state_name")));
                    let age = t["conditions"]["min_index_age"].as_str().expect("age");
                    assert!(
                        age.strip_suffix('d')
                            .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n > 0)),
                        "{id}: {age}"
                    );
                }
            }
            let pattern = policy["ism_template"][0]["index_patterns"][0]
                .as_str()
                .expect("pattern");
            let matches = |index: &str| index.starts_with(pattern.trim_end_matches('*'));
            for other in REGISTRY {
                assert_eq!(
                    matches(&format!("siem-{}-2026.11", other.name())),
                    other.name() == *log_type,
                    "{pattern} and {}",
                    other.name()
                );
            }
            assert!(!matches("siem_findings_current"));
        }
        let cloudtrail = all
            .iter()
            .find(|(_, t, _)| *t == "cloudtrail")
            .expect("cloudtrail");
        assert_eq!(
            cloudtrail.2["policy"]["states"][0]["transitions"][0]["conditions"]["min_index_age"],
            "761d"
        );
    }
}
