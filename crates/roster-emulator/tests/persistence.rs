//! The state file: loaded at start, written atomically on change and at shutdown.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Scim, start};
use roster_emulator::{Emulator, EmulatorConfig, EmulatorError};
use roster_model::{Completeness, LiveGroup, LiveState, LiveUser, UserAttributes};
use serde_json::{Value, json};

fn config(path: &Path) -> EmulatorConfig {
    EmulatorConfig { state_file: Some(path.to_path_buf()), ..EmulatorConfig::default() }
}

fn read_state(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Files in the directory besides the state file: leftovers of a write.
fn leftovers(dir: &Path, state: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p != state)
        .map(|p| p.display().to_string())
        .collect()
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let emulator = start(config(&path)).await;
    let scim = Scim::new(&emulator);
    let ada = scim.create_user("Ada@example.com").await;
    scim.patch(&format!("/Users/{ada}"), json!([{"op": "replace", "path": "active", "value": false}])).await;
    let group = scim.post("/Groups", json!({"displayName": "Team", "members": [{"value": ada}]})).await.body
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = emulator.snapshot();
    emulator.shutdown().await.unwrap();

    assert_eq!(read_state(&path), before, "the file holds exactly the state");
    assert_eq!(leftovers(dir.path(), &path), Vec::<String>::new(), "no temporary file is left");

    let emulator = start(config(&path)).await;
    let scim = Scim::new(&emulator);
    assert_eq!(emulator.snapshot(), before);
    let user = scim.get(&format!("/Users/{ada}")).await.body;
    assert_eq!((user["active"].as_bool(), user["userName"].as_str()), (Some(false), Some("Ada@example.com")));
    assert_eq!(scim.get(&format!("/Groups/{group}")).await.body["members"][0]["value"], ada.as_str());
    assert_eq!(
        scim.post("/Users", json!({"userName": "ada@EXAMPLE.com"})).await.status,
        409,
        "uniqueness survives too"
    );
    let bob = scim.create_user("bob@example.com").await;
    assert_ne!(bob, ada, "new ids never collide with loaded ones, even from the same seed");
    emulator.shutdown().await.unwrap();
    assert_eq!(read_state(&path)["users"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn changes_are_saved_without_waiting_for_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let emulator = start(config(&path)).await;
    let scim = Scim::new(&emulator);
    let id = scim.create_user("ada@example.com").await;
    // The writer runs in the background; wait for it, within a generous bound.
    let mut saved = false;
    for _ in 0..500 {
        if path.exists()
            && read_state(&path)["users"].as_array().is_some_and(|u| u.iter().any(|u| u["id"] == id.as_str()))
        {
            saved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(saved, "the change reached the file while the emulator ran");
    // A dropped (not shut down) emulator has already saved everything it had.
    drop(emulator);
    assert_eq!(read_state(&path)["users"][0]["id"], id.as_str());
}

#[tokio::test]
async fn readers_never_see_a_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let emulator = start(EmulatorConfig { save_debounce: Duration::ZERO, ..config(&path) }).await;
    let scim = Scim::new(&emulator);
    scim.create_user("first@example.com").await;
    let reader_path = path.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader_stop = stop.clone();
    // A thread that reads the file as fast as it can while the emulator keeps rewriting it.
    let reader = std::thread::spawn(move || {
        let mut reads = 0;
        while !reader_stop.load(std::sync::atomic::Ordering::SeqCst) {
            if let Ok(text) = std::fs::read_to_string(&reader_path) {
                let parsed: Result<Value, _> = serde_json::from_str(&text);
                assert!(parsed.is_ok(), "a reader saw a partial file of {} bytes", text.len());
                reads += 1;
            }
        }
        reads
    });
    for i in 0..150 {
        scim.post("/Users", json!({"userName": format!("user{i}@example.com"), "title": "x".repeat(500)}))
            .await;
    }
    emulator.shutdown().await.unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let reads = reader.join().expect("every read parsed");
    assert!(reads > 0);
    assert_eq!(read_state(&path)["users"].as_array().unwrap().len(), 151);
    assert_eq!(leftovers(dir.path(), &path), Vec::<String>::new());
}

#[tokio::test]
async fn a_broken_state_file_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    std::fs::write(&path, "{\"format\": \"roster-emulator-state/1\", \"users\": [{\"id\": \"1\"}]}").unwrap();
    let error = Emulator::start("127.0.0.1:0".parse().unwrap(), config(&path)).await.unwrap_err();
    assert!(matches!(error, EmulatorError::InvalidState { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("state.json") && message.contains("users[0]") && message.contains("userName"),
        "{message}"
    );
    std::fs::write(&path, "not json").unwrap();
    let error = Emulator::start("127.0.0.1:0".parse().unwrap(), config(&path)).await.unwrap_err();
    assert!(error.to_string().contains("state.json"), "{error}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "not json");
}

#[tokio::test]
async fn seeding_helpers_follow_the_rules() {
    let emulator = start(EmulatorConfig::default()).await;
    let state = emulator.state();
    let ada = state
        .add_user(&UserAttributes {
            user_name: "ada@example.com".to_owned(),
            given_name: Some("Ada".to_owned()),
            role: Some("maker".to_owned()),
            ..UserAttributes::default()
        })
        .unwrap();
    let plain = state
        .add_user(&UserAttributes { user_name: "plain@example.com".to_owned(), ..UserAttributes::default() })
        .unwrap();
    assert_eq!(state.user(&plain).unwrap()["roles"][0]["value"], "contributor");
    assert_eq!(state.user(&ada).unwrap()["name"]["givenName"], "Ada");
    let error = state
        .add_user(&UserAttributes { user_name: "ADA@example.com".to_owned(), ..UserAttributes::default() })
        .unwrap_err();
    assert!(error.to_string().contains("already taken"), "{error}");
    let team = state.add_group("Team", Some("t-1"), &[&ada, &plain]).unwrap();
    assert_eq!(state.group(&team).unwrap()["members"].as_array().unwrap().len(), 2);
    assert!(state.add_group("Other", None, &["ghost"]).is_err());
    assert_eq!(emulator.snapshot()["format"], "roster-emulator-state/1");

    let live = LiveState {
        users: vec![LiveUser {
            created: None,
            id: "u-1".to_owned(),
            attributes: UserAttributes {
                user_name: "grace@example.com".to_owned(),
                active: false,
                ..UserAttributes::default()
            },
        }],
        groups: vec![LiveGroup {
            id: "g-1".to_owned(),
            display_name: "Navy".to_owned(),
            external_id: None,
            members: vec!["u-1".to_owned()],
            created: None,
        }],
        completeness: Completeness::Complete,
    };
    state.load_live_state(&live).unwrap();
    let scim = Scim::new(&emulator);
    let grace = scim.get("/Users/u-1").await.body;
    assert_eq!((grace["active"].as_bool(), grace.get("roles")), (Some(false), None));
    assert_eq!(scim.get("/Groups/g-1").await.body["members"][0]["value"], "u-1");
    // All or nothing: a clash leaves the state as it was.
    let users_before = state.users().len();
    let clash = LiveState {
        users: vec![
            LiveUser {
                created: None,
                id: "u-2".to_owned(),
                attributes: UserAttributes {
                    user_name: "new@example.com".to_owned(),
                    ..UserAttributes::default()
                },
            },
            LiveUser {
                created: None,
                id: "u-1".to_owned(),
                attributes: UserAttributes {
                    user_name: "again@example.com".to_owned(),
                    ..UserAttributes::default()
                },
            },
        ],
        ..LiveState::default()
    };
    let error = state.load_live_state(&clash).unwrap_err();
    assert!(error.to_string().contains("u-1"), "{error}");
    assert_eq!(state.users().len(), users_before);
}
