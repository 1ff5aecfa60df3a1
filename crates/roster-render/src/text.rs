//! The text plan, for a terminal.

use std::fmt::Write as _;

use roster_plan::{MemberRef, Operation, Plan};
use similar::{ChangeTag, TextDiff};

use crate::escape::{quoted, quoted_inner, terminal};
use crate::fields::{self, FieldChange, Person, UserSection, Value};
use crate::{TextOptions, no_operations, plural, summary_line};

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
        let note = self.role_note(field, false);
        let line = format!("      {}: {before} → {after}{note}", field.name);
        self.line(&line);
    }

    /// `name: value` of a created user.
    fn set_field(&mut self, field: &FieldChange<'_>) {
        let value = self.value(field.after, Style::Add);
        let note = self.role_note(field, true);
        self.line(&format!("      {}: {value}{note}", field.name));
    }

    /// A role change's effect on access, marked so that a higher or paid role stands out.
    fn role_note(&self, field: &FieldChange<'_>, created: bool) -> String {
        let Some(change) = field.role_change else { return String::new() };
        let Some((arrow, words)) = fields::role_note(change, created) else { return String::new() };
        let style = if change.is_highlighted() { Style::Warn } else { Style::Dim };
        format!("  {}", self.paint(style, &format!("{arrow}{words}")))
    }

    /// The userName with the displayName and title beside it, and the id.
    fn person(&self, person: &Person<'_>) -> String {
        let mut shown = terminal(person.user_name).into_owned();
        let names = person.names();
        if !names.is_empty() {
            let names: Vec<String> = names.iter().map(|name| quoted(name)).collect();
            shown.push_str(&format!(" {}", names.join(", ")));
        }
        if let Some(id) = person.id {
            shown.push_str(&format!(" {}", self.paint(Style::Dim, &format!("(id {})", terminal(id)))));
        }
        shown
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
        let new = match (&member.id, member.expired) {
            (None, _) => " (created by this plan)".to_owned(),
            (Some(_), Some(day)) => format!(": expired {day} (expires: {day})"),
            (Some(_), None) => String::new(),
        };
        let line = format!("      {} {}{new}", self.paint(style, sign), terminal(&member.user_name));
        self.line(&line);
    }
}

