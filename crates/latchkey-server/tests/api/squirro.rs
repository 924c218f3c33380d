//! The Squirro dialect over HTTP (wire details the Python suite does not pin down):
//! the token endpoint's forms and statuses, error objects, empty 204s, routing of
//! `password_policy`, booleans in any case, signup and workspace creation switched off
//! by default, and the native self-service endpoints beside them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Reply, TestApp, USER_PASSWORD, on_both_backends,
};

on_both_backends!(
    token_endpoint_grants_and_refusals,
    errors_are_json_objects_and_204s_are_empty,
    users_wire_details,
    signup_and_workspace_creation_are_off_by_default,
    workspaces_of_a_platform_admin,
);

const TOKEN: &str = "/api/user/oauth2/token";

async fn form(app: &TestApp, path: &str, token: Option<&str>, fields: &[(&str, &str)]) -> Reply {
    let mut request = app.http.post(app.url(path)).form(fields);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    TestApp::read(request.send().await.unwrap()).await
}

async fn put_form(app: &TestApp, path: &str, token: &str, fields: &[(&str, &str)]) -> Reply {
    let request = app.http.put(app.url(path)).form(fields).bearer_auth(token);
    TestApp::read(request.send().await.unwrap()).await
}

/// A Squirro error: a JSON object with a non-empty `error` string.
fn assert_error(reply: &Reply, status: StatusCode) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(
        reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    assert!(
        reply.body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{}",
        reply.body
    );
}

async fn password_grant(app: &TestApp, login: &str, password: &str) -> Reply {
    form(
        app,
        TOKEN,
        None,
        &[
            ("grant_type", "password"),
            ("username", login),
            ("password", password),
        ],
    )
    .await
}

