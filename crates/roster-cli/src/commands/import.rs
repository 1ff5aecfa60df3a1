//! `roster import`: write a users.yaml from the live state, so that adopting roster on an
//! existing workspace starts from a file whose plan is empty.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use roster_client::ReadClient;
use roster_model::{DesiredGroup, DesiredState, DesiredUser, LiveState, Provider, UserKey};
use roster_plan::{Operation, PlanOptions};

use crate::cli::ImportArgs;
use crate::commands::plan::{fetch, write_atomically};
use crate::commands::{Ui, schema};
use crate::connection::client_config;
use crate::failure::{CommandResult, Exit, Failure};
use crate::output::count;

/// The schema file import writes beside the file it writes, and references.
const SCHEMA_FILE: &str = "roster.schema.json";

/// Fetches, converts, checks that the file validates and plans empty, and writes it.
pub async fn run(args: &ImportArgs, ui: &Ui) -> CommandResult {
    if let Some(name) = &args.target {
        return into_targets(args, name, ui).await;
    }
    if !args.files.is_empty() && !args.unmanaged {
        return Err(Failure::error("FILES are read only with --unmanaged or --target"));
    }
    if args.unmanaged {
        return unmanaged(args, ui).await;
    }
    if let Some(out) = args.out.as_ref().filter(|out| out.exists() && !args.force) {
        return Err(Failure::error(format!("{} exists; import does not replace it", out.display()))
            .with_hint("pass --force to replace it, or --out another file and compare"));
    }
    // The schema goes beside the file, unless a published copy is referenced.
    let schema_file = match (&args.schema_url, &args.out) {
        (None, Some(out)) => {
            let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let path = dir.join(SCHEMA_FILE);
            let current = std::fs::read_to_string(&path).ok();
            if current.as_ref().is_some_and(|text| *text != schema::text()) && !args.force {
                return Err(Failure::error(format!(
                    "{} exists and is not this version's schema; import does not replace it",
                    path.display()
                ))
                .with_hint("pass --force to replace it, or --schema-url to reference a published schema"));
            }
            Some(path)
        }
        _ => None,
    };
    let provider = Provider::from(args.provider);
    let client = ReadClient::new(client_config(&args.connection, provider)?)
        .map_err(|err| Failure::from_error("cannot set up the SCIM client", &err))?;
    let live = fetch(&client, ui).await?;
    if !live.completeness.is_complete() {
        return Err(Failure::error(
            "the live state was not fetched completely, so an imported file would miss users; nothing was written",
        ));
    }
    let (desired, warnings) = desired_from_live(&live, provider);
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    let schema_ref = args.schema_url.as_deref().unwrap_or(SCHEMA_FILE);
    let text = roster_spec::to_yaml_with_schema(&desired, schema_ref);
    let name = args.out.as_ref().map_or_else(|| "users.yaml".to_owned(), |p| p.display().to_string());
    // The file is checked as any other before anyone relies on it.
    let reloaded = roster_spec::load(&[roster_spec::SourceFile { name: name.clone(), text: text.clone() }])
        .map_err(|diagnostics| {
        eprintln!("{}", diagnostics.render(ui.stderr_color));
        Failure::error(
            "the live state holds values that users.yaml does not accept (listed above); nothing was written",
        )
    })?;
    let plan = roster_plan::plan(&reloaded, &live, &PlanOptions::default());
    // Teams without an externalId get their live id as one, so that a rename in the
    // file renames them; the first apply sets it on the service. Anything else still
    // planned means the file does not describe the service.
    let (anchors, others): (Vec<_>, Vec<_>) = plan.operations.iter().partition(|op| match op {
        Operation::SetGroupExternalId { from, .. } => from.as_deref().is_none_or(|f| f.trim().is_empty()),
        _ => false,
    });
    if !anchors.is_empty() {
        ui.status(&format!(
            "{} had no externalId: the file gives each its live id as externalId, so that renaming it in \
             the file renames it; the first apply sets it (setGroupExternalId)",
            count(anchors.len(), "group")
        ));
    }
    for operation in others {
        tracing::warn!("the imported file still plans: {}", operation.describe());
    }
    match &args.out {
        Some(path) => {
            if let Some(schema_path) = &schema_file {
                write_atomically(schema_path, schema::text().as_bytes())?;
            }
            write_atomically(path, text.as_bytes())?;
            ui.status(&format!(
                "wrote {} and {} to {}",
                count(desired.users.len(), "user"),
                count(desired.groups.len(), "group"),
                path.display()
            ));
        }
        None => {
            print!("{text}");
            if args.schema_url.is_none() {
                ui.status(&format!(
                    "the file references {SCHEMA_FILE} beside it: write it with `roster schema --out {SCHEMA_FILE}`"
                ));
            }
        }
    }
    Ok(Exit::Success)
}

