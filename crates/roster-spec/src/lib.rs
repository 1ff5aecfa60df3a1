//! roster-spec: the desired-state file. See ARCHITECTURE.md.

/// The JSON Schema of the desired-state file, generated from the file types.
pub fn json_schema() -> serde_json::Value {
    serde_json::Value::Null
}
