//! Keycloak's admin user API under `/admin/realms/{r}/users` and
//! `/auth/admin/realms/{r}/users`, as python-keycloak's `KeycloakAdmin` calls it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{ADMIN_EMAIL, Reply, TestApp, USER_PASSWORD, on_both_backends};

on_both_backends!(
    admin_user_lifecycle,
    admin_errors_are_keycloak_objects,
    admin_api_follows_the_native_permissions,
    admin_user_lists_page_by_offset_and_filter,
    admin_user_view_reports_the_second_factor,
);

const USERS: &str = "/admin/realms/default/users";

/// Sends a request the way `KeycloakAdmin` does: `Content-Type: application/json` on
/// every call, bodies or not.
async fn kc(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
    let request = app
        .http
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.map(|b| b.to_string()).unwrap_or_default());
    TestApp::read(request.send().await.unwrap()).await
}

fn assert_kc_error(reply: &Reply, status: StatusCode) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(reply.body.is_object(), "{}", reply.body);
    assert!(reply.body["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(
        reply.body["errorMessage"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{}",
        reply.body
    );
}

/// Creates a user through the admin API; returns its id from `Location`.
async fn kc_create(app: &TestApp, prefix: &str, token: &str, user: Value) -> String {
    let reply = kc(
        app,
        Method::POST,
        &format!("{prefix}{USERS}"),
        token,
        Some(user),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body, Value::Null, "201 has an empty body");
    let location = reply.headers["location"].to_str().unwrap();
    assert!(
        location.starts_with(&format!("{}{prefix}{USERS}/", app.base)),
        "{location}"
    );
    location.rsplit('/').next().unwrap().to_owned()
}

async fn sign_in_status(app: &TestApp, login: &str, password: &str) -> StatusCode {
    app.sign_in("default", login, password).await.status
}

async fn admin_user_lifecycle(app: TestApp) {
    let admin = app.admin_token().await;
    for prefix in ["", "/auth"] {
        let tag = if prefix.is_empty() { "root" } else { "auth" };
        let username = format!("ada-{tag}");
        let email = format!("ada.{tag}@example.com");
        let id = kc_create(
            &app,
            prefix,
            &admin,
            json!({
                "username": username, "email": email, "enabled": true,
                "firstName": "Ada", "lastName": "King Lovelace",
                "emailVerified": true, "requiredActions": [],
                "credentials": [{"type": "password", "value": USER_PASSWORD, "temporary": false}],
                "attributes": {"dept": ["eng", "math"], "floor": "3"},
            }),
        )
        .await;
        let user_path = format!("{prefix}{USERS}/{id}");

        // The credentials were set: the user signs in with either name.
        assert_eq!(
            sign_in_status(&app, &username, USER_PASSWORD).await,
            StatusCode::OK
        );

        let user = kc(&app, Method::GET, &user_path, &admin, None).await;
        assert_eq!(user.status, StatusCode::OK, "{}", user.body);
        let body = &user.body;
        assert_eq!(body["id"], id);
        assert_eq!(body["username"], username);
        assert_eq!(body["email"], email);
        assert_eq!(body["enabled"], true);
        assert_eq!(body["firstName"], "Ada");
        assert_eq!(body["lastName"], "King Lovelace");
        assert_eq!(body["emailVerified"], false);
        assert_eq!(
            body["attributes"],
            json!({"dept": ["eng", "math"], "floor": ["3"]})
        );
        let created = body["createdTimestamp"].as_i64().unwrap();
        let now_ms = i64::try_from(app.clock_ms()).unwrap();
        assert!((now_ms - created).abs() < 60_000, "{created} vs {now_ms}");
        // The native view of the same account.
        let native = app
            .call(
                Method::GET,
                &format!("/api/v1/tenants/default/users/{id}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(native.body["display_name"], "Ada King Lovelace");
        assert_eq!(native.body["username"], username);

        // Partial updates: exactly 204, other fields untouched.
        let put = kc(
            &app,
            Method::PUT,
            &user_path,
            &admin,
            Some(json!({"firstName": "Augusta"})),
        )
        .await;
        assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.body);
        assert_eq!(put.body, Value::Null);
        let user = kc(&app, Method::GET, &user_path, &admin, None).await.body;
        assert_eq!(user["firstName"], "Augusta");
        assert_eq!(user["lastName"], "King Lovelace");
        assert_eq!(user["attributes"]["dept"], json!(["eng", "math"]));
        // Sending the whole representation back changes nothing.
        let put = kc(&app, Method::PUT, &user_path, &admin, Some(user.clone())).await;
        assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.body);
        assert_eq!(
            kc(&app, Method::GET, &user_path, &admin, None).await.body,
            user
        );
        // Attributes are replaced as a whole; an empty map removes them.
        let put = kc(
            &app,
            Method::PUT,
            &user_path,
            &admin,
            Some(json!({"attributes": {"team": ["core"]}})),
        )
        .await;
        assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.body);
        let user = kc(&app, Method::GET, &user_path, &admin, None).await.body;
        assert_eq!(user["attributes"], json!({"team": ["core"]}));
        kc(
            &app,
            Method::PUT,
            &user_path,
            &admin,
            Some(json!({"attributes": {}})),
        )
        .await;
        let user = kc(&app, Method::GET, &user_path, &admin, None).await.body;
        assert!(user.get("attributes").is_none(), "{user}");

        // Disable / enable.
        let put = kc(
            &app,
            Method::PUT,
            &user_path,
            &admin,
            Some(json!({"enabled": false})),
        )
        .await;
        assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.body);
        assert_eq!(
            kc(&app, Method::GET, &user_path, &admin, None).await.body["enabled"],
            false
        );
        assert_eq!(
            sign_in_status(&app, &email, USER_PASSWORD).await,
            StatusCode::UNAUTHORIZED
        );
        kc(
            &app,
            Method::PUT,
            &user_path,
            &admin,
            Some(json!({"enabled": true})),
        )
        .await;
        assert_eq!(
            sign_in_status(&app, &email, USER_PASSWORD).await,
            StatusCode::OK
        );

        // Sessions, then logout ends them all.
        let user_token = app.token("default", &email, USER_PASSWORD).await;
        let sessions = kc(
            &app,
            Method::GET,
            &format!("{user_path}/sessions"),
            &admin,
            None,
        )
        .await;
        assert_eq!(sessions.status, StatusCode::OK, "{}", sessions.body);
        let list = sessions.body.as_array().unwrap();
        assert!(list.len() >= 2, "{}", sessions.body);
        for session in list {
            assert_eq!(session["userId"], id);
            assert_eq!(session["username"], username);
            assert!(session["id"].as_str().is_some_and(|s| !s.is_empty()));
            assert!(session["start"].as_i64().unwrap() > 1_600_000_000_000);
            assert!(session["lastAccess"].as_i64().unwrap() >= session["start"].as_i64().unwrap());
            assert!(session.get("ipAddress").is_some());
        }
        let groups = kc(
            &app,
            Method::GET,
            &format!("{user_path}/groups?briefRepresentation=True&first=0&max=100"),
            &admin,
            None,
        )
        .await;
        assert_eq!(groups.status, StatusCode::OK);
        assert_eq!(groups.body, json!([]));
        // In a group, the user's groups list it, as Keycloak's GroupRepresentation.
        let group = app
            .call(
                Method::POST,
                "/api/v1/tenants/default/groups",
                Some(&admin),
                Some(json!({"name": "Editors", "members": [id]})),
            )
            .await;
        assert_eq!(group.status, StatusCode::CREATED, "{}", group.body);
        let groups = kc(
            &app,
            Method::GET,
            &format!("{user_path}/groups"),
            &admin,
            None,
        )
        .await;
        assert_eq!(groups.status, StatusCode::OK, "{}", groups.body);
        assert_eq!(
            groups.body,
            json!([{"id": group.body["id"], "name": "Editors", "path": "/Editors", "subGroups": []}])
        );
        let removed = app
            .call(
                Method::DELETE,
                &format!(
                    "/api/v1/tenants/default/groups/{}",
                    group.body["id"].as_str().unwrap()
                ),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
        let logout = kc(
            &app,
            Method::POST,
            &format!("{user_path}/logout"),
            &admin,
            None,
        )
        .await;
        assert_eq!(logout.status, StatusCode::NO_CONTENT, "{}", logout.body);
        let sessions = kc(
            &app,
            Method::GET,
            &format!("{user_path}/sessions"),
            &admin,
            None,
        )
        .await;
        assert_eq!(sessions.body, json!([]));
        let me = app
            .call(Method::GET, "/api/v1/me", Some(&user_token), None)
            .await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);

        // reset-password: the old password stops working, the new one works.
        let reset = kc(
            &app,
            Method::PUT,
            &format!("{user_path}/reset-password"),
            &admin,
            Some(json!({"type": "password", "temporary": true, "value": "a brand new passphrase"})),
        )
        .await;
        assert_eq!(reset.status, StatusCode::NO_CONTENT, "{}", reset.body);
        assert_eq!(
            sign_in_status(&app, &email, USER_PASSWORD).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            sign_in_status(&app, &email, "a brand new passphrase").await,
            StatusCode::OK
        );
        let weak = kc(
            &app,
            Method::PUT,
            &format!("{user_path}/reset-password"),
            &admin,
            Some(json!({"type": "password", "temporary": false, "value": "short"})),
        )
        .await;
        assert_kc_error(&weak, StatusCode::BAD_REQUEST);
        assert_eq!(weak.body["error"], "invalid_password");

        // Delete: exactly 204, then the user is gone.
        let delete = kc(&app, Method::DELETE, &user_path, &admin, None).await;
        assert_eq!(delete.status, StatusCode::NO_CONTENT, "{}", delete.body);
        let gone = kc(&app, Method::GET, &user_path, &admin, None).await;
        assert_kc_error(&gone, StatusCode::NOT_FOUND);
        assert_eq!(gone.body["error"], "User not found");
    }

    // An email used as the username is the account's email; no Latchkey username.
    let id = kc_create(
        &app,
        "",
        &admin,
        json!({"username": "Grace@Example.com", "enabled": false, "firstName": "Grace"}),
    )
    .await;
    let user = kc(&app, Method::GET, &format!("{USERS}/{id}"), &admin, None)
        .await
        .body;
    assert_eq!(user["username"], "Grace@Example.com");
    assert_eq!(user["email"], "Grace@Example.com");
    assert_eq!(user["enabled"], false, "created disabled");
    assert_eq!(user["firstName"], "Grace");
    assert!(user.get("lastName").is_none());
    let found = kc(
        &app,
        Method::GET,
        &format!("{USERS}?username=grace%40example.com&max=1&exact=True"),
        &admin,
        None,
    )
    .await;
    assert_eq!(found.body.as_array().unwrap().len(), 1, "{}", found.body);
    assert_eq!(found.body[0]["id"], id);
    // Renaming to a plain username keeps the email.
    let put = kc(
        &app,
        Method::PUT,
        &format!("{USERS}/{id}"),
        &admin,
        Some(json!({"username": "grace"})),
    )
    .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.body);
    let user = kc(&app, Method::GET, &format!("{USERS}/{id}"), &admin, None)
        .await
        .body;
    assert_eq!(user["username"], "grace");
    assert_eq!(user["email"], "Grace@Example.com");
    // Credentials on a PUT set the password too.
    let put = kc(
        &app,
        Method::PUT,
        &format!("{USERS}/{id}"),
        &admin,
        Some(
            json!({"enabled": true, "credentials": [{"type": "password", "value": USER_PASSWORD}]}),
        ),
    )
    .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.body);
    assert_eq!(
        sign_in_status(&app, "grace", USER_PASSWORD).await,
        StatusCode::OK
    );
}

