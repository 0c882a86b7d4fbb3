//! The index templates of `mappings/`, compiled into the binary so that a
//! container needs no files beside it, and installed with `PUT` (idempotent:
//! the same body twice changes nothing). `{prefix}` in a template is replaced
//! by the configured index prefix, so several pipelines can share a cluster.

use opensearch::http::Method;
use tracing::info;

use super::{OpenSearch, SinkError};
use crate::log_types::{REGISTRY, by_name};

/// Component templates, in dependency order: `(name, body)`.
pub const COMPONENT_TEMPLATES: &[(&str, &str)] = &[
    (
        "settings",
        include_str!("../../../mappings/component_templates/settings.json"),
    ),
    (
        "ecs",
        include_str!("../../../mappings/component_templates/ecs.json"),
    ),
    (
        "siem",
        include_str!("../../../mappings/component_templates/siem.json"),
    ),
];

/// Templates of indices that are views over several log types, `(name,
/// body)`: the current state of every finding.
pub const VIEW_TEMPLATES: &[(&str, &str)] = &[(
    "findings-current",
    include_str!("../../../mappings/views/findings_current.json"),
)];

/// The index template of every registered log type, `(log type name, body)`,
/// in registry order: each log type owns its template
/// ([`LogType::index_template`](crate::log_types::LogType::index_template)), so none can be left out.
pub fn index_templates() -> impl Iterator<Item = (&'static str, &'static str)> {
    REGISTRY.iter().map(|t| (t.name(), t.index_template()))
}

/// The index template of the log type named `log_type`.
pub fn index_template(log_type: &str) -> Option<&'static str> {
    by_name(log_type).ok().map(|t| t.index_template())
}

pub fn render(body: &str, prefix: &str) -> String {
    body.replace("{prefix}", prefix)
}

/// Installs every component template, then every index template (log types'
/// and views').
pub async fn install(client: &OpenSearch, prefix: &str) -> Result<usize, SinkError> {
    let mut installed = 0;
    for (name, body) in COMPONENT_TEMPLATES {
        let path = format!("/_component_template/{prefix}-{name}");
        client
            .json(Method::Put, &path, Some(render(body, prefix).into_bytes()))
            .await?;
        installed += 1;
    }
    for (name, body) in index_templates().chain(VIEW_TEMPLATES.iter().copied()) {
        let path = format!("/_index_template/{prefix}-{name}");
        client
            .json(Method::Put, &path, Some(render(body, prefix).into_bytes()))
            .await?;
        installed += 1;
    }
    info!(prefix, installed, "index templates installed");
    Ok(installed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_json_after_rendering() {
        for (name, body) in COMPONENT_TEMPLATES
            .iter()
            .copied()
            .chain(index_templates())
            .chain(VIEW_TEMPLATES.iter().copied())
        {
            let rendered = render(body, "siem");
            assert!(!rendered.contains("{prefix}"), "{name}");
            serde_json::from_str::<serde_json::Value>(&rendered)
                .unwrap_or_else(|e| panic!("template {name} is not JSON: {e}"));
        }
    }

    #[test]
    fn every_log_type_s_template_matches_its_own_indices_only() {
        for t in REGISTRY {
            let template: serde_json::Value =
                serde_json::from_str(&render(t.index_template(), "siem"))
                    .expect("index template JSON");
            assert_eq!(
                template["index_patterns"],
                serde_json::json!([format!("siem-{}-*", t.name())]),
                "{}",
                t.name()
            );
        }
    }

    #[test]
    fn templates_are_found_by_log_type_name() {
        assert!(index_template("guardduty").is_some_and(|b| b.contains("aws")));
        assert_eq!(index_template("nope"), None);
    }
}
