//! Structure and types: walks one file's tree, reports every key, type and value
//! problem, and keeps what is usable for the checks across files.

use roster_model::identity;
use roster_model::{Date, Provider, RailLimit, TargetName, TokenSource, UnmanagedGroups, UnmanagedUsers};

use crate::diagnostics::{At, Check, Sink, quote};
use crate::file::keys;
use crate::suggest::did_you_mean;
use crate::tree::{Node, Pos, Value, limits};

/// A string and where it was written.
#[derive(Clone, Debug)]
pub(crate) struct Str {
    pub value: String,
    pub at: At,
}

/// What one file says, as far as it could be read.
#[derive(Debug, Default)]
pub(crate) struct FileDoc {
    /// The index of the file in the run's sources.
    pub file: usize,
    pub provider: Option<(Provider, At)>,
    pub policy: Option<PolicyDoc>,
    pub custom_roles: Vec<Str>,
    /// `paid_roles`, and where the key is.
    pub paid_roles: Option<(Vec<Str>, At)>,
    pub users: Vec<UserDoc>,
    pub groups: Vec<GroupDoc>,
    /// `targets`, and where the key is.
    pub targets: Option<(Vec<TargetDoc>, At)>,
}

/// One entry of `targets`.
#[derive(Debug)]
pub(crate) struct TargetDoc {
    /// The name as written (the key), and where.
    pub key: Str,
    /// The name, when it is a valid one.
    pub name: Option<TargetName>,
    pub provider: Option<Provider>,
    pub url: Option<Str>,
    pub token: Option<TokenSource>,
    pub api_token: Option<TokenSource>,
    pub policy: Option<PolicyDoc>,
    pub custom_roles: Vec<Str>,
    pub paid_roles: Option<Vec<Str>>,
    pub everyone: bool,
}

/// A user's attributes for one target (`miro: { role: ... }`): a key that is not a user
/// key, holding a mapping. Whether the key names a target is checked across files.
#[derive(Debug)]
pub(crate) struct TargetAttributesDoc {
    pub key: Str,
    pub role: Option<Str>,
    pub title: Option<Str>,
    pub display_name: Option<Str>,
    pub external_id: Option<Str>,
}

/// A `policy` mapping.
#[derive(Debug)]
pub(crate) struct PolicyDoc {
    /// Where the `policy` key is.
    pub at: At,
    pub unmanaged_users: Option<UnmanagedUsers>,
    pub unmanaged_groups: Option<UnmanagedGroups>,
    pub max_deactivations: Option<RailLimit>,
    pub max_removals: Option<RailLimit>,
    pub protected: Vec<Str>,
    pub expiry_notice_days: Option<u32>,
    pub max_access_days: Option<u32>,
    pub max_paid_seats: Option<u64>,
}

/// A date and where it was written.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DateAt {
    pub date: Date,
    pub at: At,
}

/// A user entry.
#[derive(Debug)]
pub(crate) struct UserDoc {
    pub at: At,
    pub user_name: Option<Str>,
    pub external_id: Option<Str>,
    pub previously: Vec<Str>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub title: Option<String>,
    pub role: Option<Str>,
    pub active: bool,
    /// Where `active: false` was written, for messages about tombstones.
    pub inactive_at: Option<At>,
    pub expires: Option<DateAt>,
    pub review_after: Option<DateAt>,
    pub grant: GrantDoc,
    /// `apps`, and where the key is.
    pub apps: Option<(Vec<Str>, At)>,
    /// Per-target attributes.
    pub per_target: Vec<TargetAttributesDoc>,
}

/// The evidence written on a user or a membership: `reason`, `approved_by`, `ticket`.
#[derive(Debug, Default)]
pub(crate) struct GrantDoc {
    pub reason: Option<Str>,
    pub approved_by: Option<Str>,
    pub ticket: Option<Str>,
}

impl GrantDoc {
    /// The evidence as the model holds it.
    pub fn to_grant(&self) -> roster_model::Grant {
        let value = |s: &Option<Str>| s.as_ref().map(|s| s.value.clone());
        roster_model::Grant {
            reason: value(&self.reason),
            approved_by: value(&self.approved_by),
            ticket: value(&self.ticket),
        }
    }

    fn is_empty(&self) -> bool {
        self.reason.is_none() && self.approved_by.is_none() && self.ticket.is_none()
    }
}

/// A group entry.
#[derive(Debug)]
pub(crate) struct GroupDoc {
    pub at: At,
    pub display_name: Option<Str>,
    pub external_id: Option<Str>,
    /// `None` when the group has no `members` key: its membership is unmanaged.
    pub members: Option<Vec<Str>>,
    /// The memberships among `members` written with an `expires`.
    pub expiring: Vec<(Str, DateAt)>,
    /// The memberships among `members` written with a reason, approver or ticket.
    pub grants: Vec<(Str, GrantDoc)>,
    /// `target`.
    pub target: Option<Str>,
}

/// A group's `members` as written.
struct MembersDoc {
    names: Vec<Str>,
    expiring: Vec<(Str, DateAt)>,
    grants: Vec<(Str, GrantDoc)>,
}

/// The versions of the format this roster reads.
pub(crate) const SUPPORTED_VERSION: i64 = 1;

