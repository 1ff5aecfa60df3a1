//! The text plan, for a terminal.

use std::fmt::Write as _;

use roster_plan::{KeptReason, MemberRef, Operation, Plan};
use similar::{ChangeTag, TextDiff};

use crate::escape::{quoted, quoted_inner, terminal};
use crate::fields::{self, FieldChange, Value};
use crate::{no_operations, plural, summary_line};

#[derive(Clone, Copy)]
enum Style {
    Heading,
    Danger,
    Add,
    Remove,
    Change,
    Warn,
    Dim,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Heading => "\x1b[1m",
            Style::Danger => "\x1b[1;31m",
            Style::Add => "\x1b[32m",
            Style::Remove => "\x1b[31m",
            Style::Change => "\x1b[33m",
            Style::Warn => "\x1b[1;33m",
            Style::Dim => "\x1b[2m",
        }
    }
}

const RESET: &str = "\x1b[0m";
/// Marks the characters that differ inside a coloured before or after value.
const EMPHASIS: &str = "\x1b[1;4m";
const EMPHASIS_OFF: &str = "\x1b[22;24m";

struct Text {
    out: String,
    color: bool,
}

impl Text {
    fn paint(&self, style: Style, s: &str) -> String {
        if self.color { format!("{}{s}{RESET}", style.code()) } else { s.to_string() }
    }

    fn line(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn heading(&mut self, style: Style, title: &str, n: usize) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        let heading = self.paint(style, &format!("{title} ({n}):"));
        self.line(&heading);
    }

    /// `name: before → after`, with the differing characters emphasised when coloured.
    fn field_change(&mut self, field: &FieldChange<'_>) {
        let (before, after) = match (field.before, field.after) {
            (Value::Text(before), Value::Text(after)) if self.color => self.inline_diff(before, after),
            (before, after) => (self.value(before, Style::Remove), self.value(after, Style::Add)),
        };
        let line = format!("      {}: {before} → {after}", field.name);
        self.line(&line);
    }

    fn value(&self, value: Value<'_>, style: Style) -> String {
        match value {
            Value::Text(s) => self.paint(style, &quoted(s)),
            Value::Flag(flag) => self.paint(style, &flag.to_string()),
            Value::Unset => self.paint(Style::Dim, "(unset)"),
        }
    }

    /// Both values of a changed string, quoted and coloured, with the deleted characters
    /// emphasised in the old value and the inserted ones in the new. Values that share
    /// little are not emphasised: marking nearly every character helps no one.
    fn inline_diff(&self, before: &str, after: &str) -> (String, String) {
        let diff = TextDiff::from_chars(before, after);
        let mut old: Vec<(bool, String)> = Vec::new();
        let mut new: Vec<(bool, String)> = Vec::new();
        let emphasise = diff.ratio() >= 0.5;
        for change in diff.iter_all_changes() {
            let (side, changed) = match change.tag() {
                ChangeTag::Equal => {
                    push_run(&mut old, false, change.value());
                    (&mut new, false)
                }
                ChangeTag::Delete => (&mut old, emphasise),
                ChangeTag::Insert => (&mut new, emphasise),
            };
            push_run(side, changed, change.value());
        }
        (paint_runs(Style::Remove, &old), paint_runs(Style::Add, &new))
    }

    fn member(&mut self, sign: &str, style: Style, member: &MemberRef) {
        let new = if member.id.is_none() { " (created by this plan)" } else { "" };
        let line = format!("      {} {}{new}", self.paint(style, sign), terminal(&member.user_name));
        self.line(&line);
    }
}

