//! roster-spec: the desired-state file (`users.yaml`, format version 1).
//!
//! [`read_sources`] reads files and directories, [`load`] parses, validates and merges
//! them into a [`roster_model::DesiredState`] or returns [`Diagnostics`] holding every
//! problem of the run, each with its `file:line:col`. [`to_yaml`] writes a state back
//! as a canonical file (for `roster import`), and [`json_schema`] gives the JSON Schema
//! that editors use, generated from the types in [`file`](mod@file), whose documentation is the
//! format's reference.
//!
//! # How a file is read, and why so
//!
//! serde-saphyr is the YAML crate: maintained, pure Rust, with locations for every
//! event and built for hostile input (unlike `serde_yaml`, which is unmaintained). Its
//! serde layer stops at the first error, though, and roster must report all problems at
//! once; it also makes reading a 100,000-user file about two and a half times slower
//! than the parse alone (measured: 0.8 s of events, 2.1 s through serde). So roster
//! reads the event stream of serde-saphyr's parser (`granit-parser`, re-exported as
//! `serde_saphyr::granit_parser`) into a small tree whose every node carries its line,
//! column and byte span, and checks structure, types and meaning on that tree itself.
//! The serde types in [`file`](mod@file) read the same files (tests hold the two together) and
//! generate the schema.
//!
//! A file of 2 MiB or more whose `users` list is laid out plainly (items as `- ` at one
//! indentation) is parsed in pieces on up to four threads, cut at item boundaries; the
//! pieces join into the same tree, and anything unexpected falls back to one sequential
//! parse, whose errors are then the ones reported.
//!
//! Scalars are typed by YAML 1.2's core schema (`yes` is a string, `0012` a number). A
//! string field never takes a number, boolean or null silently: that is an error with a
//! hint to quote the value.
//!
//! # Limits against hostile input
//!
//! Each is checked while reading, so hostile input ends early with a clear message and
//! never panics or overflows the stack; a legitimate file of 100,000 users and 2,000
//! groups (about 23 MB) stays far inside all of them.
//!
//! | limit | value | stops |
//! |---|---|---|
//! | file size | 32 MiB, checked before reading | huge files |
//! | nested block collections | 32 | deep nesting (the format needs 5) |
//! | nested flow collections | 32 | `[[[[...` |
//! | nodes per file | 3,400,000 (a tree of about 140 MB) | floods of tiny nodes |
//! | mappings per file | 500,000 | floods of tiny entries |
//! | users, groups, listed names per file | 200,000; 50,000; 1,000,000 | floods of entries, each a kilobyte to check |
//! | problems kept per run | 1,000, the rest counted | floods of errors |
//! | a quoted value, an excerpt | 80 characters; 60 bytes either side of the span | one line of 30 MB |
//! | nodes copied by anchors and aliases | 100,000 per file | alias bombs ("billion laughs"), nested anchors |
//! | documents per file | 1 | stray `---` |
//!
//! Aliases to a node that is not complete yet (recursion), unknown tags and YAML merge
//! keys (`<<`) are refused.
//!
//! # Several files
//!
//! Files merge in the order given (a directory stands for its `*.yaml` and `*.yml`
//! files, sorted by name). Every file must say `version: 1`. A user (by userName,
//! ignoring case) or group (by displayName, ignoring case) defined in two files is an
//! error naming both places. `provider` may be given in several files if they agree; it
//! defaults to `productboard` when no file gives it. Only one file may carry `policy`.
//! `custom_roles` lists add up.

mod check;
mod diagnostics;
mod email;
pub mod file;
mod semantic;
mod sources;
mod suggest;
mod targets;
#[cfg(test)]
mod tests;
mod tree;
mod write;

pub use diagnostics::{Check, Diagnostics, Label, Problem};
pub use sources::{ReadError, SourceFile, read_sources};
pub use write::DEFAULT_SCHEMA_REF;

use diagnostics::{At, Sink};
use roster_model::DesiredState;
use tree::Pos;

/// Parses, validates and merges desired-state files into one desired state.
///
/// Every problem of every file is reported at once, sorted by file, line and column. A
/// file that is not well-formed YAML contributes that one problem (the parser cannot go
/// on); the other files are still checked, except for whether names they refer to
/// (group members, protected users) are defined, since the definitions may sit in the
/// broken file. No sources give an empty desired state. A large file may be parsed on
/// several threads (see the crate documentation); the result does not depend on it.
///
/// Dates are read but not judged: `policy.max_access_days` needs the day to judge on,
/// which [`load_as_of`] takes.
pub fn load(sources: &[SourceFile]) -> Result<DesiredState, Diagnostics> {
    load_as_of(sources, None)
}