/// `roster import --unmanaged`: the live users the files do not list, as entries of
/// their `users` list, printed or appended to `--out`.
async fn unmanaged(args: &ImportArgs, ui: &Ui) -> CommandResult {
    let files =
        if args.files.is_empty() { vec![std::path::PathBuf::from("users.yaml")] } else { args.files.clone() };
    let as_of = crate::cli::today_utc();
    let desired = crate::commands::validate::load(&files, as_of, ui)?;
    let client = ReadClient::new(client_config(&args.connection, desired.provider)?)
        .map_err(|err| Failure::from_error("cannot set up the SCIM client", &err))?;
    let capabilities = client.capabilities().await.clone();
    let live = fetch(&client, ui).await?;
    if !live.completeness.is_complete() {
        return Err(Failure::error(
            "the live state was not fetched completely, so the list of users not in the files could be wrong; \
             nothing was written",
        ));
    }
    let options = PlanOptions {
        capabilities,
        as_of: Some(as_of),
        files_changed_at: crate::git::last_change(&files),
        ..PlanOptions::default()
    };
    let plan = roster_plan::plan(&desired, &live, &options);
    let (adoptable, _) = desired_from_live(&live, desired.provider);
    let arrivals: HashSet<UserKey> = plan.arrivals.iter().map(|a| UserKey::new(&a.user_name)).collect();
    let users: Vec<DesiredUser> =
        adoptable.users.into_iter().filter(|u| arrivals.contains(&u.attributes.key())).collect();
    let mut block = roster_spec::users_yaml(&users);
    ui.status(&format!("{} live not in {}", count(users.len(), "user"), files_list(&files)));
    let Some(out) = &args.out else {
        print!("{block}");
        return Ok(Exit::Success);
    };
    let existing = match std::fs::read_to_string(out) {
        Ok(text) if args.append => Some(text),
        Ok(_) => {
            return Err(Failure::error(format!("{} exists; import does not replace it", out.display()))
                .with_hint("pass --append to add the entries to its `users` list"));
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(Failure::from_error(&format!("cannot read {}", out.display()), &err)),
    };
    let text = match existing {
        None => format!("version: 1\nusers:\n{block}"),
        Some(text) => {
            // The file's own indentation of list items: `- ` at the margin or indented.
            if text.lines().any(|l| l.starts_with("- userName:")) {
                block = block.lines().map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l))).collect();
            }
            let separator = if text.ends_with('\n') || text.is_empty() { "" } else { "\n" };
            format!("{text}{separator}{block}")
        }
    };
    // Appended entries must land in `users`: the result is read back, and written only
    // when it is valid and lists every one of them.
    let name = out.display().to_string();
    let reread = roster_spec::load(&[roster_spec::SourceFile { name: name.clone(), text: text.clone() }]);
    let lands = reread.as_ref().is_ok_and(|state| {
        let keys: HashSet<UserKey> = state.users.iter().map(|u| u.attributes.key()).collect();
        users.iter().all(|u| keys.contains(&u.attributes.key()))
    });
    if !lands {
        return Err(Failure::error(format!(
            "appending to {name} would not add the entries to its `users` list (it must end with that list); \
             nothing was written"
        ))
        .with_hint("print them without --out and paste them under `users:`"));
    }
    write_atomically(out, text.as_bytes())?;
    ui.status(&format!("appended {} to {name}", count(users.len(), "user")));
    Ok(Exit::Success)
}