/// Checks one file's tree. `root` is `None` for a file with no YAML document.
pub(crate) fn check_file<'s>(
    sink: &mut Sink<'s>,
    file: usize,
    text: &'s str,
    root: Option<&Node<'_>>,
) -> FileDoc {
    let mut walker = Walker { sink, file, text, n_names: 0 };
    let mut doc = FileDoc { file, ..FileDoc::default() };
    let start = At { file, pos: Pos { line: 1, col: 1, start: 0, len: 0 } };
    let Some(root) = root else {
        walker
            .sink
            .problem(
                Check::Version,
                start,
                "the file is empty: a desired-state file starts with `version: 1`",
            )
            .label("no `version` here")
            .emit();
        return doc;
    };
    let Some(entries) = walker.mapping(root, "the file", "a mapping with `version`, `users` and `groups`")
    else {
        return doc;
    };
    let mut version_seen = false;
    for (key, key_node, value) in walker.fields(entries, keys::TOP, "at the top level") {
        match key {
            "version" => {
                version_seen = true;
                walker.version(value);
            }
            "provider" => {
                if let Some(s) = walker.string("provider", value)
                    && let Some(provider) = walker.choice("provider", &s, &crate::file::ProviderName::ALL)
                {
                    let provider = if provider == 0 { Provider::Productboard } else { Provider::Generic };
                    doc.provider = Some((provider, s.at));
                }
            }
            "custom_roles" => doc.custom_roles = walker.string_list("custom_roles", value),
            "paid_roles" => {
                if walker.sequence("paid_roles", value).is_some() {
                    doc.paid_roles = Some((walker.string_list("paid_roles", value), walker.at(key_node.pos)));
                }
            }
            "policy" => doc.policy = walker.policy(key_node, value),
            "targets" => doc.targets = walker.targets(value).map(|t| (t, walker.at(key_node.pos))),
            "users" => {
                if let Some(items) = walker.sequence("users", value)
                    && walker.within("users", value, items.len(), limits::MAX_USERS)
                {
                    doc.users = items.iter().filter_map(|item| walker.user(item)).collect();
                }
            }
            "groups" => {
                if let Some(items) = walker.sequence("groups", value)
                    && walker.within("groups", value, items.len(), limits::MAX_GROUPS)
                {
                    doc.groups = items.iter().filter_map(|item| walker.group(item)).collect();
                }
            }
            _ => unreachable!("fields() yields only known keys"),
        }
    }
    if !version_seen {
        walker
            .sink
            .problem(Check::Version, walker.at(root.pos), "the file has no `version`: add `version: 1`")
            .label("`version: 1` belongs at the top of this mapping")
            .emit();
    }
    doc
}

struct Walker<'k, 's> {
    sink: &'k mut Sink<'s>,
    file: usize,
    text: &'s str,
    /// Names listed so far (members, previous names, protected users).
    n_names: usize,
}

impl Walker<'_, '_> {
    fn at(&self, pos: Pos) -> At {
        At { file: self.file, pos }
    }

    /// The text of a node as written, for messages (`0012`, not `12`).
    fn written(&self, node: &Node<'_>) -> String {
        let start = node.pos.start as usize;
        let end = start + node.pos.len as usize;
        match self.text.get(start..end) {
            Some(text) if !text.is_empty() && !text.contains('\n') && text.len() <= 80 => text.to_owned(),
            _ => match &node.value {
                Value::Str(s) => format!("{:?}", crate::diagnostics::truncate(s, 80).0),
                Value::Int(n) => n.to_string(),
                Value::Float(x) => x.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => "null".to_owned(),
                Value::Seq(_) | Value::Map(_) => String::new(),
            },
        }
    }

    fn wrong_type(&mut self, key: &str, expected: &str, node: &Node<'_>) {
        let found = node.value.kind();
        let at = self.at(node.pos);
        let written = self.written(node);
        let message = match &node.value {
            Value::Seq(_) | Value::Map(_) => format!("{key} must be {expected}, found {found}"),
            _ => format!("{key} must be {expected}, found {found} {}", quote(&written)),
        };
        let mut problem =
            self.sink.problem(Check::WrongType, at, message).label(format!("{found}, not {expected}"));
        match (&node.value, expected) {
            (Value::Null, _) => problem = problem.help(without_a_value(key)),
            (Value::Int(_) | Value::Float(_) | Value::Bool(_), "a string") => {
                problem = problem.help(format!("quote it to make it a string: \"{written}\""));
            }
            _ => {}
        }
        problem.emit();
    }

