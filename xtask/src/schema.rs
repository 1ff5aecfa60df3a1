//! `cargo xtask schema [--check]`: the JSON Schemas in `schemas/` are generated from
//! the Rust types, never edited by hand, and CI fails when they are stale.

use anyhow::{Result, bail};

use crate::root;

pub fn run(check: bool) -> Result<()> {
    let schemas = [
        ("roster.schema.json", roster_spec::json_schema()),
        ("plan.schema.json", roster_plan::json_schema()),
        ("audit.schema.json", roster_plan::audit::json_schema()),
        ("multi-plan.schema.json", roster_plan::targets::json_schema()),
        ("export.schema.json", roster_plan::export::json_schema()),
    ];
    let mut stale = Vec::new();
    for (name, schema) in schemas {
        let path = root().join("schemas").join(name);
        let text = serde_json::to_string_pretty(&schema)? + "\n";
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == text {
            continue;
        }
        if check {
            stale.push(name);
        } else {
            std::fs::write(&path, text)?;
            eprintln!("wrote schemas/{name}");
        }
    }
    if !stale.is_empty() {
        bail!("stale schemas: {}; run `cargo xtask schema` and commit the result", stale.join(", "));
    }
    Ok(())
}
