//! Grants: long-lived, non-rotating refresh tokens limited to their permissions, usable
//! at the OIDC token endpoint and the native refresh, listable and revocable.

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Reply, TestApp, USER_PASSWORD, assert_problem, on_both_backends};

const TOKEN: &str = "/realms/default/protocol/openid-connect/token";

on_both_backends!(
    a_restricted_grant_refreshes_at_the_token_endpoint_and_is_limited,
    grants_are_listed_and_revoking_one_ends_it,
    service_grants_need_an_existing_application_and_an_administrator,
);

pub async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Reply {
    let response = app
        .http
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    TestApp::read(response).await
}

/// The payload of a JWT, unverified (the server verified it already).
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

pub async fn create_confidential_client(app: &TestApp, admin: &str, client_id: &str) -> String {
    let reply = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/applications",
            Some(admin),
            Some(json!({"client_id": client_id, "grant_types": ["refresh_token", "client_credentials"]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["client_secret"].as_str().unwrap().to_owned()
}

async fn create_grant(app: &TestApp, token: &str, user: &str, body: Value) -> Reply {
    app.call(
        Method::POST,
        &format!("/api/v1/tenants/default/users/{user}/grants"),
        Some(token),
        Some(body),
    )
    .await
}

async fn oidc_refresh(
    app: &TestApp,
    client_id: &str,
    secret: Option<&str>,
    refresh: &str,
) -> Reply {
    let mut form = vec![
        ("client_id", client_id),
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
    ];
    if let Some(secret) = secret {
        form.push(("client_secret", secret));
    }
    post_form(app, TOKEN, &form).await
}

async fn a_restricted_grant_refreshes_at_the_token_endpoint_and_is_limited(app: TestApp) {
    let admin = app.admin_token().await;
    let alice = app
        .create_user(&admin, "default", "alice@example.com", "admin")
        .await;
    let alice_token = app
        .token("default", "alice@example.com", USER_PASSWORD)
        .await;

    let reply = create_grant(
        &app,
        &alice_token,
        &alice,
        json!({"type": "user", "client_id": "admin-cli", "project_permissions": ["items.read.*", "projects.read.*"]}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let grant_id = reply.body["id"].as_str().unwrap().to_owned();
    let refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(reply.body["grant"]["type"], "user");
    assert_eq!(reply.body["grant"]["client_id"], "admin-cli");

    // The grant's token works at the OIDC endpoint for its client, does not rotate,
    // and every use mints a new access token.
    let first = oidc_refresh(&app, "admin-cli", None, &refresh).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["refresh_token"], refresh.as_str());
    let second = oidc_refresh(&app, "admin-cli", None, &refresh).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let access = first.body["access_token"].as_str().unwrap().to_owned();
    let access_2 = second.body["access_token"].as_str().unwrap();
    assert_ne!(access, access_2);
    let claims_1 = claims(&access);
    assert_ne!(claims_1["jti"], claims(access_2)["jti"]);
    assert_eq!(claims_1["sub"], alice.as_str());
    assert_eq!(claims_1["grant"], grant_id.as_str());
    assert_eq!(
        claims_1["project_permissions"],
        json!(["items.read.*", "projects.read.*"])
    );
    let permissions: Vec<&str> = claims_1["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(permissions.contains(&"profile.read"), "{permissions:?}");
    assert!(!permissions.contains(&"users.write"), "{permissions:?}");
    assert!(!permissions.contains(&"users.read"), "{permissions:?}");

    // A restricted token acts only in its grant's tenant: alice also administers
    // `acme`, where her unrestricted token may read the password policy and this may not.
    app.create_tenant(&admin, "acme").await;
    let added = app
        .call(
            Method::POST,
            "/api/v1/tenants/acme/members",
            Some(&admin),
            Some(json!({"emails": ["alice@example.com"], "role": "admin"})),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let policy = "/api/v1/tenants/acme/password-policy";
    let unrestricted = app
        .call(Method::GET, policy, Some(&alice_token), None)
        .await;
    assert_eq!(unrestricted.status, StatusCode::OK, "{}", unrestricted.body);
    let elsewhere = app.call(Method::GET, policy, Some(&access), None).await;
    assert_eq!(
        elsewhere.status,
        StatusCode::FORBIDDEN,
        "{}",
        elsewhere.body
    );

    // Limited: the account is a tenant admin, its restricted token is not.
    let me = app
        .call(Method::GET, "/api/v1/me", Some(&access), None)
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let users = app
        .call(
            Method::GET,
            "/api/v1/tenants/default/users",
            Some(&access),
            None,
        )
        .await;
    assert_problem(&users, StatusCode::FORBIDDEN, "forbidden");
    let create = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/users",
            Some(&access),
            Some(json!({"email": "eve@example.com", "role": "admin", "password": USER_PASSWORD})),
        )
        .await;
    assert_problem(&create, StatusCode::FORBIDDEN, "forbidden");
    // Nor can it mint a wider grant for itself.
    let escalate = create_grant(&app, &access, &alice, json!({"type": "user"})).await;
    assert_problem(&escalate, StatusCode::FORBIDDEN, "forbidden");

    // Bound to its client: another client, or the native refresh, cannot use it.
    let secret = create_confidential_client(&app, &admin, "reports").await;
    let foreign = oidc_refresh(&app, "reports", Some(&secret), &refresh).await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST, "{}", foreign.body);
    assert_eq!(foreign.body["error"], "invalid_grant");
    let native = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/token/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(native.status, StatusCode::UNAUTHORIZED, "{}", native.body);

    // An unrestricted grant (bound to the native API by default) keeps the role.
    let reply = create_grant(&app, &alice_token, &alice, json!({"type": "user"})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let full_refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();
    let native = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/token/refresh",
            None,
            Some(json!({"refresh_token": full_refresh})),
        )
        .await;
    assert_eq!(native.status, StatusCode::OK, "{}", native.body);
    assert_eq!(native.body["refresh_token"], full_refresh.as_str());
    let full_access = native.body["access_token"].as_str().unwrap();
    assert!(claims(full_access).get("project_permissions").is_none());
    let users = app
        .call(
            Method::GET,
            "/api/v1/tenants/default/users",
            Some(full_access),
            None,
        )
        .await;
    assert_eq!(users.status, StatusCode::OK, "{}", users.body);

    // Bad permissions are refused.
    let bad = create_grant(
        &app,
        &alice_token,
        &alice,
        json!({"type": "user", "project_permissions": ["items read"]}),
    )
    .await;
    assert_problem(&bad, StatusCode::BAD_REQUEST, "validation_failed");
    let bad = create_grant(&app, &alice_token, &alice, json!({"type": "robot"})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
}

async fn grants_are_listed_and_revoking_one_ends_it(app: TestApp) {
    let admin = app.admin_token().await;
    let bob = app
        .create_user(&admin, "default", "bob@example.com", "user")
        .await;
    let bob_token = app.token("default", "bob@example.com", USER_PASSWORD).await;
    let reply = create_grant(
        &app,
        &bob_token,
        &bob,
        json!({"type": "user", "client_id": "admin-cli", "project_permissions": ["items.*"]}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let grant_id = reply.body["id"].as_str().unwrap().to_owned();
    let refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();
    let access = oidc_refresh(&app, "admin-cli", None, &refresh).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let list = app
        .call(
            Method::GET,
            &format!("/api/v1/tenants/default/users/{bob}/grants"),
            Some(&bob_token),
            None,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let grants = list.body.as_array().unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["id"], grant_id.as_str());
    assert_eq!(grants[0]["type"], "user");
    assert!(grants[0]["created_at"].is_string() && grants[0]["valid_to"].is_string());
    assert!(grants[0].get("refresh_token").is_none());

    // A grant is a session: the session listing shows it too.
    let sessions = app
        .call(
            Method::GET,
            &format!("/api/v1/tenants/default/users/{bob}/sessions"),
            Some(&admin),
            None,
        )
        .await;
    assert!(
        sessions
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == grant_id.as_str()),
        "{}",
        sessions.body
    );

    // Another member may neither list nor revoke bob's grants.
    app.create_user(&admin, "default", "carol@example.com", "user")
        .await;
    let carol = app
        .token("default", "carol@example.com", USER_PASSWORD)
        .await;
    let path = format!("/api/v1/tenants/default/users/{bob}/grants/{grant_id}");
    let refused = app.call(Method::DELETE, &path, Some(&carol), None).await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");

    let revoked = app
        .call(Method::DELETE, &path, Some(&bob_token), None)
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    let again = app
        .call(Method::DELETE, &path, Some(&bob_token), None)
        .await;
    assert_problem(&again, StatusCode::NOT_FOUND, "not_found");

    let refused = oidc_refresh(&app, "admin-cli", None, &refresh).await;
    assert_eq!(refused.body["error"], "invalid_grant", "{}", refused.body);
    let me = app
        .call(Method::GET, "/api/v1/me", Some(&access), None)
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.body);
    let list = app
        .call(
            Method::GET,
            &format!("/api/v1/tenants/default/users/{bob}/grants"),
            Some(&bob_token),
            None,
        )
        .await;
    assert_eq!(list.body, json!([]));
    let events = app.audit_events(&admin).await;
    assert!(events.iter().any(|e| e["action"] == "grant.create"));
    assert!(events.iter().any(|e| e["action"] == "grant.revoke"));
}

async fn service_grants_need_an_existing_application_and_an_administrator(app: TestApp) {
    let admin = app.admin_token().await;
    let dave = app
        .create_user(&admin, "default", "dave@example.com", "user")
        .await;
    let dave_token = app
        .token("default", "dave@example.com", USER_PASSWORD)
        .await;

    let unknown = create_grant(
        &app,
        &admin,
        &dave,
        json!({"type": "service", "for_client_id": "nosuch"}),
    )
    .await;
    assert_problem(&unknown, StatusCode::BAD_REQUEST, "validation_failed");
    let missing = create_grant(&app, &admin, &dave, json!({"type": "service"})).await;
    assert_problem(&missing, StatusCode::BAD_REQUEST, "validation_failed");

    let secret = create_confidential_client(&app, &admin, "crm").await;
    // A member may not hand itself to an application; an administrator may.
    let own = create_grant(
        &app,
        &dave_token,
        &dave,
        json!({"type": "service", "for_client_id": "crm"}),
    )
    .await;
    assert_problem(&own, StatusCode::FORBIDDEN, "forbidden");
    let admin_id = app
        .call(Method::GET, "/api/v1/me", Some(&admin), None)
        .await
        .body["account"]["id"]
        .as_str()
        .map(str::to_owned);
    if let Some(admin_id) = admin_id {
        let foreign = create_grant(&app, &dave_token, &admin_id, json!({"type": "user"})).await;
        assert_problem(&foreign, StatusCode::FORBIDDEN, "forbidden");
    }

    let reply = create_grant(
        &app,
        &admin,
        &dave,
        json!({"type": "service", "for_client_id": "crm", "project_permissions": ["items.read.*"]}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["grant"]["for_client_id"], "crm");
    let refresh = reply.body["refresh_token"].as_str().unwrap();
    let without_secret = oidc_refresh(&app, "crm", None, refresh).await;
    assert_eq!(
        without_secret.body["error"], "invalid_client",
        "{}",
        without_secret.body
    );
    let tokens = oidc_refresh(&app, "crm", Some(&secret), refresh).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let claims = claims(tokens.body["access_token"].as_str().unwrap());
    assert_eq!(claims["azp"], "crm");
    assert_eq!(claims["sub"], dave.as_str());
    assert_eq!(claims["project_permissions"], json!(["items.read.*"]));
}
