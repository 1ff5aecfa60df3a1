//! Loads a desired-state file for the plan tests, through the real parser and validator.

use std::path::Path;

use roster_model::DesiredState;

/// Reads and validates a desired-state file; a file with problems fails the test with
/// the diagnostics.
pub fn load_desired(path: &Path) -> DesiredState {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    roster_spec::load(&[roster_spec::SourceFile { name, text }]).unwrap_or_else(|diagnostics| {
        panic!("{} is not valid:\n{}", path.display(), diagnostics.render(false))
    })
}