pub(crate) fn render(plan: &Plan, color: bool) -> String {
    let mut t = Text { out: String::new(), color };
    let ops = &plan.operations;

    if plan.is_blocked() {
        let title = t.paint(Style::Danger, "BLOCKED: this plan must not be applied");
        t.line(&title);
        for blocker in &plan.blockers {
            let mark = t.paint(Style::Danger, "✗");
            t.line(&format!("  {mark} {}", terminal(&blocker.headline())));
            for reason in blocker.reasons() {
                t.line(&format!("      - {}", terminal(reason)));
            }
        }
    }
    if !plan.warnings.is_empty() {
        t.heading(Style::Warn, "Warnings", plan.warnings.len());
        for warning in &plan.warnings {
            let mark = t.paint(Style::Warn, "!");
            t.line(&format!("  {mark} {}", terminal(warning)));
        }
    }
    if ops.is_empty() {
        if !t.out.is_empty() {
            t.out.push('\n');
        }
        t.line(no_operations(plan));
    }

    let deactivations: Vec<_> =
        ops.iter().filter(|op| matches!(op, Operation::DeactivateUser { .. })).collect();
    if !deactivations.is_empty() {
        t.heading(Style::Danger, "Deactivate users", deactivations.len());
        for op in deactivations {
            if let Operation::DeactivateUser { id, user_name, reason } = op {
                let sign = t.paint(Style::Remove, "-");
                let id = t.paint(Style::Dim, &format!("(id {})", terminal(id)));
                t.line(&format!("  {sign} {} {id}: {}", terminal(user_name), fields::reason(*reason)));
            }
        }
    }

    for (title, reactivate) in [("Update users", false), ("Reactivate users", true)] {
        let updates = fields::user_updates(ops, reactivate);
        if updates.is_empty() {
            continue;
        }
        t.heading(Style::Heading, title, updates.len());
        for (id, user_name, before, changes) in updates {
            let sign = t.paint(Style::Change, if reactivate { "+" } else { "~" });
            let id = t.paint(Style::Dim, &format!("(id {})", terminal(id)));
            t.line(&format!("  {sign} {} {id}", terminal(user_name)));
            for field in fields::changed_fields(before, changes) {
                t.field_change(&field);
            }
        }
    }

    let creates = fields::user_creates(ops);
    if !creates.is_empty() {
        t.heading(Style::Heading, "Create users", creates.len());
        for attributes in creates {
            let sign = t.paint(Style::Add, "+");
            t.line(&format!("  {sign} {}", terminal(&attributes.user_name)));
            for (name, value) in fields::set_fields(attributes) {
                let value = t.paint(Style::Add, &quoted(value));
                t.line(&format!("      {name}: {value}"));
            }
        }
    }

    let group_updates: Vec<_> = ops
        .iter()
        .filter(|op| matches!(op, Operation::RenameGroup { .. } | Operation::SetGroupExternalId { .. }))
        .collect();
    if !group_updates.is_empty() {
        let mut n_groups = group_updates.iter().filter_map(|op| group_update_id(op)).collect::<Vec<_>>();
        n_groups.dedup();
        t.heading(Style::Heading, "Update groups", n_groups.len());
        let mut last_id = None;
        for op in group_updates {
            // A group renamed and re-keyed shows once, with both changes under it.
            let (id, name) = match op {
                Operation::RenameGroup { id, from, .. } => (id, from),
                Operation::SetGroupExternalId { id, group, .. } => (id, group),
                _ => continue,
            };
            if last_id != Some(id) {
                let sign = t.paint(Style::Change, "~");
                let shown_id = t.paint(Style::Dim, &format!("(id {})", terminal(id)));
                t.line(&format!("  {sign} {} {shown_id}", quoted(name)));
                last_id = Some(id);
            }
            match op {
                Operation::RenameGroup { from, to, .. } => t.field_change(&FieldChange {
                    name: "displayName",
                    before: Value::Text(from),
                    after: Value::Text(to),
                }),
                Operation::SetGroupExternalId { from, to, .. } => t.field_change(&FieldChange {
                    name: "externalId",
                    before: from.as_deref().map_or(Value::Unset, Value::Text),
                    after: Value::Text(to),
                }),
                _ => {}
            }
        }
    }

    let group_creates: Vec<_> = ops
        .iter()
        .filter_map(|op| match op {
            Operation::CreateGroup { display_name, external_id, .. } => Some((display_name, external_id)),
            _ => None,
        })
        .collect();
    if !group_creates.is_empty() {
        let created_members = fields::created_group_members(ops);
        t.heading(Style::Heading, "Create groups", group_creates.len());
        for (name, external_id) in group_creates {
            let sign = t.paint(Style::Add, "+");
            let external_id = match external_id {
                Some(external_id) => format!(" externalId {}", quoted(external_id)),
                None => String::new(),
            };
            let members = created_members.get(name.as_str()).map(Vec::as_slice).unwrap_or_default();
            t.line(&format!(
                "  {sign} {}{external_id} with {} {}",
                quoted(name),
                members.len(),
                plural(members.len() as u64, "member", "members")
            ));
            for member in members {
                t.member("+", Style::Add, member);
            }
        }
    }

    let member_changes = fields::member_changes(ops);
    if !member_changes.is_empty() {
        let n: usize = member_changes.values().map(|g| g.add.len() + g.remove.len()).sum();
        if !t.out.is_empty() {
            t.out.push('\n');
        }
        let heading = t.paint(
            Style::Heading,
            &format!(
                "Member changes ({n} in {} {}):",
                member_changes.len(),
                plural(member_changes.len() as u64, "group", "groups")
            ),
        );
        t.line(&heading);
        for ((name, id), members) in &member_changes {
            let sign = t.paint(Style::Change, "~");
            let id = t.paint(Style::Dim, &format!("(id {})", terminal(id)));
            t.line(&format!("  {sign} {} {id}", quoted(name)));
            for member in &members.add {
                t.member("+", Style::Add, member);
            }
            for member in &members.remove {
                t.member("-", Style::Remove, member);
            }
        }
    }

    let deletes: Vec<_> = ops
        .iter()
        .filter_map(|op| match op {
            Operation::DeleteGroup { id, display_name, empty_duplicate } => {
                Some((id, display_name, *empty_duplicate))
            }
            _ => None,
        })
        .collect();
    if !deletes.is_empty() {
        t.heading(Style::Danger, "Delete groups", deletes.len());
        for (id, name, empty_duplicate) in deletes {
            let sign = t.paint(Style::Remove, "-");
            let id = t.paint(Style::Dim, &format!("(id {})", terminal(id)));
            t.line(&format!("  {sign} {} {id}: {}", quoted(name), fields::delete_reason(empty_duplicate)));
        }
    }

    if !plan.protected.is_empty() {
        t.heading(Style::Heading, "Protected, not deactivated", plan.protected.len());
        for user in &plan.protected {
            let id = t.paint(Style::Dim, &format!("(id {})", terminal(&user.id)));
            t.line(&format!("    {} {id}: {}", terminal(&user.user_name), fields::reason(user.reason)));
        }
    }
    let kept = &plan.unmanaged;
    if !kept.users.is_empty() || !kept.groups.is_empty() {
        t.heading(Style::Heading, "Kept, not in the file", kept.users.len() + kept.groups.len());
        for user in &kept.users {
            let id = t.paint(Style::Dim, &format!("(id {})", terminal(&user.id)));
            let why = kept_reason(user.reason);
            t.line(&format!("    user {} {id}{why}", terminal(&user.user_name)));
        }
        for group in &kept.groups {
            let id = t.paint(Style::Dim, &format!("(id {})", terminal(&group.id)));
            let why = kept_reason(group.reason);
            t.line(&format!("    group {} {id}{why}", quoted(&group.display_name)));
        }
    }

    t.out.push('\n');
    if plan.is_blocked() {
        let blocked = t.paint(Style::Danger, "This plan is blocked (see the top) and must not be applied.");
        t.line(&blocked);
    }
    let summary = t.paint(Style::Heading, &format!("Plan: {}.", summary_line(plan)));
    t.line(&summary);
    t.out
}

