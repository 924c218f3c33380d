//! The Maestro (Dadosfera) dialect over HTTP: sign-in with the user's configuration,
//! second factor, the home tenant, users listed and deleted with a bare or Bearer token,
//! errors as JSON objects, `Dadosfera-User` in the audit log.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;

use crate::harness::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Reply, TestApp, USER_PASSWORD, on_both_backends,
};
use crate::mfa::enrol_and_confirm;

on_both_backends!(
    sign_in_returns_the_user_configuration,
    failures_are_json_errors_with_codes,
    second_factor_codes_are_required_once_each,
    users_are_listed_and_deleted_with_bare_or_bearer_tokens,
    accounts_in_several_tenants_sign_in_to_the_named_or_latest_one,
    terms_of_use_state_is_reported,
);

const SIGN_IN: &str = "/maestro/api/auth/sign-in";

async fn maestro_sign_in(app: &TestApp, username: &str, password: &str, totp: Value) -> Reply {
    app.call(
        Method::POST,
        SIGN_IN,
        None,
        Some(json!({"username": username, "password": password, "totp": totp})),
    )
    .await
}

/// Sends `method path` with `Authorization: <authorization>` exactly as given.
async fn with_authorization(
    app: &TestApp,
    method: Method,
    path: &str,
    authorization: Option<&str>,
    dadosfera_user: Option<&str>,
) -> Reply {
    let mut request = app.http.request(method, app.url(path));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    if let Some(value) = dadosfera_user {
        request = request.header("dadosfera-user", value);
    }
    TestApp::read(request.send().await.unwrap()).await
}

/// A Maestro error: JSON object with `error` (the code) and a `message`.
fn assert_maestro_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(
        reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json"),
    );
    assert_eq!(reply.body["error"], code, "{}", reply.body);
    assert!(
        reply.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{}",
        reply.body
    );
}