pub(crate) fn render(plan: &Plan, options: &TextOptions) -> String {
    let mut t = Text { out: String::new(), color: options.color };
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
    let overrides: Vec<String> =
        plan.rails().iter().filter_map(|(rail, check)| check.override_note(*rail)).collect();
    if !overrides.is_empty() {
        t.heading(Style::Warn, "Safety rails passed by an override", overrides.len());
        for note in overrides {
            let mark = t.paint(Style::Warn, "!");
            t.line(&format!("  {mark} {note}"));
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

    for section in UserSection::ALL {
        let items = fields::user_items(ops, section, fields::Roles::of(plan, options.context.provider));
        if items.is_empty() {
            continue;
        }
        let (style, sign, sign_style) = match section {
            UserSection::Deactivate => (Style::Danger, "-", Style::Remove),
            UserSection::Reactivate | UserSection::Create => (Style::Heading, "+", Style::Add),
            UserSection::RoleChange | UserSection::Update => (Style::Heading, "~", Style::Change),
        };
        t.heading(style, section.title(), items.len());
        for item in items {
            let sign = t.paint(sign_style, sign);
            let person = t.person(&item.person);
            match item.deactivation {
                Some((role, reason)) => {
                    let reason = fields::deactivation_reason(reason);
                    let arrival = fields::deactivation_arrival(plan, item.person.id)
                        .map_or_else(String::new, |note| format!("; {note}"));
                    t.line(&format!("  {sign} {person}: {} ({}){arrival}", reason.words, reason.key));
                    if let Some(role) = role {
                        let paid = fields::Roles::of(plan, options.context.provider).is_paid(role);
                        let note = if paid { t.paint(Style::Dim, " (paid seat)") } else { String::new() };
                        let role = t.paint(Style::Remove, &quoted(role));
                        t.line(&format!("      role: {role}{note}"));
                    }
                }
                None => {
                    t.line(&format!("  {sign} {person}"));
                    for field in &item.fields {
                        if section == UserSection::Create {
                            t.set_field(field);
                        } else {
                            t.field_change(field);
                        }
                    }
                    if let Some(revival) = item.revival {
                        t.line("      comes back with:");
                        for line in fields::revival_lines(revival, quoted) {
                            t.line(&format!("        {line}"));
                        }
                    }
                }
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
                    role_change: None,
                }),
                Operation::SetGroupExternalId { from, to, .. } => t.field_change(&FieldChange {
                    name: "externalId",
                    before: from.as_deref().map_or(Value::Unset, Value::Text),
                    after: Value::Text(to),
                    role_change: None,
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
        let member_changes = fields::member_changes(ops);
        t.heading(Style::Heading, "Create groups", group_creates.len());
        for (name, external_id) in group_creates {
            let sign = t.paint(Style::Add, "+");
            let external_id = match external_id {
                Some(external_id) => format!(" externalId {}", quoted(external_id)),
                None => String::new(),
            };
            let n = member_changes.get(name.as_str()).map_or(0, |members| members.add.len());
            t.line(&format!(
                "  {sign} {}{external_id} with {n} {}",
                quoted(name),
                plural(n as u64, "member", "members")
            ));
        }
    }

    let member_changes = fields::member_changes(ops);
    if !member_changes.is_empty() {
        // The same counts as the summary line: every membership added or removed,
        // the first members of created groups included.
        let n = plan.summary.member_changes();
        let n_groups = plan.summary.groups_with_member_changes;
        if !t.out.is_empty() {
            t.out.push('\n');
        }
        let heading = t.paint(
            Style::Heading,
            &format!("Member changes ({n} in {n_groups} {}):", plural(n_groups, "group", "groups")),
        );
        t.line(&heading);
        for (name, members) in &member_changes {
            let sign = t.paint(Style::Change, "~");
            let id = match members.id {
                Some(id) => t.paint(Style::Dim, &format!("(id {})", terminal(id))),
                None => t.paint(Style::Dim, "(created by this plan)"),
            };
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
            let reason = fields::group_delete_reason(empty_duplicate);
            t.line(&format!("  {sign} {} {id}: {} ({})", quoted(name), reason.words, reason.key));
        }
    }

    if !plan.protected.is_empty() {
        t.heading(Style::Heading, "Protected, not deactivated", plan.protected.len());
        for user in &plan.protected {
            let id = t.paint(Style::Dim, &format!("(id {})", terminal(&user.id)));
            let reason = fields::protected_reason(&user.reason);
            t.line(&format!("    {} {id}: {} ({})", terminal(&user.user_name), reason.words, reason.key));
        }
    }
    let kept = &plan.unmanaged;
    if !kept.users.is_empty() || !kept.groups.is_empty() {
        t.heading(Style::Heading, "Kept, not in the file", kept.users.len() + kept.groups.len());
        for user in &kept.users {
            let id = t.paint(Style::Dim, &format!("(id {})", terminal(&user.id)));
            let why = fields::kept_reason(user.reason, true);
            t.line(&format!("    user {} {id}: {} ({})", terminal(&user.user_name), why.words, why.key));
        }
        for group in &kept.groups {
            let id = t.paint(Style::Dim, &format!("(id {})", terminal(&group.id)));
            let why = fields::kept_reason(group.reason, false);
            t.line(&format!("    group {} {id}: {} ({})", quoted(&group.display_name), why.words, why.key));
        }
    }

    if !plan.arrivals.is_empty() {
        t.heading(Style::Heading, "Arrivals: live users not in the file", plan.arrivals.len());
        for arrival in &plan.arrivals {
            let id = t.paint(Style::Dim, &format!("(id {})", terminal(&arrival.id)));
            let fate = if arrival.deactivated { "deactivated" } else { "kept" };
            t.line(&format!(
                "    {} {id}: {}; {fate}",
                terminal(&arrival.user_name),
                terminal(&fields::arrival_note(arrival))
            ));
        }
    }
    if let Some(access) = &plan.access {
        for section in fields::access_sections(access) {
            t.heading(Style::Warn, &section.title, section.entries.len());
            for entry in section.entries {
                let who = match entry.group {
                    Some(group) => {
                        format!("membership of {} in {}", terminal(entry.user_name), quoted(group))
                    }
                    None => format!("user {}", terminal(entry.user_name)),
                };
                t.line(&format!("    {who}: {}", entry.note));
            }
        }
    }

    t.out.push('\n');
    if plan.is_blocked() {
        let blocked = t.paint(Style::Danger, "This plan is blocked (see the top) and must not be applied.");
        t.line(&blocked);
    }
    let summary = t.paint(Style::Heading, &format!("Plan: {}.", summary_line(plan)));
    t.line(&summary);
    if let Some(seats) = &plan.seats {
        t.line(&format!("Paid seats: {}.", terminal(&fields::seat_line(seats))));
    }
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
