//! Renders a [`Plan`] as text for a terminal, Markdown for a pull-request comment, or
//! JSON for machines. Every renderer writes into an `impl Write`, so tests render into a
//! `Vec<u8>`, and every renderer is deterministic: the same plan gives the same bytes.
//!
//! User-controlled strings (userNames, names, titles) are never written raw: the text
//! renderer escapes control characters (so a crafted displayName cannot move the cursor
//! or recolour the terminal, nor hide text with bidirectional overrides), and the
//! Markdown renderer escapes HTML and Markdown so that a name cannot break the layout,
//! inject HTML or mention people.

use std::io::{self, Write};

use roster_model::Provider;
use roster_plan::Plan;

pub use audit::{render_audit_json, render_audit_markdown, render_audit_text};
pub use export::{neutralise_formula, render_export_csv, render_export_json};
pub use multi::MultiContext;

mod audit;
mod escape;
mod export;
mod fields;
mod markdown;
mod multi;
mod text;

/// What a plan was computed for and against, which the plan itself does not hold: the
/// provider (its roles and paid seats decide which role changes are highlighted) and,
/// for a comment edited in place, the commit, the time and the service's host, so that a
/// reader can tell whether it is current. The pure core reads no clock or environment:
/// the CLI fills these in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// The provider of the desired state.
    pub provider: Provider,
    /// The commit the plan was computed for (`--for-commit`, `GITHUB_SHA` or
    /// `CI_COMMIT_SHA`).
    pub commit: Option<String>,
    /// When the live state was read, as the CLI formats it (UTC).
    pub computed_at: Option<String>,
    /// The host of the SCIM service's URL.
    pub target_host: Option<String>,
}

/// Options of the text renderer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextOptions {
    /// Use ANSI colours; the CLI decides from the terminal and `NO_COLOR`.
    pub color: bool,
    /// What the plan was computed for.
    pub context: Context,
}

/// Renders the plan for a person at a terminal: blockers first, operations grouped by
/// kind with deactivations first, attribute-level before → after, and the summary line last.
pub fn render_text(plan: &Plan, out: &mut impl Write, options: &TextOptions) -> io::Result<()> {
    out.write_all(text::render(plan, options).as_bytes())
}

/// Renders the plan as Markdown for a pull-request comment: what it was computed for, a
/// summary table, access changes (deactivations, reactivations, role changes, new users)
/// open, other details folded, and never more than [`MARKDOWN_LIMIT`] bytes.
pub fn render_markdown(plan: &Plan, out: &mut impl Write, context: &Context) -> io::Result<()> {
    out.write_all(markdown::render(plan, context).as_bytes())
}

/// The most bytes [`render_markdown`] writes: below GitHub's limit of 65,536 characters
/// per comment, with room for a wrapper the CI step may add.
pub const MARKDOWN_LIMIT: usize = 64_000;

/// Renders the plan as pretty JSON with a trailing newline; `schemas/plan.schema.json`
/// describes it.
pub fn render_json(plan: &Plan, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, plan)?;
    out.write_all(b"\n")
}

/// Renders a multi-target plan for a terminal: the blockers, who gains and loses which
/// app, the cross-target rail and each target's counts, then a section per target as
/// [`render_text`] renders it with that target's context.
pub fn render_multi_text(
    multi: &roster_plan::MultiPlan,
    out: &mut impl Write,
    options: &TextOptions,
    contexts: &MultiContext,
) -> io::Result<()> {
    out.write_all(multi::text(multi, options, contexts).as_bytes())
}

/// Renders a multi-target plan as Markdown for a pull-request comment: a summary table
/// across targets, who gains and loses which app, then a folded section per target (as
/// [`render_markdown`] renders it, within an equal share of [`MARKDOWN_LIMIT`]).
pub fn render_multi_markdown(
    multi: &roster_plan::MultiPlan,
    out: &mut impl Write,
    contexts: &MultiContext,
) -> io::Result<()> {
    out.write_all(multi::markdown(multi, contexts).as_bytes())
}

/// Renders a multi-target plan as pretty JSON with a trailing newline;
/// `schemas/multi-plan.schema.json` describes it.
pub fn render_multi_json(multi: &roster_plan::MultiPlan, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, multi)?;
    out.write_all(b"\n")
}

/// One line counting the plan's changes, such as
/// "3 to create, 2 to update, 1 to deactivate, 40 member changes in 2 groups", or
/// "no changes".
pub fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    let mut parts = Vec::new();
    let create = s.users_to_create + s.groups_to_create;
    let update = s.users_to_update + s.groups_to_update;
    if create > 0 {
        parts.push(format!("{create} to create"));
    }
    if update > 0 {
        parts.push(format!("{update} to update"));
    }
    if s.users_to_reactivate > 0 {
        parts.push(format!("{} to reactivate", s.users_to_reactivate));
    }
    if s.users_to_deactivate > 0 {
        parts.push(format!("{} to deactivate", s.users_to_deactivate));
    }
    if s.groups_to_delete > 0 {
        parts.push(format!(
            "{} {} to delete",
            s.groups_to_delete,
            plural(s.groups_to_delete, "group", "groups")
        ));
    }
    let members = s.member_changes();
    if members > 0 {
        parts.push(format!(
            "{members} member {} in {} {}",
            plural(members, "change", "changes"),
            s.groups_with_member_changes,
            plural(s.groups_with_member_changes, "group", "groups")
        ));
    }
    if parts.is_empty() { "no changes".to_string() } else { parts.join(", ") }
}

pub(crate) fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// What a plan without operations says: that nothing is to change, unless it is blocked,
/// when the live state may well differ from the file and nothing can be planned yet.
pub(crate) fn no_operations(plan: &Plan) -> &'static str {
    if plan.is_blocked() {
        "No changes can be planned until the blockers above are resolved."
    } else {
        "No changes: the live state matches the file."
    }
}
