//! Many apps in one file: `targets:`, users' `apps` and per-target attributes, groups'
//! `target`. Checked across files (a user in one file may name a target of another),
//! with every problem reported at once like the rest of the format.

use std::collections::{BTreeMap, HashMap};

use roster_model::targets::{PolicyKeys, merge_policy};
use roster_model::{Policy, Target, TargetAttributes, TargetName, UserApps};

use crate::check::{FileDoc, Str, TargetDoc, UserDoc, unknown_key};
use crate::diagnostics::{At, Check, Sink, quote};
use crate::file::keys;
use crate::semantic::{apply_policy, check_role, role_list};
use crate::suggest::did_you_mean;

/// The targets of the run, sorted by name, each with its policy merged over the
/// top-level `policy`. Checks that one file only gives `targets` and that a file with
/// targets gives no top-level `provider`, `custom_roles` or `paid_roles` (each target
/// names its own: a top-level one would be ambiguous).
pub(crate) fn merge_targets(sink: &mut Sink<'_>, docs: &[FileDoc], top: &Policy) -> Vec<Target> {
    let mut first: Option<At> = None;
    let mut targets = Vec::new();
    for doc in docs {
        let Some((entries, at)) = &doc.targets else { continue };
        if let Some(first_at) = first {
            let first_location = sink.location(first_at);
            sink.problem(
                Check::ConflictingFiles,
                *at,
                format!("a second `targets`: the targets are already given at {first_location}"),
            )
            .label("second targets")
            .related(first_at, "first targets")
            .help("only one file of a run may carry `targets`; move every target into one place")
            .emit();
            continue;
        }
        first = Some(*at);
        targets.extend(entries.iter().filter_map(|t| target(sink, t, top)));
    }
    if first.is_some() {
        for doc in docs {
            if let Some((_, at)) = doc.provider {
                top_level(sink, at, "provider", "give each target its `provider`");
            }
            if let Some(role) = doc.custom_roles.first() {
                top_level(
                    sink,
                    role.at,
                    "custom_roles",
                    "give the custom roles on the target they belong to",
                );
            }
            if let Some((_, at)) = &doc.paid_roles {
                top_level(sink, *at, "paid_roles", "give the paid roles on the target they belong to");
            }
        }
    }
    targets.sort_by(|a, b| a.name.cmp(&b.name));
    targets
}

fn top_level(sink: &mut Sink<'_>, at: At, key: &str, help: &str) {
    sink.problem(
        Check::Targets,
        at,
        format!(
            "`{key}` at the top level of a run with `targets`: it would be unclear which target it is for"
        ),
    )
    .label("top-level setting")
    .help(help.to_owned())
    .emit();
}

/// A target as the model holds it; `None` when it is not usable (its problems are
/// reported already).
fn target(sink: &mut Sink<'_>, doc: &TargetDoc, top: &Policy) -> Option<Target> {
    let policy = match &doc.policy {
        None => top.clone(),
        Some(p) => {
            let mut own = Policy::default();
            apply_policy(p, &mut own);
            let given = PolicyKeys {
                unmanaged_users: p.unmanaged_users.is_some(),
                unmanaged_groups: p.unmanaged_groups.is_some(),
                max_deactivations: p.max_deactivations.is_some(),
                max_removals: p.max_removals.is_some(),
                expiry_notice_days: p.expiry_notice_days.is_some(),
                max_access_days: p.max_access_days.is_some(),
                max_paid_seats: p.max_paid_seats.is_some(),
            };
            merge_policy(top, &own, &given)
        }
    };
    Some(Target {
        name: doc.name.clone()?,
        provider: doc.provider?,
        url: doc.url.as_ref()?.value.trim().to_owned(),
        token: doc.token.clone()?,
        api_token: doc.api_token.clone(),
        policy,
        custom_roles: doc.custom_roles.iter().map(|r| r.value.clone()).collect(),
        paid_roles: doc.paid_roles.as_ref().map(|r| r.iter().map(|r| r.value.clone()).collect()),
        everyone: doc.everyone,
        source: Some(sink.location(doc.key.at)),
    })
}

