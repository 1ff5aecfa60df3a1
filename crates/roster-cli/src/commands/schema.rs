//! `roster schema`: the JSON Schema of the desired-state file, for editors and linters.

use std::io::Write;

use crate::cli::SchemaArgs;
use crate::commands::Ui;
use crate::commands::plan::write_atomically;
use crate::failure::{CommandResult, Exit, Failure};

/// The schema as roster writes it: pretty JSON with a trailing newline, the same bytes
/// as `schemas/roster.schema.json` of this version.
pub fn text() -> String {
    let mut text = serde_json::to_string_pretty(&roster_spec::json_schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// Prints the schema, or writes it to `--out`.
pub fn run(args: &SchemaArgs, ui: &Ui) -> CommandResult {
    let text = text();
    match &args.out {
        Some(path) => {
            write_atomically(path, text.as_bytes())?;
            ui.status(&format!("wrote the schema to {}", path.display()));
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|err| Failure::from_error("cannot write the schema", &err))?;
        }
    }
    Ok(Exit::Success)
}