async fn token_endpoint_grants_and_refusals(app: TestApp) {
    let admin = app.admin_token().await;
    let id = app
        .create_user(&admin, "default", "sq.user@example.com", "user")
        .await;

    let signed_in = password_grant(&app, "sq.user@example.com", USER_PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    let body = &signed_in.body;
    assert_eq!(body["tenant"], "default");
    assert_eq!(body["user_id"], id.as_str());
    assert!(
        body["role_permissions"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    );
    assert_eq!(body["project_permissions"], Value::Null);
    assert_eq!(body["user_information"], json!({}));
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();

    // Refused credentials are 403 (the client's AuthenticationError), the same for an
    // unknown account and a wrong password, and for an unknown tenant.
    for (login, password) in [
        ("sq.user@example.com", "wrong-password-123"),
        ("nobody@example.com", "wrong-password-123"),
    ] {
        assert_error(
            &password_grant(&app, login, password).await,
            StatusCode::FORBIDDEN,
        );
    }
    let unknown_tenant = form(
        &app,
        TOKEN,
        None,
        &[
            ("grant_type", "password"),
            ("username", "sq.user@example.com"),
            ("password", USER_PASSWORD),
            ("tenant", "no-such-tenant"),
        ],
    )
    .await;
    assert_error(&unknown_tenant, StatusCode::FORBIDDEN);

    // Unknown and unsupported grants, and a missing grant type, are 400 (`ext_id`:
    // squirro_grants.rs).
    for fields in [
        vec![("grant_type", "client_credentials")],
        vec![("username", "sq.user@example.com")],
    ] {
        assert_error(
            &form(&app, TOKEN, None, &fields).await,
            StatusCode::BAD_REQUEST,
        );
    }
    // `user_information` is JSON inside the form, echoed back; bad JSON is 400.
    let with_info = form(
        &app,
        TOKEN,
        None,
        &[
            ("grant_type", "password"),
            ("username", "sq.user@example.com"),
            ("password", USER_PASSWORD),
            ("user_information", r#"{"a":1}"#),
        ],
    )
    .await;
    assert_eq!(with_info.body["user_information"], json!({"a": 1}));
    let bad_info = form(
        &app,
        TOKEN,
        None,
        &[
            ("grant_type", "password"),
            ("username", "sq.user@example.com"),
            ("password", USER_PASSWORD),
            ("user_information", "{not json"),
        ],
    )
    .await;
    assert_error(&bad_info, StatusCode::BAD_REQUEST);

    // A refresh without a tenant learns it from the token; every refresh mints a new
    // access token and a new refresh token.
    let refreshed = form(
        &app,
        TOKEN,
        None,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert_eq!(refreshed.body["tenant"], "default");
    let access2 = refreshed.body["access_token"].as_str().unwrap().to_owned();
    let refresh2 = refreshed.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(access2, access);
    assert_ne!(refresh2, refresh);
    // With the tenant named too.
    let again = form(
        &app,
        TOKEN,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh2),
            ("tenant", "default"),
        ],
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_ne!(again.body["access_token"].as_str().unwrap(), access2);
    // A rotated token presented again within the grace period (another process sharing
    // it) is honoured with new tokens of its own; the newest token still works too.
    let shared = form(
        &app,
        TOKEN,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh2),
        ],
    )
    .await;
    assert_eq!(shared.status, StatusCode::OK, "{}", shared.body);
    assert_eq!(shared.body["tenant"], "default");
    assert_ne!(shared.body["refresh_token"], again.body["refresh_token"]);
    let newest = again.body["refresh_token"].as_str().unwrap().to_owned();
    let still = form(
        &app,
        TOKEN,
        None,
        &[("grant_type", "refresh_token"), ("refresh_token", &newest)],
    )
    .await;
    assert_eq!(still.status, StatusCode::OK, "{}", still.body);
    // A refresh token of one tenant named with another is refused.
    app.create_tenant(&admin, "other").await;
    let wrong_tenant = form(
        &app,
        TOKEN,
        None,
        &[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                still.body["refresh_token"].as_str().unwrap(),
            ),
            ("tenant", "other"),
        ],
    )
    .await;
    assert_error(&wrong_tenant, StatusCode::FORBIDDEN);
    assert_error(
        &form(
            &app,
            TOKEN,
            None,
            &[("grant_type", "refresh_token"), ("refresh_token", "nope")],
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    // An access token is exchanged for a new pair; a bad one is 403.
    let exchanged = form(
        &app,
        TOKEN,
        None,
        &[("grant_type", "access_token"), ("access_token", &access)],
    )
    .await;
    assert_eq!(exchanged.status, StatusCode::OK, "{}", exchanged.body);
    assert_eq!(exchanged.body["tenant"], "default");
    assert_ne!(exchanged.body["access_token"].as_str().unwrap(), access);
    assert!(exchanged.body["refresh_token"].as_str().is_some());
    assert_error(
        &form(
            &app,
            TOKEN,
            None,
            &[("grant_type", "access_token"), ("access_token", "a.b.c")],
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    // JSON bodies are read too.
    let json_body = app
        .call(
            Method::POST,
            TOKEN,
            None,
            Some(json!({"grant_type": "password", "username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(json_body.status, StatusCode::OK, "{}", json_body.body);

    // After the grace, the spent token is a replay: 403, and the session ends for every
    // holder.
    app.clock.advance(time::Duration::seconds(11));
    let replayed = form(
        &app,
        TOKEN,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh2),
        ],
    )
    .await;
    assert_error(&replayed, StatusCode::FORBIDDEN);
    let ended = form(
        &app,
        TOKEN,
        None,
        &[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                still.body["refresh_token"].as_str().unwrap(),
            ),
        ],
    )
    .await;
    assert_error(&ended, StatusCode::FORBIDDEN);
}

async fn errors_are_json_objects_and_204s_are_empty(app: TestApp) {
    let admin = app.admin_token().await;
    assert_error(
        &app.call(Method::GET, "/api/user/nothing/here", Some(&admin), None)
            .await,
        StatusCode::NOT_FOUND,
    );
    assert_error(
        &app.call(
            Method::PATCH,
            "/api/user/v0/default/users",
            Some(&admin),
            None,
        )
        .await,
        StatusCode::METHOD_NOT_ALLOWED,
    );
    // No token and a bad token are 401, which makes the client refresh.
    assert_error(
        &app.call(Method::GET, "/api/user/v0/default/users", None, None)
            .await,
        StatusCode::UNAUTHORIZED,
    );
    assert_error(
        &app.call(
            Method::GET,
            "/api/user/v0/default/users",
            Some("x.y.z"),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
    );
    // `{}` is 400; a taken email 409; an unknown user 404.
    assert_error(
        &app.call(
            Method::POST,
            "/api/user/v0/default/users",
            Some(&admin),
            Some(json!({})),
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    let created = app
        .call(
            Method::POST,
            "/api/user/v0/default/users",
            Some(&admin),
            Some(json!({"email": "gone@example.com", "password": USER_PASSWORD, "role": "user"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_error(
        &app.call(
            Method::POST,
            "/api/user/v0/default/users",
            Some(&admin),
            Some(json!({"email": "gone@example.com"})),
        )
        .await,
        StatusCode::CONFLICT,
    );
    assert_error(
        &app.call(
            Method::GET,
            "/api/user/v1/default/users/AAAAAAAAAAAAAAAAAAAAAA",
            Some(&admin),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    // 204 without a body.
    let id = created.body["id"].as_str().unwrap();
    let response = app
        .http
        .delete(app.url(&format!("/api/user/v0/default/users/{id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());
    // A member may not manage users: 403 (not 401, which would make it refresh).
    app.create_user(&admin, "default", "plain@example.com", "user")
        .await;
    let plain = app
        .token("default", "plain@example.com", USER_PASSWORD)
        .await;
    assert_error(
        &app.call(
            Method::GET,
            "/api/user/v0/default/users",
            Some(&plain),
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    // Another tenant's users are out of reach for its non-members.
    app.create_tenant(&admin, "other").await;
    assert_error(
        &app.call(Method::GET, "/api/user/v0/other/users", Some(&plain), None)
            .await,
        StatusCode::FORBIDDEN,
    );
}

async fn users_wire_details(app: TestApp) {
    let admin = app.admin_token().await;
    let id = app
        .create_user(&admin, "default", "wire@example.com", "user")
        .await;
    // `password_policy` is routed before `users/{id}`, for every version.
    for version in ["v0", "v1", "v2"] {
        let policy = app
            .call(
                Method::GET,
                &format!("/api/user/{version}/default/users/password_policy"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(policy.status, StatusCode::OK, "{}", policy.body);
        assert_eq!(policy.body["min_length"], 12);
    }
    // Booleans in any case; anything else is 400.
    for value in ["True", "FALSE", "true", "0"] {
        let got = app
            .call(
                Method::GET,
                &format!("/api/user/v0/default/users/{id}?include_projects={value}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(got.status, StatusCode::OK, "{}", got.body);
        assert_eq!(got.body["groups"], json!([]));
        assert_eq!(
            got.body.get("projects").is_some(),
            value.eq_ignore_ascii_case("true")
        );
    }
    assert_error(
        &app.call(
            Method::GET,
            &format!("/api/user/v0/default/users/{id}?include_projects=maybe"),
            Some(&admin),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    // v0 updates are forms, v1 JSON; custom keys are echoed, standard keys not shadowed.
    let updated = put_form(
        &app,
        &format!("/api/user/v0/default/users/{id}"),
        &admin,
        &[("full_name", "Wire Person"), ("team", "blue")],
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["full_name"], "Wire Person");
    assert_eq!(updated.body["team"], "blue");
    let updated = app
        .call(
            Method::PUT,
            &format!("/api/user/v1/default/users/{id}"),
            Some(&admin),
            Some(json!({"name": {"first": "W"}, "tenant": "spoofed"})),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["name"], json!({"first": "W"}));
    assert_eq!(updated.body["team"], "blue");
    assert_eq!(updated.body["tenant"], "default");
    // The password change checks the confirmation.
    let mismatch = app
        .call(
            Method::PUT,
            &format!("/api/user/v0/default/users/{id}/password"),
            Some(&admin),
            Some(json!({"current_password": "", "new_password": "Another-Pass-9876", "new_password_confirm": "x"})),
        )
        .await;
    assert_error(&mismatch, StatusCode::BAD_REQUEST);
    let weak = app
        .call(
            Method::PUT,
            &format!("/api/user/v0/default/users/{id}/password"),
            Some(&admin),
            Some(json!({"current_password": "", "new_password": "short", "new_password_confirm": "short"})),
        )
        .await;
    assert_error(&weak, StatusCode::BAD_REQUEST);
    // Sessions: the user's own, read and ended by the administrator.
    let signed_in = password_grant(&app, "wire@example.com", USER_PASSWORD).await;
    let user_token = signed_in.body["access_token"].as_str().unwrap().to_owned();
    let me = app
        .call(Method::GET, "/api/v1/me", Some(&user_token), None)
        .await;
    let sid = me.body["session_id"].as_str().unwrap().to_owned();
    let session = app
        .call(
            Method::GET,
            &format!("/api/user/v0/default/users/{id}/sessions/{sid}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(session.status, StatusCode::OK, "{}", session.body);
    assert_eq!(session.body["id"], sid.as_str());
    let ended = app
        .call(
            Method::DELETE,
            &format!("/api/user/v0/default/users/{id}/sessions/{sid}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT);
    assert_eq!(ended.body, Value::Null);
    assert_error(
        &app.call(
            Method::GET,
            "/api/user/v0/default/users",
            Some(&user_token),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
    );
}

async fn signup_and_workspace_creation_are_off_by_default(app: TestApp) {
    let squirro = app
        .call(
            Method::POST,
            "/api/user/v2/signup",
            None,
            Some(json!({"client_id": null, "client_secret": null, "email": "new@example.com", "password": "Signup-Pass-4821", "full_name": null})),
        )
        .await;
    assert_error(&squirro, StatusCode::FORBIDDEN);
    assert!(
        squirro.body["error"]
            .as_str()
            .unwrap()
            .contains("signup is disabled")
    );
    let native = app
        .call(
            Method::POST,
            "/api/v1/signup",
            None,
            Some(json!({"email": "new@example.com", "password": "Signup-Pass-4821"})),
        )
        .await;
    assert_eq!(native.status, StatusCode::FORBIDDEN, "{}", native.body);

    // Without `[workspaces] self_service`, members cannot create workspaces.
    let admin = app.admin_token().await;
    app.create_user(&admin, "default", "member@example.com", "admin")
        .await;
    let member = app
        .token("default", "member@example.com", USER_PASSWORD)
        .await;
    assert_error(
        &app.call(
            Method::POST,
            "/api/user/v2/workspaces",
            Some(&member),
            Some(json!({"title": "Mine"})),
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    let native = app
        .call(
            Method::POST,
            "/api/v1/me/tenants",
            Some(&member),
            Some(json!({"title": "Mine"})),
        )
        .await;
    assert_eq!(native.status, StatusCode::FORBIDDEN, "{}", native.body);
    // Its tenant's password policy is readable, natively too.
    let policy = app
        .call(
            Method::GET,
            "/api/v1/tenants/default/password-policy",
            Some(&member),
            None,
        )
        .await;
    assert_eq!(policy.status, StatusCode::OK, "{}", policy.body);
    assert_eq!(policy.body["min_length"], 12);
    assert_eq!(policy.body["rejects_common_passwords"], true);
}

async fn workspaces_of_a_platform_admin(app: TestApp) {
    let admin = app.admin_token().await;
    let created = app
        .call(
            Method::POST,
            "/api/user/v2/workspaces",
            Some(&admin),
            Some(json!({"title": "Research Lab"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let domain = created.body["domain"].as_str().unwrap().to_owned();
    assert!(domain.starts_with("research-lab-"), "{domain}");
    assert_eq!(created.body["title"], "Research Lab");

    let listed = app
        .call(
            Method::GET,
            "/api/user/v2/workspaces?include_projects=False&admin_only=True",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let domains: Vec<&str> = listed.body["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["domain"].as_str().unwrap())
        .collect();
    assert!(domains.contains(&domain.as_str()) && domains.contains(&"default"));

    // Native: the same tenants, members added by email (an invitation for a new
    // address), and the workspace deleted by its administrator.
    let mine = app
        .call(
            Method::GET,
            "/api/v1/me/tenants?admin_only=true",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 2);
    let added = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/members",
            Some(&admin),
            Some(json!({"emails": ["invited@example.com"], "role": "reader"})),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(added.body["items"][0]["role"], "reader");
    // The invited account has no password: it cannot sign in.
    assert_error(
        &password_grant(&app, "invited@example.com", "").await,
        StatusCode::FORBIDDEN,
    );

    // Role change by user id answers a one-element array. The email matches whatever
    // its case: the same invited account joins the workspace.
    let invited = added.body["items"][0]["id"].as_str().unwrap().to_owned();
    let to_workspace = app
        .call(
            Method::POST,
            &format!("/api/user/v2/workspaces/{domain}/users"),
            Some(&admin),
            Some(json!({"emails": ["Invited@Example.COM"], "role": "user"})),
        )
        .await;
    assert_eq!(
        to_workspace.status,
        StatusCode::CREATED,
        "{}",
        to_workspace.body
    );
    assert_eq!(
        to_workspace.body,
        json!([{"user_id": invited, "workspace": domain}])
    );
    let role = app
        .call(
            Method::POST,
            &format!("/api/user/v2/workspaces/{domain}/users"),
            Some(&admin),
            Some(json!({"user_id": invited, "role": "admin"})),
        )
        .await;
    assert_eq!(role.status, StatusCode::OK, "{}", role.body);
    assert_eq!(
        role.body,
        json!([{"user_id": invited, "workspace": domain}])
    );
    assert_error(
        &app.call(
            Method::POST,
            &format!("/api/user/v2/workspaces/{domain}/users"),
            Some(&admin),
            Some(json!({"role": "admin"})),
        )
        .await,
        StatusCode::BAD_REQUEST,
    );

    let deleted = app
        .call(
            Method::DELETE,
            &format!("/api/v1/me/tenants/{domain}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    // The token's own tenant cannot be deleted with it.
    assert_error(
        &app.call(
            Method::DELETE,
            "/api/user/v2/workspaces/default",
            Some(&admin),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
}