/// Checks every reference to a target: users' `apps` and per-target attributes (with
/// roles against that target's provider), groups' `target`, and that a group's members
/// have the group's app. Without targets, `apps`, per-target attributes and `target` are
/// errors.
pub(crate) fn check_apps(sink: &mut Sink<'_>, docs: &[FileDoc], targets: &[Target], complete: bool) {
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    // While `targets` has problems, references to it are not judged: the target may be
    // the one that failed.
    let declared = docs.iter().any(|d| d.targets.is_some());
    let judged =
        !declared || docs.iter().flat_map(|d| &d.targets).flat_map(|(t, _)| t).count() == targets.len();
    let everyone: Vec<&Target> = targets.iter().filter(|t| t.everyone).collect();
    let mut apps_of: HashMap<String, (Vec<&str>, &Str)> = HashMap::new();
    for user in docs.iter().flat_map(|d| &d.users) {
        let has = user_targets(sink, user, &names, &everyone, declared, judged);
        if let Some(user_name) = &user.user_name {
            apps_of
                .insert(roster_model::identity::canonical(&user_name.value).into_owned(), (has, user_name));
        }
        if !judged {
            continue;
        }
        // Roles, per target the user has: its own role there, else the user's.
        for target in targets.iter().filter(|t| apps_of_user(user, t, &everyone)) {
            let own = user.per_target.iter().find(|a| a.key.value == target.name.as_str());
            let Some(role) = own.and_then(|a| a.role.as_ref()).or(user.role.as_ref()) else { continue };
            if let Some(roles) = role_list(target.provider, &target.custom_roles) {
                let whose = format!("target `{}` (provider `{}`)", target.name, target.provider.as_str());
                check_role(sink, role, &roles, &whose, "the target's `custom_roles`");
            }
        }
    }
    for group in docs.iter().flat_map(|d| &d.groups) {
        let group_name = group
            .display_name
            .as_ref()
            .map_or_else(|| "a group".to_owned(), |n| format!("group {}", quote(&n.value)));
        let target = match (&group.target, declared) {
            (Some(target), false) => {
                sink.problem(
                    Check::Targets,
                    target.at,
                    format!("{group_name} names target {}, but no file has `targets`", quote(&target.value)),
                )
                .label("no such target")
                .help("remove `target`, or declare the targets under `targets:`")
                .emit();
                continue;
            }
            (None, false) => continue,
            _ if !judged => continue,
            (None, true) if targets.len() == 1 => &targets[0],
            (None, true) => {
                sink.problem(
                    Check::Targets,
                    group.at,
                    format!("{group_name} has no `target`: the file has {} targets", targets.len()),
                )
                .label("which app is this group in?")
                .help(format!("add `target:` with one of {}", list(&names)))
                .emit();
                continue;
            }
            (Some(target), true) => match targets.iter().find(|t| t.name.as_str() == target.value) {
                Some(found) => found,
                None => {
                    unknown_target(sink, target, &names, &format!("{group_name} names"));
                    continue;
                }
            },
        };
        if !complete {
            continue;
        }
        for member in group.members.iter().flatten() {
            let key = roster_model::identity::canonical(&member.value);
            let Some((has, user_name)) = apps_of.get(key.as_ref()) else { continue };
            if !has.contains(&target.name.as_str()) {
                let user_at = user_name.at;
                let user_location = sink.location(user_at);
                sink.problem(
                    Check::Targets,
                    member.at,
                    format!(
                        "member {} of {group_name} does not have app `{}`: its `apps` at {user_location} does not give it",
                        quote(&member.value),
                        target.name
                    ),
                )
                .label("not in this group's app")
                .related(user_at, "the user")
                .help(format!("add `{}` to the user's `apps`, or remove the member", target.name))
                .emit();
            }
        }
    }
}

/// Whether a user (as read) has a target's app.
fn apps_of_user(user: &UserDoc, target: &Target, everyone: &[&Target]) -> bool {
    match &user.apps {
        Some((apps, _)) => apps.iter().any(|a| a.value == target.name.as_str()),
        None => everyone.iter().any(|t| t.name == target.name),
    }
}

