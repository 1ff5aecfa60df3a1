//! Users, discovery and authentication, over HTTP.

mod common;

use common::{Scim, assert_scim_error, encode, ids, start};
use reqwest::Method;
use roster_emulator::{EmulatorConfig, RunningEmulator};
use roster_model::UserAttributes;
use serde_json::{Value, json};

async fn open() -> (RunningEmulator, Scim) {
    let emulator = start(EmulatorConfig::default()).await;
    let scim = Scim::new(&emulator);
    (emulator, scim)
}

#[tokio::test]
async fn user_delete_is_refused_with_405_and_the_user_stays() {
    let (emulator, scim) = open().await;
    let id = scim.create_user("ada@example.com").await;
    let reply = scim.delete(&format!("/Users/{id}")).await;
    assert_scim_error(&reply, 405, None);
    assert!(reply.body["detail"].as_str().unwrap().contains("deactivated"), "{}", reply.body);
    assert_eq!(reply.header("allow"), Some("GET, PUT, PATCH"));
    assert_eq!(scim.get(&format!("/Users/{id}")).await.status, 200);
    // Unknown ids are refused the same way: the method, not the user, is the problem.
    assert_eq!(scim.delete("/Users/nobody").await.status, 405);

    let log = emulator.request_log();
    let deletes: Vec<_> =
        log.iter().filter(|r| r.method == "DELETE" && r.path.starts_with("/scim/v2/Users")).collect();
    assert_eq!(deletes.len(), 2);
    assert!(deletes.iter().all(|r| r.status == Some(405) && !r.succeeded()));
}

#[tokio::test]
async fn user_name_is_unique_by_the_identity_key() {
    let (_emulator, scim) = open().await;
    // Full case folding, NFC and the IDNA form of the domain: each pair is one key.
    for (first, second) in [
        ("straße@example.com", "STRASSE@example.com"),
        ("jos\u{e9}@example.com", "jose\u{301}@example.com"),
        ("ada@bücher.de", "ada@xn--bcher-kva.de"),
    ] {
        scim.create_user(first).await;
        let reply = scim.post("/Users", json!({"userName": second})).await;
        assert_scim_error(&reply, 409, Some("uniqueness"));
    }
    // Names that only look alike are other keys: the service holds both, and roster's
    // planner must raise them as an identity conflict.
    let reply = scim.post("/Users", json!({"userName": "\u{430}da@bücher.de"})).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test]
async fn user_name_is_unique_case_insensitively() {
    let (_emulator, scim) = open().await;
    let ada = scim.create_user("Ada@Example.com").await;
    let reply = scim.post("/Users", json!({"userName": "ada@EXAMPLE.com"})).await;
    assert_scim_error(&reply, 409, Some("uniqueness"));

    let bob = scim.create_user("bob@example.com").await;
    let reply = scim.put(&format!("/Users/{bob}"), json!({"userName": "ADA@example.com"})).await;
    assert_scim_error(&reply, 409, Some("uniqueness"));
    let reply = scim
        .patch(
            &format!("/Users/{bob}"),
            json!([{"op": "replace", "path": "userName", "value": "ada@example.COM"}]),
        )
        .await;
    assert_scim_error(&reply, 409, Some("uniqueness"));

    // A user may change the case of its own userName.
    let reply = scim
        .patch(
            &format!("/Users/{ada}"),
            json!([{"op": "replace", "path": "userName", "value": "ada@example.com"}]),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["userName"], "ada@example.com");
}

