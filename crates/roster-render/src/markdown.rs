//! The Markdown plan, for a pull-request comment.
//!
//! The comment must fit GitHub's limit, so everything is appended against a budget:
//! the head (summary, blockers, table, warnings) is capped by construction, and the
//! operations are appended one by one until the next would not fit; a note then says
//! how many were left out.

use std::fmt::Write as _;

use roster_plan::{MemberRef, Operation, Plan};

use crate::escape::{code, prose};
use crate::fields::{self, FieldChange, Person, Reason, UserSection, Value};
use crate::{Context, MARKDOWN_LIMIT, no_operations, plural, summary_line};

/// Room kept free for the closing tags and the truncation note.
const RESERVE: usize = 1_024;
/// The most warnings listed; the rest are counted.
const MAX_WARNINGS: usize = 20;
/// The most characters of one warning or blocker message.
const MAX_MESSAGE: usize = 1_500;
/// The most kept or protected users and groups listed; the rest are counted.
const MAX_LISTED: usize = 100;

struct Markdown {
    out: String,
    /// Operations rendered so far.
    shown: usize,
    /// Set once an operation did not fit: nothing more is appended but the end.
    full: bool,
    /// Whether a `<details>` block is open.
    open: bool,
    /// The most bytes of the whole.
    limit: usize,
}

impl Markdown {
    fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// Appends one operation's item if it fits in the budget; returns whether it did.
    fn item(&mut self, s: &str, n_operations: usize) -> bool {
        if self.full || self.out.len() + s.len() + RESERVE > self.limit {
            self.full = true;
            return false;
        }
        self.out.push_str(s);
        self.shown += n_operations;
        true
    }

    fn open(&mut self, summary: &str) {
        let _ = write!(self.out, "<details><summary>{summary}</summary>\n\n");
        self.open = true;
    }

    fn close(&mut self) {
        if self.open {
            self.out.push_str("\n</details>\n\n");
            self.open = false;
        }
    }
}

fn truncate(message: &str) -> String {
    if message.chars().count() <= MAX_MESSAGE {
        return message.to_string();
    }
    let mut cut: String = message.chars().take(MAX_MESSAGE).collect();
    cut.push('…');
    cut
}