/// [`load`], with the day dates are judged on (`--as-of`): an `expires` more than
/// `policy.max_access_days` after it is an error.
pub fn load_as_of(
    sources: &[SourceFile],
    as_of: Option<roster_model::Date>,
) -> Result<DesiredState, Diagnostics> {
    let mut sink = Sink::new(sources);
    let mut docs = Vec::with_capacity(sources.len());
    let mut complete = true;
    for (file, source) in sources.iter().enumerate() {
        let start = At { file, pos: Pos { line: 1, col: 1, start: 0, len: 0 } };
        if source.text.len() > tree::limits::MAX_FILE_BYTES {
            sink.problem(Check::FileTooLarge, start, tree::too_large_message(source.text.len()))
                .label("file not read")
                .emit();
            complete = false;
            continue;
        }
        match tree::parse(&source.text) {
            Ok(Some(root)) if !looks_like_a_desired_state(&root) => {
                sink.problem(
                    Check::NotRosterFile,
                    start,
                    format!(
                        "not a desired-state file: {}; its content is not shown",
                        match &root.value {
                            tree::Value::Map(_) => "a mapping without any key of the format",
                            _ => "not a YAML mapping",
                        }
                    ),
                )
                .without_source()
                .help("a desired-state file is a YAML mapping that starts with `version: 1`; check the file names given")
                .emit();
                complete = false;
            }
            Ok(root) => docs.push(check::check_file(&mut sink, file, &source.text, root.as_ref())),
            Err(error) => {
                let problem = sink
                    .problem(Check::YamlSyntax, At { file, pos: error.pos }, error.message)
                    .label("the YAML parser stopped here");
                // A file that is not even a desired state may hold a secret: no excerpt.
                if mentions_the_format(&source.text) {
                    problem.emit()
                } else {
                    problem.without_source().emit()
                }
                complete = false;
            }
        }
    }
    let state = semantic::merge(&mut sink, docs, complete, as_of);
    if sink.has_problems() { Err(sink.into_diagnostics()) } else { Ok(state) }
}

/// Whether a parsed file is meant as a desired state: a mapping with at least one key of
/// the format. Anything else (a token, a private key, a `.env` or JSON credentials file
/// given by mistake) is refused whole, without quoting it.
fn looks_like_a_desired_state(root: &tree::Node<'_>) -> bool {
    match &root.value {
        tree::Value::Map(entries) => entries.iter().any(
            |(key, _)| matches!(&key.value, tree::Value::Str(k) if file::keys::TOP.contains(&k.as_ref())),
        ),
        _ => false,
    }
}

/// Whether a text that does not parse has a line starting with a top-level key of the
/// format: only then does a syntax error show the line it is on.
fn mentions_the_format(text: &str) -> bool {
    text.split(['\n', '\r']).any(|line| {
        file::keys::TOP.iter().any(|key| line.strip_prefix(key).is_some_and(|rest| rest.starts_with(':')))
    })
}

/// The JSON Schema (draft 7, the draft editors support best) of the desired-state file,
/// generated from the types in [`file`](mod@file): descriptions from their documentation, enums
/// for the provider and policies, no unknown keys.
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<file::SpecFile>();
    let mut value = serde_json::to_value(schema).unwrap_or(serde_json::Value::Null);
    polish_schema(&mut value);
    value
}

/// Makes the generated schema read better in editors: descriptions as flowing text
/// (doc comments break lines at 100 columns), and string enums as `enum` with
/// `enumDescriptions` (which editors show during completion) instead of a `oneOf` of
/// constants.
fn polish_schema(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(object) => {
            if let Some(Value::String(description)) = object.get_mut("description") {
                *description =
                    description.split("\n\n").map(|p| p.replace('\n', " ")).collect::<Vec<_>>().join("\n\n");
            }
            let constants: Option<Vec<(Value, Value)>> = match object.get("oneOf") {
                Some(Value::Array(variants)) => variants
                    .iter()
                    .map(|v| match (v.get("const"), v.get("description")) {
                        (Some(c @ Value::String(_)), Some(d)) => Some((c.clone(), d.clone())),
                        _ => None,
                    })
                    .collect(),
                _ => None,
            };
            if let Some(constants) = constants {
                object.remove("oneOf");
                object.insert("type".into(), "string".into());
                let (names, descriptions): (Vec<Value>, Vec<Value>) = constants.into_iter().unzip();
                object.insert("enum".into(), Value::Array(names));
                object.insert("enumDescriptions".into(), Value::Array(descriptions));
            }
            object.values_mut().for_each(polish_schema);
        }
        Value::Array(items) => items.iter_mut().for_each(polish_schema),
        _ => {}
    }
}

/// A desired state as a canonical file: a first line that points editors at the schema
/// ([`DEFAULT_SCHEMA_REF`]), then `version: 1`, `provider`, the whole `policy`, users
/// sorted by userName and groups by displayName (both ignoring case), members sorted.
/// Unset optional attributes are left out, `active` is written only when false. Strings
/// are quoted wherever YAML could read them as something else (`"0012"`, `"yes"`).
///
/// [`load`] of the result gives back the state, sorted so, without source locations.
pub fn to_yaml(state: &DesiredState) -> String {
    write::to_yaml(state, DEFAULT_SCHEMA_REF)
}

/// Users as entries of a file's `users` list (`  - userName: ...`), sorted by userName,
/// in the canonical style of [`to_yaml`]: the block `roster import --unmanaged` prints
/// for pasting under `users:`.
pub fn users_yaml(users: &[roster_model::DesiredUser]) -> String {
    let mut users: Vec<&roster_model::DesiredUser> = users.iter().collect();
    users.sort_by_cached_key(|u| (u.attributes.key(), u.attributes.user_name.clone()));
    let mut out = String::new();
    for user in users {
        write::write_user(&mut out, user);
    }
    out
}

/// [`to_yaml`] with another schema reference on the first line: a relative path or a URL.
pub fn to_yaml_with_schema(state: &DesiredState, schema_ref: &str) -> String {
    write::to_yaml(state, schema_ref)
}