#[tokio::test]
async fn create_answers_201_with_location_etag_and_productboard_defaults() {
    let (emulator, scim) = open().await;
    let reply = scim
        .post("/Users", json!({"userName": "o'brien+pm@eu.example.com", "x-custom": {"kept": [1, "two"]}}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let user = &reply.body;
    let id = user["id"].as_str().unwrap();
    let location = format!("{}/Users/{id}", emulator.base_url());
    assert_eq!(reply.header("location"), Some(location.as_str()));
    assert_eq!(user["meta"]["location"], location);
    assert_eq!(user["meta"]["resourceType"], "User");
    assert_eq!(reply.header("etag"), user["meta"]["version"].as_str());
    assert_eq!(user["meta"]["version"], "W/\"1\"");
    assert_eq!(user["roles"], json!([{"value": "contributor", "primary": true}]));
    assert_eq!(user["active"], true);
    assert_eq!(user["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:User"]));
    assert_eq!(user["x-custom"], json!({"kept": [1, "two"]}), "unknown attributes round-trip");
    assert_eq!(reply.header("content-type"), Some("application/scim+json"));

    let maker =
        scim.post("/Users", json!({"userName": "m@x", "roles": [{"value": "maker", "primary": true}]})).await;
    assert_eq!(maker.body["roles"], json!([{"value": "maker", "primary": true}]));
    let custom =
        scim.post("/Users", json!({"userName": "c@x", "roles": [{"value": "Release manager"}]})).await;
    assert_eq!(custom.status, 201, "custom roles are accepted: {}", custom.body);

    let two_roles = scim
        .post("/Users", json!({"userName": "t@x", "roles": [{"value": "admin"}, {"value": "viewer"}]}))
        .await;
    assert_scim_error(&two_roles, 400, Some("invalidValue"));
    let empty_role = scim.post("/Users", json!({"userName": "e@x", "roles": [{"value": " "}]})).await;
    assert_scim_error(&empty_role, 400, Some("invalidValue"));
    let no_name = scim.post("/Users", json!({"displayName": "Nobody"})).await;
    assert_scim_error(&no_name, 400, Some("invalidValue"));
    let not_json = scim.send(Method::POST, "/Users", Some(json!("x"))).await;
    assert_scim_error(&not_json, 400, Some("invalidSyntax"));
}

#[tokio::test]
async fn count_is_capped_at_100_and_pages_cover_every_user_once() {
    let (emulator, scim) = open().await;
    let state = emulator.state();
    for i in 0..250 {
        state
            .add_user(&UserAttributes {
                user_name: format!("user{i:03}@example.com"),
                ..UserAttributes::default()
            })
            .unwrap();
    }
    let first = scim.get("/Users?count=500").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["totalResults"], 250);
    assert_eq!(first.body["itemsPerPage"], 100);
    assert_eq!(first.body["startIndex"], 1);
    assert_eq!(first.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]));
    assert_eq!(scim.get("/Users").await.body["itemsPerPage"], 100, "the default page is 100 too");

    let mut seen = Vec::new();
    let mut start_index = 1;
    let mut sizes = Vec::new();
    loop {
        let page = scim.get(&format!("/Users?startIndex={start_index}&count=100")).await.body;
        let page_ids = ids(&page);
        if page_ids.is_empty() {
            break;
        }
        sizes.push(page_ids.len());
        start_index += page_ids.len();
        seen.extend(page_ids);
    }
    assert_eq!(sizes, vec![100, 100, 50]);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 250);
    let expected: Vec<String> = state.users().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(seen, expected, "without sortBy, pages follow creation order");

    let past = scim.get("/Users?startIndex=251").await.body;
    assert_eq!((past["totalResults"].as_u64(), ids(&past).len()), (Some(250), 0));
    let zero = scim.get("/Users?count=0").await.body;
    assert_eq!((zero["totalResults"].as_u64(), zero["itemsPerPage"].as_u64()), (Some(250), Some(0)));
    assert_scim_error(&scim.get("/Users?count=many").await, 400, Some("invalidValue"));
}

