//! The index templates of `mappings/`, compiled into the binary so that a
//! container needs no files beside it, and installed with `PUT` (idempotent:
//! the same body twice changes nothing). `{prefix}` in a template is replaced
//! by the configured index prefix, so several pipelines can share a cluster.

use opensearch::http::Method;
use tracing::info;

use super::{OpenSearch, SinkError};

/// Component templates, in dependency order: `(name, body)`.
pub const COMPONENT_TEMPLATES: &[(&str, &str)] = &[
    ("settings", include_str!("../../../mappings/component_templates/settings.json")),
    ("ecs", include_str!("../../../mappings/component_templates/ecs.json")),
    ("siem", include_str!("../../../mappings/component_templates/siem.json")),
];

/// Index templates by log type name.
pub const INDEX_TEMPLATES: &[(&str, &str)] = &[
    ("guardduty", include_str!("../../../mappings/index_templates/guardduty.json")),
    ("securityhub", include_str!("../../../mappings/index_templates/securityhub.json")),
    ("inspector", include_str!("../../../mappings/index_templates/inspector.json")),
    ("macie", include_str!("../../../mappings/index_templates/macie.json")),
    ("cloudtrail", include_str!("../../../mappings/index_templates/cloudtrail.json")),
    ("vpcflow", include_str!("../../../mappings/index_templates/vpcflow.json")),
    ("linux_auth", include_str!("../../../mappings/index_templates/linux_auth.json")),
    ("linux_auth_file", include_str!("../../../mappings/index_templates/linux_auth_file.json")),
];

pub fn index_template(log_type: &str) -> Option<&'static str> {
    INDEX_TEMPLATES.iter().find(|(n, _)| *n == log_type).map(|(_, b)| *b)
}

pub fn render(body: &str, prefix: &str) -> String {
    body.replace("{prefix}", prefix)
}

/// Installs every component template, then every index template.
pub async fn install(client: &OpenSearch, prefix: &str) -> Result<usize, SinkError> {
    let mut installed = 0;
    for (name, body) in COMPONENT_TEMPLATES {
        let path = format!("/_component_template/{prefix}-{name}");
        client.json(Method::Put, &path, Some(render(body, prefix).into_bytes())).await?;
        installed += 1;
    }
    for (name, body) in INDEX_TEMPLATES {
        let path = format!("/_index_template/{prefix}-{name}");
        client.json(Method::Put, &path, Some(render(body, prefix).into_bytes())).await?;
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
        for (name, body) in COMPONENT_TEMPLATES.iter().chain(INDEX_TEMPLATES) {
            let rendered = render(body, "siem");
            assert!(!rendered.contains("{prefix}"), "{name}");
            serde_json::from_str::<serde_json::Value>(&rendered)
                .unwrap_or_else(|e| panic!("template {name} is not JSON: {e}"));
        }
    }

    #[test]
    fn every_log_type_has_an_index_template() {
        for t in crate::log_types::REGISTRY {
            assert!(index_template(t.name()).is_some(), "no index template for {}", t.name());
        }
    }
}