fn files_list(files: &[std::path::PathBuf]) -> String {
    files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// The desired state that describes the live state as it is, and warnings about what
/// cannot be described (duplicate names, members that are not users).
pub fn desired_from_live(live: &LiveState, provider: Provider) -> (DesiredState, Vec<String>) {
    let mut warnings = Vec::new();
    let mut users: Vec<&roster_model::LiveUser> = live.users.iter().collect();
    users.sort_by(|a, b| a.attributes.key().cmp(&b.attributes.key()).then_with(|| a.id.cmp(&b.id)));
    let mut seen_keys = HashSet::new();
    let mut seen_external_ids = HashSet::new();
    let mut user_names_by_id = HashMap::new();
    let mut desired_users = Vec::with_capacity(users.len());
    for user in users {
        if !seen_keys.insert(user.attributes.key()) {
            warnings.push(format!(
                "left out user id {}: its userName {} is taken by another user",
                user.id, user.attributes.user_name
            ));
            continue;
        }
        let mut attributes = user.attributes.clone();
        // An empty value is no value: leaving it out keeps it unmanaged, and the file
        // format refuses empty strings.
        for value in [
            &mut attributes.external_id,
            &mut attributes.display_name,
            &mut attributes.given_name,
            &mut attributes.family_name,
            &mut attributes.title,
            &mut attributes.role,
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                *value = None;
            }
        }
        if let Some(external_id) = &attributes.external_id
            && !seen_external_ids.insert(external_id.clone())
        {
            warnings.push(format!(
                "dropped the duplicate externalId {external_id:?} of {}",
                attributes.user_name
            ));
            attributes.external_id = None;
        }
        user_names_by_id.insert(user.id.as_str(), attributes.user_name.clone());
        desired_users.push(DesiredUser {
            apps: Default::default(),
            expires: None,
            review_after: None,
            grant: Default::default(),
            attributes,
            previously: Vec::new(),
            source: None,
        });
    }

    let mut groups: Vec<&roster_model::LiveGroup> = live.groups.iter().collect();
    groups.sort_by(|a, b| {
        a.display_name.to_lowercase().cmp(&b.display_name.to_lowercase()).then_with(|| a.id.cmp(&b.id))
    });
    let mut seen_names = HashSet::new();
    let mut seen_group_external_ids = HashSet::new();
    let mut desired_groups = Vec::with_capacity(groups.len());
    for group in groups {
        if !seen_names.insert(group.display_name.to_lowercase()) {
            warnings.push(format!(
                "left out group id {}: its name {:?} is taken by another group",
                group.id, group.display_name
            ));
            continue;
        }
        let mut members = BTreeSet::new();
        for id in &group.members {
            match user_names_by_id.get(id.as_str()) {
                Some(user_name) => {
                    members.insert((UserKey::new(user_name), user_name.clone()));
                }
                None => warnings.push(format!(
                    "group {:?} has a member id {id} that is no user; left out",
                    group.display_name
                )),
            }
        }
        // The service's externalId, else (where the service has none) the live id:
        // either anchors the team, so that renaming it in the file renames it instead of
        // creating a second team. A duplicate externalId is left out, never replaced:
        // the identity provider may rely on it.
        let external_id = match group.external_id.as_deref().filter(|id| !id.trim().is_empty()) {
            Some(id) => Some(id.to_owned()).filter(|id| seen_group_external_ids.insert(id.clone())),
            None => Some(group.id.clone()).filter(|id| seen_group_external_ids.insert(id.clone())),
        };
        desired_groups.push(DesiredGroup {
            target: Default::default(),
            expiring_members: Vec::new(),
            member_grants: Vec::new(),
            display_name: group.display_name.clone(),
            external_id,
            members: Some(members.into_iter().map(|(_, user_name)| user_name).collect()),
            source: None,
        });
    }

    let custom_roles: BTreeSet<String> = match provider.builtin_roles() {
        Some(builtin) => desired_users
            .iter()
            .filter_map(|u| u.attributes.role.clone())
            .filter(|role| !builtin.contains(&role.as_str()))
            .collect(),
        None => BTreeSet::new(),
    };
    let desired = DesiredState {
        provider,
        custom_roles: custom_roles.into_iter().collect(),
        users: desired_users,
        groups: desired_groups,
        ..DesiredState::default()
    };
    (desired, warnings)
}

#[cfg(test)]
mod tests {
    use roster_model::{LiveGroup, LiveState, Provider};

    use super::desired_from_live;

