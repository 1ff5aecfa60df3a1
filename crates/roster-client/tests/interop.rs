//! roster's client against scim2-server, SCIM software that no one here wrote.
//!
//! Run by `cargo xtask interop`, which starts scim2-server on loopback and sets
//! `ROSTER_INTEROP_URL` and `ROSTER_INTEROP_TOKEN`. Without them every test fails: this
//! target is built only with the `interop` feature, so it never runs by accident.
//! The tests share one server; run them with `--test-threads=1`, since the paging test
//! needs a list that nobody changes while it is read.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use roster_client::{
    ClientConfig, ClientError, ReadClient, RecordOutcome, Token, UpdateMethod, Verification, WriteClient,
};
use roster_model::{CapabilitySource, Completeness, Provider, UserAttribute, UserAttributes, UserChanges};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run these tests with `cargo xtask interop`"))
}

fn config_for(url: &str) -> ClientConfig {
    let mut config = ClientConfig::new(url, Provider::Generic);
    config.token = Some(Token::new(env("ROSTER_INTEROP_TOKEN")));
    config.backoff_base = Duration::from_millis(10);
    config.backoff_max = Duration::from_millis(100);
    config
}

fn config() -> ClientConfig {
    config_for(&env("ROSTER_INTEROP_URL"))
}

fn attrs(user_name: &str) -> UserAttributes {
    UserAttributes { user_name: user_name.to_owned(), active: true, ..UserAttributes::default() }
}

