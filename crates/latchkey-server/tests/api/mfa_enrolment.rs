//! "Enrol only" sign-in over HTTP: in a tenant that requires MFA, a member without an
//! authenticator gets an enrolment token from the native sign-in, enrols with it and
//! signs in with the first code. The token is single-purpose, bound to its tenant, short
//! lived and spent by the confirmation; wrong codes are throttled like wrong passwords.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;

use crate::harness::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Reply, TestApp, USER_PASSWORD, assert_problem, on_both_backends,
};
use crate::mfa::{Enrolled, enrol_and_confirm};

on_both_backends!(
    a_new_member_enrols_with_the_sign_in_token_and_signs_in,
    wrong_enrolment_codes_are_throttled,
    enrolment_tokens_are_not_access_tokens,
    enrolment_tokens_are_bound_to_their_tenant,
    enrolment_tokens_expire_and_need_an_enabled_member,
    members_with_an_authenticator_get_no_enrolment_token,
    sdk_enrols_with_the_token_of_the_refused_sign_in,
    roles_that_may_not_change_their_profile_cannot_enrol,
);

const BEGIN: &str = "/api/v1/tenants/default/sign-in/mfa-enrolment";
const CONFIRM: &str = "/api/v1/tenants/default/sign-in/mfa-enrolment/confirm";

/// Switches `require_mfa` on for the default tenant (the administrator enrols first, as
/// it must); returns the administrator's token.
async fn require_mfa(app: &TestApp) -> String {
    require_mfa_keeping_the_authenticator(app).await.0
}

/// [`require_mfa`], and the administrator's authenticator.
async fn require_mfa_keeping_the_authenticator(app: &TestApp) -> (String, Enrolled) {
    let admin = app.admin_token().await;
    let authenticator = enrol_and_confirm(app, &admin).await;
    let required = app
        .call(
            Method::PATCH,
            "/api/v1/tenants/default",
            Some(&admin),
            Some(json!({"require_mfa": true})),
        )
        .await;
    assert_eq!(required.status, StatusCode::OK, "{}", required.body);
    (admin, authenticator)
}

/// Signs in with the right password and no authenticator: the refusal's token.
async fn enrolment_token(app: &TestApp, tenant: &str, email: &str) -> String {
    let refused = app.sign_in(tenant, email, USER_PASSWORD).await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "mfa_enrollment_required");
    refused.body["enrolment_token"]
        .as_str()
        .expect("an enrolment token")
        .to_owned()
}

async fn begin(app: &TestApp, path: &str, token: &str) -> Reply {
    app.call(
        Method::POST,
        path,
        None,
        Some(json!({"enrolment_token": token})),
    )
    .await
}

