//! Projects over the native API: creation by members, visibility, member management by
//! project and tenant administrators, derived permissions, and tenant isolation.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Reply, TestApp, USER_PASSWORD, assert_problem, on_both_backends};

on_both_backends!(
    members_create_projects_and_administer_their_members,
    permissions_are_derived_from_project_tenant_and_group_roles,
    projects_are_visible_only_to_their_members_and_tenant,
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

fn member<'a>(members: &'a Value, id: &str) -> &'a Value {
    members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["member_id"] == id)
        .unwrap_or_else(|| panic!("{id} in {members}"))
}

fn has(permissions: &Value, permission: &str) -> bool {
    permissions.as_array().unwrap().contains(&json!(permission))
}

async fn members_create_projects_and_administer_their_members(app: TestApp) {
    let admin = app.admin_token().await;
    let ada = app
        .create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let bob = app
        .create_user(&admin, "default", "bob@example.com", "user")
        .await;
    app.create_user(&admin, "default", "dee@example.com", "demo")
        .await;
    let ada_token = app.token("default", "ada@example.com", USER_PASSWORD).await;
    let bob_token = app.token("default", "bob@example.com", USER_PASSWORD).await;
    let dee_token = app.token("default", "dee@example.com", USER_PASSWORD).await;

    let created = call(
        &app,
        Method::POST,
        "/projects",
        &ada_token,
        Some(json!({"title": "Alpha", "description": "First"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["owner_id"], ada.as_str());
    assert_eq!(created.body["role"], "admin");
    let bad = call(
        &app,
        Method::POST,
        "/projects",
        &ada_token,
        Some(json!({"title": ""})),
    )
    .await;
    assert_problem(&bad, StatusCode::BAD_REQUEST, "validation_failed");
    let demo = call(
        &app,
        Method::POST,
        "/projects",
        &dee_token,
        Some(json!({"title": "Nope"})),
    )
    .await;
    assert_problem(&demo, StatusCode::FORBIDDEN, "forbidden");

    let members_path = format!("/projects/{id}/members");
    let members = call(&app, Method::GET, &members_path, &ada_token, None).await;
    assert_eq!(members.status, StatusCode::OK, "{}", members.body);
    let owner = member(&members.body, &ada);
    assert_eq!(owner["member_type"], "user");
    assert_eq!(owner["project_role"], "admin");
    assert_eq!(owner["server_role"], "user");
    assert_eq!(owner["email"], "ada@example.com");
    assert_eq!(owner["project_id"], id.as_str());

    // Adding: 400 on a bad role or on neither/both ids, 409 twice, 404 unknown user.
    let bad_role = call(
        &app,
        Method::POST,
        &members_path,
        &ada_token,
        Some(json!({"user_id": bob, "role": "owner"})),
    )
    .await;
    assert_problem(&bad_role, StatusCode::BAD_REQUEST, "validation_failed");
    let neither = call(
        &app,
        Method::POST,
        &members_path,
        &ada_token,
        Some(json!({"role": "reader"})),
    )
    .await;
    assert_problem(&neither, StatusCode::BAD_REQUEST, "validation_failed");
    let unknown = call(
        &app,
        Method::POST,
        &members_path,
        &ada_token,
        Some(json!({"user_id": "AAAAAAAAAAAAAAAAAAAAAA", "role": "reader"})),
    )
    .await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "not_found");
    let added = call(
        &app,
        Method::POST,
        &members_path,
        &ada_token,
        Some(json!({"user_id": bob, "role": "reader"})),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    assert_eq!(added.body["project_role"], "reader");
    assert!(has(&added.body["permissions"], "items.read.*"));
    assert!(!has(&added.body["permissions"], "items.write.*"));
    let twice = call(
        &app,
        Method::POST,
        &members_path,
        &ada_token,
        Some(json!({"user_id": bob, "role": "member"})),
    )
    .await;
    assert_problem(&twice, StatusCode::CONFLICT, "conflict");

    // A reader may read the project and its members but not manage them.
    let read = call(
        &app,
        Method::GET,
        &format!("/projects/{id}"),
        &bob_token,
        None,
    )
    .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.body["role"], "reader");
    let refused = call(
        &app,
        Method::PUT,
        &format!("{members_path}/{bob}"),
        &bob_token,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");
    let refused = call(
        &app,
        Method::DELETE,
        &format!("/projects/{id}"),
        &bob_token,
        None,
    )
    .await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");

    // Changing a role; 400 on a bad one, 404 for a non-member.
    let changed = call(
        &app,
        Method::PUT,
        &format!("{members_path}/{bob}"),
        &ada_token,
        Some(json!({"role": "member"})),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["project_role"], "member");
    assert!(has(&changed.body["permissions"], "items.write.*"));
    assert!(!has(&changed.body["permissions"], "members.write.*"));
    let bad = call(
        &app,
        Method::PUT,
        &format!("{members_path}/{bob}"),
        &ada_token,
        Some(json!({"role": "root"})),
    )
    .await;
    assert_problem(&bad, StatusCode::BAD_REQUEST, "validation_failed");
    let missing = call(
        &app,
        Method::PUT,
        &format!("{members_path}/AAAAAAAAAAAAAAAAAAAAAA"),
        &ada_token,
        Some(json!({"role": "reader"})),
    )
    .await;
    assert_problem(&missing, StatusCode::NOT_FOUND, "not_found");

    // The tenant administrator manages any project, member or not.
    let removed = call(
        &app,
        Method::DELETE,
        &format!("{members_path}/{bob}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let removed = call(
        &app,
        Method::DELETE,
        &format!("{members_path}/{bob}"),
        &admin,
        None,
    )
    .await;
    assert_problem(&removed, StatusCode::NOT_FOUND, "not_found");
    let gone = call(
        &app,
        Method::GET,
        &format!("/projects/{id}"),
        &bob_token,
        None,
    )
    .await;
    assert_problem(&gone, StatusCode::NOT_FOUND, "not_found");

    let deleted = call(
        &app,
        Method::DELETE,
        &format!("/projects/{id}"),
        &ada_token,
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = call(&app, Method::GET, &format!("/projects/{id}"), &admin, None).await;
    assert_problem(&gone, StatusCode::NOT_FOUND, "not_found");
}

async fn permissions_are_derived_from_project_tenant_and_group_roles(app: TestApp) {
    let admin = app.admin_token().await;
    let ada = app
        .create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let dee = app
        .create_user(&admin, "default", "dee@example.com", "reader")
        .await;
    let boss = app
        .create_user(&admin, "default", "boss@example.com", "admin")
        .await;
    let ada_token = app.token("default", "ada@example.com", USER_PASSWORD).await;
    let project = call(
        &app,
        Method::POST,
        "/projects",
        &admin,
        Some(json!({"title": "P"})),
    )
    .await;
    let id = project.body["id"].as_str().unwrap().to_owned();
    let members_path = format!("/projects/{id}/members");
    let group = call(
        &app,
        Method::POST,
        "/groups",
        &admin,
        Some(json!({"name": "Team", "members": [ada, dee]})),
    )
    .await;
    let group_id = group.body["id"].as_str().unwrap().to_owned();

    for (user, role) in [(&ada, "reader"), (&dee, "admin"), (&boss, "reader")] {
        let added = call(
            &app,
            Method::POST,
            &members_path,
            &admin,
            Some(json!({"user_id": user, "role": role})),
        )
        .await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    }
    let added = call(
        &app,
        Method::POST,
        &members_path,
        &admin,
        Some(json!({"group_id": group_id, "role": "member"})),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    assert_eq!(added.body["member_type"], "group");
    assert_eq!(added.body["full_name"], "Team");
    assert!(has(&added.body["permissions"], "items.write.*"));
    let twice = call(
        &app,
        Method::POST,
        &members_path,
        &admin,
        Some(json!({"group_id": group_id, "role": "reader"})),
    )
    .await;
    assert_problem(&twice, StatusCode::CONFLICT, "conflict");

    let members = call(&app, Method::GET, &members_path, &admin, None)
        .await
        .body;
    // Ada: reader directly, member through the group: the higher wins.
    let ada_member = member(&members, &ada);
    assert_eq!(ada_member["project_role"], "reader");
    assert!(has(&ada_member["permissions"], "items.write.*"));
    // Dee: admin in the project, but a reader of the tenant: capped at reader.
    let dee_member = member(&members, &dee);
    assert_eq!(dee_member["project_role"], "admin");
    assert_eq!(dee_member["server_role"], "reader");
    assert!(has(&dee_member["permissions"], "items.read.*"));
    assert!(!has(&dee_member["permissions"], "items.write.*"));
    // Boss: a tenant administrator is a project administrator whatever is stored.
    let boss_member = member(&members, &boss);
    assert!(has(&boss_member["permissions"], "members.write.*"));
    assert!(has(&boss_member["permissions"], "projects.write.*"));

    // Ada sees the project with her effective role, and it is among her projects.
    let read = call(
        &app,
        Method::GET,
        &format!("/projects/{id}"),
        &ada_token,
        None,
    )
    .await;
    assert_eq!(read.body["role"], "member");
    let hers = call(
        &app,
        Method::GET,
        &format!("/users/{ada}/projects"),
        &ada_token,
        None,
    )
    .await;
    assert_eq!(hers.status, StatusCode::OK, "{}", hers.body);
    assert_eq!(hers.body["items"][0]["id"], id.as_str());
    assert_eq!(hers.body["items"][0]["role"], "member");
    let others = call(
        &app,
        Method::GET,
        &format!("/users/{dee}/projects"),
        &ada_token,
        None,
    )
    .await;
    assert_problem(&others, StatusCode::FORBIDDEN, "forbidden");
    let group_projects = call(
        &app,
        Method::GET,
        &format!("/groups/{group_id}/projects"),
        &admin,
        None,
    )
    .await;
    assert_eq!(group_projects.body["items"][0]["role"], "member");
    let with_projects = call(
        &app,
        Method::GET,
        &format!("/groups/{group_id}?include_projects=true"),
        &admin,
        None,
    )
    .await;
    assert_eq!(with_projects.body["projects"][0]["id"], id.as_str());

    // Changing the group's role changes Ada's derived permissions.
    let changed = call(
        &app,
        Method::PUT,
        &format!("{members_path}/{group_id}"),
        &admin,
        Some(json!({"role": "reader"})),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let members = call(&app, Method::GET, &members_path, &admin, None)
        .await
        .body;
    assert!(!has(
        &member(&members, &ada)["permissions"],
        "items.write.*"
    ));
}

async fn projects_are_visible_only_to_their_members_and_tenant(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_user(&admin, "default", "ada@example.com", "user")
        .await;
    app.create_user(&admin, "default", "bob@example.com", "user")
        .await;
    let ada_token = app.token("default", "ada@example.com", USER_PASSWORD).await;
    let bob_token = app.token("default", "bob@example.com", USER_PASSWORD).await;
    let mut ids = Vec::new();
    for title in ["One", "Two", "Three"] {
        let created = call(
            &app,
            Method::POST,
            "/projects",
            &ada_token,
            Some(json!({"title": title})),
        )
        .await;
        ids.push(created.body["id"].as_str().unwrap().to_owned());
    }
    // Bob sees none of Ada's projects; 404, not 403, for one of them.
    let listed = call(&app, Method::GET, "/projects", &bob_token, None).await;
    assert_eq!(listed.body["items"], json!([]));
    let hidden = call(
        &app,
        Method::GET,
        &format!("/projects/{}", ids[0]),
        &bob_token,
        None,
    )
    .await;
    assert_problem(&hidden, StatusCode::NOT_FOUND, "not_found");
    let hidden = call(
        &app,
        Method::GET,
        &format!("/projects/{}/members", ids[0]),
        &bob_token,
        None,
    )
    .await;
    assert_problem(&hidden, StatusCode::NOT_FOUND, "not_found");

    // Ada and the administrator see all three, paged.
    let page = call(&app, Method::GET, "/projects?limit=2", &ada_token, None).await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 2);
    let next = page.body["next"].as_str().unwrap();
    let rest = call(
        &app,
        Method::GET,
        &format!("/projects?limit=2&after={next}"),
        &ada_token,
        None,
    )
    .await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
    let all = call(&app, Method::GET, "/projects", &admin, None).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 3);

    // Another tenant's project is not found through this tenant.
    app.create_tenant(&admin, "globex").await;
    let theirs = app
        .call(
            Method::POST,
            "/api/v1/tenants/globex/projects",
            Some(&admin),
            Some(json!({"title": "Theirs"})),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.body);
    let theirs = theirs.body["id"].as_str().unwrap();
    for method in [Method::GET, Method::DELETE] {
        let missing = call(&app, method, &format!("/projects/{theirs}"), &admin, None).await;
        assert_problem(&missing, StatusCode::NOT_FOUND, "not_found");
    }
    let refused = app
        .call(
            Method::GET,
            "/api/v1/tenants/globex/projects",
            Some(&ada_token),
            None,
        )
        .await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");
    for path in ["/projects/AAAAAAAAAAAAAAAAAAAAAA", "/projects/nope"] {
        let missing = call(&app, Method::GET, path, &admin, None).await;
        assert_problem(&missing, StatusCode::NOT_FOUND, "not_found");
    }
}
