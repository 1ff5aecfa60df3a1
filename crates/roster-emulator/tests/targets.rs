//! Several targets on one address: each under its own name, with its own token, store,
//! request log and state file.

mod common;

use common::{Reply, Scim};
use roster_emulator::{Emulator, EmulatorConfig, EmulatorError, RunningEmulator};
use serde_json::json;

fn config(token: &str) -> EmulatorConfig {
    EmulatorConfig { token: Some(token.to_owned()), ..EmulatorConfig::default() }
}

async fn start_two(one: EmulatorConfig, two: EmulatorConfig) -> RunningEmulator {
    Emulator::start_targets("127.0.0.1:0".parse().unwrap(), vec![("board".into(), one), ("miro".into(), two)])
        .await
        .expect("emulator starts")
}

fn scim_of(emulator: &RunningEmulator, name: &str, token: &str) -> Scim {
    let target = emulator.target(name).expect("target served");
    Scim { client: reqwest::Client::new(), base: target.base_url(), token: Some(token.to_owned()) }
}

fn user_names(reply: &Reply) -> Vec<String> {
    reply.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_target_has_its_own_path_token_and_store() {
    let emulator = start_two(config("board-token"), config("miro-token")).await;
    let addr = emulator.local_addr();
    assert_eq!(emulator.target("board").unwrap().base_url(), format!("http://{addr}/board/scim/v2"));
    assert_eq!(emulator.target("miro").unwrap().api_url(), format!("http://{addr}/miro"));
    assert_eq!(emulator.targets().iter().map(|t| t.name().unwrap()).collect::<Vec<_>>(), ["board", "miro"]);
    // The one-service accessors answer for the first target.
    assert_eq!(emulator.base_url(), emulator.target("board").unwrap().base_url());

    let board = scim_of(&emulator, "board", "board-token");
    let miro = scim_of(&emulator, "miro", "miro-token");
    let id = board.create_user("ada@example.com").await;
    miro.create_user("grace@example.com").await;

    assert_eq!(user_names(&board.get("/Users").await), ["ada@example.com"]);
    assert_eq!(user_names(&miro.get("/Users").await), ["grace@example.com"]);
    // Resources point at their own target.
    let ada = board.get(&format!("/Users/{id}")).await;
    assert_eq!(ada.body["meta"]["location"], json!(format!("http://{addr}/board/scim/v2/Users/{id}")));
    // The same userName may exist in two services: they are separate stores.
    miro.create_user("ada@example.com").await;

    // One target's token does not open another.
    let wrong = scim_of(&emulator, "miro", "board-token");
    assert_eq!(wrong.get("/Users").await.status, 401);

    // Each target logs its own requests, as the target sees them.
    let log = emulator.target("miro").unwrap().request_log();
    assert!(log.iter().all(|r| r.path.starts_with("/scim/v2")), "{log:?}");
    assert_eq!(log.iter().filter(|r| r.status == Some(401)).count(), 1);
    assert!(emulator.target("board").unwrap().request_log().iter().all(|r| r.status != Some(401)));

    // The REST member list is per target too.
    let members: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/members", emulator.target("board").unwrap().api_url()))
        .header("X-Version", "1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let emails: Vec<_> = members["data"].as_array().unwrap().iter().map(|m| m["email"].clone()).collect();
    assert_eq!(emails, [json!("ada@example.com")]);
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_path_outside_every_target_is_a_scim_404() {
    let emulator = start_two(EmulatorConfig::default(), EmulatorConfig::default()).await;
    let base = format!("http://{}", emulator.local_addr());
    for path in ["/scim/v2/Users", "/zoom/scim/v2/Users", "/"] {
        let response = reqwest::Client::new().get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 404, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/scim+json"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], json!("404"), "{path}: {body}");
        assert!(body["detail"].as_str().unwrap().contains("no target of that name"), "{body}");
    }
}

#[tokio::test]
async fn names_must_be_path_segments_given_once() {
    let listen = "127.0.0.1:0".parse().unwrap();
    for names in [vec![], vec!["Board"], vec!["a/b"], vec![""], vec!["1app"], vec!["miro", "miro"]] {
        let targets = names.iter().map(|n| (n.to_string(), EmulatorConfig::default())).collect();
        match Emulator::start_targets(listen, targets).await {
            Err(EmulatorError::InvalidTargets { detail }) => assert!(!detail.is_empty()),
            other => panic!("{names:?} was served: {other:?}"),
        }
    }
}

#[tokio::test]
async fn each_target_keeps_its_own_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let with_file = |name: &str| EmulatorConfig {
        state_file: Some(dir.path().join(format!("{name}.json"))),
        ..EmulatorConfig::default()
    };
    let emulator = start_two(with_file("board"), with_file("miro")).await;
    scim_of(&emulator, "board", "").create_user("ada@example.com").await;
    emulator.shutdown().await.unwrap();

    let emulator = start_two(with_file("board"), with_file("miro")).await;
    assert_eq!(user_names(&scim_of(&emulator, "board", "").get("/Users").await), ["ada@example.com"]);
    assert_eq!(user_names(&scim_of(&emulator, "miro", "").get("/Users").await), Vec::<String>::new());
    emulator.shutdown().await.unwrap();
}
