//! The plan of a multi-target file: what holds across targets first (blockers, who
//! gains and loses which app, the cross-target rail, each target's counts), then one
//! section per target, rendered by the single-target renderers with that target's
//! context (its provider decides which roles are paid).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use roster_model::DesiredState;
use roster_plan::targets::for_target;
use roster_plan::{MultiPlan, PersonAccess, Plan, Rail, RailStatus};

use crate::escape::{code, prose, terminal};
use crate::{Context, MARKDOWN_LIMIT, TextOptions, summary_line};

/// What a multi-target plan was computed for: the commit and time shared by every
/// target, and each target's own context (provider, host).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MultiContext {
    /// The commit the plan was computed for.
    pub commit: Option<String>,
    /// When the live states were read, as the CLI formats it (UTC).
    pub computed_at: Option<String>,
    /// Each target's context, by target name; a target without one renders with the
    /// default context.
    pub targets: BTreeMap<String, Context>,
}

impl MultiContext {
    /// The contexts of a multi-target file's targets: each target's provider, and the
    /// host of its URL; `commit` and `computed_at` are shared.
    pub fn of(desired: &DesiredState, commit: Option<String>, computed_at: Option<String>) -> MultiContext {
        let targets = desired
            .targets
            .iter()
            .map(|target| {
                let context = Context {
                    provider: target.provider,
                    commit: commit.clone(),
                    computed_at: computed_at.clone(),
                    target_host: host_of(&target.url),
                };
                (target.name.to_string(), context)
            })
            .collect();
        MultiContext { commit, computed_at, targets }
    }

    fn context(&self, target: &str) -> Context {
        self.targets.get(target).cloned().unwrap_or_else(|| Context {
            commit: self.commit.clone(),
            computed_at: self.computed_at.clone(),
            ..Context::default()
        })
    }
}

/// The host of a URL as written (`https://host:port/path` → `host:port`).
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
    (!host.is_empty()).then(|| host.to_owned())
}

/// "3 people lose access to at least one app (cross-target limit 10, max_deactivations:
/// 10)", with the override's effect.
fn rail_line(multi: &MultiPlan) -> String {
    let rail = &multi.cross_target_rail;
    let n = rail.planned;
    let people = if n == 1 { "person loses" } else { "people lose" };
    let verdict = match rail.status {
        RailStatus::WithinLimit => "within",
        RailStatus::AllowedByOverride => "over, allowed by --allow-deactivations,",
        RailStatus::OverLimit => "OVER",
    };
    format!(
        "{n} {people} access to at least one app: {verdict} the cross-target limit of {} (top-level {}: {}, of {} \
         people active in any app)",
        rail.limit,
        Rail::Deactivations.setting_name(),
        rail.setting,
        rail.base
    )
}

/// One line per target: its name and what its plan does.
fn target_line(name: &str, plan: &Plan) -> String {
    let blocked = if plan.is_blocked() { " (blocked)" } else { "" };
    format!("{name}: {}{blocked}", summary_line(plan))
}

pub(crate) fn text(multi: &MultiPlan, options: &TextOptions, contexts: &MultiContext) -> String {
    let paint = |code: &str, s: &str| if options.color { format!("{code}{s}\x1b[0m") } else { s.to_owned() };
    let mut out = String::new();
    let names: Vec<&str> = multi.targets.iter().map(|t| t.target.as_str()).collect();
    let _ = writeln!(
        out,
        "{}",
        paint("\x1b[1m", &format!("Plan across {} targets: {}", names.len(), names.join(", ")))
    );
    if multi.is_blocked() {
        let _ = writeln!(out, "\n{}", paint("\x1b[1;31m", "BLOCKED: no target may be applied:"));
        for blocker in &multi.blockers {
            let _ = writeln!(out, "  - {}", terminal(&blocker.headline()));
        }
    }
    if !multi.summary.people.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint("\x1b[1m", &format!("Access across apps ({}):", multi.summary.people.len()))
        );
        for person in &multi.summary.people {
            let _ = writeln!(out, "  {}", terminal(&person.sentence()));
        }
    }
    let _ = writeln!(out, "\n{}", rail_line(multi));
    for warning in &multi.warnings {
        let _ = writeln!(out, "warning: {}", terminal(warning));
    }
    let _ = writeln!(out, "\n{}", paint("\x1b[1m", "Targets:"));
    for target in &multi.targets {
        let _ = writeln!(out, "  {}", target_line(target.target.as_str(), &target.plan));
    }
    for target in &multi.targets {
        let name = target.target.as_str();
        let context = contexts.context(name);
        let host = context.target_host.as_deref().map(|h| format!(", {}", terminal(h))).unwrap_or_default();
        let heading = format!("=== target {name} ({}{host}) ===", context.provider.as_str());
        let _ = writeln!(out, "\n{}", paint("\x1b[1m", &heading));
        let options = TextOptions { color: options.color, context };
        out.push_str(&for_target(&crate::text::render(&target.plan, &options), name));
    }
    out
}