    fn mapping<'n, 'a>(
        &mut self,
        node: &'n Node<'a>,
        what: &str,
        expected: &str,
    ) -> Option<&'n [(Node<'a>, Node<'a>)]> {
        match &node.value {
            Value::Map(entries) => Some(&**entries),
            _ => {
                self.wrong_type(what, expected, node);
                None
            }
        }
    }

    fn sequence<'n, 'a>(&mut self, key: &str, node: &'n Node<'a>) -> Option<&'n [Node<'a>]> {
        match &node.value {
            Value::Seq(items) => Some(&**items),
            _ => {
                self.wrong_type(&format!("`{key}`"), "a sequence", node);
                None
            }
        }
    }

    /// The entries of a mapping whose keys are known, once each. Reports keys that are
    /// not strings, unknown keys (with a suggestion) and repeated keys.
    fn fields<'n, 'a>(
        &mut self,
        entries: &'n [(Node<'a>, Node<'a>)],
        allowed: &'static [&'static str],
        context: &str,
    ) -> Vec<(&'static str, &'n Node<'a>, &'n Node<'a>)> {
        self.fields_and_extras(entries, allowed, context, false).0
    }

    /// [`Walker::fields`], and with `extras`, the entries with an unknown key and a
    /// mapping for a value, unreported: a user's per-target attributes, whose keys are
    /// only known once every file's `targets` is read.
    #[allow(clippy::type_complexity)]
    fn fields_and_extras<'n, 'a>(
        &mut self,
        entries: &'n [(Node<'a>, Node<'a>)],
        allowed: &'static [&'static str],
        context: &str,
        extras: bool,
    ) -> (Vec<(&'static str, &'n Node<'a>, &'n Node<'a>)>, Vec<(Str, &'n Node<'a>)>) {
        let mut extra = Vec::new();
        // The first place of each allowed key, by its index in `allowed`.
        let mut seen: Vec<Option<At>> = vec![None; allowed.len()];
        let mut fields = Vec::with_capacity(entries.len());
        for (key_node, value) in entries {
            let at = self.at(key_node.pos);
            let Value::Str(key) = &key_node.value else {
                let written = self.written(key_node);
                self.sink
                    .problem(
                        Check::WrongType,
                        at,
                        format!("keys must be strings, found {} {}", key_node.value.kind(), quote(&written)),
                    )
                    .label("not a key of the format")
                    .emit();
                continue;
            };
            let Some(index) = allowed.iter().position(|k| *k == key.as_ref()) else {
                if extras && key != "<<" && matches!(value.value, Value::Map(_)) {
                    extra.push((Str { value: key.to_string(), at }, value));
                    continue;
                }
                unknown_key(self.sink, at, key, allowed, context);
                continue;
            };
            let known = allowed[index];
            if let Some(first) = &seen[index] {
                let first_location = self.sink.location(*first);
                self.sink
                    .problem(
                        Check::DuplicateKey,
                        at,
                        format!("key `{known}` appears twice {context}, first at {first_location}"),
                    )
                    .label("repeated here")
                    .related(*first, "first here")
                    .emit();
                continue;
            }
            seen[index] = Some(at);
            fields.push((known, key_node, value));
        }
        (fields, extra)
    }

    fn version(&mut self, value: &Node<'_>) {
        if matches!(value.value, Value::Int(SUPPORTED_VERSION)) {
            return;
        }
        let at = self.at(value.pos);
        let written = self.written(value);
        let shown = if written.is_empty() { value.value.kind().to_owned() } else { quote(&written) };
        // `"1"` or `!!str 1` is the right version written as a string: say so, rather
        // than "unsupported version 1".
        let (message, help) = match &value.value {
            Value::Str(s) => (
                format!("`version` must be the number {SUPPORTED_VERSION}, found the string {}", quote(s)),
                format!("write `version: {SUPPORTED_VERSION}`, without quotes or a tag"),
            ),
            _ => (
                format!("unsupported version {shown}: this roster reads version {SUPPORTED_VERSION}"),
                format!("write `version: {SUPPORTED_VERSION}`"),
            ),
        };
        self.sink.problem(Check::Version, at, message).label("unsupported version").help(help).emit();
    }

    /// A non-empty string.
    fn string(&mut self, key: &str, node: &Node<'_>) -> Option<Str> {
        let Value::Str(value) = &node.value else {
            self.wrong_type(&format!("`{key}`"), "a string", node);
            return None;
        };
        let at = self.at(node.pos);
        if value.is_empty() {
            self.sink
                .problem(Check::InvalidValue, at, format!("`{key}` is empty"))
                .label("empty string")
                .help(without_a_value(key))
                .emit();
            return None;
        }
        Some(Str { value: value.to_string(), at })
    }

    /// A single-line text attribute: a string that is not blank and holds no line break
    /// or control character (a `|` block scalar ends with a newline, which would be sent
    /// to the service as part of the value).
    fn text(&mut self, key: &str, node: &Node<'_>) -> Option<Str> {
        let value = self.string(key, node)?;
        match identity::check_single_line(&value.value) {
            Ok(()) => Some(value),
            Err(error) => {
                self.sink
                    .problem(
                        Check::InvalidValue,
                        value.at,
                        format!("`{key}` {}: {error}", quote(&value.value)),
                    )
                    .label("not a single line of text")
                    .help(format!("write `{key}` as one line of text, or remove it to leave it unmanaged"))
                    .emit();
                None
            }
        }
    }

    fn string_list(&mut self, key: &str, node: &Node<'_>) -> Vec<Str> {
        let Some(items) = self.sequence(key, node) else {
            return Vec::new();
        };
        items.iter().filter_map(|item| self.string(key, item)).collect()
    }

    /// The index of a string among the allowed values, or a problem.
    fn choice(&mut self, key: &str, value: &Str, allowed: &[&str]) -> Option<usize> {
        if let Some(i) = allowed.iter().position(|a| *a == value.value) {
            return Some(i);
        }
        let list = allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(" or ");
        let mut problem = self.sink.problem(
            Check::InvalidValue,
            value.at,
            format!("unknown {key} {}: expected {list}", quote(&value.value)),
        );
        problem = match did_you_mean(&value.value, allowed) {
            Some(suggestion) => problem.label(format!("did you mean `{suggestion}`?")),
            None => problem.label(format!("not one of {list}")),
        };
        problem.emit();
        None
    }

    fn boolean(&mut self, key: &str, node: &Node<'_>) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.wrong_type(&format!("`{key}`"), "`true` or `false`", node);
                None
            }
        }
    }

    fn policy(&mut self, key_node: &Node<'_>, value: &Node<'_>) -> Option<PolicyDoc> {
        let entries = self.mapping(value, "`policy`", "a mapping")?;
        let mut policy = PolicyDoc {
            at: self.at(key_node.pos),
            unmanaged_users: None,
            unmanaged_groups: None,
            max_deactivations: None,
            max_removals: None,
            protected: Vec::new(),
            expiry_notice_days: None,
            max_access_days: None,
            max_paid_seats: None,
        };
        for (key, _, value) in self.fields(entries, keys::POLICY, "in `policy`") {
            match key {
                "unmanaged_users" => {
                    if let Some(s) = self.string(key, value) {
                        policy.unmanaged_users = self
                            .choice(key, &s, &crate::file::UnmanagedUsersPolicy::ALL)
                            .map(|i| if i == 0 { UnmanagedUsers::Deactivate } else { UnmanagedUsers::Keep });
                    }
                }
                "unmanaged_groups" => {
                    if let Some(s) = self.string(key, value) {
                        policy.unmanaged_groups = self
                            .choice(key, &s, &crate::file::UnmanagedGroupsPolicy::ALL)
                            .map(|i| if i == 0 { UnmanagedGroups::Keep } else { UnmanagedGroups::Delete });
                    }
                }
                "max_deactivations" => {
                    policy.max_deactivations = self.rail_limit(key, Check::MaxDeactivations, value)
                }
                "max_removals" => policy.max_removals = self.rail_limit(key, Check::MaxRemovals, value),
                "protected" => policy.protected = self.raw_string_list(key, value),
                "expiry_notice_days" => {
                    policy.expiry_notice_days = self.count(key, value).and_then(|n| u32::try_from(n).ok())
                }
                "max_access_days" => {
                    policy.max_access_days = self.count(key, value).and_then(|n| u32::try_from(n).ok())
                }
                "max_paid_seats" => policy.max_paid_seats = self.count(key, value),
                _ => unreachable!("fields() yields only known keys"),
            }
        }
        Some(policy)
    }

    /// A rail's limit (`max_deactivations`, `max_removals`): a count or a percentage.
    fn rail_limit(&mut self, key: &str, check: Check, node: &Node<'_>) -> Option<RailLimit> {
        let parsed = match &node.value {
            Value::Int(n) => u64::try_from(*n).ok().map(RailLimit::Count),
            Value::Str(s) => parse_percentage(s).map(RailLimit::PercentHundredths),
            _ => None,
        };
        if parsed.is_none() {
            let at = self.at(node.pos);
            let written = self.written(node);
            let shown = if written.is_empty() { node.value.kind().to_owned() } else { quote(&written) };
            self.sink
                .problem(
                    check,
                    at,
                    format!(
                        "malformed `{key}` {shown}: expected a count like `10` or a percentage like `\"20%\"`"
                    ),
                )
                .label("not a count or a percentage")
                .help(
                    "a count is a whole number from 0; a percentage is 0% to 100% with at most two decimals",
                )
                .emit();
        }
        parsed
    }

    fn user(&mut self, node: &Node<'_>) -> Option<UserDoc> {
        let entries = self.mapping(node, "a user", "a mapping with at least `userName`")?;
        let mut user = UserDoc {
            at: self.at(node.pos),
            user_name: None,
            external_id: None,
            previously: Vec::new(),
            display_name: None,
            given_name: None,
            family_name: None,
            title: None,
            role: None,
            active: true,
            inactive_at: None,
            expires: None,
            review_after: None,
            grant: GrantDoc::default(),
            apps: None,
            per_target: Vec::new(),
        };
        let mut has_user_name = false;
        let (fields, extras) = self.fields_and_extras(entries, keys::USER, "in a user", true);
        for (key, value) in extras {
            user.per_target.push(self.target_attributes(key, value));
        }
        for (key, key_node, value) in fields {
            match key {
                "apps" => user.apps = Some((self.raw_string_list(key, value), self.at(key_node.pos))),
                "userName" => {
                    has_user_name = true;
                    user.user_name = self.raw_string(key, value);
                }
                "externalId" => user.external_id = self.text(key, value),
                "previously" => user.previously = self.raw_string_list(key, value),
                "displayName" => user.display_name = self.text(key, value).map(|s| s.value),
                "title" => user.title = self.text(key, value).map(|s| s.value),
                "role" => user.role = self.string(key, value),
                "expires" => user.expires = self.date(key, value),
                "review_after" => user.review_after = self.date(key, value),
                "reason" | "approved_by" | "ticket" => self.grant_field(&mut user.grant, key, value),
                "active" => {
                    if let Some(active) = self.boolean(key, value) {
                        user.active = active;
                        if !active {
                            user.inactive_at = Some(self.at(value.pos));
                        }
                    }
                }
                "name" => {
                    let Some(name) =
                        self.mapping(value, "`name`", "a mapping with `givenName` and `familyName`")
                    else {
                        continue;
                    };
                    for (key, _, value) in self.fields(name, keys::NAME, "in `name`") {
                        let part = self.text(key, value).map(|s| s.value);
                        match key {
                            "givenName" => user.given_name = part,
                            "familyName" => user.family_name = part,
                            _ => unreachable!("fields() yields only known keys"),
                        }
                    }
                }
                _ => unreachable!("fields() yields only known keys"),
            }
        }
        if !has_user_name {
            self.sink
                .problem(Check::MissingKey, user.at, "a user has no `userName`")
                .label("this user needs a `userName`")
                .emit();
        }
        Some(user)
    }

    /// A string that is checked as an email address later (so an empty one is reported
    /// as a malformed address, not as an empty value).
    fn raw_string(&mut self, key: &str, node: &Node<'_>) -> Option<Str> {
        match &node.value {
            Value::Str(value) => Some(Str { value: value.to_string(), at: self.at(node.pos) }),
            _ => {
                self.wrong_type(&format!("`{key}`"), "a string", node);
                None
            }
        }
    }

    /// Whether a list of `n` entries is within its limit; reports it when not.
    fn within(&mut self, key: &str, node: &Node<'_>, n: usize, max: usize) -> bool {
        if n <= max {
            return true;
        }
        let at = self.at(node.pos);
        self.sink
            .problem(
                Check::FileTooLarge,
                at,
                format!("`{key}` lists {n} entries, more than the {max} one file may hold; split it into several files"),
            )
            .label("too many entries")
            .emit();
        false
    }

    fn raw_string_list(&mut self, key: &str, node: &Node<'_>) -> Vec<Str> {
        let Some(items) = self.sequence(key, node) else {
            return Vec::new();
        };
        // Names are counted across the file: a million members or previous names is a
        // flood, not a roster, and each costs memory to check.
        if self.n_names <= limits::MAX_NAMES {
            self.n_names += items.len();
            let total = self.n_names;
            if !self.within("names listed in the file", node, total, limits::MAX_NAMES) {
                return Vec::new();
            }
        } else {
            return Vec::new();
        }
        items.iter().filter_map(|item| self.raw_string(key, item)).collect()
    }

    fn group(&mut self, node: &Node<'_>) -> Option<GroupDoc> {
        let entries = self.mapping(node, "a group", "a mapping with at least `displayName`")?;
        let mut group = GroupDoc {
            at: self.at(node.pos),
            display_name: None,
            external_id: None,
            members: None,
            expiring: Vec::new(),
            grants: Vec::new(),
            target: None,
        };
        let mut has_display_name = false;
        for (key, _, value) in self.fields(entries, keys::GROUP, "in a group") {
            match key {
                "displayName" => {
                    has_display_name = true;
                    group.display_name = self.text(key, value);
                }
                "externalId" => group.external_id = self.text(key, value),
                "target" => group.target = self.string(key, value),
                "members" => {
                    if let Some(members) = self.members(value) {
                        group.members = Some(members.names);
                        group.expiring = members.expiring;
                        group.grants = members.grants;
                    }
                }
                _ => unreachable!("fields() yields only known keys"),
            }
        }
        if !has_display_name {
            self.sink
                .problem(Check::MissingKey, group.at, "a group has no `displayName`")
                .label("this group needs a `displayName`")
                .emit();
        }
        Some(group)
    }
}