    fn group(id: &str, name: &str, external_id: Option<&str>) -> LiveGroup {
        LiveGroup {
            id: id.into(),
            display_name: name.into(),
            external_id: external_id.map(str::to_owned),
            members: Vec::new(),
            created: None,
        }
    }

    #[test]
    fn every_team_is_anchored_by_its_external_id_or_else_its_live_id() {
        let live = LiveState {
            groups: vec![
                group("g1", "Anchored", Some("grp-a")),
                group("g2", "Bare", None),
                group("g3", "Blank", Some("  ")),
                group("g4", "Copy", Some("grp-a")),
            ],
            ..LiveState::default()
        };
        let (desired, _) = desired_from_live(&live, Provider::Productboard);
        let anchors: Vec<(&str, Option<&str>)> =
            desired.groups.iter().map(|g| (g.display_name.as_str(), g.external_id.as_deref())).collect();
        // A duplicate externalId is left out rather than replaced by the id: the service's
        // value may be what the identity provider matches on.
        assert_eq!(
            anchors,
            [("Anchored", Some("grp-a")), ("Bare", Some("g2")), ("Blank", Some("g3")), ("Copy", None)]
        );
    }
}

/// `roster import --target NAME [FILES]`: one app's live users merged into a file that
/// names `targets`. A user already in the file (by the identity key of the userName, or
/// the externalId) gets NAME added to `apps`, and per-target attributes (`NAME: { role:
/// ... }`) where the app's values differ from what the file gives; a live user the file
/// does not list is added with `apps: [NAME]`; the app's teams get `target: NAME`. The
/// whole merged file is written to `--out` (or stdout), in the canonical style of import:
/// comments and layout of the original are not kept, so compare it with the original
/// (e.g. `git diff`) before replacing it. Inactive accounts are not imported.
pub async fn into_targets(args: &ImportArgs, name: &str, ui: &Ui) -> CommandResult {
    let files =
        if args.files.is_empty() { vec![std::path::PathBuf::from("users.yaml")] } else { args.files.clone() };
    if let Some(out) = args.out.as_ref().filter(|out| out.exists() && !args.force) {
        return Err(Failure::error(format!("{} exists; import does not replace it", out.display()))
            .with_hint("pass --force to replace it, or --out another file and compare"));
    }
    let as_of = crate::cli::today_utc();
    let desired = crate::commands::validate::load(&files, as_of, ui)?;
    if !desired.is_multi_target() {
        return Err(Failure::error(format!("--target {name}: {} names no `targets`", files_list(&files)))
            .with_hint(
                "add a `targets:` map with this target to the file first, or import without --target",
            ));
    }
    let targets = crate::commands::multi::select(&desired, &[name.to_owned()])?;
    let Some(target) = targets.first().copied() else {
        return Err(Failure::error(format!("--target {name}: no such target")));
    };
    crate::connection::refuse_single_target_connection(&args.connection, ui)?;
    let client = ReadClient::new(crate::connection::target_config(target, &args.connection)?)
        .map_err(|err| Failure::from_error(&format!("target {name}: cannot set up the SCIM client"), &err))?;
    let capabilities = client.capabilities().await.clone();
    let live = fetch(&client, &ui.for_target(name)).await?;
    if !live.completeness.is_complete() {
        return Err(Failure::error(format!(
            "target {name}: the live state was not fetched completely, so the merged file would miss users; \
             nothing was written"
        )));
    }
    let (imported, warnings) = desired_from_live(&live, target.provider);
    for warning in &warnings {
        tracing::warn!("{name}: {warning}");
    }
    let (merged, counts) = merge_app(&desired, target, &imported);
    let text = roster_spec::to_yaml_with_schema(&merged, args.schema_url.as_deref().unwrap_or(SCHEMA_FILE));
    let file_name = args.out.as_ref().map_or_else(|| "users.yaml".to_owned(), |p| p.display().to_string());
    let reloaded = roster_spec::load_as_of(
        &[roster_spec::SourceFile { name: file_name.clone(), text: text.clone() }],
        Some(as_of),
    )
    .map_err(|diagnostics| {
        eprintln!("{}", crate::output::redact_secrets(&diagnostics.render(ui.stderr_color)));
        Failure::error("the merged file does not validate (listed above); nothing was written")
    })?;
    let projection = reloaded.for_target(name).unwrap_or_default();
    let options = PlanOptions { capabilities, as_of: Some(as_of), ..PlanOptions::default() };
    let plan = roster_plan::plan(&projection, &live, &options);
    for operation in plan.operations.iter().filter(|op| !matches!(op, Operation::SetGroupExternalId { .. })) {
        tracing::warn!("{name}: the merged file still plans: {}", operation.describe());
    }
    let summary = format!(
        "{name}: {} added to the file, {} given {name} in `apps`, {} with {name}-specific attributes, {}",
        count(counts.added, "user"),
        count(counts.given_app, "user"),
        count(counts.overridden, "user"),
        count(counts.groups, "team")
    );
    match &args.out {
        Some(path) => {
            write_atomically(path, text.as_bytes())?;
            ui.status(&format!("{summary}; wrote {}", path.display()));
        }
        None => {
            print!("{text}");
            ui.status(&summary);
        }
    }
    Ok(Exit::Success)
}

