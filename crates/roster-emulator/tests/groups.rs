//! Groups (Productboard's teams) and their member PATCH forms, over HTTP.

mod common;

use common::{Scim, assert_scim_error, encode, ids, start};
use roster_emulator::{EmulatorConfig, RunningEmulator};
use serde_json::{Value, json};

async fn open_with_users(n: usize) -> (RunningEmulator, Scim, Vec<String>) {
    let emulator = start(EmulatorConfig::default()).await;
    let scim = Scim::new(&emulator);
    let mut users = Vec::new();
    for i in 0..n {
        users.push(scim.create_user(&format!("u{i}@example.com")).await);
    }
    (emulator, scim, users)
}

fn member_ids(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .map(|m| m.iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn create_list_get_and_delete() {
    let (_emulator, scim, users) = open_with_users(2).await;
    let reply = scim.post("/Groups", json!({"displayName": "Product", "externalId": "grp-1", "members": [{"value": users[0]}, {"value": users[1]}]})).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let id = reply.body["id"].as_str().unwrap().to_owned();
    assert_eq!(member_ids(&reply.body), users);
    assert_eq!(reply.body["meta"]["resourceType"], "Group");
    assert!(reply.header("location").unwrap().ends_with(&format!("/Groups/{id}")));

    let slim = scim.get("/Groups?excludedAttributes=members").await.body;
    assert_eq!(slim["totalResults"], 1);
    assert!(
        slim["Resources"][0].get("members").is_none() && slim["Resources"][0]["displayName"] == "Product"
    );
    let by_name = scim.get(&format!("/Groups?filter={}", encode(r#"displayName eq "product""#))).await.body;
    assert_eq!(ids(&by_name), vec![id.clone()]);
    let by_external = scim.get(&format!("/Groups?filter={}", encode(r#"externalId eq "grp-1""#))).await.body;
    assert_eq!(ids(&by_external), vec![id.clone()]);

    let duplicate = scim.post("/Groups", json!({"displayName": "PRODUCT"})).await;
    assert_scim_error(&duplicate, 409, Some("uniqueness"));
    let unknown_member =
        scim.post("/Groups", json!({"displayName": "Other", "members": [{"value": "nobody"}]})).await;
    assert_scim_error(&unknown_member, 400, Some("invalidValue"));

    assert_eq!(scim.delete(&format!("/Groups/{id}")).await.status, 204);
    assert_scim_error(&scim.get(&format!("/Groups/{id}")).await, 404, None);
    assert_scim_error(&scim.delete(&format!("/Groups/{id}")).await, 404, None);
}

#[tokio::test]
async fn standard_member_patches() {
    let (_emulator, scim, users) = open_with_users(4).await;
    let id = scim.post("/Groups", json!({"displayName": "G"})).await.body["id"].as_str().unwrap().to_owned();
    let path = format!("/Groups/{id}");

    let reply = scim.patch(&path, json!([{"op": "add", "path": "members", "value": [{"value": users[0]}, {"value": users[1]}, {"value": users[2]}]}])).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(member_ids(&reply.body), users[..3]);
    // Adding a member twice keeps one.
    let reply =
        scim.patch(&path, json!([{"op": "add", "path": "members", "value": [{"value": users[1]}]}])).await;
    assert_eq!(member_ids(&reply.body), users[..3]);
    let reply = scim
        .patch(&path, json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[1])}]))
        .await;
    assert_eq!(member_ids(&reply.body), vec![users[0].clone(), users[2].clone()]);
    let reply = scim
        .patch(&path, json!([{"op": "replace", "path": "members", "value": [{"value": users[3]}]}]))
        .await;
    assert_eq!(member_ids(&reply.body), vec![users[3].clone()]);
    let reply =
        scim.patch(&path, json!([{"op": "add", "path": "members", "value": [{"value": "ghost"}]}])).await;
    assert_scim_error(&reply, 400, Some("invalidValue"));
    assert_eq!(
        member_ids(&scim.get(&path).await.body),
        vec![users[3].clone()],
        "a refused PATCH changes nothing"
    );
}

#[tokio::test]
async fn okta_member_and_rename_forms() {
    let (_emulator, scim, users) = open_with_users(2).await;
    let id = scim
        .post(
            "/Groups",
            json!({"displayName": "Old", "members": [{"value": users[0], "display": "u0@example.com"}]}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/Groups/{id}");
    // Okta renames with a path-less replace whose value repeats the id.
    let reply =
        scim.patch(&path, json!([{"op": "replace", "value": {"id": id, "displayName": "New"}}])).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["displayName"], "New");
    assert_eq!(reply.body["members"][0]["display"], "u0@example.com", "members as sent are kept");
    // Okta adds with display names and removes by a value filter.
    let reply = scim.patch(&path, json!([{"op": "add", "path": "members", "value": [{"value": users[1], "display": "u1@example.com"}]}])).await;
    assert_eq!(member_ids(&reply.body), users);
    let reply = scim
        .patch(&path, json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[0])}]))
        .await;
    assert_eq!(member_ids(&reply.body), vec![users[1].clone()]);
}

#[tokio::test]
async fn entra_member_forms() {
    let (_emulator, scim, users) = open_with_users(3).await;
    let id = scim.post("/Groups", json!({"displayName": "G"})).await.body["id"].as_str().unwrap().to_owned();
    let path = format!("/Groups/{id}");
    let reply = scim.patch(&path, json!([{"op": "Add", "path": "members", "value": [{"value": users[0]}, {"value": users[1]}, {"value": users[2]}]}])).await;
    assert_eq!(member_ids(&reply.body), users);
    let reply = scim
        .patch(
            &path,
            json!([{"op": "Remove", "path": "members", "value": [{"value": users[0]}, {"value": users[2]}]}]),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(member_ids(&reply.body), vec![users[1].clone()]);
    let reply =
        scim.patch(&path, json!([{"op": "Replace", "path": "displayName", "value": "Renamed"}])).await;
    assert_eq!(reply.body["displayName"], "Renamed");
    let reply =
        scim.patch(&path, json!([{"op": "Remove", "path": "members", "value": [{"value": users[1]}]}])).await;
    assert!(reply.body.get("members").is_none(), "no members left is no members attribute: {}", reply.body);
}

#[tokio::test]
async fn put_replaces_members() {
    let (_emulator, scim, users) = open_with_users(2).await;
    let id =
        scim.post("/Groups", json!({"displayName": "G", "members": [{"value": users[0]}]})).await.body["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let reply = scim
        .put(&format!("/Groups/{id}"), json!({"displayName": "G2", "members": [{"value": users[1]}]}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(member_ids(&reply.body), vec![users[1].clone()]);
    assert_eq!(reply.body["meta"]["version"], "W/\"2\"");
}

#[tokio::test]
async fn duplicate_team_names_are_accepted_only_with_the_knob_and_carry_their_creation_times() {
    let config = EmulatorConfig {
        misbehaviour: roster_emulator::Misbehaviour {
            allow_duplicate_group_names: true,
            ..roster_emulator::Misbehaviour::default()
        },
        ..EmulatorConfig::default()
    };
    let emulator = start(config).await;
    let scim = Scim::new(&emulator);
    let first = scim.post("/Groups", json!({"displayName": "Eng"})).await;
    let second = scim.post("/Groups", json!({"displayName": "ENG"})).await;
    assert_eq!((first.status, second.status), (201, 201), "{}", second.body);
    let both = scim.get(&format!("/Groups?filter={}", encode(r#"displayName eq "eng""#))).await.body;
    assert_eq!(ids(&both).len(), 2);
    let created = |reply: &Value| reply["meta"]["created"].as_str().unwrap().to_owned();
    let (a, b) = (created(&first.body), created(&second.body));
    assert!(a.len() > "2026-01-01T00:00:00Z".len(), "sub-second precision: {a}");
    assert!(a < b, "created in order: {a} then {b}");
    assert_eq!(first.body["meta"]["lastModified"], first.body["meta"]["created"]);

    let (_strict, scim, _) = open_with_users(0).await;
    assert_eq!(scim.post("/Groups", json!({"displayName": "Eng"})).await.status, 201);
    assert_scim_error(&scim.post("/Groups", json!({"displayName": "ENG"})).await, 409, Some("uniqueness"));
}
