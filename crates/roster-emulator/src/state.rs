//! The shared state handle, seeding helpers and the state file.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use roster_model::{LiveState, UserAttributes};
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use crate::error::EmulatorError;
use crate::store::{Kind, STATE_FORMAT, Store};

/// A handle on the emulator's users and groups: read them, or seed them without HTTP.
///
/// Seeding goes through the same rules as the HTTP API (unique userNames, a default
/// role, members that exist) and, like any change, is written to the state file.
#[derive(Clone)]
pub struct EmulatorState {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    store: Mutex<Store>,
    /// Woken after each change, so that the writer saves.
    pub(crate) changed: Notify,
    state_file: Option<PathBuf>,
    /// The generation last written to the state file; held while writing, so that
    /// writes happen one at a time and never go back in time.
    saved_generation: Mutex<Option<u64>>,
}

impl std::fmt::Debug for EmulatorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let store = self.lock();
        f.debug_struct("EmulatorState")
            .field("users", &store.users().len())
            .field("groups", &store.groups().len())
            .field("state_file", &self.shared.state_file)
            .finish()
    }
}

impl EmulatorState {
    /// An empty state whose ids are drawn from `seed`.
    pub(crate) fn new(seed: u64, state_file: Option<PathBuf>) -> Self {
        Self {
            shared: Arc::new(Shared {
                store: Mutex::new(Store::new(seed)),
                changed: Notify::new(),
                state_file,
                saved_generation: Mutex::new(None),
            }),
        }
    }

    /// Loads the state file when it exists; a missing file is an empty state.
    pub(crate) fn load_file(&self, seed: u64) -> Result<(), EmulatorError> {
        let Some(path) = &self.shared.state_file else { return Ok(()) };
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(EmulatorError::ReadState { path: path.clone(), source }),
        };
        let invalid = |detail: String| EmulatorError::InvalidState { path: path.clone(), detail };
        let snapshot: Value = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        let mut store = Store::new(seed);
        store.restore(&snapshot).map_err(invalid)?;
        let generation = store.generation;
        *self.lock() = store;
        *self.shared.saved_generation.lock().unwrap_or_else(|e| e.into_inner()) = Some(generation);
        tracing::info!(path = %path.display(), "loaded emulator state");
        Ok(())
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave a half-written resource: every
        // write builds the new resource first and swaps it in whole.
        self.shared.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a change on the store and wakes the writer if anything changed.
    pub(crate) fn change<T, E>(&self, f: impl FnOnce(&mut Store) -> Result<T, E>) -> Result<T, E> {
        let mut store = self.lock();
        let before = store.generation;
        let result = f(&mut store);
        let changed = store.generation != before;
        drop(store);
        if changed {
            self.shared.changed.notify_one();
        }
        result
    }

    /// Creates a user from roster's attributes, as a POST would, and returns its id.
    /// A user without a role gets Productboard's default role, contributor.
    pub fn add_user(&self, attributes: &UserAttributes) -> Result<String, EmulatorError> {
        self.add_user_resource(user_resource(attributes))
    }

    /// Creates a user from a SCIM User resource, as a POST would, and returns its id.
    pub fn add_user_resource(&self, resource: Value) -> Result<String, EmulatorError> {
        self.create(Kind::User, resource)
    }

    /// Creates a group (a Productboard team) with these members (user ids) and returns
    /// its id.
    pub fn add_group(
        &self,
        display_name: &str,
        external_id: Option<&str>,
        member_ids: &[&str],
    ) -> Result<String, EmulatorError> {
        let mut group = Map::new();
        group.insert("displayName".to_owned(), json!(display_name));
        if let Some(external_id) = external_id {
            group.insert("externalId".to_owned(), json!(external_id));
        }
        if !member_ids.is_empty() {
            let members: Vec<Value> = member_ids.iter().map(|id| json!({ "value": id })).collect();
            group.insert("members".to_owned(), Value::Array(members));
        }
        self.add_group_resource(Value::Object(group))
    }

    /// Creates a group from a SCIM Group resource, as a POST would, and returns its id.
    pub fn add_group_resource(&self, resource: Value) -> Result<String, EmulatorError> {
        self.create(Kind::Group, resource)
    }

    fn create(&self, kind: Kind, resource: Value) -> Result<String, EmulatorError> {
        self.change(|store| store.create(kind, resource))
            .map(|stored| stored["id"].as_str().unwrap_or_default().to_owned())
            .map_err(|e| EmulatorError::InvalidResource { detail: e.detail })
    }