/// A raw request to the server, for what roster itself never sends or needs to see
/// in full.
async fn raw(method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}{path}", env("ROSTER_INTEROP_URL"));
    let mut req = reqwest::Client::new().request(method, url).bearer_auth(env("ROSTER_INTEROP_TOKEN"));
    if let Some(body) = body {
        req = req.header("content-type", "application/scim+json").body(body.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn paging_over_250_users() {
    let writer = WriteClient::new(config()).unwrap();
    let mut created = Vec::new();
    for i in 0..250 {
        let mut a = attrs(&format!("pager-{i:03}@example.com"));
        a.display_name = Some(format!("Pager {i}"));
        created.push(writer.create_user(&a).await.unwrap().value);
    }
    for (concurrency, page_size) in [(4, 100), (1, 100), (3, 7)] {
        let mut config = config();
        config.concurrency = concurrency;
        config.page_size = page_size;
        let live = ReadClient::new(config).unwrap().fetch_live().await.unwrap();
        assert_eq!(live.completeness, Completeness::Complete, "concurrency {concurrency}, page {page_size}");
        let ids: std::collections::HashSet<&str> = live.users.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids.len(), live.users.len(), "no user twice");
        for user in &created {
            let found = live.users.iter().find(|u| u.id == user.id).expect("every created user is listed");
            assert_eq!(found, user);
        }
    }
    let (_, list) = raw(reqwest::Method::GET, "/Users?count=1", None).await;
    let live = ReadClient::new(config()).unwrap().fetch_live().await.unwrap();
    assert_eq!(live.users.len() as u64, list["totalResults"].as_u64().unwrap());
}

#[tokio::test]
async fn create_then_patch_attributes_role_and_deactivate() {
    let writer = WriteClient::new(config()).unwrap();
    let desired = UserAttributes {
        user_name: "o'brien+pm@eu.example.com".into(),
        external_id: Some("00u-obrien".into()),
        display_name: Some("Pat O'Brien".into()),
        given_name: Some("Pat".into()),
        family_name: Some("O'Brien".into()),
        title: Some("PM".into()),
        role: Some("maker".into()),
        active: true,
    };
    let created = writer.create_user(&desired).await.unwrap();
    assert_eq!(created.records.len(), 1);
    assert_eq!(
        (created.records[0].status, created.records[0].outcome.clone()),
        (Some(201), RecordOutcome::Done)
    );
    let id = created.value.id.clone();
    assert_eq!(created.value.attributes, desired);

    let reader = writer.reader();
    let found = reader.find_user_by_user_name("O'BRIEN+PM@eu.example.com").await.unwrap().unwrap();
    assert_eq!(found.id.as_deref(), Some(id.as_str()));
    assert_eq!(reader.find_user_by_external_id("00u-obrien").await.unwrap().unwrap().id, found.id);

    let changes = UserChanges {
        given_name: Some("Patricia".into()),
        title: Some("Head of Product".into()),
        role: Some("admin".into()),
        active: Some(false),
        ..UserChanges::default()
    };
    let updated = writer.update_user(&id, &changes).await.unwrap();
    // scim2-server answers PATCH with 204 and no body: a deactivation and a role change
    // are security-relevant, so roster reads the user back to confirm them.
    let requests: Vec<(&str, Option<u16>)> =
        updated.records.iter().map(|r| (r.method.as_str(), r.status)).collect();
    assert_eq!(requests, [("PATCH", Some(204)), ("GET", Some(200))]);
    assert_eq!(updated.verification, Verification::ReadBack);
    let mut expected = desired.clone();
    changes.apply_to(&mut expected);
    let back = reader.get_user(&id).await.unwrap().unwrap().to_live().unwrap();
    assert_eq!(back.attributes, expected);

    // A role for a user that has none yet: the whole `roles` array is replaced.
    let bare = writer.create_user(&attrs("no-role@example.com")).await.unwrap().value;
    let role = UserChanges { role: Some("viewer".into()), ..UserChanges::default() };
    writer.update_user(&bare.id, &role).await.unwrap();
    let back = reader.get_user(&bare.id).await.unwrap().unwrap().to_live().unwrap();
    assert_eq!(back.attributes.role.as_deref(), Some("viewer"));
}

#[tokio::test]
async fn put_fallback_keeps_what_roster_does_not_manage() {
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let (status, created) = raw(
        reqwest::Method::POST,
        "/Users",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", enterprise],
            "userName": "put-fallback@example.com",
            "nickName": "putty",
            "name": {"givenName": "Put", "familyName": "Fallback", "middleName": "M"},
            "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
            "roles": [{"value": "maker", "primary": true}],
            enterprise: {"department": "R&D", "employeeNumber": "42"}
        })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();

    let mut config = config();
    config.update_method = UpdateMethod::Put;
    let writer = WriteClient::new(config).unwrap();
    let changes = UserChanges {
        family_name: Some("Merged".into()),
        title: Some("Tester".into()),
        role: Some("admin".into()),
        ..UserChanges::default()
    };
    let applied = writer.update_user(&id, &changes).await.unwrap();
    assert_eq!(applied.records.len(), 1);
    assert_eq!((applied.records[0].method.as_str(), applied.records[0].status), ("PUT", Some(200)));
    assert_eq!(applied.verification, Verification::Answer, "the PUT's answer shows the changes");

    let (_, back) = raw(reqwest::Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(back["nickName"], "putty");
    assert_eq!(back["phoneNumbers"], json!([{"value": "+1 555 0100", "type": "work"}]));
    assert_eq!(back[enterprise], json!({"department": "R&D", "employeeNumber": "42"}));
    assert_eq!(
        back["name"],
        json!({"givenName": "Put", "familyName": "Merged", "middleName": "M", "formatted": "Put Merged"})
    );
    assert_eq!(back["title"], "Tester");
    assert_eq!(back["roles"], json!([{"value": "admin", "primary": true}]));
}

#[tokio::test]
async fn groups_create_rename_members_and_delete() {
    let mut config = config();
    config.max_members_per_request = 2;
    let writer = WriteClient::new(config).unwrap();
    let mut ids = Vec::new();
    for name in ["g-ann", "g-bob", "g-cat", "g-dan", "g-eve"] {
        ids.push(writer.create_user(&attrs(&format!("{name}@example.com"))).await.unwrap().value.id);
    }
    // Five members, two per request: the POST carries two, two PATCH requests add three.
    let created = writer.create_group("Interop Team", Some("grp-interop"), &ids).await.unwrap();
    assert_eq!(created.records.len(), 3, "{:?}", created.records);
    let group = created.value;
    assert_eq!(group.members, ids);
    let read_back = |id: String| {
        let reader = writer.reader().clone();
        async move { reader.get_group(&id).await.unwrap().map(|g| g.to_live().unwrap()) }
    };
    let back = read_back(group.id.clone()).await.unwrap();
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(sorted(back.members.clone()), sorted(ids.clone()));
    assert_eq!(back.external_id.as_deref(), Some("grp-interop"));

    let removed = writer.remove_members(&group.id, &ids[..3]).await.unwrap();
    let requests: Vec<&str> = removed.records.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(requests, ["PATCH", "GET", "PATCH", "GET"], "three removals, two per request, each read back");
    assert_eq!(removed.verification, Verification::ReadBack);
    writer.rename_group(&group.id, "Interop Team (renamed)").await.unwrap();
    writer.set_group_external_id(&group.id, "grp-interop-2").await.unwrap();
    let back = read_back(group.id.clone()).await.unwrap();
    assert_eq!(sorted(back.members.clone()), sorted(ids[3..].to_vec()));
    assert_eq!(back.display_name, "Interop Team (renamed)");
    assert_eq!(back.external_id.as_deref(), Some("grp-interop-2"));

    writer.add_members(&group.id, &ids[..1]).await.unwrap();
    let live = writer.reader().fetch_live().await.unwrap();
    assert!(live.completeness.is_complete());
    let listed = live.groups.iter().find(|g| g.id == group.id).unwrap();
    assert_eq!(sorted(listed.members.clone()), sorted(vec![ids[0].clone(), ids[3].clone(), ids[4].clone()]));

    writer.delete_group(&group.id).await.unwrap();
    assert_eq!(read_back(group.id.clone()).await, None);
}

/// A TCP proxy in front of the server that forwards the first POST it sees but drops
/// the connection instead of returning the answer: a response lost on the way back.
async fn lossy_proxy(upstream: String) -> (String, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let armed = Arc::new(AtomicBool::new(true));
    let flag = armed.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else { return };
            let upstream = upstream.clone();
            let flag = flag.clone();
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect(&upstream).await else { return };
                let mut first = vec![0u8; 64 * 1024];
                let Ok(n) = client.read(&mut first).await else { return };
                let _ = server.write_all(&first[..n]).await;
                if first.starts_with(b"POST ") && flag.swap(false, Ordering::SeqCst) {
                    // Let the request reach the server, read its whole answer (it closes
                    // the connection after one), and drop the client's connection instead.
                    let (mut from_client, _to_client) = client.into_split();
                    let (mut from_server, mut to_server) = server.into_split();
                    let forward = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
                    });
                    let mut lost = Vec::new();
                    let _ = from_server.read_to_end(&mut lost).await;
                    forward.abort();
                } else {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (address.to_string(), armed)
}