impl Walker<'_, '_> {
    /// A group's `members`: the one place where a file's memberships are read. `null` is
    /// an error (absent and empty mean different things, and `members:` with nothing
    /// after it says neither), so that it is never taken as "no members".
    ///
    /// An item is a userName, or a mapping `{ userName: ..., expires: YYYY-MM-DD, reason:
    /// ..., approved_by: ..., ticket: ... }` for a membership that ends or carries
    /// evidence; such memberships are also returned with their dates and evidence.
    fn members(&mut self, node: &Node<'_>) -> Option<MembersDoc> {
        let Value::Seq(items) = &node.value else {
            self.wrong_type("`members`", "a sequence", node);
            return None;
        };
        let mut members = Vec::with_capacity(items.len());
        let mut expiring = Vec::new();
        let mut grants = Vec::new();
        for item in items {
            let Value::Map(entries) = &item.value else {
                members.extend(self.raw_string("members", item));
                continue;
            };
            let mut user_name = None;
            let mut expires = None;
            let mut grant = GrantDoc::default();
            let mut has_user_name = false;
            for (key, _, value) in self.fields(entries, keys::MEMBER, "in a member") {
                match key {
                    "userName" => {
                        has_user_name = true;
                        user_name = self.raw_string(key, value);
                    }
                    "expires" => expires = self.date(key, value),
                    "reason" | "approved_by" | "ticket" => self.grant_field(&mut grant, key, value),
                    _ => unreachable!("fields() yields only known keys"),
                }
            }
            if !has_user_name {
                self.sink
                    .problem(Check::MissingKey, self.at(item.pos), "a member has no `userName`")
                    .label("this member needs a `userName`")
                    .help("write a member as its userName, or as `{ userName: ..., expires: YYYY-MM-DD }`")
                    .emit();
            }
            if let Some(user_name) = user_name {
                if let Some(expires) = expires {
                    expiring.push((user_name.clone(), expires));
                }
                if !grant.is_empty() {
                    grants.push((user_name.clone(), grant));
                }
                members.push(user_name);
            }
        }
        Some(MembersDoc { names: members, expiring, grants })
    }