fn member_list(members: &[&MemberRef]) -> String {
    members
        .iter()
        .map(|m| match (&m.id, m.expired) {
            (None, _) => format!("{} (new)", code(&m.user_name)),
            (Some(_), Some(day)) => format!("{} (expired {day})", code(&m.user_name)),
            (Some(_), None) => code(&m.user_name),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The userName in code, the displayName and title beside it, and the id.
fn person(person: &Person<'_>) -> String {
    let mut shown = code(person.user_name);
    let names = person.names();
    if !names.is_empty() {
        let names: Vec<String> = names.iter().map(|name| prose(&truncate(name))).collect();
        let _ = write!(shown, " — {}", names.join(", "));
    }
    if let Some(id) = person.id {
        let _ = write!(shown, " (id {})", code(id));
    }
    shown
}

/// A reason in plain words with its technical key in parentheses.
fn reason(reason: &Reason) -> String {
    format!("{} (<code>{}</code>)", reason.words, reason.key)
}

/// `name: before → after`, with a role change's effect on access in bold when it is a
/// higher or paid role.
fn field_change(field: &FieldChange<'_>, created: bool) -> String {
    let mut line = if created {
        format!("{}: {}", field.name, value(field.after))
    } else {
        format!("{}: {} → {}", field.name, value(field.before), value(field.after))
    };
    if let Some(change) = field.role_change
        && let Some((arrow, words)) = fields::role_note(change, created)
    {
        if change.is_highlighted() {
            let _ = write!(line, " **{arrow}{words}**");
        } else {
            let _ = write!(line, " <i>{arrow}{words}</i>");
        }
    }
    line
}

/// The line naming what the plan was computed for, if the caller said.
fn provenance(context: &Context) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(commit) = &context.commit {
        parts.push(format!("for commit {}", code(commit)));
    }
    if let Some(at) = &context.computed_at {
        parts.push(format!("at {}", prose(at)));
    }
    if let Some(host) = &context.target_host {
        parts.push(format!("against {}", code(host)));
    }
    (!parts.is_empty()).then(|| format!("Computed {}.", parts.join(" ")))
}

fn value(value: Value<'_>) -> String {
    match value {
        Value::Text(s) => code(s),
        Value::Flag(flag) => format!("<code>{flag}</code>"),
        Value::Unset => "<i>unset</i>".to_string(),
    }
}

pub(crate) fn render(plan: &Plan, context: &Context) -> String {
    render_within(plan, context, MARKDOWN_LIMIT)
}

/// [`render`] within `limit` bytes (one target's share of a multi-target comment).
pub(crate) fn render_within(plan: &Plan, context: &Context, limit: usize) -> String {
    let mut md = Markdown { out: String::new(), shown: 0, full: false, open: false, limit };
    let ops = &plan.operations;
    let s = &plan.summary;

    md.push("### roster plan\n\n");
    if let Some(provenance) = provenance(context) {
        let _ = write!(md.out, "<sub>{provenance}</sub>\n\n");
    }
    let _ = write!(md.out, "**Plan: {}.**\n\n", summary_line(plan));

    if plan.is_blocked() {
        md.push("> [!CAUTION]\n> **This plan is blocked and must not be applied.**\n>\n");
        for blocker in &plan.blockers {
            let _ = writeln!(md.out, "> - {}", prose(&truncate(&blocker.headline())));
            // A comment has a size limit: the first reasons, and a count of the rest.
            const SHOWN: usize = 20;
            let reasons = blocker.reasons();
            for reason in reasons.iter().take(SHOWN) {
                let _ = writeln!(md.out, ">   - {}", prose(&truncate(reason)));
            }
            if reasons.len() > SHOWN {
                let _ =
                    writeln!(md.out, ">   - … and {} more; run `roster plan` for all", reasons.len() - SHOWN);
            }
        }
        md.push("\n");
    }

    let rows: [(&str, u64); 10] = [
        ("users to deactivate", s.users_to_deactivate),
        ("users to create", s.users_to_create),
        ("users to update", s.users_to_update),
        ("users to reactivate", s.users_to_reactivate),
        ("groups to create", s.groups_to_create),
        ("groups to update", s.groups_to_update),
        ("groups to delete", s.groups_to_delete),
        ("memberships to add", s.members_to_add),
        ("memberships to remove", s.members_to_remove),
        ("unmanaged users and groups kept", s.users_kept + s.groups_kept),
    ];
    if rows.iter().any(|(_, n)| *n > 0) || s.users_protected > 0 || plan.seats.is_some() {
        md.push("| change | count |\n|:--|--:|\n");
        for (label, n) in rows.iter().filter(|(_, n)| *n > 0) {
            let _ = writeln!(md.out, "| {label} | {n} |");
        }
        if s.users_protected > 0 {
            let _ = writeln!(md.out, "| protected users spared | {} |", s.users_protected);
        }
        if let Some(seats) = &plan.seats {
            let _ =
                writeln!(md.out, "| paid seats (before → after) | {} |", prose(&fields::seat_line(seats)));
        }
        md.push("\n");
    }
    if ops.is_empty() {
        md.push(no_operations(plan));
        md.push("\n\n");
    }

    let overrides: Vec<String> =
        plan.rails().iter().filter_map(|(rail, check)| check.override_note(*rail)).collect();
    if !overrides.is_empty() {
        md.push("> [!IMPORTANT]\n> Safety rails passed by an override:\n>\n");
        for note in overrides {
            let _ = writeln!(md.out, "> - {}", prose(&note));
        }
        md.push("\n");
    }
    if !plan.warnings.is_empty() {
        let n = plan.warnings.len();
        let _ = write!(md.out, "> [!WARNING]\n> {n} {}:\n>\n", plural(n as u64, "warning", "warnings"));
        for warning in plan.warnings.iter().take(MAX_WARNINGS) {
            let _ = writeln!(md.out, "> - {}", prose(&truncate(warning)));
        }
        if n > MAX_WARNINGS {
            let _ =
                writeln!(md.out, "> - … and {} more; run `roster plan` to see them all", n - MAX_WARNINGS);
        }
        md.push("\n");
    }

    // Access changes are called out, never folded: who loses access, who gets it back,
    // whose privileges change and who is new. Attribute-only updates are folded.
    for section in UserSection::ALL {
        let items = fields::user_items(ops, section, fields::Roles::of(plan, context.provider));
        if items.is_empty() || md.full {
            continue;
        }
        let title = format!("{} ({})", section.title(), items.len());
        match section {
            UserSection::Deactivate => {
                let _ = write!(md.out, "#### ⚠️ {title}\n\n");
            }
            _ if section.is_access_change() => {
                let _ = write!(md.out, "#### {title}\n\n");
            }
            _ => md.open(&title),
        }
        for item in items {
            let mut line = format!("- {}", person(&item.person));
            if let Some((role, why)) = item.deactivation {
                let _ = write!(line, ": {}", reason(&fields::deactivation_reason(why)));
                if let Some(note) = fields::deactivation_arrival(plan, item.person.id) {
                    let _ = write!(line, "; {}", prose(&note));
                }
                if let Some(role) = role {
                    let paid = fields::Roles::of(plan, context.provider).is_paid(role);
                    let _ =
                        write!(line, "\n  - role: {}{}", code(role), if paid { " (paid seat)" } else { "" });
                }
            }
            line.push('\n');
            let created = section == UserSection::Create;
            for field in &item.fields {
                let _ = writeln!(line, "  - {}", field_change(field, created));
            }
            if let Some(revival) = item.revival {
                line.push_str("  - comes back with:\n");
                for revived in fields::revival_lines(revival, code) {
                    let _ = writeln!(line, "    - {revived}");
                }
            }
            if !md.item(&line, 1) {
                break;
            }
        }
        if section.is_access_change() {
            md.push("\n");
        } else {
            md.close();
        }
    }

    let group_ops: Vec<_> = ops
        .iter()
        .filter(|op| {
            matches!(
                op,
                Operation::CreateGroup { .. }
                    | Operation::RenameGroup { .. }
                    | Operation::SetGroupExternalId { .. }
            )
        })
        .collect();
    let member_changes = fields::member_changes(ops);
    if !group_ops.is_empty() && !md.full {
        md.open(&format!("Groups to create or update ({})", group_ops.len()));
        for op in group_ops {
            let item = match op {
                Operation::CreateGroup { display_name, external_id, .. } => {
                    let external_id = external_id
                        .as_deref()
                        .map(|external_id| format!(" (externalId {})", code(external_id)))
                        .unwrap_or_default();
                    let n = member_changes.get(display_name.as_str()).map_or(0, |m| m.add.len());
                    format!(
                        "- create {}{external_id} with {n} {}\n",
                        code(display_name),
                        plural(n as u64, "member", "members")
                    )
                }
                Operation::RenameGroup { id, from, to, .. } => {
                    format!("- rename {} (id {}) to {}\n", code(from), code(id), code(to))
                }
                Operation::SetGroupExternalId { id, group, from, to, .. } => format!(
                    "- set externalId of {} (id {}): {} → {}\n",
                    code(group),
                    code(id),
                    value(from.as_deref().map_or(Value::Unset, Value::Text)),
                    code(to)
                ),
                _ => continue,
            };
            if !md.item(&item, 1) {
                break;
            }
        }
        md.close();
    }

    if !member_changes.is_empty() && !md.full {
        // The same counts as the summary line and the table: every membership added or
        // removed, the first members of created groups included.
        let n = s.member_changes();
        md.open(&format!(
            "Member changes ({n} in {} {})",
            s.groups_with_member_changes,
            plural(s.groups_with_member_changes, "group", "groups")
        ));
        for (name, members) in &member_changes {
            let id = members.id.map_or_else(|| "new group".to_string(), |id| format!("id {}", code(id)));
            let mut changes = Vec::new();
            if !members.add.is_empty() {
                changes.push(format!("add {}", member_list(&members.add)));
            }
            if !members.remove.is_empty() {
                changes.push(format!("remove {}", member_list(&members.remove)));
            }
            let item = format!("- {} ({id}): {}\n", code(name), changes.join("; "));
            if !md.item(&item, members.n_operations) {
                break;
            }
        }
        md.close();
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
    if !deletes.is_empty() && !md.full {
        md.open(&format!("⚠️ Groups to delete ({})", deletes.len()));
        for (id, name, empty_duplicate) in deletes {
            let item = format!(
                "- {} (id {}): {}\n",
                code(name),
                code(id),
                reason(&fields::group_delete_reason(empty_duplicate))
            );
            if !md.item(&item, 1) {
                break;
            }
        }
        md.close();
    }

    if !plan.protected.is_empty() {
        let mut block = format!(
            "<details><summary>Protected users, not deactivated ({})</summary>\n\n",
            plan.protected.len()
        );
        for user in plan.protected.iter().take(MAX_LISTED) {
            let _ = writeln!(
                block,
                "- {} (id {}): {}",
                code(&user.user_name),
                code(&user.id),
                reason(&fields::protected_reason(&user.reason))
            );
        }
        if plan.protected.len() > MAX_LISTED {
            let _ = writeln!(block, "- … and {} more", plan.protected.len() - MAX_LISTED);
        }
        block.push_str("\n</details>\n\n");
        md.item(&block, 0);
    }
    let kept = &plan.unmanaged;
    let n_kept = kept.users.len() + kept.groups.len();
    if n_kept > 0 {
        let mut block = format!("<details><summary>Kept, not in the file ({n_kept})</summary>\n\n");
        let entries =
            kept.users
                .iter()
                .map(|u| (format!("user {} (id {})", code(&u.user_name), code(&u.id)), u.reason, true))
                .chain(kept.groups.iter().map(|g| {
                    (format!("group {} (id {})", code(&g.display_name), code(&g.id)), g.reason, false)
                }));
        for (entry, why, user) in entries.take(MAX_LISTED) {
            let _ = writeln!(block, "- {entry}: {}", reason(&fields::kept_reason(why, user)));
        }
        if n_kept > MAX_LISTED {
            let _ = writeln!(block, "- … and {} more", n_kept - MAX_LISTED);
        }
        block.push_str("\n</details>\n\n");
        md.item(&block, 0);
    }

    if !plan.arrivals.is_empty() {
        let n = plan.arrivals.len();
        let mut block = format!("<details><summary>Arrivals: live users not in the file ({n})</summary>\n\n");
        for arrival in plan.arrivals.iter().take(MAX_LISTED) {
            let fate = if arrival.deactivated { "deactivated" } else { "kept" };
            let _ = writeln!(
                block,
                "- {} (id {}): {}; {fate}",
                code(&arrival.user_name),
                code(&arrival.id),
                prose(&fields::arrival_note(arrival))
            );
        }
        if n > MAX_LISTED {
            let _ = writeln!(block, "- … and {} more", n - MAX_LISTED);
        }
        block.push_str("\n</details>\n\n");
        md.item(&block, 0);
    }
    if let Some(access) = &plan.access {
        for section in fields::access_sections(access) {
            let n = section.entries.len();
            let mut block = format!("<details><summary>{} ({n})</summary>\n\n", section.title);
            for entry in section.entries.iter().take(MAX_LISTED) {
                let who = match entry.group {
                    Some(group) => format!("membership of {} in {}", code(entry.user_name), code(group)),
                    None => format!("user {}", code(entry.user_name)),
                };
                let _ = writeln!(block, "- {who}: {}", entry.note);
            }
            if n > MAX_LISTED {
                let _ = writeln!(block, "- … and {} more", n - MAX_LISTED);
            }
            block.push_str("\n</details>\n\n");
            md.item(&block, 0);
        }
    }

    if md.full {
        md.close();
        let hidden = ops.len() - md.shown;
        let what = if hidden > 0 {
            format!("{hidden} more {} not shown", plural(hidden as u64, "operation", "operations"))
        } else {
            "the lists of protected and kept users and groups are not shown".to_string()
        };
        let _ = write!(md.out, "> [!NOTE]\n> … {what}; run `roster plan` for the full plan.\n");
    }
    md.out
}