/// What [`merge_app`] changed, for the summary line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MergeCounts {
    /// Users added to the file.
    pub added: usize,
    /// Users of the file given the app.
    pub given_app: usize,
    /// Users given per-target attributes.
    pub overridden: usize,
    /// Teams written with the target.
    pub groups: usize,
}

/// The file with one app's live users and teams merged in (see [`into_targets`]).
pub fn merge_app(
    desired: &DesiredState,
    target: &roster_model::Target,
    imported: &DesiredState,
) -> (DesiredState, MergeCounts) {
    let mut merged = desired.clone();
    let mut counts = MergeCounts::default();
    let app = target.name.clone();
    for live_user in imported.users.iter().filter(|u| u.attributes.active) {
        let live = &live_user.attributes;
        let found = merged.users.iter_mut().find(|user| {
            user.attributes.key() == live.key()
                || live.external_id.as_ref().is_some_and(|id| {
                    user.attributes.external_id.as_ref() == Some(id)
                        || user.apps.attributes.get(&app).and_then(|a| a.external_id.as_ref()) == Some(id)
                })
        });
        let Some(user) = found else {
            let mut user = live_user.clone();
            user.apps.listed = Some(vec![app.clone()]);
            merged.users.push(user);
            counts.added += 1;
            continue;
        };
        if !user.attributes.active {
            // A tombstone stays one: the live account is deactivated by the next apply.
            continue;
        }
        if !DesiredState::has_app(user, target) {
            let mut apps = user.apps.listed.clone().unwrap_or_else(|| {
                desired.targets.iter().filter(|t| t.everyone).map(|t| t.name.clone()).collect()
            });
            apps.push(app.clone());
            apps.sort();
            apps.dedup();
            user.apps.listed = Some(apps);
            counts.given_app += 1;
        }
        // Where the app's value differs from the one the file gives there, the app's
        // value becomes the user's value for this target.
        let overlay = user.apps.attributes.get(&app).cloned().unwrap_or_default();
        let given =
            |own: &Option<String>, per_target: &Option<String>| per_target.clone().or_else(|| own.clone());
        let mut attributes = overlay.clone();
        let own = &user.attributes;
        for (slot, own_value, live_value) in [
            (&mut attributes.role, &own.role, &live.role),
            (&mut attributes.title, &own.title, &live.title),
            (&mut attributes.display_name, &own.display_name, &live.display_name),
            (&mut attributes.external_id, &own.external_id, &live.external_id),
        ] {
            if live_value.is_some() && given(own_value, slot) != *live_value {
                slot.clone_from(live_value);
            }
        }
        if attributes != overlay {
            user.apps.attributes.insert(app.clone(), attributes);
            counts.overridden += 1;
        }
    }
    for group in &imported.groups {
        let same = |g: &&mut roster_model::DesiredGroup| {
            g.target.as_ref() == Some(&app)
                && roster_model::identity::group_key(&g.display_name)
                    == roster_model::identity::group_key(&group.display_name)
        };
        match merged.groups.iter_mut().find(|g| same(g)) {
            Some(existing) => {
                existing.members.clone_from(&group.members);
                if existing.external_id.is_none() {
                    existing.external_id.clone_from(&group.external_id);
                }
            }
            None => {
                let mut group = group.clone();
                group.target = Some(app.clone());
                merged.groups.push(group);
            }
        }
        counts.groups += 1;
    }
    (merged, counts)
}