async fn admin_errors_are_keycloak_objects(app: TestApp) {
    let admin = app.admin_token().await;
    // 401: no token, a bad token.
    let reply = TestApp::read(
        app.http
            .get(app.url(USERS))
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_kc_error(&reply, StatusCode::UNAUTHORIZED);
    let reply = kc(&app, Method::GET, USERS, "not.a.token", None).await;
    assert_kc_error(&reply, StatusCode::UNAUTHORIZED);
    let reply = kc(
        &app,
        Method::GET,
        &format!("{USERS}/count"),
        "garbage",
        None,
    )
    .await;
    assert_kc_error(&reply, StatusCode::UNAUTHORIZED);

    kc_create(
        &app,
        "",
        &admin,
        json!({"username": "dup", "email": "dup@example.com"}),
    )
    .await;
    // 409 with Keycloak's phrases.
    let same_name = kc(
        &app,
        Method::POST,
        USERS,
        &admin,
        Some(json!({"username": "DUP", "email": "other@example.com"})),
    )
    .await;
    assert_kc_error(&same_name, StatusCode::CONFLICT);
    assert_eq!(
        same_name.body["errorMessage"],
        "User exists with same username"
    );
    let same_email = kc(
        &app,
        Method::POST,
        USERS,
        &admin,
        Some(json!({"username": "dup2", "email": "DUP@example.com"})),
    )
    .await;
    assert_kc_error(&same_email, StatusCode::CONFLICT);
    assert_eq!(
        same_email.body["errorMessage"],
        "User exists with same email"
    );

    // 400s.
    for body in [
        json!({"username": "no-email"}),
        json!({"username": "bad name!", "email": "bad@example.com"}),
        json!({"username": "x@example.com", "email": "y@example.com"}),
        json!({"email": "weak@example.com", "credentials": [{"type": "password", "value": "short", "temporary": false}]}),
        json!({"email": "otp@example.com", "credentials": [{"type": "otp", "value": "123456"}]}),
        json!({"email": "attr@example.com", "attributes": {"n": 5}}),
        json!({"email": 42}),
    ] {
        let reply = kc(&app, Method::POST, USERS, &admin, Some(body.clone())).await;
        assert_kc_error(&reply, StatusCode::BAD_REQUEST);
        assert!(
            !reply.body.to_string().contains("123456"),
            "{body}: {}",
            reply.body
        );
    }
    let weak = kc(
        &app,
        Method::POST,
        USERS,
        &admin,
        Some(json!({"email": "weak@example.com", "credentials": [{"type": "password", "value": "short"}]})),
    )
    .await;
    assert_eq!(weak.body["error"], "invalid_password");
    assert!(
        weak.body["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("Invalid password: "),
        "{}",
        weak.body
    );
    // Nothing was created by the refused requests.
    let count = kc(&app, Method::GET, &format!("{USERS}/count"), &admin, None).await;
    assert_eq!(count.body, json!(2), "the bootstrap admin and `dup`");
    let not_json = app
        .post_raw(USERS, &admin, "application/json", "{not json")
        .await;
    assert_kc_error(&not_json, StatusCode::BAD_REQUEST);
    let bad_first = kc(
        &app,
        Method::GET,
        &format!("{USERS}?first=abc"),
        &admin,
        None,
    )
    .await;
    assert_kc_error(&bad_first, StatusCode::BAD_REQUEST);

    // 404s: unknown id (shaped or not), unknown realm.
    for id in ["AAAAAAAAAAAAAAAAAAAAAA", "nope"] {
        for (method, suffix) in [
            (Method::GET, ""),
            (Method::PUT, ""),
            (Method::DELETE, ""),
            (Method::GET, "/groups"),
            (Method::GET, "/sessions"),
            (Method::POST, "/logout"),
        ] {
            let body = (method == Method::PUT).then(|| json!({"firstName": "X"}));
            let reply = kc(&app, method, &format!("{USERS}/{id}{suffix}"), &admin, body).await;
            assert_kc_error(&reply, StatusCode::NOT_FOUND);
            assert_eq!(reply.body["error"], "User not found", "{suffix}");
        }
    }
    let reply = kc(
        &app,
        Method::GET,
        "/admin/realms/nowhere/users",
        &admin,
        None,
    )
    .await;
    assert_kc_error(&reply, StatusCode::NOT_FOUND);
    let reply = kc(
        &app,
        Method::GET,
        "/auth/admin/realms/nowhere/users/count",
        &admin,
        None,
    )
    .await;
    assert_kc_error(&reply, StatusCode::NOT_FOUND);
}

async fn admin_api_follows_the_native_permissions(app: TestApp) {
    let root = app.admin_token().await;
    let member_id = app
        .create_user(&root, "default", "plain@example.com", "user")
        .await;
    let plain = app
        .token("default", "plain@example.com", USER_PASSWORD)
        .await;
    let victim = app
        .create_user(&root, "default", "victim@example.com", "user")
        .await;
    app.create_tenant(&root, "other").await;
    app.create_user(&root, "other", "boss@example.com", "admin")
        .await;
    let other_admin = app.token("other", "boss@example.com", USER_PASSWORD).await;
    let victim_path = format!("{USERS}/{victim}");
    for token in [&plain, &other_admin] {
        for (method, path, body) in [
            (Method::GET, USERS.to_owned(), None),
            (Method::GET, format!("{USERS}/count"), None),
            (
                Method::POST,
                USERS.to_owned(),
                Some(json!({"email": "new@example.com"})),
            ),
            (Method::GET, victim_path.clone(), None),
            (
                Method::PUT,
                victim_path.clone(),
                Some(json!({"enabled": false})),
            ),
            (Method::DELETE, victim_path.clone(), None),
            (
                Method::PUT,
                format!("{victim_path}/reset-password"),
                Some(json!({"type": "password", "value": "a hijacked passphrase"})),
            ),
            (Method::GET, format!("{victim_path}/groups"), None),
            (Method::GET, format!("{victim_path}/sessions"), None),
            (Method::POST, format!("{victim_path}/logout"), None),
        ] {
            let reply = kc(&app, method.clone(), &path, token, body).await;
            assert_kc_error(&reply, StatusCode::FORBIDDEN);
            assert_eq!(reply.body["error"], "HTTP 403 Forbidden", "{method} {path}");
        }
    }
    // The other tenant's admin manages its own realm through the same API...
    let own = kc(
        &app,
        Method::GET,
        "/admin/realms/other/users",
        &other_admin,
        None,
    )
    .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert_eq!(own.body.as_array().unwrap().len(), 1);
    // ... and the platform administrator every realm.
    let everywhere = kc(
        &app,
        Method::GET,
        "/auth/admin/realms/other/users/count",
        &root,
        None,
    )
    .await;
    assert_eq!(everywhere.body, json!(1));
    // A member may read itself, as in the native API.
    let me = kc(
        &app,
        Method::GET,
        &format!("{USERS}/{member_id}"),
        &plain,
        None,
    )
    .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["email"], "plain@example.com");
    // A tenant admin may not change the platform administrator.
    app.create_user(&root, "default", "deputy@example.com", "admin")
        .await;
    let deputy = app
        .token("default", "deputy@example.com", USER_PASSWORD)
        .await;
    let root_id = kc(
        &app,
        Method::GET,
        &format!("{USERS}?email={ADMIN_EMAIL}&exact=true"),
        &deputy,
        None,
    )
    .await
    .body[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = kc(
        &app,
        Method::PUT,
        &format!("{USERS}/{root_id}/reset-password"),
        &deputy,
        Some(json!({"type": "password", "value": "i own the platform now"})),
    )
    .await;
    assert_kc_error(&reply, StatusCode::FORBIDDEN);
}

async fn admin_user_lists_page_by_offset_and_filter(app: TestApp) {
    let admin = app.admin_token().await;
    // 120 members (without passwords, so no hashing), one of them disabled.
    for i in 0..120 {
        let mut body = json!({"email": format!("page{i:03}@example.com")});
        if i % 10 == 0 {
            body["username"] = json!(format!("tenth-{i:03}"));
        }
        let reply = app
            .call(
                Method::POST,
                "/api/v1/tenants/default/users",
                Some(&admin),
                Some(body),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }
    let count = kc(&app, Method::GET, &format!("{USERS}/count"), &admin, None).await;
    assert_eq!(count.status, StatusCode::OK);
    assert_eq!(count.body, json!(121));

    // python-keycloak's loop: max=100 until a short page.
    let mut all = Vec::new();
    let mut first = 0;
    loop {
        let page = kc(
            &app,
            Method::GET,
            &format!("{USERS}?briefRepresentation=true&unknown=1&first={first}&max=100"),
            &admin,
            None,
        )
        .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let items = page.body.as_array().unwrap().clone();
        let short = items.len() < 100;
        all.extend(items);
        if short {
            break;
        }
        first += 100;
    }
    assert_eq!(all.len(), 121);
    let mut emails: Vec<_> = all
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    emails.dedup();
    assert_eq!(emails.len(), 121, "no duplicates across pages");
    // Without `max`, Keycloak's default page of 100.
    let default = kc(&app, Method::GET, USERS, &admin, None).await;
    assert_eq!(default.body.as_array().unwrap().len(), 100);
    let window = kc(
        &app,
        Method::GET,
        &format!("{USERS}?first=5&max=3"),
        &admin,
        None,
    )
    .await;
    let window: Vec<_> = window
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].clone())
        .collect();
    assert_eq!(
        window,
        all[5..8]
            .iter()
            .map(|u| u["email"].clone())
            .collect::<Vec<_>>()
    );
    // Past the offset cap: refused, not silently empty.
    let far = kc(
        &app,
        Method::GET,
        &format!("{USERS}?first=10000&max=100"),
        &admin,
        None,
    )
    .await;
    assert_kc_error(&far, StatusCode::BAD_REQUEST);

    // Filters, on the list and the count alike.
    let cases: [(&str, usize); 9] = [
        ("search=page01", 10),
        ("search=*page01*", 10),
        ("search=%22page010%40example.com%22", 1),
        ("username=tenth", 12),
        ("username=TENTH-010&exact=True", 1),
        ("username=page011%40example.com&exact=true", 1),
        // `page010@…` has a username, so its email is not its Keycloak username.
        ("username=page010%40example.com&exact=true", 0),
        ("email=ge00", 10),
        ("email=PAGE007%40example.com&exact=true", 1),
    ];
    for (query, expected) in cases {
        let list = kc(&app, Method::GET, &format!("{USERS}?{query}"), &admin, None).await;
        assert_eq!(list.status, StatusCode::OK, "{query}: {}", list.body);
        assert_eq!(
            list.body.as_array().unwrap().len(),
            expected,
            "{query}: {}",
            list.body
        );
        let count = kc(
            &app,
            Method::GET,
            &format!("{USERS}/count?{query}"),
            &admin,
            None,
        )
        .await;
        assert_eq!(count.body, json!(expected), "count {query}");
    }
    // `enabled`, after disabling one.
    let id = all[3]["id"].as_str().unwrap();
    kc(
        &app,
        Method::PUT,
        &format!("{USERS}/{id}"),
        &admin,
        Some(json!({"enabled": false})),
    )
    .await;
    let disabled = kc(
        &app,
        Method::GET,
        &format!("{USERS}?enabled=false"),
        &admin,
        None,
    )
    .await;
    assert_eq!(disabled.body.as_array().unwrap().len(), 1);
    assert_eq!(disabled.body[0]["id"], id);
    let enabled = kc(
        &app,
        Method::GET,
        &format!("{USERS}/count?enabled=True"),
        &admin,
        None,
    )
    .await;
    assert_eq!(enabled.body, json!(120));
}

impl TestApp {
    fn clock_ms(&self) -> i128 {
        use latchkey_core::Clock as _;
        self.clock.now().unix_timestamp_nanos() / 1_000_000
    }
}

/// `totp` says whether the user signs in with a second factor; in a realm that requires
/// one, a user without it shows the `CONFIGURE_TOTP` required action.
async fn admin_user_view_reports_the_second_factor(app: TestApp) {
    let admin = app.admin_token().await;
    let bob = app
        .create_user(&admin, "default", "bob@example.com", "user")
        .await;
    let carol = app
        .create_user(&admin, "default", "carol@example.com", "user")
        .await;
    let bob_token = app
        .sign_in("default", "bob@example.com", USER_PASSWORD)
        .await
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    crate::mfa::enrol_and_confirm(&app, &bob_token).await;

    let view = |id: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let reply = kc(app, Method::GET, &format!("{USERS}/{id}"), &admin, None).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            reply.body
        }
    };
    let listed = |id: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let reply = kc(app, Method::GET, &format!("{USERS}?max=100"), &admin, None).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            reply
                .body
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["id"] == id.as_str())
                .cloned()
                .unwrap()
        }
    };
    for user in [view(bob.clone()).await, listed(bob.clone()).await] {
        assert_eq!(user["totp"], true, "{user}");
        assert_eq!(user["disableableCredentialTypes"], json!(["otp"]), "{user}");
        assert_eq!(user["requiredActions"], json!([]), "{user}");
    }
    for user in [view(carol.clone()).await, listed(carol.clone()).await] {
        assert_eq!(user["totp"], false, "{user}");
        assert_eq!(user["disableableCredentialTypes"], json!([]), "{user}");
        assert_eq!(user["requiredActions"], json!([]), "{user}");
    }

    // The realm starts requiring a second factor (its administrator enrols first).
    crate::mfa::enrol_and_confirm(&app, &admin).await;
    let required = app
        .call(
            Method::PATCH,
            "/api/v1/tenants/default",
            Some(&admin),
            Some(json!({"require_mfa": true})),
        )
        .await;
    assert_eq!(required.status, StatusCode::OK, "{}", required.body);
    for user in [view(carol.clone()).await, listed(carol.clone()).await] {
        assert_eq!(user["requiredActions"], json!(["CONFIGURE_TOTP"]), "{user}");
    }
    assert_eq!(view(bob).await["requiredActions"], json!([]));
}
