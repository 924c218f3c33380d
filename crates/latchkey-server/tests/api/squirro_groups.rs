//! The Squirro dialect's groups, project members and topic projects over HTTP (wire
//! details the Python suite does not pin down): the bare group array, JSON inside form
//! fields, 200 (not 201) for a new project member, 201 for groups and topic projects,
//! empty 204s and Squirro error objects.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Reply, TestApp, USER_PASSWORD, on_both_backends};

on_both_backends!(
    groups_wire_details,
    project_members_and_topic_projects_wire_details,
    update_group_sets_the_groups_projects_as_a_whole,
    workspaces_list_the_projects_the_caller_can_access,
    users_of_get_users_carry_their_groups_and_config,
);

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    fields: &[(&str, &str)],
) -> Reply {
    let request = app
        .http
        .request(method, app.url(path))
        .form(fields)
        .bearer_auth(token);
    TestApp::read(request.send().await.unwrap()).await
}

fn assert_error(reply: &Reply, status: StatusCode) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(
        reply.body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{}",
        reply.body
    );
}

fn assert_empty_204(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(reply.body, Value::Null);
}

async fn groups_wire_details(app: TestApp) {
    let admin = app.admin_token().await;
    let alice = app
        .create_user(&admin, "default", "alice.g@example.com", "user")
        .await;
    let bob = app
        .create_user(&admin, "default", "bob.g@example.com", "user")
        .await;
    const GROUPS: &str = "/api/user/v0/default/groups";

    // `members` is a JSON string inside the form.
    let members = json!([{ "id": alice }]).to_string();
    let created = send(
        &app,
        Method::POST,
        GROUPS,
        &admin,
        &[("name", "Analysts"), ("members", &members)],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let gid = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["name"], "Analysts");
    assert_eq!(created.body["members"][0]["id"], alice.as_str());
    assert_eq!(created.body["members"][0]["email"], "alice.g@example.com");
    assert!(created.body["members"][0]["role_permissions"].is_array());
    assert_eq!(created.body["members"][0]["tenant"], "default");

    // Not JSON, or not a list: 400; a taken name: 409; an unknown member: 404.
    for bad in ["not json", "{\"id\": 1}", "[1]"] {
        let reply = send(
            &app,
            Method::POST,
            GROUPS,
            &admin,
            &[("name", "Other"), ("members", bad)],
        )
        .await;
        assert_error(&reply, StatusCode::BAD_REQUEST);
    }
    let reply = send(&app, Method::POST, GROUPS, &admin, &[("name", "Analysts")]).await;
    assert_error(&reply, StatusCode::CONFLICT);
    let unknown = json!([{ "id": "A".repeat(22) }]).to_string();
    let reply = send(
        &app,
        Method::POST,
        GROUPS,
        &admin,
        &[("name", "Ghosts"), ("members", &unknown)],
    )
    .await;
    assert_error(&reply, StatusCode::NOT_FOUND);

    // The list is a bare JSON array.
    let listed = app.call(Method::GET, GROUPS, Some(&admin), None).await;
    assert_eq!(listed.status, StatusCode::OK);
    let listed = listed.body.as_array().expect("a bare array").clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], gid.as_str());

    // POST to the group itself adds a member: 200 with the user object.
    let path = format!("{GROUPS}/{gid}");
    let added = send(&app, Method::POST, &path, &admin, &[("user_id", &bob)]).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(added.body["id"], bob.as_str());
    assert_eq!(added.body["email"], "bob.g@example.com");
    let again = send(&app, Method::POST, &path, &admin, &[("user_id", &bob)]).await;
    assert_error(&again, StatusCode::CONFLICT);

    // The user object names the user's groups.
    let user = app
        .call(
            Method::GET,
            &format!("/api/user/v0/default/users/{bob}?include_projects=False"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        user.body["groups"],
        json!([{ "id": gid, "name": "Analysts" }])
    );

    // PUT renames and replaces members (JSON string); `include_projects` is honoured.
    let members = json!([{ "id": bob }]).to_string();
    let updated = send(
        &app,
        Method::PUT,
        &path,
        &admin,
        &[("name", "Researchers"), ("members", &members)],
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["name"], "Researchers");
    assert_eq!(updated.body["members"].as_array().unwrap().len(), 1);
    let got = app
        .call(
            Method::GET,
            &format!("{path}?include_projects=True"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(got.body["projects"], json!([]));
    let got = app
        .call(
            Method::GET,
            &format!("{path}?include_projects=False"),
            Some(&admin),
            None,
        )
        .await;
    assert!(got.body.get("projects").is_none());

    // Members of the tenant without `users.write` are refused (403).
    let user_token = app
        .token("default", "alice.g@example.com", USER_PASSWORD)
        .await;
    let refused = send(&app, Method::POST, GROUPS, &user_token, &[("name", "Mine")]).await;
    assert_error(&refused, StatusCode::FORBIDDEN);

    // Member removal and group deletion: empty 204s; then 404.
    let removed = app
        .call(
            Method::DELETE,
            &format!("{path}/members/{bob}"),
            Some(&admin),
            None,
        )
        .await;
    assert_empty_204(&removed);
    let removed = app
        .call(
            Method::DELETE,
            &format!("{path}/members/{bob}"),
            Some(&admin),
            None,
        )
        .await;
    assert_error(&removed, StatusCode::NOT_FOUND);
    assert_empty_204(&app.call(Method::DELETE, &path, Some(&admin), None).await);
    assert_error(
        &app.call(Method::GET, &path, Some(&admin), None).await,
        StatusCode::NOT_FOUND,
    );
}

async fn project_members_and_topic_projects_wire_details(app: TestApp) {
    let admin = app.admin_token().await;
    let carol = app
        .create_user(&admin, "default", "carol.p@example.com", "user")
        .await;
    const PROJECTS: &str = "/api/topic/v0/default/projects";

    // Topic projects: a form, 201; a bare list; 400 without a title.
    let created = send(
        &app,
        Method::POST,
        PROJECTS,
        &admin,
        &[("title", "Research"), ("description", "d"), ("token", "x")],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["title"], "Research");
    assert_eq!(created.body["description"], "d");
    let pid = created.body["id"].as_str().unwrap().to_owned();
    let reply = send(
        &app,
        Method::POST,
        PROJECTS,
        &admin,
        &[("description", "d")],
    )
    .await;
    assert_error(&reply, StatusCode::BAD_REQUEST);
    let listed = app.call(Method::GET, PROJECTS, Some(&admin), None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert!(
        listed
            .body
            .as_array()
            .expect("a bare array")
            .iter()
            .any(|p| p["id"] == pid.as_str())
    );
    let unknown_path = app
        .call(
            Method::GET,
            "/api/topic/v0/default/nothing",
            Some(&admin),
            None,
        )
        .await;
    assert_error(&unknown_path, StatusCode::NOT_FOUND);

    // Adding a member answers 200 (not 201) with one member object.
    let members = format!("/api/user/v0/default/projects/{pid}/members");
    let added = send(
        &app,
        Method::POST,
        &members,
        &admin,
        &[("role", "reader"), ("user_id", &carol)],
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(added.body["member_id"], carol.as_str());
    assert_eq!(added.body["member_type"], "user");
    assert_eq!(added.body["email"], "carol.p@example.com");
    assert_eq!(added.body["server_role"], "user");
    assert_eq!(added.body["project_role"], "reader");
    assert_eq!(added.body["project_id"], pid.as_str());
    assert!(added.body["permissions"].is_array());
    // Neither or both of user_id/group_id, or an unknown role: 400; again: 409.
    let reply = send(&app, Method::POST, &members, &admin, &[("role", "reader")]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST);
    let reply = send(
        &app,
        Method::POST,
        &members,
        &admin,
        &[("role", "owner"), ("user_id", &carol)],
    )
    .await;
    assert_error(&reply, StatusCode::BAD_REQUEST);
    let reply = send(
        &app,
        Method::POST,
        &members,
        &admin,
        &[("role", "reader"), ("user_id", &carol)],
    )
    .await;
    assert_error(&reply, StatusCode::CONFLICT);

    let listed = app.call(Method::GET, &members, Some(&admin), None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert!(
        listed.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["member_id"] == carol.as_str())
    );
    let member = format!("{members}/{carol}");
    let updated = send(&app, Method::PUT, &member, &admin, &[("role", "member")]).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["project_role"], "member");

    // A project member who is no project administrator cannot manage members (403).
    let carol_token = app
        .token("default", "carol.p@example.com", USER_PASSWORD)
        .await;
    let refused = send(
        &app,
        Method::PUT,
        &member,
        &carol_token,
        &[("role", "admin")],
    )
    .await;
    assert_error(&refused, StatusCode::FORBIDDEN);

    assert_empty_204(&app.call(Method::DELETE, &member, Some(&admin), None).await);
    assert_error(
        &app.call(Method::DELETE, &member, Some(&admin), None).await,
        StatusCode::NOT_FOUND,
    );
    let project = format!("{PROJECTS}/{pid}");
    assert_eq!(
        app.call(Method::GET, &project, Some(&admin), None)
            .await
            .body["id"],
        pid.as_str()
    );
    assert_empty_204(&app.call(Method::DELETE, &project, Some(&admin), None).await);
    assert_error(
        &app.call(Method::GET, &project, Some(&admin), None).await,
        StatusCode::NOT_FOUND,
    );
}

/// A new topic project in `tenant`; returns its id.
async fn new_project(app: &TestApp, token: &str, tenant: &str, title: &str) -> String {
    let created = send(
        app,
        Method::POST,
        &format!("/api/topic/v0/{tenant}/projects"),
        token,
        &[("title", title)],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

/// `[{id, title, role}]` sorted by id, as the dialect lists projects.
fn projects_by_id(mut projects: Vec<(&str, &str, &str)>) -> Value {
    projects.sort_by(|a, b| a.0.cmp(b.0));
    Value::Array(
        projects
            .into_iter()
            .map(|(id, title, role)| json!({ "id": id, "title": title, "role": role }))
            .collect(),
    )
}

async fn update_group_sets_the_groups_projects_as_a_whole(app: TestApp) {
    let admin = app.admin_token().await;
    let dana = app
        .create_user(&admin, "default", "dana.s@example.com", "user")
        .await;
    let alpha = new_project(&app, &admin, "default", "Alpha").await;
    let beta = new_project(&app, &admin, "default", "Beta").await;
    let gamma = new_project(&app, &admin, "default", "Gamma").await;
    const GROUPS: &str = "/api/user/v0/default/groups";
    let members = json!([{ "id": dana }]).to_string();
    let created = send(
        &app,
        Method::POST,
        GROUPS,
        &admin,
        &[("name", "Editors"), ("members", &members)],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let gid = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("{GROUPS}/{gid}");
    // The group administers alpha (given by hand).
    let added = send(
        &app,
        Method::POST,
        &format!("/api/user/v0/default/projects/{alpha}/members"),
        &admin,
        &[("role", "admin"), ("group_id", &gid)],
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);

    // {alpha, beta}: beta joins as `member`, alpha keeps `admin`; the answer lists them.
    let projects = json!([alpha, beta]).to_string();
    let updated = send(
        &app,
        Method::PUT,
        &path,
        &admin,
        &[("name", "Editors"), ("projects", &projects)],
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    let both = projects_by_id(vec![(&alpha, "Alpha", "admin"), (&beta, "Beta", "member")]);
    assert_eq!(updated.body["projects"], both);
    assert_eq!(updated.body["members"][0]["id"], dana.as_str());

    // One unknown project refuses the whole update (404) and changes nothing: not the
    // projects, and not the name or the members sent with them either.
    let projects = json!([gamma, "A".repeat(22)]).to_string();
    let refused = send(
        &app,
        Method::PUT,
        &path,
        &admin,
        &[
            ("name", "Renamed Editors"),
            ("members", "[]"),
            ("projects", &projects),
        ],
    )
    .await;
    assert_error(&refused, StatusCode::NOT_FOUND);
    let read = app
        .call(
            Method::GET,
            &format!("{path}?include_projects=True"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(read.body["projects"], both, "a refused set changes nothing");
    assert_eq!(read.body["name"], "Editors", "{}", read.body);
    assert_eq!(
        read.body["members"][0]["id"],
        dana.as_str(),
        "{}",
        read.body
    );

    // {gamma, beta}: alpha loses the group, beta keeps `member`, gamma joins.
    let projects = json!([gamma, beta]).to_string();
    let updated = send(
        &app,
        Method::PUT,
        &path,
        &admin,
        &[("name", "Editors"), ("projects", &projects)],
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(
        updated.body["projects"],
        projects_by_id(vec![(&beta, "Beta", "member"), (&gamma, "Gamma", "member")])
    );
    let alpha_members = app
        .call(
            Method::GET,
            &format!("/api/user/v0/default/projects/{alpha}/members"),
            Some(&admin),
            None,
        )
        .await;
    assert!(
        alpha_members.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["member_id"] != gid.as_str()),
        "{}",
        alpha_members.body
    );

    // A project administrator who may not manage groups is refused (403); `[]` empties
    // the set.
    let dana_token = app
        .token("default", "dana.s@example.com", USER_PASSWORD)
        .await;
    let projects = json!([]).to_string();
    let refused = send(
        &app,
        Method::PUT,
        &path,
        &dana_token,
        &[("projects", &projects)],
    )
    .await;
    assert_error(&refused, StatusCode::FORBIDDEN);
    let emptied = send(&app, Method::PUT, &path, &admin, &[("projects", &projects)]).await;
    assert_eq!(emptied.status, StatusCode::OK, "{}", emptied.body);
    assert_eq!(emptied.body["projects"], json!([]));
}

async fn workspaces_list_the_projects_the_caller_can_access(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_tenant(&admin, "second").await;
    let erin = app
        .create_user(&admin, "default", "erin.w@example.com", "user")
        .await;
    let joined = app
        .call(
            Method::POST,
            "/api/v1/tenants/second/members",
            Some(&admin),
            Some(json!({"emails": ["erin.w@example.com"], "role": "user"})),
        )
        .await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.body);

    // Default: erin reads alpha directly and edits beta through a group; gamma is not
    // hers. Second: she reads delta; epsilon is not hers.
    let alpha = new_project(&app, &admin, "default", "Alpha").await;
    let beta = new_project(&app, &admin, "default", "Beta").await;
    let gamma = new_project(&app, &admin, "default", "Gamma").await;
    let delta = new_project(&app, &admin, "second", "Delta").await;
    new_project(&app, &admin, "second", "Epsilon").await;
    for (tenant, project) in [("default", &alpha), ("second", &delta)] {
        let added = send(
            &app,
            Method::POST,
            &format!("/api/user/v0/{tenant}/projects/{project}/members"),
            &admin,
            &[("role", "reader"), ("user_id", &erin)],
        )
        .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    }
    let members = json!([{ "id": erin }]).to_string();
    let projects = json!([beta]).to_string();
    let group = send(
        &app,
        Method::POST,
        "/api/user/v0/default/groups",
        &admin,
        &[("name", "Writers"), ("members", &members)],
    )
    .await;
    let gid = group.body["id"].as_str().unwrap().to_owned();
    let updated = send(
        &app,
        Method::PUT,
        &format!("/api/user/v0/default/groups/{gid}"),
        &admin,
        &[("projects", &projects)],
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);

    let erin_token = app
        .token("default", "erin.w@example.com", USER_PASSWORD)
        .await;
    let listed = app
        .call(
            Method::GET,
            "/api/user/v2/workspaces?include_projects=True&admin_only=False",
            Some(&erin_token),
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let workspaces = listed.body["workspaces"].as_array().unwrap();
    let domains: Vec<&str> = workspaces
        .iter()
        .map(|w| w["domain"].as_str().unwrap())
        .collect();
    assert_eq!(domains, ["default", "second"]);
    assert_eq!(
        workspaces[0]["projects"],
        projects_by_id(vec![(&alpha, "Alpha", "reader"), (&beta, "Beta", "member")])
    );
    assert_eq!(
        workspaces[1]["projects"],
        projects_by_id(vec![(&delta, "Delta", "reader")])
    );

    // A restricted grant's token acts only in its grant's tenant: elsewhere it is shown
    // no projects.
    let grant = send(
        &app,
        Method::POST,
        &format!("/api/user/v0/default/users/{erin}/grants"),
        &erin_token,
        &[("type", "user"), ("project_permissions", "projects.read.*")],
    )
    .await;
    assert_eq!(grant.status, StatusCode::CREATED, "{}", grant.body);
    let refresh = grant.body["refresh_token"].as_str().unwrap();
    let restricted = TestApp::read(
        app.http
            .post(app.url("/api/user/oauth2/token"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        restricted.body["project_permissions"],
        json!(["projects.read.*"])
    );
    assert_eq!(restricted.status, StatusCode::OK, "{}", restricted.body);
    let restricted = restricted.body["access_token"].as_str().unwrap();
    let listed = app
        .call(
            Method::GET,
            "/api/user/v2/workspaces?include_projects=True&admin_only=False",
            Some(restricted),
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(
        listed.body["workspaces"][0]["projects"],
        projects_by_id(vec![(&alpha, "Alpha", "reader"), (&beta, "Beta", "member")])
    );
    assert_eq!(listed.body["workspaces"][1]["domain"], "second");
    assert_eq!(listed.body["workspaces"][1]["projects"], json!([]));

    // Without include_projects there is no `projects`; a tenant administrator
    // administers every project of its tenant.
    let listed = app
        .call(
            Method::GET,
            "/api/user/v2/workspaces?include_projects=False&admin_only=False",
            Some(&erin_token),
            None,
        )
        .await;
    assert!(
        listed.body["workspaces"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w.get("projects").is_none()),
        "{}",
        listed.body
    );
    let listed = app
        .call(
            Method::GET,
            "/api/user/v2/workspaces?include_projects=true&admin_only=true",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(listed.body["workspaces"].as_array().unwrap().len(), 1);
    assert_eq!(
        listed.body["workspaces"][0]["projects"],
        projects_by_id(vec![
            (&alpha, "Alpha", "admin"),
            (&beta, "Beta", "admin"),
            (&gamma, "Gamma", "admin"),
        ])
    );
}

async fn users_of_get_users_carry_their_groups_and_config(app: TestApp) {
    let admin = app.admin_token().await;
    let fay = app
        .create_user(&admin, "default", "fay.u@example.com", "user")
        .await;
    let gus = app
        .create_user(&admin, "default", "gus.u@example.com", "reader")
        .await;
    let mut groups = Vec::new();
    for name in ["Blue", "Amber"] {
        let members = json!([{ "id": fay }]).to_string();
        let created = send(
            &app,
            Method::POST,
            "/api/user/v0/default/groups",
            &admin,
            &[("name", name), ("members", &members)],
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        groups.push(created.body["id"].as_str().unwrap().to_owned());
    }
    let custom = app
        .call(
            Method::PUT,
            &format!("/api/user/v1/default/users/{fay}"),
            Some(&admin),
            Some(json!({"team": "platform", "desk": 7})),
        )
        .await;
    assert_eq!(custom.status, StatusCode::OK, "{}", custom.body);

    let user_in = |body: &Value, id: &str| -> Value {
        body["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} listed: {body}"))
    };
    // Each user's groups, by name, as the single-user view shows them.
    let listed = app
        .call(
            Method::GET,
            "/api/user/v0/default/users",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let fay_listed = user_in(&listed.body, &fay);
    assert_eq!(
        fay_listed["groups"],
        json!([{ "id": groups[1], "name": "Amber" }, { "id": groups[0], "name": "Blue" }])
    );
    let fay_read = app
        .call(
            Method::GET,
            &format!("/api/user/v0/default/users/{fay}?include_projects=False"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(fay_listed["groups"], fay_read.body["groups"]);
    assert_eq!(user_in(&listed.body, &gus)["groups"], json!([]));
    assert!(fay_listed.get("config").is_none(), "{fay_listed}");

    // include_config=True: the custom data as `config`; False: none; other values 400.
    let listed = app
        .call(
            Method::GET,
            "/api/user/v0/default/users?include_config=True",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(
        user_in(&listed.body, &fay)["config"],
        json!({"team": "platform", "desk": 7})
    );
    assert_eq!(user_in(&listed.body, &gus)["config"], json!({}));
    let listed = app
        .call(
            Method::GET,
            "/api/user/v0/default/users?include_config=False",
            Some(&admin),
            None,
        )
        .await;
    assert!(user_in(&listed.body, &fay).get("config").is_none());
    assert_error(
        &app.call(
            Method::GET,
            "/api/user/v0/default/users?include_config=perhaps",
            Some(&admin),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
}