#[tokio::test]
async fn filters_on_user_name_external_id_and_id() {
    let (_emulator, scim) = open().await;
    let ada = scim
        .post("/Users", json!({"userName": "Ada@Example.com", "externalId": "00uADA", "title": "Analyst"}))
        .await
        .body;
    let quote = scim
        .post("/Users", json!({"userName": "o'brien \"pm\"@example.com", "externalId": "00uOB"}))
        .await
        .body;
    let _other = scim
        .post("/Users", json!({"userName": "zed@example.com", "externalId": "00uZED", "title": "Analyst"}))
        .await
        .body;
    let find = |filter: &str| {
        let scim = scim.clone();
        let path = format!("/Users?filter={}", encode(filter));
        async move { scim.get(&path).await }
    };

    assert_eq!(ids(&find(r#"userName eq "ada@example.COM""#).await.body), vec![ada["id"].as_str().unwrap()]);
    assert_eq!(
        ids(&find(r#"userName eq "o'brien \"pm\"@example.com""#).await.body),
        vec![quote["id"].as_str().unwrap()]
    );
    assert_eq!(ids(&find(r#"externalId eq "00uADA""#).await.body).len(), 1);
    assert_eq!(ids(&find(r#"externalId eq "00uada""#).await.body).len(), 0, "externalId is case-exact");
    assert_eq!(ids(&find(&format!(r#"id eq "{}""#, ada["id"].as_str().unwrap())).await.body).len(), 1);
    assert_eq!(ids(&find(r#"userName eq "ada@example.com" or externalId eq "00uOB""#).await.body).len(), 2);
    assert_eq!(ids(&find(r#"title eq "analyst" and externalId eq "00uZED""#).await.body).len(), 1);
    assert_eq!(find(r#"userName eq "nobody@example.com""#).await.body["totalResults"], 0);

    let bad = find(r#"userName eq"#).await;
    assert_scim_error(&bad, 400, Some("invalidFilter"));
}

#[tokio::test]
async fn sort_by_orders_case_insensitively_both_ways() {
    let (_emulator, scim) = open().await;
    for name in ["b@x", "C@x", "a@x"] {
        scim.create_user(name).await;
    }
    let names = |body: &Value| -> Vec<String> {
        body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["userName"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&scim.get("/Users?sortBy=userName").await.body), vec!["a@x", "b@x", "C@x"]);
    assert_eq!(
        names(&scim.get("/Users?sortBy=userName&sortOrder=descending").await.body),
        vec!["C@x", "b@x", "a@x"]
    );
    assert_scim_error(
        &scim.get("/Users?sortBy=userName&sortOrder=sideways").await,
        400,
        Some("invalidValue"),
    );
}

#[tokio::test]
async fn attributes_and_excluded_attributes_shape_answers() {
    let (_emulator, scim) = open().await;
    let id = scim
        .post(
            "/Users",
            json!({"userName": "a@x", "title": "T", "name": {"givenName": "A", "familyName": "L"}}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let only = scim.get(&format!("/Users/{id}?attributes=userName,name.givenName")).await.body;
    let mut keys: Vec<&str> = only.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, vec!["id", "name", "schemas", "userName"]);
    assert_eq!(only["name"], json!({"givenName": "A"}));
    let listed = scim.get("/Users?excludedAttributes=title,meta").await.body;
    let user = &listed["Resources"][0];
    assert!(
        user.get("title").is_none() && user.get("meta").is_none() && user.get("userName").is_some(),
        "{user}"
    );
}

#[tokio::test]
async fn patch_forms_of_identity_providers() {
    let (_emulator, scim) = open().await;
    let id = scim
        .post(
            "/Users",
            json!({"userName": "a@x", "emails": [{"type": "work", "value": "old@x", "primary": true}]}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/Users/{id}");
    let reply = scim
        .patch(
            &path,
            json!([
                {"op": "replace", "path": "name.givenName", "value": "Ada"},
                {"op": "add", "path": "name.familyName", "value": "Lovelace"},
                {"op": "replace", "path": "roles[primary eq true].value", "value": "maker"},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada@x"},
                {"op": "replace", "value": {"title": "Analyst", "displayName": "Ada L"}},
            ]),
        )
        .await;
    assert_eq!(reply.status, 200, "PATCH answers 200 with the resource: {}", reply.body);
    let user = &reply.body;
    assert_eq!(user["name"], json!({"givenName": "Ada", "familyName": "Lovelace"}));
    assert_eq!(user["roles"], json!([{"value": "maker", "primary": true}]));
    assert_eq!(user["emails"], json!([{"type": "work", "value": "ada@x", "primary": true}]));
    assert_eq!((user["title"].as_str(), user["displayName"].as_str()), (Some("Analyst"), Some("Ada L")));
    assert_eq!(user["meta"]["version"], "W/\"2\"", "all operations of one PATCH are one change");
    assert_eq!(reply.header("etag"), Some("W/\"2\""));

    // Entra ID: capitalised ops and booleans as strings.
    let reply = scim.patch(&path, json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    assert_eq!(reply.body["active"], false, "{}", reply.body);
    let reply = scim.patch(&path, json!([{"op": "remove", "path": "title"}])).await;
    assert!(reply.body.get("title").is_none());

    // A failing operation leaves the resource as it was.
    let reply = scim.patch(&path, json!([{"op": "replace", "path": "title", "value": "X"}, {"op": "replace", "path": "id", "value": "new"}])).await;
    assert_scim_error(&reply, 400, Some("mutability"));
    assert!(scim.get(&path).await.body.get("title").is_none());

    // If-Match with a stale version is refused.
    let stale = scim
        .client
        .patch(format!("{}{path}", scim.base))
        .header("if-match", "W/\"1\"")
        .body(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": "Y"}]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
}

#[tokio::test]
async fn put_replaces_the_whole_resource() {
    let (_emulator, scim) = open().await;
    let id =
        scim.post("/Users", json!({"userName": "a@x", "title": "T", "externalId": "e1"})).await.body["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let reply = scim
        .put(&format!("/Users/{id}"), json!({"id": "ignored", "userName": "a@x", "displayName": "A"}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["id"], id.as_str());
    assert!(reply.body.get("title").is_none() && reply.body.get("externalId").is_none(), "{}", reply.body);
    assert!(
        reply.body.get("roles").is_none(),
        "PUT without roles clears them; the default is for creation only"
    );
    assert_eq!(scim.put("/Users/nobody", json!({"userName": "n@x"})).await.status, 404);
}

#[tokio::test]
async fn discovery_documents() {
    let (emulator, scim) = open().await;
    let spc = scim.get("/ServiceProviderConfig").await.body;
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["bulk"]["supported"], false);
    assert_eq!(spc["filter"], json!({"supported": true, "maxResults": 100}));
    assert_eq!(spc["sort"]["supported"], true);
    assert_eq!(spc["etag"]["supported"], true);
    assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");
    let types = scim.get("/ResourceTypes").await.body;
    let names: Vec<&str> =
        types["Resources"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["User", "Group"]);
    assert_eq!(scim.get("/ResourceTypes/Group").await.body["endpoint"], "/Groups");
    let schemas = scim.get("/Schemas").await.body;
    assert_eq!(schemas["totalResults"], 2);
    let user_schema = scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").await.body;
    assert_eq!(user_schema["attributes"][0]["name"], "userName");
    assert_eq!(user_schema["attributes"][0]["uniqueness"], "server");
    assert_eq!(
        user_schema["meta"]["location"],
        format!("{}/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", emulator.base_url())
    );
    assert_scim_error(&scim.get("/Schemas/urn:nothing").await, 404, None);
    assert_scim_error(&scim.get("/ResourceTypes/Nothing").await, 404, None);
    assert_scim_error(&scim.get("/Elsewhere").await, 404, None);
    assert_scim_error(&scim.send(Method::POST, "/ServiceProviderConfig", Some(json!({}))).await, 405, None);
}

#[tokio::test]
async fn a_configured_token_is_required() {
    let config = EmulatorConfig { token: Some("s3cret-token".to_owned()), ..EmulatorConfig::default() };
    assert!(!format!("{config:?}").contains("s3cret-token"), "Debug never shows the token");
    let emulator = start(config).await;
    let anonymous = Scim::new(&emulator);
    let reply = anonymous.get("/Users").await;
    assert_scim_error(&reply, 401, None);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    assert!(!reply.body.to_string().contains("s3cret"));
    assert_eq!(anonymous.clone().with_token("s3cret-tokem").get("/Users").await.status, 401);
    assert_eq!(anonymous.clone().with_token("s3cret-token-").get("/Users").await.status, 401);
    let basic = anonymous
        .client
        .get(format!("{}/Users", emulator.base_url()))
        .header("authorization", "Basic s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    let scim = anonymous.with_token("s3cret-token");
    assert_eq!(scim.get("/Users").await.status, 200);
    assert_eq!(scim.get("/ServiceProviderConfig").await.status, 200);
    assert!(!format!("{emulator:?}").contains("s3cret-token"));
}

#[tokio::test]
async fn search_with_post() {
    let (_emulator, scim) = open().await;
    scim.create_user("a@x").await;
    scim.post("/Groups", json!({"displayName": "Team"})).await;
    let reply = scim
        .post("/Users/.search", json!({"filter": "userName eq \"A@X\"", "attributes": ["userName"]}))
        .await;
    assert_eq!(reply.body["totalResults"], 1, "{}", reply.body);
    assert!(reply.body["Resources"][0].get("meta").is_none());
    let all = scim
        .post("/.search", json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}))
        .await;
    assert_eq!(all.body["totalResults"], 2, "{}", all.body);
}