    /// One of `reason`, `approved_by` and `ticket`: a non-empty string.
    fn grant_field(&mut self, grant: &mut GrantDoc, key: &str, value: &Node<'_>) {
        let text = self.text(key, value);
        match key {
            "reason" => grant.reason = text,
            "approved_by" => grant.approved_by = text,
            "ticket" => grant.ticket = text,
            _ => unreachable!("only the evidence keys are given"),
        }
    }

    /// A day written `YYYY-MM-DD`. The value is read from the text as written, so that
    /// YAML's own typing of timestamps never changes what it means; a quoted date is the
    /// same date.
    fn date(&mut self, key: &str, node: &Node<'_>) -> Option<DateAt> {
        let at = self.at(node.pos);
        let written = self.written(node);
        let text = match &node.value {
            Value::Str(s) => s.to_string(),
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => written.clone(),
            _ => {
                self.wrong_type(&format!("`{key}`"), "a date like 2027-03-31", node);
                return None;
            }
        };
        match Date::parse(text.trim_end()) {
            Ok(date) if text.trim_end() == text => Some(DateAt { date, at }),
            result => {
                let reason = result
                    .err()
                    .map_or_else(|| "expected a date as YYYY-MM-DD".to_owned(), |e| e.to_string());
                self.sink
                    .problem(Check::InvalidDate, at, format!("invalid `{key}` {}: {reason}", quote(&written)))
                    .label("not a day written YYYY-MM-DD")
                    .help(if key == "review_after" {
                        format!("write the day the review is due, in UTC, e.g. `{key}: 2027-01-15`")
                    } else {
                        format!("write the first day without access, in UTC, e.g. `{key}: 2027-03-31`")
                    })
                    .emit();
                None
            }
        }
    }

