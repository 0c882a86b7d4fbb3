//! What the templates map, field by field, as Dashboards sees it: the type,
//! whether it can be searched and aggregated. Composed like OpenSearch does:
//! component templates in `composed_of` order, then the index template.

use std::collections::BTreeMap;

use serde_json::Value;
use siem_pipeline::log_types::REGISTRY;
use siem_pipeline::sink::templates::{COMPONENT_TEMPLATES, VIEW_TEMPLATES, index_template, render};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub es_type: String,
    pub searchable: bool,
    pub aggregatable: bool,
    /// Under a `nested` object: not usable by a plain aggregation.
    pub nested: bool,
}

impl Field {
    /// The Dashboards field type (`osd_field_types`).
    pub fn osd_type(&self) -> &'static str {
        match self.es_type.as_str() {
            "keyword" | "wildcard" | "text" | "match_only_text" => "string",
            "long" | "integer" | "short" | "byte" | "float" | "double" | "half_float"
            | "scaled_float" | "unsigned_long" => "number",
            "date" | "date_nanos" => "date",
            "ip" => "ip",
            "boolean" => "boolean",
            "geo_point" => "geo_point",
            "flat_object" => "object",
            _ => "unknown",
        }
    }

    pub fn is_numeric(&self) -> bool {
        self.osd_type() == "number"
    }
}

/// The name under which [`fields`] knows the current-findings index.
pub const FINDINGS_CURRENT: &str = "findings-current";

/// Every mapped field of `<prefix>-<log_type>-*` indices (or, for
/// [`FINDINGS_CURRENT`], of `<prefix>_findings_current`), by dotted name.
pub fn fields(log_type: &str) -> BTreeMap<String, Field> {
    let body = VIEW_TEMPLATES
        .iter()
        .find(|(name, _)| *name == log_type)
        .map(|(_, body)| *body)
        .or_else(|| index_template(log_type))
        .unwrap_or_else(|| panic!("no index template for {log_type}"));
    let index: Value = serde_json::from_str(&render(body, "siem")).expect("index template JSON");
    let mut out = BTreeMap::new();
    for name in index["composed_of"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let short = name.strip_prefix("siem-").unwrap_or(name);
        let (_, body) = COMPONENT_TEMPLATES
            .iter()
            .find(|(n, _)| *n == short)
            .unwrap_or_else(|| panic!("{log_type}: no component template {name}"));
        let component: Value = serde_json::from_str(&render(body, "siem")).expect("component JSON");
        walk(
            &component["template"]["mappings"]["properties"],
            "",
            false,
            &mut out,
        );
    }
    walk(
        &index["template"]["mappings"]["properties"],
        "",
        false,
        &mut out,
    );
    out
}

fn walk(properties: &Value, parent: &str, nested: bool, out: &mut BTreeMap<String, Field>) {
    for (name, node) in properties.as_object().into_iter().flatten() {
        let path = format!("{parent}{name}");
        if let Some(sub) = node.get("properties") {
            let nested = nested || node["type"] == "nested";
            walk(sub, &format!("{path}."), nested, out);
            continue;
        }
        let es_type = node["type"].as_str().unwrap_or("object");
        if es_type == "object" {
            continue;
        }
        out.insert(path.clone(), field(es_type, node, nested));
        for (sub, sub_node) in node
            .get("fields")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let sub_type = sub_node["type"].as_str().unwrap_or("object");
            out.insert(format!("{path}.{sub}"), field(sub_type, sub_node, nested));
        }
    }
}

fn field(es_type: &str, node: &Value, nested: bool) -> Field {
    let aggregatable = match es_type {
        // flat_object sub-fields are searchable but do not aggregate (OpenSearch 2.19:
        // a terms aggregation on one returns no buckets; on the root it is an error).
        "text" | "match_only_text" | "flat_object" => false,
        "wildcard" => node["doc_values"] == true,
        _ => node["doc_values"] != false,
    };
    Field {
        es_type: es_type.to_owned(),
        searchable: node["index"] != false,
        aggregatable,
        nested,
    }
}

/// The log types whose indices an index pattern title matches, or
/// [`FINDINGS_CURRENT`] for the current-findings index.
pub fn log_types_of(title: &str) -> Vec<&'static str> {
    if title == "siem_findings_current" {
        return vec![FINDINGS_CURRENT];
    }
    REGISTRY
        .iter()
        .map(|t| t.name())
        .filter(|t| glob(title, &format!("siem-{t}-2026.11")))
        .collect()
}

/// `*`-only glob matching, as index patterns use.
pub fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len()).any(|i| tail.is_char_boundary(i) && glob(rest, &tail[i..]))
        }
    }
}

/// How a field is known to a query: a mapped leaf, or a sub-field of a
/// `flat_object` (searchable as a keyword, never aggregatable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    Leaf(Field),
    FlatObjectSubField,
}

pub fn lookup(fields: &BTreeMap<String, Field>, name: &str) -> Option<Known> {
    if let Some(f) = fields.get(name) {
        return Some(Known::Leaf(f.clone()));
    }
    let mut end = name.len();
    while let Some(dot) = name[..end].rfind('.') {
        if fields
            .get(&name[..dot])
            .is_some_and(|f| f.es_type == "flat_object")
        {
            return Some(Known::FlatObjectSubField);
        }
        end = dot;
    }
    None
}