/// Checks a user's `apps` and per-target keys; returns the targets the user has.
fn user_targets<'t>(
    sink: &mut Sink<'_>,
    user: &UserDoc,
    names: &[&'t str],
    everyone: &[&Target],
    declared: bool,
    judged: bool,
) -> Vec<&'t str> {
    if !declared {
        if let Some((_, at)) = &user.apps {
            sink.problem(Check::Targets, *at, "`apps` names targets, but no file has `targets`")
                .label("no targets to name")
                .help("declare the apps under `targets:`, or remove `apps`")
                .emit();
        }
        for attrs in &user.per_target {
            unknown_key(sink, attrs.key.at, &attrs.key.value, keys::USER, "in a user");
        }
        return Vec::new();
    }
    if !judged {
        return Vec::new();
    }
    let mut allowed: Vec<&str> = keys::USER.to_vec();
    allowed.extend(names.iter().copied());
    for attrs in user.per_target.iter().filter(|a| !names.contains(&a.key.value.as_str())) {
        unknown_key(sink, attrs.key.at, &attrs.key.value, &allowed, "in a user");
    }
    match &user.apps {
        None if everyone.is_empty() => {
            let name = user
                .user_name
                .as_ref()
                .map_or_else(|| "a user".to_owned(), |n| format!("user {}", quote(&n.value)));
            sink.problem(
                Check::Targets,
                user.at,
                format!("{name} has no `apps`, and no target has `everyone: true`"),
            )
            .label("which apps does this user have?")
            .help(format!("list the apps, like `apps: [{}]`; `apps: []` gives none", names.join(", ")))
            .emit();
            Vec::new()
        }
        None => {
            everyone.iter().filter_map(|t| names.iter().copied().find(|n| *n == t.name.as_str())).collect()
        }
        Some((apps, _)) => {
            let mut has: Vec<&'t str> = Vec::with_capacity(apps.len());
            for (i, app) in apps.iter().enumerate() {
                let Some(name) = names.iter().copied().find(|n| *n == app.value) else {
                    unknown_target(sink, app, names, "`apps` names");
                    continue;
                };
                if let Some(first) = apps[..i].iter().find(|a| a.value == app.value) {
                    let first_location = sink.location(first.at);
                    sink.problem(
                        Check::Targets,
                        app.at,
                        format!("app `{name}` is listed twice in `apps`, first at {first_location}"),
                    )
                    .label("listed again here")
                    .related(first.at, "first listed here")
                    .emit();
                    continue;
                }
                has.push(name);
            }
            has
        }
    }
}

fn unknown_target(sink: &mut Sink<'_>, name: &Str, names: &[&str], what: &str) {
    let mut problem = sink
        .problem(Check::Targets, name.at, format!("{what} unknown target {}", quote(&name.value)))
        .help(format!("the targets are {}", list(names)));
    problem = match did_you_mean(&name.value, names) {
        Some(suggestion) => problem.label(format!("did you mean `{suggestion}`?")),
        None => problem.label("no such target"),
    };
    problem.emit();
}

