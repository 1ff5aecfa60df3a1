//! Productboard's REST member list as the emulator serves it: `X-Version`, its own token,
//! cursor paging, members only the REST list shows, the state file and the cursor knobs.

mod common;

use roster_emulator::{EmulatorConfig, Misbehaviour};
use roster_model::UserAttributes;
use serde_json::{Value, json};

use common::start;

async fn get(url: &str, token: Option<&str>, version: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(version) = version {
        request = request.header("X-Version", version);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn user(name: &str, role: &str, active: bool) -> UserAttributes {
    UserAttributes { user_name: name.into(), role: Some(role.into()), active, ..Default::default() }
}

/// Follows every cursor; returns the emails and the number of pages.
async fn all_emails(api: &str, token: Option<&str>, limit: u32) -> (Vec<String>, usize) {
    let mut url = format!("{api}/members?pageLimit={limit}");
    let mut emails = Vec::new();
    for pages in 1..100 {
        let (status, body) = get(&url, token, Some("1")).await;
        assert_eq!(status, 200, "{body}");
        emails
            .extend(body["data"].as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap().to_owned()));
        match body["pageCursor"].as_str() {
            Some(cursor) => {
                assert_eq!(
                    body["links"]["next"],
                    format!("{api}/members?pageCursor={cursor}&pageLimit={limit}")
                );
                url = body["links"]["next"].as_str().unwrap().to_owned();
            }
            None => return (emails, pages),
        }
    }
    panic!("the cursor never ended")
}

#[tokio::test]
async fn lists_scim_users_and_members_invited_by_hand_with_cursor_paging() {
    let emulator = start(EmulatorConfig::default()).await;
    let state = emulator.state();
    for i in 0..5 {
        state.add_user(&user(&format!("u{i}@x.io"), "maker", i != 4)).unwrap();
    }
    let hand =
        state.add_rest_member(json!({"email": "hand@x.io", "name": "By Hand", "role": "admin"})).unwrap();
    let first = state.users()[0]["id"].as_str().unwrap().to_owned();
    state.add_rest_member(json!({"userId": first, "role": "admin"})).unwrap();
    let third = state.users()[2]["id"].as_str().unwrap().to_owned();
    state.add_rest_member(json!({"userId": third, "hidden": true})).unwrap();

    let api = emulator.api_url();
    let (emails, pages) = all_emails(&api, None, 2).await;
    assert_eq!(emails, ["u0@x.io", "u1@x.io", "u3@x.io", "u4@x.io", "hand@x.io"]);
    assert_eq!(pages, 3);

    let (_, body) = get(&format!("{api}/members"), None, Some("1")).await;
    let data = body["data"].as_array().unwrap();
    assert_eq!(body["pageCursor"], Value::Null);
    assert_eq!(
        (&data[0]["role"], &data[0]["status"]),
        (&json!("admin"), &json!("active")),
        "changed in the UI"
    );
    assert_eq!((&data[1]["role"], &data[3]["status"]), (&json!("maker"), &json!("inactive")));
    assert_eq!(data[4]["id"], hand["id"]);
    assert_eq!(data[4]["status"], "active");
    assert!(data[1]["createdAt"].is_string(), "{}", data[1]);

    // SCIM does not show the member invited by hand.
    let scim: Value =
        reqwest::get(format!("{}/Users", emulator.base_url())).await.unwrap().json().await.unwrap();
    assert_eq!(scim["totalResults"], 5);
}

#[tokio::test]
async fn x_version_and_the_api_token_are_required() {
    let config = EmulatorConfig {
        token: Some("scim-token".into()),
        api_token: Some("api-token".into()),
        ..EmulatorConfig::default()
    };
    let emulator = start(config).await;
    let url = format!("{}/members", emulator.api_url());
    let (status, body) = get(&url, Some("api-token"), None).await;
    assert_eq!(status, 400);
    assert!(body["detail"].as_str().unwrap().contains("X-Version header is required"), "{body}");
    assert_eq!(get(&url, Some("api-token"), Some("2")).await.0, 400);
    assert_eq!(get(&url, Some("api-token"), Some("1")).await.0, 200);
    assert_eq!(get(&url, Some("scim-token"), Some("1")).await.0, 401, "the SCIM token has no REST rights");
    assert_eq!(get(&url, None, Some("1")).await.0, 401);
    let (status, _) = get(&format!("{url}?pageCursor=bogus"), Some("api-token"), Some("1")).await;
    assert_eq!(status, 400);
    // And the API token does not open SCIM.
    let scim = reqwest::Client::new().get(format!("{}/Users", emulator.base_url())).bearer_auth("api-token");
    assert_eq!(scim.send().await.unwrap().status().as_u16(), 401);
    emulator.shutdown().await.unwrap();

    let config = EmulatorConfig {
        token: Some("scim-token".into()),
        api_token: Some("api-token".into()),
        scim_token_on_rest: true,
        ..EmulatorConfig::default()
    };
    let emulator = start(config).await;
    let url = format!("{}/members", emulator.api_url());
    assert_eq!(get(&url, Some("scim-token"), Some("1")).await.0, 200, "a SCIM token with REST rights");
}

#[tokio::test]
async fn cursor_knobs_repeat_or_never_end() {
    let repeat = Misbehaviour { repeat_member_cursor: true, ..Misbehaviour::default() };
    let emulator = start(EmulatorConfig { misbehaviour: repeat, ..EmulatorConfig::default() }).await;
    for i in 0..3 {
        emulator.state().add_user(&user(&format!("u{i}@x.io"), "maker", true)).unwrap();
    }
    let api = emulator.api_url();
    let (_, first) = get(&format!("{api}/members?pageLimit=1"), None, Some("1")).await;
    let cursor = first["pageCursor"].as_str().unwrap().to_owned();
    let (_, second) = get(&format!("{api}/members?pageLimit=1&pageCursor={cursor}"), None, Some("1")).await;
    assert_eq!(second["pageCursor"], cursor.as_str());

    let endless = Misbehaviour { endless_member_cursor: true, ..Misbehaviour::default() };
    let emulator = start(EmulatorConfig { misbehaviour: endless, ..EmulatorConfig::default() }).await;
    emulator.state().add_user(&user("only@x.io", "maker", true)).unwrap();
    let api = emulator.api_url();
    let (_, page) = get(&format!("{api}/members?pageCursor=pc-500"), None, Some("1")).await;
    assert_eq!(page["data"], json!([]));
    assert_eq!(page["pageCursor"], "pc-600");
}

#[tokio::test]
async fn members_survive_the_state_file_and_bad_records_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let config = EmulatorConfig { state_file: Some(file.clone()), ..EmulatorConfig::default() };
    let emulator = start(config.clone()).await;
    emulator.state().add_rest_member(json!({"email": "hand@x.io", "role": "viewer"})).unwrap();
    for bad in [
        json!({"userId": "nobody"}),
        json!({"name": "no identity"}),
        json!({"email": "a@x.io", "userId": "x"}),
        json!({"email": "a@x.io", "team": "x"}),
        json!({"email": 5}),
        json!({"email": "a@x.io", "hidden": "yes"}),
    ] {
        assert!(emulator.state().add_rest_member(bad.clone()).is_err(), "{bad}");
    }
    emulator.shutdown().await.unwrap();
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["members"][0]["email"], "hand@x.io");

    let emulator = start(config).await;
    let (_, body) = get(&format!("{}/members", emulator.api_url()), None, Some("1")).await;
    assert_eq!(body["data"][0]["email"], "hand@x.io");
    assert_eq!(body["data"][0]["role"], "viewer");
    emulator.shutdown().await.unwrap();

    // A member written into the state file by hand, without an id, gets one.
    let written = json!({"format": "roster-emulator-state/1", "members": [{"email": "typed@x.io"}]});
    std::fs::write(&file, written.to_string()).unwrap();
    let emulator =
        start(EmulatorConfig { state_file: Some(file.clone()), ..EmulatorConfig::default() }).await;
    let (_, body) = get(&format!("{}/members", emulator.api_url()), None, Some("1")).await;
    assert_eq!(body["data"][0]["email"], "typed@x.io");
    assert!(body["data"][0]["id"].as_str().is_some_and(|id| !id.is_empty()), "{body}");
}