/// Appends a piece to a list of runs, joining it to the last run when both are, or both
/// are not, emphasised.
fn push_run(runs: &mut Vec<(bool, String)>, emphasised: bool, piece: &str) {
    match runs.last_mut() {
        Some((last, text)) if *last == emphasised => text.push_str(piece),
        _ => runs.push((emphasised, piece.to_string())),
    }
}

/// A quoted value in colour, its emphasised runs underlined and bold.
fn paint_runs(style: Style, runs: &[(bool, String)]) -> String {
    let mut out = format!("{}\"", style.code());
    for (emphasised, text) in runs {
        let text = quoted_inner(text);
        if *emphasised {
            let _ = write!(out, "{EMPHASIS}{text}{EMPHASIS_OFF}");
        } else {
            out.push_str(&text);
        }
    }
    out.push('"');
    out.push_str(RESET);
    out
}

fn group_update_id(operation: &Operation) -> Option<&str> {
    match operation {
        Operation::RenameGroup { id, .. } | Operation::SetGroupExternalId { id, .. } => Some(id),
        _ => None,
    }
}

fn kept_reason(reason: KeptReason) -> &'static str {
    match reason {
        KeptReason::Policy => "",
        KeptReason::Ambiguous => ": ambiguous match, see the blockers",
    }
}