fn list(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// A checked user's apps, as the model holds them.
pub(crate) fn user_apps(sink: &Sink<'_>, user: &UserDoc) -> UserApps {
    let name = |s: &Str| TargetName::new(&s.value).ok();
    let value = |s: &Option<Str>| s.as_ref().map(|s| s.value.clone());
    UserApps {
        listed: user.apps.as_ref().map(|(apps, _)| apps.iter().filter_map(name).collect()),
        source: user.apps.as_ref().map(|(_, at)| sink.location(*at)),
        attributes: user
            .per_target
            .iter()
            .filter_map(|a| {
                let attributes = TargetAttributes {
                    role: value(&a.role),
                    title: value(&a.title),
                    display_name: value(&a.display_name),
                    external_id: value(&a.external_id),
                };
                Some((name(&a.key)?, attributes))
            })
            .collect::<BTreeMap<_, _>>(),
        revoked: None,
    }
}

#[cfg(test)]
mod tests {
    use roster_model::{Provider, RailLimit, TokenSource, UnmanagedUsers};

    use crate::{Diagnostics, SourceFile, load};

    pub(super) const FILE: &str = "\
version: 1
policy: { max_deactivations: 10, protected: [root@example.com] }
targets:
  productboard: { provider: productboard, url: https://api.productboard.com/scim/v2, token_env: ROSTER_TOKEN_PRODUCTBOARD, everyone: true }
  miro:
    provider: generic
    url: http://127.0.0.1:9000/scim/v2
    token_file: /run/secrets/miro
    policy: { max_deactivations: 5, unmanaged_users: keep }
    custom_roles: [editor]
users:
  - userName: root@example.com
  - userName: ada@example.com
    apps: [productboard, miro]
    productboard: { role: maker }
    miro: { role: editor, title: Designer }
  - userName: bob@example.com
    apps: []
groups:
  - displayName: Product
    target: productboard
    members: [ada@example.com, root@example.com]
  - displayName: Design
    target: miro
    members: [ada@example.com]
";

    fn problems(text: &str) -> Vec<(u32, String)> {
        problems_in(&[SourceFile::new("users.yaml", text)])
    }

    fn problems_in(sources: &[SourceFile]) -> Vec<(u32, String)> {
        match load(sources) {
            Ok(_) => Vec::new(),
            Err(d) => messages(&d),
        }
    }

    fn messages(d: &Diagnostics) -> Vec<(u32, String)> {
        d.problems().iter().map(|p| (p.location().line as u32, p.message().to_owned())).collect()
    }

    #[test]
    fn a_multi_target_file_loads_with_merged_policies() {
        let state = load(&[SourceFile::new("users.yaml", FILE)]).unwrap();
        let names: Vec<&str> = state.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["miro", "productboard"], "sorted by name");
        let miro = state.target("miro").unwrap();
        assert_eq!(miro.provider, Provider::Generic);
        assert_eq!(miro.token, TokenSource::File("/run/secrets/miro".into()));
        assert_eq!(miro.policy.max_deactivations, RailLimit::Count(5));
        assert_eq!(miro.policy.unmanaged_users, UnmanagedUsers::Keep);
        assert_eq!(miro.policy.protected, ["root@example.com"], "protected adds up");
        assert_eq!(miro.source.as_ref().unwrap().line, 5);
        let pb = state.target("productboard").unwrap();
        assert!(pb.everyone);
        assert_eq!(pb.token, TokenSource::Env("ROSTER_TOKEN_PRODUCTBOARD".into()));
        assert_eq!(pb.policy.max_deactivations, RailLimit::Count(10));
        let ada = &state.users[1];
        assert_eq!(ada.apps.source.as_ref().unwrap().line, 14);
        assert_eq!(ada.apps.attributes.len(), 2);
        assert_eq!(state.groups[1].target.as_ref().unwrap().as_str(), "miro");

        let miro = state.for_target("miro").unwrap();
        let roles: Vec<_> =
            miro.users.iter().map(|u| (u.attributes.active, u.attributes.role.clone())).collect();
        assert_eq!(roles, [(false, None), (true, Some("editor".into())), (false, None)]);
        assert_eq!(miro.users[1].attributes.title.as_deref(), Some("Designer"));
        assert_eq!(miro.groups.len(), 1);
        let pb = state.for_target("productboard").unwrap();
        assert!(pb.users[0].attributes.active, "everyone: true gives root productboard");
        assert_eq!(pb.users[1].attributes.role.as_deref(), Some("maker"));
        assert!(!pb.users[2].attributes.active, "apps: [] gives bob nothing");
    }

    /// The state without where things were written, users and groups sorted as
    /// `to_yaml` writes them.
    fn canonical(mut state: roster_model::DesiredState) -> roster_model::DesiredState {
        for user in &mut state.users {
            user.source = None;
            user.apps.source = None;
        }
        for group in &mut state.groups {
            group.source = None;
        }
        for target in &mut state.targets {
            target.source = None;
        }
        state.users.sort_by_key(|u| u.attributes.key());
        state.groups.sort_by_key(|g| g.display_name.to_lowercase());
        state
    }

    #[test]
    fn a_multi_target_file_writes_back_as_it_reads() {
        let state = load(&[SourceFile::new("users.yaml", FILE)]).unwrap();
        let text = crate::to_yaml(&state);
        assert!(!text.contains("\nprovider:") && text.contains("\ntargets:\n  miro:\n"), "{text}");
        let again = load(&[SourceFile::new("again.yaml", &text)])
            .unwrap_or_else(|d| panic!("{}\n{text}", d.render(false)));
        assert_eq!(canonical(again), canonical(state), "{text}");
    }

    #[test]
    fn a_single_target_file_is_unchanged() {
        let text = "version: 1\nusers:\n  - userName: ada@example.com\n";
        let state = load(&[SourceFile::new("users.yaml", text)]).unwrap();
        assert!(state.targets.is_empty() && state.users[0].apps.is_empty());
        let json = serde_json::to_string(&state).unwrap();
        assert!(!json.contains("targets") && !json.contains("apps"), "{json}");
    }

    #[test]
    fn every_reference_is_checked_at_once() {
        let text = FILE
            .replace("apps: [productboard, miro]", "apps: [productboard, mirro, productboard]")
            .replace(
                "miro: { role: editor, title: Designer }",
                "miro: { role: admin }\n    zoom: { role: x }",
            )
            .replace("    target: miro\n", "    target: miroo\n")
            .replace("productboard: { role: maker }", "productboard: { role: owner }");
        let found = problems(&text);
        let expected: Vec<(u32, String)> = vec![
            (14, "`apps` names unknown target `mirro`".into()),
            (14, "app `productboard` is listed twice in `apps`, first at users.yaml:14:12".into()),
            (15, "unknown role `owner` for target `productboard` (provider `productboard`)".into()),
            (17, "unknown key `zoom` in a user".into()),
            (25, "group `Design` names unknown target `miroo`".into()),
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn members_need_the_group_app_and_groups_need_a_target() {
        let text = FILE
            .replace("    members: [ada@example.com]\n", "    members: [ada@example.com, root@example.com]\n")
            .replace("    target: productboard\n", "");
        let found = problems(&text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].1, "group `Product` has no `target`: the file has 2 targets");
        assert!(
            found[1].1.starts_with("member `root@example.com` of group `Design` does not have app `miro`"),
            "{found:?}"
        );
    }

    #[test]
    fn targets_are_checked() {
        let text = "\
version: 1
provider: generic
targets:
  Miro: { provider: generic, url: https://x.example/scim, token_env: T }
  role: { provider: generic, url: https://x.example/scim, token_env: T }
  a: { provider: generic, url: http://scim.example.com/v2, token_env: T }
  b: { provider: generic, url: https://u:s3cret@x.example/scim, token_env: T }
  c: { provider: generic, url: https://x.example/scim?token=s3cret, token_env: T }
  d: { provider: generic, url: https://x.example/scim, token_env: \"abc-s3cret\" }
  e: { provider: generic, url: https://x.example/scim, token_env: T, token_file: /t }
  f: { url: https://x.example/scim }
users: []
";
        let found = problems(text);
        let all = format!("{found:?}");
        assert!(!all.contains("s3cret"), "a secret is never repeated: {all}");
        let lines: Vec<u32> = found.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [2, 4, 5, 6, 7, 8, 9, 10, 11, 11], "{all}");
        assert!(found[0].1.starts_with("`provider` at the top level of a run with `targets`"), "{all}");
        assert!(found[2].1.starts_with("target name `role` is a key of a user"), "{all}");
        assert!(found[3].1.contains("plain http://"), "{all}");
        assert!(
            found[8].1.contains("has no `provider`") || found[9].1.contains("has no `provider`"),
            "{all}"
        );
    }

    #[test]
    fn without_targets_apps_and_target_are_errors() {
        let text = "version: 1\nusers:\n  - userName: a@example.com\n    apps: [miro]\n    miro: { role: x }\ngroups:\n  - displayName: G\n    target: miro\n";
        let found = problems(text);
        assert_eq!(
            found,
            [
                (4, "`apps` names targets, but no file has `targets`".to_owned()),
                (5, "unknown key `miro` in a user".to_owned()),
                (8, "group `G` names target `miro`, but no file has `targets`".to_owned()),
            ]
        );
    }

    #[test]
    fn users_need_apps_unless_a_target_is_for_everyone_and_targets_are_in_one_file() {
        let targets = "version: 1\ntargets:\n  miro: { provider: generic, url: https://m.example/scim, token_env: M }\n";
        let users = "version: 1\nusers:\n  - userName: a@example.com\n  - userName: b@example.com\n    apps: [miro]\n";
        let found =
            problems_in(&[SourceFile::new("targets.yaml", targets), SourceFile::new("users.yaml", users)]);
        assert_eq!(
            found,
            [(3, "user `a@example.com` has no `apps`, and no target has `everyone: true`".to_owned())]
        );
        let found = problems_in(&[SourceFile::new("a.yaml", targets), SourceFile::new("b.yaml", targets)]);
        assert_eq!(found.len(), 1);
        assert!(found[0].1.starts_with("a second `targets`"), "{found:?}");
    }
}

#[cfg(test)]
mod file_types {
    /// The serde file types (which the schema is generated from) read a multi-target file
    /// too: per-target attributes land under their target's key.
    #[test]
    fn the_file_types_read_a_multi_target_file() {
        let spec: crate::file::SpecFile = serde_saphyr::from_str(super::tests::FILE).unwrap();
        let targets = spec.targets.unwrap();
        assert_eq!(targets.keys().collect::<Vec<_>>(), ["miro", "productboard"]);
        assert_eq!(targets["miro"].token_file.as_deref(), Some("/run/secrets/miro"));
        let ada = &spec.users[1];
        assert_eq!(ada.apps.as_deref(), Some(&["productboard".to_owned(), "miro".to_owned()][..]));
        assert_eq!(ada.per_target["miro"].title.as_deref(), Some("Designer"));
        assert_eq!(spec.groups[1].target.as_deref(), Some("miro"));
    }
}