/// Begins an enrolment, expecting success; the authenticator as the test keeps it.
async fn begun(app: &TestApp, token: &str) -> Enrolled {
    let reply = begin(app, BEGIN, token).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    for field in ["secret", "otpauth_uri", "qr_svg"] {
        assert!(reply.body[field].is_string(), "{field}: {}", reply.body);
    }
    Enrolled {
        secret: reply.body["secret"].as_str().unwrap().to_owned(),
        recovery_codes: strings(&reply.body["recovery_codes"]),
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

async fn confirm(app: &TestApp, path: &str, token: &str, code: &str) -> Reply {
    app.call(
        Method::POST,
        path,
        None,
        Some(json!({"enrolment_token": token, "code": code})),
    )
    .await
}

async fn sign_in_with_code(app: &TestApp, email: &str, code: Option<&str>) -> Reply {
    let mut body = json!({"login": email, "password": USER_PASSWORD});
    if let Some(code) = code {
        body["totp"] = json!(code);
    }
    app.call(
        Method::POST,
        "/api/v1/tenants/default/sign-in",
        None,
        Some(body),
    )
    .await
}

async fn sign_in_admin(app: &TestApp, authenticator: &Enrolled) -> String {
    let reply = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/sign-in",
            None,
            Some(json!({
                "login": ADMIN_EMAIL,
                "password": ADMIN_PASSWORD,
                "totp": authenticator.code(app, 0),
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["access_token"].as_str().unwrap().to_owned()
}

async fn a_new_member_enrols_with_the_sign_in_token_and_signs_in(app: TestApp) {
    let admin = require_mfa(&app).await;
    let ada_id = app
        .create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let token = enrolment_token(&app, "default", "ada@example.com").await;
    assert_eq!(token.len(), 43, "256 random bits, base64url");

    // Beginning again restarts: the first secret is replaced.
    let first = begun(&app, &token).await;
    assert_eq!(first.recovery_codes.len(), 10);
    let enrolled = begun(&app, &token).await;
    assert_ne!(first.secret, enrolled.secret);
    let stale = confirm(&app, CONFIRM, &token, &first.code(&app, 0)).await;
    assert_problem(&stale, StatusCode::UNAUTHORIZED, "invalid_totp");

    let signed_in = confirm(&app, CONFIRM, &token, &enrolled.code(&app, 0)).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    assert_eq!(signed_in.body["token_type"], "Bearer");
    assert_eq!(signed_in.body["account"]["email"], "ada@example.com");
    assert_eq!(signed_in.body["account"]["role"], "user");
    assert_eq!(signed_in.body["tenant"]["domain"], "default");
    assert!(signed_in.body["terms_of_use"].is_object());
    let access = signed_in.body["access_token"].as_str().unwrap();
    let me = app
        .call(Method::GET, "/api/v1/me", Some(access), None)
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["account"]["id"], ada_id.as_str());
    let mfa = app
        .call(Method::GET, "/api/v1/me/mfa", Some(access), None)
        .await;
    assert_eq!(mfa.body["totp"], "active", "{}", mfa.body);
    assert_eq!(mfa.body["recovery_codes_remaining"], 10);
    // The refresh token works too.
    let refreshed = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/token/refresh",
            None,
            Some(json!({"refresh_token": signed_in.body["refresh_token"]})),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);

    // The token is spent.
    let again = begin(&app, BEGIN, &token).await;
    assert_problem(&again, StatusCode::UNAUTHORIZED, "invalid_enrolment_token");
    app.clock.advance(Duration::seconds(30));
    let replay = confirm(&app, CONFIRM, &token, &enrolled.code(&app, 0)).await;
    assert_problem(&replay, StatusCode::UNAUTHORIZED, "invalid_enrolment_token");

    // From now on Ada signs in like any member with an authenticator.
    let no_code = sign_in_with_code(&app, "ada@example.com", None).await;
    assert_problem(&no_code, StatusCode::UNAUTHORIZED, "mfa_required");
    assert!(no_code.body.get("enrolment_token").is_none());
    let with_code = sign_in_with_code(&app, "ada@example.com", Some(&enrolled.code(&app, 0))).await;
    assert_eq!(with_code.status, StatusCode::OK, "{}", with_code.body);

    // Refusal with a token, confirmation and sign-in are audited; no event holds the token.
    let events = app.audit_events(&admin).await;
    let ada_events: Vec<&Value> = events
        .iter()
        .filter(|e| e["actor"] == ada_id.as_str())
        .collect();
    assert!(ada_events.iter().any(|e| e["action"] == "session.sign_in"
        && e["outcome"] == "failure"
        && e["detail"]["reason"] == "mfa_enrollment_required"
        && e["detail"]["enrolment_token"] == "issued"));
    assert!(
        ada_events
            .iter()
            .any(|e| e["action"] == "mfa.confirm" && e["outcome"] == "success")
    );
    assert_eq!(
        ada_events
            .iter()
            .filter(|e| e["action"] == "session.sign_in" && e["outcome"] == "success")
            .count(),
        2
    );
    assert!(!serde_json::to_string(&events).unwrap().contains(&token));
}

async fn wrong_enrolment_codes_are_throttled(app: TestApp) {
    let admin = require_mfa(&app).await;
    app.create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let token = enrolment_token(&app, "default", "ada@example.com").await;
    let enrolled = begun(&app, &token).await;
    let mut refused = Vec::new();
    for _ in 0..6 {
        let reply = confirm(&app, CONFIRM, &token, &enrolled.wrong_code(&app)).await;
        if reply.status == StatusCode::UNAUTHORIZED {
            assert_problem(&reply, StatusCode::UNAUTHORIZED, "invalid_totp");
        }
        refused.push(reply.status);
    }
    assert_eq!(refused[0], StatusCode::UNAUTHORIZED);
    assert!(
        refused.contains(&StatusCode::TOO_MANY_REQUESTS),
        "six wrong codes in a row were never throttled: {refused:?}"
    );
    // Throttled on the account: the right code waits, and so does a sign-in.
    let early = confirm(&app, CONFIRM, &token, &enrolled.code(&app, 0)).await;
    assert_problem(&early, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    assert!(early.headers.get("retry-after").is_some());
    let signing_in = app
        .sign_in("default", "ada@example.com", USER_PASSWORD)
        .await;
    assert_problem(
        &signing_in,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
    );
    let events = app.audit_events(&admin).await;
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "mfa.confirm" && e["outcome"] == "failure")
    );

    // Once the wait is over the token has expired: sign in again for a new one; the
    // pending enrolment is still there to confirm.
    app.clock.advance(Duration::minutes(15));
    let expired = confirm(&app, CONFIRM, &token, &enrolled.code(&app, 0)).await;
    assert_problem(
        &expired,
        StatusCode::UNAUTHORIZED,
        "invalid_enrolment_token",
    );
    let fresh = enrolment_token(&app, "default", "ada@example.com").await;
    // (That refused sign-in counted too: wait out its short delay.)
    app.clock.advance(Duration::minutes(1));
    let signed_in = confirm(&app, CONFIRM, &fresh, &enrolled.code(&app, 0)).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
}

async fn enrolment_tokens_are_not_access_tokens(app: TestApp) {
    let admin = require_mfa(&app).await;
    app.create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let token = enrolment_token(&app, "default", "ada@example.com").await;
    for (method, path) in [
        (Method::GET, "/api/v1/me"),
        (Method::GET, "/api/v1/me/mfa"),
        (Method::POST, "/api/v1/me/mfa/totp"),
    ] {
        let reply = app.call(method, path, Some(&token), None).await;
        assert_problem(&reply, StatusCode::UNAUTHORIZED, "invalid_token");
    }
    // Nor is it a refresh token.
    let refresh = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/token/refresh",
            None,
            Some(json!({"refresh_token": token})),
        )
        .await;
    assert_problem(&refresh, StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    // And it still works for what it is for.
    begun(&app, &token).await;
}

async fn enrolment_tokens_are_bound_to_their_tenant(app: TestApp) {
    let admin = require_mfa(&app).await;
    app.create_tenant(&admin, "acme").await;
    app.create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let token = enrolment_token(&app, "default", "ada@example.com").await;
    let elsewhere = begin(&app, "/api/v1/tenants/acme/sign-in/mfa-enrolment", &token).await;
    assert_problem(
        &elsewhere,
        StatusCode::UNAUTHORIZED,
        "invalid_enrolment_token",
    );
    let enrolled = begun(&app, &token).await;
    let confirm_elsewhere = confirm(
        &app,
        "/api/v1/tenants/acme/sign-in/mfa-enrolment/confirm",
        &token,
        &enrolled.code(&app, 0),
    )
    .await;
    assert_problem(
        &confirm_elsewhere,
        StatusCode::UNAUTHORIZED,
        "invalid_enrolment_token",
    );
    let nowhere = begin(
        &app,
        "/api/v1/tenants/nowhere/sign-in/mfa-enrolment",
        &token,
    )
    .await;
    assert_problem(&nowhere, StatusCode::NOT_FOUND, "not_found");
    let unknown = begin(&app, BEGIN, "not-a-token-at-all").await;
    assert_problem(
        &unknown,
        StatusCode::UNAUTHORIZED,
        "invalid_enrolment_token",
    );
    // At its own tenant it still works: the wrong tenant did not spend it.
    let signed_in = confirm(&app, CONFIRM, &token, &enrolled.code(&app, 0)).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
}

async fn enrolment_tokens_expire_and_need_an_enabled_member(app: TestApp) {
    let (admin, root) = require_mfa_keeping_the_authenticator(&app).await;
    let ada_id = app
        .create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let token = enrolment_token(&app, "default", "ada@example.com").await;
    app.clock.advance(Duration::minutes(9));
    let enrolled = begun(&app, &token).await;
    app.clock.advance(Duration::minutes(1));
    let expired = confirm(&app, CONFIRM, &token, &enrolled.code(&app, 0)).await;
    assert_problem(
        &expired,
        StatusCode::UNAUTHORIZED,
        "invalid_enrolment_token",
    );
    let expired_begin = begin(&app, BEGIN, &token).await;
    assert_problem(
        &expired_begin,
        StatusCode::UNAUTHORIZED,
        "invalid_enrolment_token",
    );

    // A member disabled after the token was issued cannot use it.
    let token = enrolment_token(&app, "default", "ada@example.com").await;
    let user = format!("/api/v1/tenants/default/users/{ada_id}");
    // (The administrator's access token expired meanwhile.)
    let admin = sign_in_admin(&app, &root).await;
    let disabled = app
        .call(
            Method::PATCH,
            &user,
            Some(&admin),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    let refused = confirm(&app, CONFIRM, &token, &enrolled.code(&app, 0)).await;
    assert_problem(
        &refused,
        StatusCode::UNAUTHORIZED,
        "invalid_enrolment_token",
    );
    let refused_begin = begin(&app, BEGIN, &token).await;
    assert_problem(
        &refused_begin,
        StatusCode::UNAUTHORIZED,
        "invalid_enrolment_token",
    );
}

async fn members_with_an_authenticator_get_no_enrolment_token(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_user(&admin, "default", "bob@example.com", "user")
        .await;
    let bob = app.token("default", "bob@example.com", USER_PASSWORD).await;
    let bobs = enrol_and_confirm(&app, &bob).await;
    require_mfa(&app).await;

    let no_code = sign_in_with_code(&app, "bob@example.com", None).await;
    assert_problem(&no_code, StatusCode::UNAUTHORIZED, "mfa_required");
    assert!(
        no_code.body.get("enrolment_token").is_none(),
        "{}",
        no_code.body
    );
    let wrong_password = app
        .sign_in("default", "bob@example.com", "wrong wrong wrong")
        .await;
    assert_problem(
        &wrong_password,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
    assert!(wrong_password.body.get("enrolment_token").is_none());
    let with_code = sign_in_with_code(&app, "bob@example.com", Some(&bobs.code(&app, 0))).await;
    assert_eq!(with_code.status, StatusCode::OK, "{}", with_code.body);

    // A wrong password of a member without an authenticator reveals nothing either, and
    // the OIDC password grant keeps its answer, without a token.
    app.create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let wrong = app
        .sign_in("default", "ada@example.com", "wrong wrong wrong")
        .await;
    assert_problem(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert!(wrong.body.get("enrolment_token").is_none());
    let response = app
        .http
        .post(app.url("/realms/default/protocol/openid-connect/token"))
        .form(&[
            ("client_id", "admin-cli"),
            ("grant_type", "password"),
            ("username", "ada@example.com"),
            ("password", USER_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let grant = TestApp::read(response).await;
    assert_eq!(grant.status, StatusCode::BAD_REQUEST, "{}", grant.body);
    assert_eq!(grant.body["error_code"], "mfa_enrollment_required");
    assert!(grant.body.get("enrolment_token").is_none());
}

async fn sdk_enrols_with_the_token_of_the_refused_sign_in(app: TestApp) {
    let admin = require_mfa(&app).await;
    app.create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let client = latchkey_client::Client::new(&app.base).unwrap();
    let refused = client
        .sign_in("default", "ada@example.com", USER_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("mfa_enrollment_required"));
    assert_eq!(refused.status(), Some(403));
    let token = refused
        .enrolment_token()
        .expect("an enrolment token")
        .clone();
    // The token never shows in the error's Debug or Display, nor in its problem.
    assert!(!format!("{refused:?} {refused}").contains(token.expose()));
    assert_eq!(refused.problem().unwrap().enrolment_token, None);
    assert!(client.session().await.is_none());

    let enrolment = client.begin_mfa_enrolment("default", &token).await.unwrap();
    assert_eq!(enrolment.recovery_codes.len(), 10);
    let enrolled = Enrolled {
        secret: enrolment.secret,
        recovery_codes: enrolment.recovery_codes,
    };
    let wrong = client
        .confirm_mfa_enrolment("default", &token, &enrolled.wrong_code(&app))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Some("invalid_totp"));
    assert!(wrong.enrolment_token().is_none());
    let signed_in = client
        .confirm_mfa_enrolment("default", &token, &enrolled.code(&app, 0))
        .await
        .unwrap();
    assert_eq!(signed_in.account.email, "ada@example.com");
    assert_eq!(client.me().await.unwrap().account.email, "ada@example.com");
    assert_eq!(client.mfa_status().await.unwrap().totp, "active");
    let spent = client
        .begin_mfa_enrolment("default", &token)
        .await
        .unwrap_err();
    assert_eq!(spent.code(), Some("invalid_enrolment_token"));
}

/// `demo` accounts are shared: one person enrolling would lock the others out, so a
/// token does not let them enrol, as `/me/mfa/totp` does not.
async fn roles_that_may_not_change_their_profile_cannot_enrol(app: TestApp) {
    let admin = require_mfa(&app).await;
    app.create_user(&admin, "default", "demo@example.com", "demo")
        .await;
    let token = enrolment_token(&app, "default", "demo@example.com").await;
    let refused = begin(&app, BEGIN, &token).await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");
    let confirm_refused = confirm(&app, CONFIRM, &token, "123456").await;
    assert_problem(&confirm_refused, StatusCode::FORBIDDEN, "forbidden");
}