async fn sign_in_returns_the_user_configuration(app: TestApp) {
    let admin = app.admin_token().await;
    let profile = app
        .call(
            Method::PATCH,
            "/api/v1/tenants/default",
            Some(&admin),
            Some(json!({"title": "Acme", "metadata": {"tier": "STANDARD", "modules": ["catalog"], "links": [{"name": "BI", "url": "https://bi.example"}], "schedule_limit": "HOURLY"}})),
        )
        .await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.body);
    let tenant_id = profile.body["id"].as_str().unwrap().to_owned();

    let reply = maestro_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD, Value::Null).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = &reply.body;
    let permissions: Vec<&str> = body["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(permissions.contains(&"users.read"), "{permissions:?}");
    for token in ["idToken", "accessToken", "refreshToken"] {
        assert!(
            body["tokens"][token]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
    }
    assert_eq!(body["mfaStatus"], "DISABLED");
    assert_eq!(
        body["termsOfUse"],
        json!({"status": "not_required", "lastSigned": null})
    );
    assert_eq!(body["user"]["username"], ADMIN_EMAIL);
    assert!(body["user"]["createdAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        body["customer"],
        json!({"modules": ["catalog"], "links": [{"name": "BI", "url": "https://bi.example"}], "id": tenant_id, "name": "Acme", "tier": "STANDARD", "scheduleLimit": "HOURLY"})
    );
    // The access token works on the native API too.
    let me = app
        .call(
            Method::GET,
            "/api/v1/me",
            body["tokens"]["accessToken"].as_str(),
            None,
        )
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
}

async fn failures_are_json_errors_with_codes(app: TestApp) {
    let wrong = maestro_sign_in(&app, ADMIN_EMAIL, "wrong password", Value::Null).await;
    assert_maestro_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let unknown = maestro_sign_in(&app, "nobody@example.com", "whatever", Value::Null).await;
    assert_maestro_error(&unknown, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(
        wrong.body, unknown.body,
        "unknown accounts look like wrong passwords"
    );

    let malformed = app
        .http
        .post(app.url(SIGN_IN))
        .header("content-type", "application/json")
        .body("{\"username\": 5")
        .send()
        .await
        .unwrap();
    assert_maestro_error(
        &TestApp::read(malformed).await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
    );
    let no_token = with_authorization(&app, Method::GET, "/maestro/api/users", None, None).await;
    assert_maestro_error(&no_token, StatusCode::UNAUTHORIZED, "invalid_token");
    let forged = with_authorization(
        &app,
        Method::GET,
        "/maestro/api/users",
        Some("not-a-token"),
        None,
    )
    .await;
    assert_maestro_error(&forged, StatusCode::UNAUTHORIZED, "invalid_token");
    let elsewhere = with_authorization(&app, Method::GET, "/maestro/api/nothing", None, None).await;
    assert_maestro_error(&elsewhere, StatusCode::NOT_FOUND, "not_found");
    let method = with_authorization(&app, Method::PUT, "/maestro/api/users", None, None).await;
    assert_maestro_error(
        &method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
}

async fn second_factor_codes_are_required_once_each(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let ada = app.token("default", "ada@example.com", USER_PASSWORD).await;
    let enrolled = enrol_and_confirm(&app, &ada).await;

    let missing = maestro_sign_in(&app, "ada@example.com", USER_PASSWORD, Value::Null).await;
    assert_maestro_error(&missing, StatusCode::UNAUTHORIZED, "mfa_required");
    let wrong = maestro_sign_in(
        &app,
        "ada@example.com",
        USER_PASSWORD,
        json!(enrolled.wrong_code(&app)),
    )
    .await;
    assert_maestro_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_totp");
    let code = enrolled.code(&app, 0);
    let right = maestro_sign_in(&app, "ada@example.com", USER_PASSWORD, json!(code)).await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.body);
    assert_eq!(right.body["mfaStatus"], "ENABLED");
    let replayed = maestro_sign_in(&app, "ada@example.com", USER_PASSWORD, json!(code)).await;
    assert_maestro_error(&replayed, StatusCode::UNAUTHORIZED, "invalid_totp");
    // A wrong password never reveals the second factor.
    let wrong_password = maestro_sign_in(&app, "ada@example.com", "nope", Value::Null).await;
    assert_maestro_error(
        &wrong_password,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
}

async fn users_are_listed_and_deleted_with_bare_or_bearer_tokens(app: TestApp) {
    let admin = app.admin_token().await;
    let ada_id = app
        .create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let bob_id = app
        .create_user(&admin, "default", "bob@example.com", "user")
        .await;
    let signed_in = maestro_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD, Value::Null).await;
    let token = signed_in.body["tokens"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let bare = with_authorization(
        &app,
        Method::GET,
        "/maestro/api/users",
        Some(&token),
        Some("admin@x"),
    )
    .await;
    assert_eq!(bare.status, StatusCode::OK, "{}", bare.body);
    let users = bare.body["users"].as_array().unwrap();
    assert_eq!(users.len(), 3, "{}", bare.body);
    let ada = users.iter().find(|u| u["id"] == ada_id.as_str()).unwrap();
    assert_eq!(ada["email"], "ada@example.com");
    assert_eq!(ada["username"], "ada@example.com");
    assert_eq!(ada["lastLogin"], Value::Null, "ada never signed in");
    let root = users.iter().find(|u| u["email"] == ADMIN_EMAIL).unwrap();
    assert!(root["lastLogin"].as_str().unwrap().ends_with('Z'));

    let bearer = with_authorization(
        &app,
        Method::GET,
        "/maestro/api/users",
        Some(&format!("Bearer {token}")),
        None,
    )
    .await;
    assert_eq!(bearer.status, StatusCode::OK, "{}", bearer.body);
    assert_eq!(bearer.body, bare.body);

    // Members without users.read/users.write are refused, as JSON.
    let ada_token = maestro_sign_in(&app, "ada@example.com", USER_PASSWORD, Value::Null)
        .await
        .body["tokens"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = with_authorization(
        &app,
        Method::GET,
        "/maestro/api/users",
        Some(&ada_token),
        None,
    )
    .await;
    assert_maestro_error(&refused, StatusCode::FORBIDDEN, "forbidden");
    let refused = with_authorization(
        &app,
        Method::DELETE,
        &format!("/maestro/api/users/{bob_id}"),
        Some(&ada_token),
        None,
    )
    .await;
    assert_maestro_error(&refused, StatusCode::FORBIDDEN, "forbidden");

    // The client sends an empty Dadosfera-User on deletes: accepted, nothing recorded.
    let deleted = with_authorization(
        &app,
        Method::DELETE,
        &format!("/maestro/api/users/{ada_id}"),
        Some(&token),
        Some(""),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(deleted.body, Value::Null, "204 has no body");
    let deleted = with_authorization(
        &app,
        Method::DELETE,
        &format!("/maestro/api/users/{bob_id}"),
        Some(&format!("Bearer {token}")),
        Some("ops@dadosfera\t.example"),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let again = with_authorization(
        &app,
        Method::DELETE,
        &format!("/maestro/api/users/{bob_id}"),
        Some(&token),
        None,
    )
    .await;
    assert_maestro_error(&again, StatusCode::NOT_FOUND, "not_found");

    let events = app.audit_events(&admin).await;
    let deletions: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "account.delete")
        .collect();
    assert_eq!(deletions.len(), 2);
    let of = |id: &str| {
        deletions
            .iter()
            .find(|e| e["target"] == id)
            .map(|e| e["detail"].clone())
            .unwrap()
    };
    assert_eq!(of(&bob_id)["acting_user"], "ops@dadosfera.example");
    assert!(of(&ada_id).get("acting_user").is_none(), "{}", of(&ada_id));
    let listed =
        with_authorization(&app, Method::GET, "/maestro/api/users", Some(&token), None).await;
    assert_eq!(listed.body["users"].as_array().unwrap().len(), 1);
}

async fn accounts_in_several_tenants_sign_in_to_the_named_or_latest_one(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_tenant(&admin, "globex").await;
    let globex = app
        .call(Method::GET, "/api/v1/tenants/globex", Some(&admin), None)
        .await;
    let globex_id = globex.body["id"].as_str().unwrap().to_owned();

    // No endpoint adds an existing account to a second tenant: the store does.
    let ada_id = app
        .create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let services = &app.services;
    let globex_tenant = latchkey_core::TenantId::from_string(globex_id.clone());
    services
        .store
        .put_membership(
            &globex_tenant,
            &latchkey_core::AccountId::from_string(ada_id.clone()),
            &latchkey_core::RoleName::parse("user").unwrap(),
            services.clock.now(),
            &services.audit_event(
                Some(&globex_tenant),
                None,
                "account.update",
                None,
                latchkey_core::AuditOutcome::Success,
                json!({}),
            ),
        )
        .await
        .unwrap();

    // The newest session is in globex: Maestro picks globex.
    app.clock.advance(Duration::seconds(1));
    app.token("globex", "ada@example.com", USER_PASSWORD).await;
    app.clock.advance(Duration::seconds(1));
    let latest = maestro_sign_in(&app, "ada@example.com", USER_PASSWORD, Value::Null).await;
    assert_eq!(latest.status, StatusCode::OK, "{}", latest.body);
    assert_eq!(latest.body["customer"]["id"], globex_id.as_str());

    for customer in ["default", "DEFAULT"] {
        let named = app
            .call(
                Method::POST,
                SIGN_IN,
                None,
                Some(json!({"username": "ada@example.com", "password": USER_PASSWORD, "totp": null, "customer": customer})),
            )
            .await;
        if customer == "default" {
            assert_eq!(named.status, StatusCode::OK, "{}", named.body);
            assert_eq!(named.body["customer"]["name"], "Default");
        } else {
            assert_maestro_error(&named, StatusCode::NOT_FOUND, "not_found");
        }
    }
    // By id as well; and now default is the latest.
    app.clock.advance(Duration::seconds(1));
    let by_id = app
        .call(
            Method::POST,
            SIGN_IN,
            None,
            Some(json!({"username": "ada@example.com", "password": USER_PASSWORD, "totp": null, "customer": globex_id})),
        )
        .await;
    assert_eq!(by_id.body["customer"]["id"], globex_id.as_str());
}

async fn terms_of_use_state_is_reported(app: TestApp) {
    let admin = app.admin_token().await;
    let published = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/terms",
            Some(&admin),
            Some(json!({"public_url": "https://acme.example/terms/1", "enforce_date": "2024-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(published.status, StatusCode::CREATED, "{}", published.body);
    let pending = maestro_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD, Value::Null).await;
    assert_eq!(
        pending.body["termsOfUse"],
        json!({"status": "pending", "lastSigned": null})
    );
    let token = pending.body["tokens"]["accessToken"].as_str().unwrap();
    let accepted = app
        .call(
            Method::POST,
            "/api/v1/me/terms/accept",
            Some(token),
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    let signed = maestro_sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD, Value::Null).await;
    let terms = &signed.body["termsOfUse"];
    assert_eq!(terms["status"], "accepted");
    assert_eq!(terms["lastSigned"]["version"], 1);
    assert_eq!(
        terms["lastSigned"]["publicUrl"],
        "https://acme.example/terms/1"
    );
    assert_eq!(terms["lastSigned"]["enforceDate"], "2024-01-01T00:00:00Z");
    assert!(terms["lastSigned"]["createdAt"].as_str().is_some());
}