    /// A whole number from 0.
    fn count(&mut self, key: &str, node: &Node<'_>) -> Option<u64> {
        match &node.value {
            Value::Int(n) if u64::try_from(*n).is_ok() => u64::try_from(*n).ok(),
            _ => {
                let at = self.at(node.pos);
                let written = self.written(node);
                let shown = if written.is_empty() { node.value.kind().to_owned() } else { quote(&written) };
                self.sink
                    .problem(
                        Check::InvalidValue,
                        at,
                        format!("malformed `{key}` {shown}: expected a whole number"),
                    )
                    .label("not a whole number from 0")
                    .emit();
                None
            }
        }
    }
}

/// Reports an unknown key, with a suggestion among the keys allowed there.
pub(crate) fn unknown_key(sink: &mut Sink<'_>, at: At, key: &str, allowed: &[&str], context: &str) {
    let mut problem = sink.problem(Check::UnknownKey, at, format!("unknown key {} {context}", quote(key)));
    if key == "<<" {
        problem = problem.label("merge keys are not supported").help("write the keys out");
    } else if let Some(suggestion) = did_you_mean(key, allowed) {
        problem = problem.label(format!("did you mean `{suggestion}`?"));
    } else {
        problem = problem.label("unknown key").help(format!(
            "the keys here are {}",
            allowed.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    problem.emit();
}

impl Walker<'_, '_> {
    /// `targets`: a mapping from target names to targets.
    fn targets(&mut self, node: &Node<'_>) -> Option<Vec<TargetDoc>> {
        let entries = self.mapping(node, "`targets`", "a mapping from target names to targets")?;
        let mut targets: Vec<TargetDoc> = Vec::with_capacity(entries.len());
        for (key_node, value) in entries {
            let at = self.at(key_node.pos);
            let Value::Str(key) = &key_node.value else {
                self.wrong_type("a target name", "a string", key_node);
                continue;
            };
            if let Some(first) = targets.iter().find(|t| t.key.value == key.as_ref()) {
                let first_at = first.key.at;
                let first_location = self.sink.location(first_at);
                self.sink
                    .problem(
                        Check::DuplicateKey,
                        at,
                        format!(
                            "target {} appears twice in `targets`, first at {first_location}",
                            quote(key)
                        ),
                    )
                    .label("repeated here")
                    .related(first_at, "first here")
                    .emit();
                continue;
            }
            let key = Str { value: key.to_string(), at };
            if let Some(target) = self.target(key, value) {
                targets.push(target);
            }
        }
        Some(targets)
    }

    /// One target: its name is checked here, its references across files later.
    fn target(&mut self, key: Str, node: &Node<'_>) -> Option<TargetDoc> {
        let name = match TargetName::new(&key.value) {
            Ok(_) if keys::USER.contains(&key.value.as_str()) || key.value == "name" => {
                self.sink
                    .problem(
                        Check::Targets,
                        key.at,
                        format!(
                            "target name {} is a key of a user: a user's per-target attributes \
                             would be read as the user's own",
                            quote(&key.value)
                        ),
                    )
                    .label("reserved name")
                    .help("name the target after the app, like `miro` or `productboard-eu`")
                    .emit();
                None
            }
            Ok(name) => Some(name),
            Err(_) => {
                let message = format!(
                    "target name {} is not valid: a target name is a lower-case letter followed by lower-case \
                     letters, digits, `-` or `_`, at most {} characters",
                    quote(&key.value),
                    TargetName::MAX_LEN
                );
                self.sink
                    .problem(Check::Targets, key.at, message)
                    .label("not a target name")
                    .help("write the name in lower case, like `miro` or `productboard-eu`")
                    .emit();
                None
            }
        };
        let context = format!("in target {}", quote(&key.value));
        let entries = self.mapping(node, &format!("target {}", quote(&key.value)), "a mapping")?;
        let mut target = TargetDoc {
            key,
            name,
            provider: None,
            url: None,
            token: None,
            api_token: None,
            policy: None,
            custom_roles: Vec::new(),
            paid_roles: None,
            everyone: false,
        };
        let mut token_keys: Vec<(&str, At)> = Vec::new();
        let mut api_token_keys: Vec<(&str, At)> = Vec::new();
        for (key, key_node, value) in self.fields(entries, keys::TARGET, &context) {
            match key {
                "provider" => {
                    if let Some(s) = self.string(key, value)
                        && let Some(i) = self.choice("provider", &s, &crate::file::ProviderName::ALL)
                    {
                        target.provider =
                            Some(if i == 0 { Provider::Productboard } else { Provider::Generic });
                    }
                }
                "url" => target.url = self.target_url(value),
                "token_env" | "api_token_env" => {
                    let keys = if key == "token_env" { &mut token_keys } else { &mut api_token_keys };
                    keys.push((key, self.at(key_node.pos)));
                    let source = self.env_name(key, value).map(TokenSource::Env);
                    if key == "token_env" { target.token = source } else { target.api_token = source }
                }
                "token_file" | "api_token_file" => {
                    let keys = if key == "token_file" { &mut token_keys } else { &mut api_token_keys };
                    keys.push((key, self.at(key_node.pos)));
                    let source = self.text(key, value).map(|s| TokenSource::File(s.value));
                    if key == "token_file" { target.token = source } else { target.api_token = source }
                }
                "policy" => target.policy = self.policy(key_node, value),
                "custom_roles" => target.custom_roles = self.string_list(key, value),
                "paid_roles" => target.paid_roles = Some(self.string_list(key, value)),
                "everyone" => target.everyone = self.boolean(key, value).unwrap_or(false),
                _ => unreachable!("fields() yields only known keys"),
            }
        }
        let target_at = target.key.at;
        let name = quote(&target.key.value);
        if target.provider.is_none()
            && !entries.iter().any(|(k, _)| matches!(&k.value, Value::Str(k) if k == "provider"))
        {
            self.sink
                .problem(Check::MissingKey, target_at, format!("target {name} has no `provider`"))
                .label("this target needs a `provider`")
                .help("write `provider: productboard` or `provider: generic`")
                .emit();
        }
        if !entries.iter().any(|(k, _)| matches!(&k.value, Value::Str(k) if k == "url")) {
            self.sink
                .problem(Check::MissingKey, target_at, format!("target {name} has no `url`"))
                .label("this target needs a `url`")
                .help("write the SCIM base URL, like `url: https://api.productboard.com/scim/v2`")
                .emit();
        }
        match token_keys.as_slice() {
            [] => self
                .sink
                .problem(Check::MissingKey, target_at, format!("target {name} says nowhere where its token is"))
                .label("this target needs `token_env` or `token_file`")
                .help("name the environment variable (`token_env: ROSTER_TOKEN_MIRO`) or the file (`token_file: /run/secrets/miro`) that holds the token; never the token itself")
                .emit(),
            [_] => {}
            [_, (_, second), ..] => self
                .sink
                .problem(Check::Targets, *second, format!("target {name} gives both `token_env` and `token_file`"))
                .label("a second token source")
                .help("give exactly one of `token_env` and `token_file`")
                .emit(),
        }
        if let [_, (_, second), ..] = api_token_keys.as_slice() {
            self.sink
                .problem(
                    Check::Targets,
                    *second,
                    format!("target {name} gives both `api_token_env` and `api_token_file`"),
                )
                .label("a second token source")
                .help("give at most one of `api_token_env` and `api_token_file`")
                .emit();
        }
        Some(target)
    }

    /// A target's `url`: `https://`, or `http://` to a loopback address only (the rule
    /// the client applies), with a host, and without credentials, query or fragment. A
    /// URL that holds a secret is never repeated.
    fn target_url(&mut self, node: &Node<'_>) -> Option<Str> {
        let text = self.string("url", node)?;
        let problem = match url::Url::parse(text.value.trim()) {
            Err(error) => Some((format!("`url` {} is not a URL: {error}", quote(&text.value)), "not a URL")),
            Ok(url) if !url.username().is_empty() || url.password().is_some() => Some((
                "`url` holds credentials (user or password before `@`); its value is not shown".to_owned(),
                "credentials in the URL",
            )),
            Ok(url) if url.query().is_some() || url.fragment().is_some() => {
                let mut shown = url.clone();
                shown.set_query(None);
                shown.set_fragment(None);
                Some((
                    format!(
                        "`url` has a query or a fragment, which may hold a token, so it is not shown: give the base URL alone, like {}",
                        quote(shown.as_str())
                    ),
                    "a query or fragment",
                ))
            }
            Ok(url) if url.host_str().is_none_or(str::is_empty) => {
                Some((format!("`url` {} has no host", quote(&text.value)), "no host"))
            }
            Ok(url) => match url.scheme() {
                "https" => None,
                "http" if is_loopback(url.host_str().unwrap_or_default()) => None,
                "http" => Some((
                    format!("`url` {} is plain http:// to a host that is not loopback", quote(&text.value)),
                    "plain http",
                )),
                other => {
                    Some((format!("`url` {} has scheme {}", quote(&text.value), quote(other)), "not https"))
                }
            },
        };
        match problem {
            None => Some(text),
            Some((message, label)) => {
                // The excerpt would show the value: leave it out when it holds a secret.
                let secret = label == "credentials in the URL" || label == "a query or fragment";
                let mut problem = self
                    .sink
                    .problem(Check::Targets, text.at, message)
                    .label(label)
                    .help("give the SCIM base URL, https:// (http:// only to a loopback address), without credentials or a query: the token is named by `token_env` or `token_file`");
                if secret {
                    problem = problem.without_source();
                }
                problem.emit();
                None
            }
        }
    }

    /// The name of an environment variable: `[A-Za-z_][A-Za-z0-9_]*`. A value that is
    /// not a name may be a token pasted by mistake: it is never repeated.
    fn env_name(&mut self, key: &str, node: &Node<'_>) -> Option<String> {
        let text = self.string(key, node)?;
        let mut bytes = text.value.bytes();
        let valid = text.value.len() <= 128
            && bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if valid {
            return Some(text.value);
        }
        self.sink
            .problem(
                Check::Targets,
                text.at,
                format!("`{key}` is not the name of an environment variable; its value is not shown, in case it is a token"),
            )
            .without_source()
            .label("not a variable name")
            .help(format!("`{key}` names the variable that holds the token, like `ROSTER_TOKEN_MIRO`; never the token itself"))
            .emit();
        None
    }

    /// A user's attributes for one target.
    fn target_attributes(&mut self, key: Str, node: &Node<'_>) -> TargetAttributesDoc {
        let mut attrs =
            TargetAttributesDoc { key, role: None, title: None, display_name: None, external_id: None };
        let Value::Map(entries) = &node.value else { return attrs };
        let context = format!("in a user's {} attributes", quote(&attrs.key.value));
        for (key, _, value) in self.fields(entries, keys::TARGET_ATTRIBUTES, &context) {
            match key {
                "role" => attrs.role = self.string(key, value),
                "title" => attrs.title = self.text(key, value),
                "displayName" => attrs.display_name = self.text(key, value),
                "externalId" => attrs.external_id = self.text(key, value),
                _ => unreachable!("fields() yields only known keys"),
            }
        }
        attrs
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// What to do instead of a null or empty value of `key`, saying exactly what leaving the
/// key out does: for most keys nothing changes, but an empty or missing `users` lets
/// `unmanaged_users: deactivate` deactivate everyone, so the advice differs per key.
fn without_a_value(key: &str) -> String {
    match key.trim_matches('`') {
        "the file" => "a desired-state file is a mapping that starts with `version: 1`".into(),
        "users" => "list the users under `users:`. Leaving `users` out or writing `users: []` is not \
            \"unmanaged\": with `policy.unmanaged_users: deactivate` (the default) every active live user \
            that no file lists is then deactivated (within the max_deactivations rail). To leave users \
            alone, set `policy.unmanaged_users: keep`"
            .into(),
        "groups" => {
            "list the groups under `groups:`. Leaving `groups` out or writing `groups: []` manages no \
            team: with `policy.unmanaged_groups: keep` (the default) every team is left alone, with \
            `delete` every team is deleted"
                .into()
        }
        "members" => "list the members, write `members: []` to empty the team, or remove `members` to leave \
            the team's membership unmanaged (nobody added or removed)"
            .into(),
        "policy" => "give a mapping, or remove `policy` to use the defaults (unmanaged_users: deactivate, \
            unmanaged_groups: keep, max_deactivations: 10, max_removals: 10, no protected users)"
            .into(),
        "protected" => "list the userNames to protect; without `protected` no user is protected".into(),
        "previously" => "list the earlier userNames, or remove `previously` if there are none".into(),
        "custom_roles" => "list the roles, or remove `custom_roles` if there are none".into(),
        "active" => {
            "write `true` or `false`, or remove `active`: a user is active unless marked `false`".into()
        }
        "provider" => "give a value, or remove `provider` to use the default, `productboard`".into(),
        "unmanaged_users" => {
            "give a value, or remove `unmanaged_users` to use the default, `deactivate`".into()
        }
        "unmanaged_groups" => "give a value, or remove `unmanaged_groups` to use the default, `keep`".into(),
        "userName" => "give the user's email address: `userName` is required".into(),
        "a user" => "give a mapping with at least `userName`, or remove the entry".into(),
        "a group" => "give a mapping with at least `displayName`, or remove the entry".into(),
        "displayName" => "give a value; on a user, remove `displayName` to leave it unmanaged (roster then \
            never changes it), while a group's `displayName` is required"
            .into(),
        other => {
            format!("give a value, or remove `{other}` to leave it unmanaged (roster then never changes it)")
        }
    }
}

/// `"20%"` → 2000, `"12.5%"` → 1250: 0 to 100 percent, at most two decimals.
pub(crate) fn parse_percentage(text: &str) -> Option<u32> {
    let number = text.strip_suffix('%')?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 3 || !digits(whole) || !digits(fraction) || fraction.len() > 2 {
        return None;
    }
    if number.contains('.') && fraction.is_empty() {
        return None;
    }
    if whole.len() == 3 && whole != "100" {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let fraction: u32 = format!("{fraction:0<2}").parse().ok()?;
    let hundredths = whole * 100 + fraction;
    (hundredths <= 10_000).then_some(hundredths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages() {
        assert_eq!(parse_percentage("20%"), Some(2000));
        assert_eq!(parse_percentage("12.5%"), Some(1250));
        assert_eq!(parse_percentage("0.05%"), Some(5));
        assert_eq!(parse_percentage("0%"), Some(0));
        assert_eq!(parse_percentage("100%"), Some(10_000));
        assert_eq!(parse_percentage("100.00%"), Some(10_000));
        for bad in
            ["20", "%", "101%", "100.5%", "1.234%", "5.%", ".5%", " 5%", "5 %", "-5%", "1e2%", "200%", "abc%"]
        {
            assert_eq!(parse_percentage(bad), None, "{bad}");
        }
    }
}