    /// Adds every user and group of a roster live state, keeping their ids, so that a
    /// test can start the emulator where a fetch left off. Users keep `active` as given;
    /// no default role is added where the state has none.
    pub fn load_live_state(&self, live: &LiveState) -> Result<(), EmulatorError> {
        self.change(|store| {
            // All or nothing: work on a copy and keep it only if every resource passed.
            let mut copy = store.clone();
            let store_ref = &mut copy;
            for user in &live.users {
                let mut resource = user_resource(&user.attributes);
                resource["id"] = json!(user.id);
                store_ref
                    .insert_loaded(Kind::User, resource)
                    .map_err(|detail| format!("user {}: {detail}", user.id))?;
            }
            for group in &live.groups {
                let mut resource = json!({ "id": group.id, "displayName": group.display_name });
                if let Some(external_id) = &group.external_id {
                    resource["externalId"] = json!(external_id);
                }
                if !group.members.is_empty() {
                    resource["members"] = group.members.iter().map(|id| json!({ "value": id })).collect();
                }
                store_ref
                    .insert_loaded(Kind::Group, resource)
                    .map_err(|detail| format!("group {}: {detail}", group.id))?;
            }
            *store = copy;
            Ok(())
        })
        .map_err(|detail| EmulatorError::InvalidResource { detail })
    }

    /// Adds what only Productboard's REST member list shows, as the state file's
    /// `members` entries do: `{"email", "name", "role", "status"}` is a member invited by
    /// hand, whom SCIM does not show (an id is drawn when none is given);
    /// `{"userId", "role", "status"}` makes the REST list show a SCIM user's role or
    /// status as changed in the UI; `{"userId", "hidden": true}` leaves a SCIM user out
    /// of the REST list. Returns the record as stored.
    pub fn add_rest_member(&self, record: Value) -> Result<Value, EmulatorError> {
        self.change(|store| store.add_member_record(record))
            .map_err(|detail| EmulatorError::InvalidResource { detail })
    }

    /// Every user, in creation order, as stored (without `meta.location`).
    pub fn users(&self) -> Vec<Value> {
        self.lock().users().to_vec()
    }

    /// Every group, in creation order, as stored (without `meta.location`).
    pub fn groups(&self) -> Vec<Value> {
        self.lock().groups().to_vec()
    }

    /// One user by id.
    pub fn user(&self, id: &str) -> Option<Value> {
        self.lock().get(Kind::User, id).cloned()
    }

    /// One group by id.
    pub fn group(&self, id: &str) -> Option<Value> {
        self.lock().get(Kind::Group, id).cloned()
    }

    /// The whole state, in the state file's format:
    /// `{"format": "roster-emulator-state/1", "users": [...], "groups": [...]}`.
    pub fn snapshot(&self) -> Value {
        self.lock().snapshot()
    }

    /// Writes the state file now if anything changed since the last write (or always,
    /// with `force`). Blocking; without a state file it does nothing.
    pub(crate) fn persist(&self, force: bool) -> Result<(), EmulatorError> {
        let Some(path) = &self.shared.state_file else { return Ok(()) };
        let mut saved = self.shared.saved_generation.lock().unwrap_or_else(|e| e.into_inner());
        let (bytes, generation) = {
            let store = self.lock();
            if !force && *saved == Some(store.generation) {
                return Ok(());
            }
            let snapshot = SnapshotRef {
                format: STATE_FORMAT,
                users: store.users(),
                groups: store.groups(),
                members: store.member_records(),
            };
            let mut bytes = serde_json::to_vec_pretty(&snapshot).expect("JSON values always serialize");
            bytes.push(b'\n');
            (bytes, store.generation)
        };
        write_atomically(path, &bytes)
            .map_err(|source| EmulatorError::WriteState { path: path.clone(), source })?;
        *saved = Some(generation);
        tracing::debug!(path = %path.display(), generation, "saved emulator state");
        Ok(())
    }
}

/// The state file's layout, serialized straight from the store without a copy.
#[derive(Serialize)]
struct SnapshotRef<'a> {
    format: &'a str,
    users: &'a [Value],
    groups: &'a [Value],
    #[serde(skip_serializing_if = "<[Value]>::is_empty")]
    members: &'a [Value],
}

/// A SCIM User resource for roster's attributes.
fn user_resource(attributes: &UserAttributes) -> Value {
    let mut user = Map::new();
    user.insert("userName".to_owned(), json!(attributes.user_name));
    if let Some(external_id) = &attributes.external_id {
        user.insert("externalId".to_owned(), json!(external_id));
    }
    if let Some(display_name) = &attributes.display_name {
        user.insert("displayName".to_owned(), json!(display_name));
    }
    let mut name = Map::new();
    if let Some(given_name) = &attributes.given_name {
        name.insert("givenName".to_owned(), json!(given_name));
    }
    if let Some(family_name) = &attributes.family_name {
        name.insert("familyName".to_owned(), json!(family_name));
    }
    if !name.is_empty() {
        user.insert("name".to_owned(), Value::Object(name));
    }
    if let Some(title) = &attributes.title {
        user.insert("title".to_owned(), json!(title));
    }
    user.insert("active".to_owned(), json!(attributes.active));
    if let Some(role) = &attributes.role {
        user.insert("roles".to_owned(), json!([{ "value": role, "primary": true }]));
    }
    Value::Object(user)
}

/// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a
/// mix: a temporary file in the same directory, flushed to disk, renamed over the target,
/// and the directory flushed so that the rename itself survives a crash.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name =
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "state".to_owned());
    let temp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
        return result;
    }
    #[cfg(unix)]
    if let Ok(dir) = File::open(&dir) {
        // Not every file system can sync a directory; the rename is done either way.
        let _ = dir.sync_all();
    }
    Ok(())
}
