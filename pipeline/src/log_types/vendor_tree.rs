//! The original record under `aws.<source>`, a `flat_object`, made safe to
//! index whatever it holds.
//!
//! A `flat_object` indexes each leaf, with its path, as one term, and Lucene
//! refuses a term over 32 766 bytes: one longer string (a policy document, a
//! template body, an HTTP header an attacker filled) would have the whole
//! document rejected. Such strings are cut to [`MAX_FLAT_STRING_BYTES`] in the
//! vendor tree, the untouched record goes to `event.original` (stored, not
//! indexed) and the document is tagged, so that nothing is lost and the cut is
//! visible.

use serde_json::Value;

use crate::ecs::EcsDocument;

/// The longest string kept whole in a vendor tree.
pub const MAX_FLAT_STRING_BYTES: usize = 16 * 1024;

/// Sets `path` to `record`; when a string in it is too long to index, also
/// sets `event.original` to the untouched record and tags the document with
/// `tag`.
pub fn set_original(doc: &mut EcsDocument, path: &str, mut record: Value, tag: &str) {
    if has_long_string(&record) {
        doc.set("event.original", record.to_string());
        truncate_long_strings(&mut record);
        doc.set("tags", vec![tag]);
    }
    doc.set(path, record);
}

fn has_long_string(v: &Value) -> bool {
    match v {
        Value::String(s) => s.len() > MAX_FLAT_STRING_BYTES,
        Value::Array(items) => items.iter().any(has_long_string),
        Value::Object(map) => map.values().any(has_long_string),
        _ => false,
    }
}

fn truncate_long_strings(v: &mut Value) {
    match v {
        Value::String(s) if s.len() > MAX_FLAT_STRING_BYTES => {
            let mut end = MAX_FLAT_STRING_BYTES;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
        }
        Value::Array(items) => items.iter_mut().for_each(truncate_long_strings),
        Value::Object(map) => map.values_mut().for_each(truncate_long_strings),
        _ => {}
    }
}
