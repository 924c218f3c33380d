//! Groups over the native API: administration by tenant administrators, members from the
//! tenant only, role grants that take part in members' permissions and tokens, and
//! tenant isolation.

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Reply, TestApp, USER_PASSWORD, assert_problem, on_both_backends};

on_both_backends!(
    administrators_manage_groups_and_their_members,
    granted_roles_add_permissions_to_requests_and_tokens,
    groups_of_another_tenant_are_not_found,
    each_listed_group_carries_its_own_members_and_roles,
);

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    app.call(
        method,
        &format!("/api/v1/tenants/default{path}"),
        Some(token),
        body,
    )
    .await
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn administrators_manage_groups_and_their_members(app: TestApp) {
    let admin = app.admin_token().await;
    let ada = app
        .create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let bob = app
        .create_user(&admin, "default", "bob@example.com", "user")
        .await;

    let created = call(
        &app,
        Method::POST,
        "/groups",
        &admin,
        Some(json!({"name": "Sales", "members": [ada]})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["name"], "Sales");
    assert_eq!(created.body["members"][0]["id"], ada.as_str());
    assert_eq!(created.body["members"][0]["role"], "user");
    assert_eq!(created.body["roles"], json!([]));

    // 409 on a taken name, 400 on a bad one, 404 on a member of nowhere.
    let duplicate = call(
        &app,
        Method::POST,
        "/groups",
        &admin,
        Some(json!({"name": "Sales"})),
    )
    .await;
    assert_problem(&duplicate, StatusCode::CONFLICT, "conflict");
    let blank = call(
        &app,
        Method::POST,
        "/groups",
        &admin,
        Some(json!({"name": "  "})),
    )
    .await;
    assert_problem(&blank, StatusCode::BAD_REQUEST, "validation_failed");
    let stranger = call(
        &app,
        Method::POST,
        "/groups",
        &admin,
        Some(json!({"name": "Ops", "members": ["AAAAAAAAAAAAAAAAAAAAAA"]})),
    )
    .await;
    assert_problem(&stranger, StatusCode::NOT_FOUND, "not_found");

    // Members: add (409 twice), remove (404 twice).
    let added = call(
        &app,
        Method::POST,
        &format!("/groups/{id}/members"),
        &admin,
        Some(json!({"user_id": bob})),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(added.body["email"], "bob@example.com");
    let again = call(
        &app,
        Method::POST,
        &format!("/groups/{id}/members"),
        &admin,
        Some(json!({"user_id": bob})),
    )
    .await;
    assert_problem(&again, StatusCode::CONFLICT, "conflict");
    let read = call(&app, Method::GET, &format!("/groups/{id}"), &admin, None).await;
    assert_eq!(read.body["members"].as_array().unwrap().len(), 2);
    let removed = call(
        &app,
        Method::DELETE,
        &format!("/groups/{id}/members/{ada}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let removed = call(
        &app,
        Method::DELETE,
        &format!("/groups/{id}/members/{ada}"),
        &admin,
        None,
    )
    .await;
    assert_problem(&removed, StatusCode::NOT_FOUND, "not_found");

    // Rename and replace members in one PATCH.
    let patched = call(
        &app,
        Method::PATCH,
        &format!("/groups/{id}"),
        &admin,
        Some(json!({"name": "Sales EMEA", "members": [ada]})),
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["name"], "Sales EMEA");
    assert_eq!(patched.body["members"][0]["id"], ada.as_str());
    assert_eq!(patched.body["members"].as_array().unwrap().len(), 1);

    // Its projects, in the same PATCH: new ones with `project_role`. One unknown project
    // refuses the whole PATCH, the name and members sent with it included.
    let project = call(
        &app,
        Method::POST,
        "/projects",
        &admin,
        Some(json!({"title": "Atlas", "description": ""})),
    )
    .await;
    assert_eq!(project.status, StatusCode::CREATED, "{}", project.body);
    let project = project.body["id"].as_str().unwrap().to_owned();
    let joined = call(
        &app,
        Method::PATCH,
        &format!("/groups/{id}"),
        &admin,
        Some(json!({"projects": [project], "project_role": "reader"})),
    )
    .await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.body);
    assert_eq!(joined.body["projects"][0]["id"], project.as_str());
    assert_eq!(joined.body["projects"][0]["role"], "reader");
    let bad_role = call(
        &app,
        Method::PATCH,
        &format!("/groups/{id}"),
        &admin,
        Some(json!({"projects": [project], "project_role": "emperor"})),
    )
    .await;
    assert_problem(&bad_role, StatusCode::BAD_REQUEST, "validation_failed");
    let refused = call(
        &app,
        Method::PATCH,
        &format!("/groups/{id}"),
        &admin,
        Some(json!({"name": "Renamed", "members": [], "projects": [project, "A".repeat(22)]})),
    )
    .await;
    assert_problem(&refused, StatusCode::NOT_FOUND, "not_found");
    let unchanged = call(
        &app,
        Method::GET,
        &format!("/groups/{id}?include_projects=true"),
        &admin,
        None,
    )
    .await;
    assert_eq!(unchanged.body["name"], "Sales EMEA", "{}", unchanged.body);
    assert_eq!(unchanged.body["members"][0]["id"], ada.as_str());
    assert_eq!(
        unchanged.body["projects"][0]["role"], "reader",
        "{}",
        unchanged.body
    );

    // Role grants: unknown role 400.
    let bad = call(
        &app,
        Method::PUT,
        &format!("/groups/{id}/roles"),
        &admin,
        Some(json!({"roles": ["emperor"]})),
    )
    .await;
    assert_problem(&bad, StatusCode::BAD_REQUEST, "validation_failed");
    let granted = call(
        &app,
        Method::PUT,
        &format!("/groups/{id}/roles"),
        &admin,
        Some(json!({"roles": ["reader"]})),
    )
    .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
    assert_eq!(granted.body["roles"], json!(["reader"]));

    // Listing is paged by name.
    call(
        &app,
        Method::POST,
        "/groups",
        &admin,
        Some(json!({"name": "Alpha"})),
    )
    .await;
    let page = call(&app, Method::GET, "/groups?limit=1", &admin, None).await;
    assert_eq!(page.body["items"][0]["name"], "Alpha");
    let next = page.body["next"].as_str().unwrap();
    let page = call(
        &app,
        Method::GET,
        &format!("/groups?limit=1&after={next}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(page.body["items"][0]["name"], "Sales EMEA");
    assert_eq!(page.body["next"], Value::Null);

    // Non-administrators may neither read nor change groups.
    let ada_token = app.token("default", "ada@example.com", USER_PASSWORD).await;
    for (method, path, body) in [
        (Method::GET, "/groups".to_owned(), None),
        (
            Method::POST,
            "/groups".to_owned(),
            Some(json!({"name": "Mine"})),
        ),
        (Method::GET, format!("/groups/{id}"), None),
        (Method::DELETE, format!("/groups/{id}"), None),
        (
            Method::POST,
            format!("/groups/{id}/members"),
            Some(json!({"user_id": ada})),
        ),
        (
            Method::PUT,
            format!("/groups/{id}/roles"),
            Some(json!({"roles": ["admin"]})),
        ),
    ] {
        let refused = call(&app, method, &path, &ada_token, body).await;
        assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");
    }

    // Unknown ids answer 404.
    for path in ["/groups/AAAAAAAAAAAAAAAAAAAAAA", "/groups/not-an-id"] {
        let missing = call(&app, Method::GET, path, &admin, None).await;
        assert_problem(&missing, StatusCode::NOT_FOUND, "not_found");
    }

    let deleted = call(&app, Method::DELETE, &format!("/groups/{id}"), &admin, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = call(&app, Method::GET, &format!("/groups/{id}"), &admin, None).await;
    assert_problem(&gone, StatusCode::NOT_FOUND, "not_found");
    let actions: Vec<Value> = app
        .audit_events(&admin)
        .await
        .into_iter()
        .map(|e| e["action"].clone())
        .collect();
    for action in [
        "group.create",
        "group.members",
        "group.roles",
        "group.update",
        "group.delete",
    ] {
        assert!(actions.contains(&json!(action)), "{action} in {actions:?}");
    }
}

async fn granted_roles_add_permissions_to_requests_and_tokens(app: TestApp) {
    let admin = app.admin_token().await;
    let ada = app
        .create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let ada_token = app.token("default", "ada@example.com", USER_PASSWORD).await;
    let refused = call(&app, Method::GET, "/users", &ada_token, None).await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");

    let group = call(
        &app,
        Method::POST,
        "/groups",
        &admin,
        Some(json!({"name": "Admins", "members": [ada]})),
    )
    .await;
    let id = group.body["id"].as_str().unwrap().to_owned();
    let granted = call(
        &app,
        Method::PUT,
        &format!("/groups/{id}/roles"),
        &admin,
        Some(json!({"roles": ["admin"]})),
    )
    .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);

    // The grant takes effect on the next request with the same token…
    let listed = call(&app, Method::GET, "/users", &ada_token, None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let me = app
        .call(Method::GET, "/api/v1/me", Some(&ada_token), None)
        .await;
    assert_eq!(me.body["membership"]["role"], "user", "{}", me.body);
    assert!(
        me.body["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("users.write"))
    );
    // …and new tokens carry the granted role and its permissions.
    let fresh = app.token("default", "ada@example.com", USER_PASSWORD).await;
    let claims = claims(&fresh);
    assert_eq!(claims["realm_access"]["roles"], json!(["user", "admin"]));
    assert!(
        claims["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("users.write"))
    );

    // Leaving the group takes it away at once.
    let removed = call(
        &app,
        Method::DELETE,
        &format!("/groups/{id}/members/{ada}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let refused = call(&app, Method::GET, "/users", &fresh, None).await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");
}

async fn groups_of_another_tenant_are_not_found(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_tenant(&admin, "globex").await;
    let other = app
        .call(
            Method::POST,
            "/api/v1/tenants/globex/groups",
            Some(&admin),
            Some(json!({"name": "Theirs"})),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.body);
    let theirs = other.body["id"].as_str().unwrap().to_owned();
    let globex_user = app
        .create_user(&admin, "globex", "gil@example.com", "user")
        .await;

    // Through the default tenant, globex's group and user do not exist.
    let read = call(
        &app,
        Method::GET,
        &format!("/groups/{theirs}"),
        &admin,
        None,
    )
    .await;
    assert_problem(&read, StatusCode::NOT_FOUND, "not_found");
    let ours = call(
        &app,
        Method::POST,
        "/groups",
        &admin,
        Some(json!({"name": "Ours"})),
    )
    .await;
    let ours = ours.body["id"].as_str().unwrap().to_owned();
    let foreign_member = call(
        &app,
        Method::POST,
        &format!("/groups/{ours}/members"),
        &admin,
        Some(json!({"user_id": globex_user})),
    )
    .await;
    assert_problem(&foreign_member, StatusCode::NOT_FOUND, "not_found");

    // A tenant administrator of default cannot reach globex at all.
    let local_admin = app
        .create_user(&admin, "default", "boss@example.com", "admin")
        .await;
    let _ = local_admin;
    let boss = app
        .token("default", "boss@example.com", USER_PASSWORD)
        .await;
    let refused = app
        .call(
            Method::GET,
            "/api/v1/tenants/globex/groups",
            Some(&boss),
            None,
        )
        .await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");
}

/// The list reads the members and roles of a whole page at once: each group still gets
/// exactly its own, in order, on every page.
async fn each_listed_group_carries_its_own_members_and_roles(app: TestApp) {
    let admin = app.admin_token().await;
    let mut ids = Vec::new();
    for email in ["hal@example.com", "ivy@example.com", "jon@example.com"] {
        ids.push(app.create_user(&admin, "default", email, "user").await);
    }
    let (hal, ivy, jon) = (&ids[0], &ids[1], &ids[2]);
    // name → (members, granted roles); "Empty" has neither.
    let wanted = [
        ("Crew", vec![jon, hal], vec!["reader"]),
        ("Empty", vec![], vec![]),
        ("Fleet", vec![ivy], vec!["admin", "reader"]),
        ("Guild", vec![ivy, jon, hal], vec![]),
    ];
    for (name, members, roles) in &wanted {
        let created = call(
            &app,
            Method::POST,
            "/groups",
            &admin,
            Some(json!({"name": name, "members": members})),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let id = created.body["id"].as_str().unwrap();
        if !roles.is_empty() {
            let granted = call(
                &app,
                Method::PUT,
                &format!("/groups/{id}/roles"),
                &admin,
                Some(json!({ "roles": roles })),
            )
            .await;
            assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
        }
    }

    let mut listed = Vec::new();
    let mut path = "/groups?limit=3".to_owned();
    loop {
        let page = call(&app, Method::GET, &path, &admin, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        listed.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["next"].as_str() {
            Some(next) => path = format!("/groups?limit=3&after={next}"),
            None => break,
        }
    }
    assert_eq!(listed.len(), wanted.len());
    for (group, (name, members, roles)) in listed.iter().zip(&wanted) {
        assert_eq!(group["name"], *name);
        // Members come by email: hal, ivy, jon.
        let mut expected: Vec<&str> = members.iter().map(|m| m.as_str()).collect();
        expected.sort_by_key(|id| ids.iter().position(|i| i == id));
        let got: Vec<&str> = group["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(got, expected, "members of {name}");
        assert_eq!(group["roles"], json!(roles), "roles of {name}");
        // The same as reading the group alone.
        let id = group["id"].as_str().unwrap();
        let alone = call(&app, Method::GET, &format!("/groups/{id}"), &admin, None).await;
        assert_eq!(alone.body["members"], group["members"], "{name}");
        assert_eq!(alone.body["roles"], group["roles"], "{name}");
    }
}