#[tokio::test]
async fn a_retried_post_that_meets_409_adopts_the_user() {
    let url = reqwest::Url::parse(&env("ROSTER_INTEROP_URL")).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let (proxy, armed) = lossy_proxy(upstream).await;
    let writer = WriteClient::new(config_for(&format!("http://{proxy}{}", url.path()))).unwrap();
    let applied = writer.create_user(&attrs("adopt-me@example.com")).await.unwrap();
    assert!(!armed.load(Ordering::SeqCst), "the proxy lost one answer");
    assert!(applied.adopted());
    let record = &applied.records[0];
    assert_eq!((record.method.as_str(), record.status, record.attempts), ("POST", Some(409), 2));
    assert_eq!(record.outcome, RecordOutcome::Adopted { id: applied.value.id.clone() });
    let found = writer.reader().find_user_by_user_name("adopt-me@example.com").await.unwrap().unwrap();
    assert_eq!(found.id.as_deref(), Some(applied.value.id.as_str()));

    // A 409 on the first attempt is a real conflict, not a lost answer: no adoption.
    let err = writer.create_user(&attrs("ADOPT-ME@example.com")).await.unwrap_err();
    assert_eq!(err.error.status(), Some(409));
    assert!(matches!(err.records[0].outcome, RecordOutcome::Failed { .. }));
}

#[tokio::test]
async fn a_wrong_token_is_refused_with_the_hint() {
    let mut config = config();
    config.token = Some(Token::new("not-the-token"));
    let err = ReadClient::new(config).unwrap().fetch_live().await.unwrap_err();
    assert!(matches!(err, ClientError::Http { status: 401, attempts: 1, .. }), "{err}");
    assert_eq!(err.hint(), Some(roster_client::TOKEN_HINT));
    assert!(!err.to_string().contains("not-the-token"));
}

#[tokio::test]
async fn doctor_probe_passes_every_step() {
    let steps = ReadClient::new(config()).unwrap().probe().await;
    let names: Vec<&str> = steps.iter().map(|s| s.name).collect();
    assert_eq!(names, ["service provider config", "users", "user filter", "groups"]);
    for step in &steps {
        assert_eq!(step.status, Some(200), "{step:?}");
        assert!(step.result.is_ok(), "{step:?}");
    }
    assert!(steps[0].result.as_ref().unwrap().starts_with("patch: yes, filter: yes"), "{:?}", steps[0]);
}

#[tokio::test]
async fn capabilities_are_read_from_what_the_service_declares() {
    let reader = ReadClient::new(config()).unwrap();
    let caps = reader.capabilities().await;
    assert_eq!(caps.service_provider_config_source, CapabilitySource::Declared, "{caps:?}");
    assert_eq!(caps.resource_types_source, CapabilitySource::Declared, "{caps:?}");
    assert_eq!(caps.schemas_source, CapabilitySource::Declared, "{caps:?}");
    assert!(caps.patch && caps.filter, "{caps:?}");
    assert_eq!(caps.groups, Some(true));
    // scim2-server keeps every user attribute roster manages.
    for attribute in UserAttribute::ALL {
        assert!(caps.user_attribute(attribute).on_create(), "{attribute}: {caps:?}");
    }
}