/// The most people listed by name in a comment; the rest are counted.
const MAX_PEOPLE: usize = 200;

pub(crate) fn markdown(multi: &MultiPlan, contexts: &MultiContext) -> String {
    let mut out = String::new();
    let names: Vec<&str> = multi.targets.iter().map(|t| t.target.as_str()).collect();
    let _ = write!(out, "### roster plan: {} targets\n\n", names.len());
    let mut provenance = Vec::new();
    if let Some(commit) = &contexts.commit {
        provenance.push(format!("for commit {}", code(commit)));
    }
    if let Some(at) = &contexts.computed_at {
        provenance.push(format!("at {}", prose(at)));
    }
    if !provenance.is_empty() {
        let _ = write!(out, "<sub>Computed {}.</sub>\n\n", provenance.join(" "));
    }
    if multi.is_blocked() {
        out.push_str("> [!CAUTION]\n> **This plan is blocked: no target may be applied.**\n>\n");
        for blocker in &multi.blockers {
            let headline: String = blocker.headline().chars().take(1_500).collect();
            let _ = writeln!(out, "> - {}", prose(&headline));
        }
        out.push('\n');
    }
    out.push_str("| target | users to deactivate | to create | to reactivate | to update | group changes | member changes | status |\n");
    out.push_str("|:--|--:|--:|--:|--:|--:|--:|:--|\n");
    for target in &multi.targets {
        let s = &target.plan.summary;
        let status = if target.plan.is_blocked() {
            "**blocked**"
        } else if target.plan.operations.is_empty() {
            "no changes"
        } else {
            "ready"
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {status} |",
            code(target.target.as_str()),
            s.users_to_deactivate,
            s.users_to_create,
            s.users_to_reactivate,
            s.users_to_update,
            s.groups_to_create + s.groups_to_update + s.groups_to_delete,
            s.member_changes(),
        );
    }
    let _ = write!(out, "\n{}\n\n", prose(&rail_line(multi)));
    if !multi.summary.people.is_empty() {
        let _ = write!(out, "#### Access across apps ({})\n\n", multi.summary.people.len());
        for person in multi.summary.people.iter().take(MAX_PEOPLE) {
            let _ = writeln!(out, "- {}", person_markdown(person));
        }
        if multi.summary.people.len() > MAX_PEOPLE {
            let _ = writeln!(
                out,
                "- … and {} more; run `roster plan` to see them all",
                multi.summary.people.len() - MAX_PEOPLE
            );
        }
        out.push('\n');
    }
    for warning in multi.warnings.iter().take(20) {
        let _ = writeln!(out, "> [!WARNING]\n> {}\n", prose(warning));
    }
    // Each target gets an equal share of what is left of the comment's budget.
    let n = multi.targets.len().max(1);
    let share = MARKDOWN_LIMIT.saturating_sub(out.len() + 512) / n;
    for target in &multi.targets {
        let name = target.target.as_str();
        let context = contexts.context(name);
        let section = crate::markdown::render_within(&target.plan, &context, share.saturating_sub(128));
        let section = for_target(&section, name);
        let body = section.strip_prefix("### roster plan\n\n").unwrap_or(&section);
        let _ = write!(
            out,
            "<details><summary><b>{}</b> ({}): {}</summary>\n\n{body}\n</details>\n\n",
            code(name),
            context.provider.as_str(),
            prose(&summary_line(&target.plan)),
        );
    }
    out
}

/// A person's access change with the userName as code: "`ada@example.com` loses access
/// to 2 apps: `miro`, `zoom`".
fn person_markdown(person: &PersonAccess) -> String {
    let apps = |list: &[roster_model::TargetName]| {
        let n = list.len();
        let names = list.iter().map(|t| code(t.as_str())).collect::<Vec<_>>().join(", ");
        format!("{n} {}: {names}", if n == 1 { "app" } else { "apps" })
    };
    let mut parts = Vec::new();
    if !person.loses.is_empty() {
        parts.push(format!("**loses** access to {}", apps(&person.loses)));
    }
    if !person.gains.is_empty() {
        parts.push(format!("gains access to {}", apps(&person.gains)));
    }
    format!("{} {}", code(&person.user_name), parts.join(" and "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_come_from_urls_without_credentials() {
        assert_eq!(host_of("https://api.productboard.com/scim/v2").as_deref(), Some("api.productboard.com"));
        assert_eq!(host_of("http://127.0.0.1:9000/scim").as_deref(), Some("127.0.0.1:9000"));
        assert_eq!(host_of("https://u:p@x.example/scim").as_deref(), Some("x.example"));
        assert_eq!(host_of("nonsense"), None);
    }
}
