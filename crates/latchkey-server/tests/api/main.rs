//! The native API over real HTTP, on SQLite and (when configured) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod applications;
mod cloudspot;
mod external_auth;
mod grants;
mod groups;
mod harness;
mod import;
mod keycloak_admin;
mod maestro;
mod mfa;
mod mfa_enrolment;
mod oidc;
mod oidc_enrolment;
mod projects;
mod prune;
mod signing_keys;
mod signup;
mod squirro;
mod squirro_grants;
mod squirro_groups;
mod terms;

use harness::{
    ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, USER_PASSWORD, assert_problem, on_both_backends,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;

on_both_backends!(
    bootstrap_admin_signs_in_and_reads_itself,
    refresh_rotates_honours_the_grace_and_reuse_revokes_the_session,
    sign_out_ends_the_session,
    unknown_account_and_wrong_password_look_the_same,
    repeated_failures_lock_the_login,
    weak_passwords_are_refused_with_every_violation,
    error_classes_are_problem_details,
    user_lists_page_over_many_rows,
    audit_records_mutations_and_sign_ins,
    tenants_are_isolated,
    user_lifecycle_and_sessions,
    sdk_refreshes_expired_tokens,
    key_rotation_keeps_old_tokens_valid,
    own_password_change_keeps_only_this_session,
    tenant_admins_cannot_touch_platform_admins,
    parallel_guesses_cannot_outrun_the_lockout,
    password_change_guesses_are_throttled,
    forged_tokens_for_unknown_tenants_are_cheap_401s,
    role_changes_apply_atomically,
    refresh_tokens_are_bound_to_their_tenant,
    housekeeping_purges_ended_sessions,
);

async fn bootstrap_admin_signs_in_and_reads_itself(app: TestApp) {
    let reply = app.sign_in("default", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = &reply.body;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["account"]["email"], ADMIN_EMAIL);
    assert_eq!(body["account"]["platform_admin"], true);
    assert_eq!(body["account"]["role"], "admin");
    assert_eq!(body["tenant"]["domain"], "default");
    assert!(body["id_token"].as_str().unwrap().split('.').count() == 3);
    assert_eq!(body["refresh_token"].as_str().unwrap().len(), 43);

    let token = body["access_token"].as_str().unwrap();
    let me = app.call(Method::GET, "/api/v1/me", Some(token), None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["account"]["email"], ADMIN_EMAIL);
    assert_eq!(me.body["membership"]["tenant"], "default");
    assert!(
        me.body["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("users.write"))
    );
    assert!(me.body["account"]["last_login_at"].is_string());

    let health = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    let ready = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::OK);
    let openapi = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(openapi.status, StatusCode::OK);
    assert!(openapi.body["openapi"].as_str().unwrap().starts_with("3.1"));
    // Every route of the native API is described (the document is generated from the
    // handlers, so a route missing here was left out of `ApiDoc`).
    for (path, methods) in [
        ("/api/v1/tenants/{tenant}/sign-in", &["post"][..]),
        ("/api/v1/tenants/{tenant}/token/refresh", &["post"]),
        ("/api/v1/tenants/{tenant}/sign-out", &["post"]),
        ("/api/v1/tenants/{tenant}/sign-in/mfa-enrolment", &["post"]),
        (
            "/api/v1/tenants/{tenant}/sign-in/mfa-enrolment/confirm",
            &["post"],
        ),
        ("/api/v1/me", &["get"]),
        ("/api/v1/me/password", &["put"]),
        ("/api/v1/me/mfa", &["get"]),
        ("/api/v1/me/mfa/totp", &["post", "delete"]),
        ("/api/v1/me/mfa/totp/confirm", &["post"]),
        ("/api/v1/tenants/{tenant}/users/{id}/mfa", &["delete"]),
        ("/api/v1/tenants", &["get", "post"]),
        ("/api/v1/tenants/{tenant}", &["get", "patch", "delete"]),
        ("/api/v1/tenants/{tenant}/keys/rotate", &["post"]),
        ("/api/v1/tenants/{tenant}/audit", &["get"]),
        ("/api/v1/tenants/{tenant}/jwks.json", &["get"]),
        ("/api/v1/tenants/{tenant}/users", &["get", "post"]),
        ("/api/v1/tenants/{tenant}/users/import", &["post"]),
        ("/api/v1/tenants/{tenant}/users/prune", &["post"]),
        ("/api/v1/tenants/{tenant}/users/restore", &["post"]),
        (
            "/api/v1/tenants/{tenant}/users/{id}",
            &["get", "patch", "delete"],
        ),
        ("/api/v1/tenants/{tenant}/users/{id}/password", &["put"]),
        ("/api/v1/tenants/{tenant}/users/{id}/sessions", &["get"]),
        (
            "/api/v1/tenants/{tenant}/users/{id}/sessions/{sid}",
            &["delete"],
        ),
        ("/api/v1/tenants/{tenant}/applications", &["get", "post"]),
        (
            "/api/v1/tenants/{tenant}/applications/{client_id}",
            &["get", "delete"],
        ),
        (
            "/api/v1/tenants/{tenant}/applications/{client_id}/rotate-secret",
            &["post"],
        ),
        ("/api/v1/tenants/{tenant}/terms", &["get", "post"]),
        ("/api/v1/me/terms", &["get"]),
        ("/api/v1/me/terms/accept", &["post"]),
        ("/healthz", &["get"]),
        ("/readyz", &["get"]),
        ("/metrics", &["get"]),
    ] {
        for method in methods {
            assert!(
                openapi.body["paths"][path][method].is_object(),
                "{method} {path} missing from the OpenAPI document"
            );
        }
    }
    assert_eq!(openapi.body["paths"].as_object().unwrap().len(), 56);
    assert!(openapi.body["components"]["schemas"]["Problem"].is_object());
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("latchkey_sign_ins_total{outcome=\"success\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("latchkey_http_request_duration_seconds"),
        "{metrics}"
    );
    assert!(
        metrics.contains("route=\"/api/v1/tenants/{tenant}/sign-in\""),
        "{metrics}"
    );
    assert!(metrics.contains("latchkey_active_sessions 1"), "{metrics}");
}

async fn refresh(app: &TestApp, refresh_token: &str) -> harness::Reply {
    app.call(
        Method::POST,
        "/api/v1/tenants/default/token/refresh",
        None,
        Some(json!({"refresh_token": refresh_token})),
    )
    .await
}

async fn refresh_rotates_honours_the_grace_and_reuse_revokes_the_session(app: TestApp) {
    let first = app
        .sign_in("default", ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .body;
    let original = first["refresh_token"].as_str().unwrap().to_owned();

    let second = refresh(&app, &original).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let rotated = second.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, original);
    assert_ne!(second.body["access_token"], first["access_token"]);

    // The same token again within the grace period (another process sharing it, two
    // requests racing) is honoured with new tokens of its own; the rotated token keeps
    // working beside them.
    app.clock.advance(Duration::seconds(5));
    let shared = refresh(&app, &original).await;
    assert_eq!(shared.status, StatusCode::OK, "{}", shared.body);
    let sibling = shared.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(sibling, rotated);
    assert_ne!(shared.body["access_token"], second.body["access_token"]);
    let third = refresh(&app, &rotated).await;
    assert_eq!(third.status, StatusCode::OK, "{}", third.body);
    let latest = third.body["refresh_token"].as_str().unwrap().to_owned();
    let sibling_next = refresh(&app, &sibling).await;
    assert_eq!(sibling_next.status, StatusCode::OK, "{}", sibling_next.body);
    let sibling_latest = sibling_next.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // After the grace period, presenting the old token again is theft: the session dies.
    app.clock.advance(Duration::seconds(10));
    let reuse = refresh(&app, &original).await;
    assert_problem(&reuse, StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    // Every chain of the session ends with it: the rotated one and the one honoured
    // within the grace.
    for token in [&latest, &sibling_latest] {
        let after = refresh(&app, token).await;
        assert_problem(&after, StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    }
    let access = second.body["access_token"].as_str().unwrap();
    let me = app
        .call(Method::GET, "/api/v1/me", Some(access), None)
        .await;
    assert_problem(&me, StatusCode::UNAUTHORIZED, "invalid_token");

    let unknown = refresh(&app, "not-a-token").await;
    assert_problem(&unknown, StatusCode::UNAUTHORIZED, "invalid_refresh_token");
}

/// With `refresh_reuse_grace_seconds = 0` there is no grace: a rotated token presented
/// again, however soon, is a replay and ends the session.
async fn without_grace_a_second_use_revokes_at_once(backend: harness::Backend) {
    let Some(app) =
        TestApp::start_with_env(backend, &[("LATCHKEY_REFRESH_REUSE_GRACE_SECONDS", "0")]).await
    else {
        return;
    };
    let first = app
        .sign_in("default", ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .body;
    let original = first["refresh_token"].as_str().unwrap().to_owned();
    let second = refresh(&app, &original).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let rotated = second.body["refresh_token"].as_str().unwrap().to_owned();
    let again = refresh(&app, &original).await;
    assert_problem(&again, StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    assert!(
        again.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("revoked"),
        "{}",
        again.body
    );
    let after = refresh(&app, &rotated).await;
    assert_problem(&after, StatusCode::UNAUTHORIZED, "invalid_refresh_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_grace_a_second_use_revokes_at_once_sqlite() {
    without_grace_a_second_use_revokes_at_once(harness::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_grace_a_second_use_revokes_at_once_postgres() {
    without_grace_a_second_use_revokes_at_once(harness::Backend::Postgres).await;
}

async fn sign_out_ends_the_session(app: TestApp) {
    let body = app
        .sign_in("default", ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .body;
    let access = body["access_token"].as_str().unwrap();
    let out = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/sign-out",
            Some(access),
            None,
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.body);
    let me = app
        .call(Method::GET, "/api/v1/me", Some(access), None)
        .await;
    assert_problem(&me, StatusCode::UNAUTHORIZED, "invalid_token");
    assert!(me.headers.get("www-authenticate").is_some());
    let again = refresh(&app, body["refresh_token"].as_str().unwrap()).await;
    assert_problem(&again, StatusCode::UNAUTHORIZED, "invalid_refresh_token");
}

async fn unknown_account_and_wrong_password_look_the_same(app: TestApp) {
    let wrong = app
        .sign_in("default", ADMIN_EMAIL, "not the right passphrase")
        .await;
    let unknown = app
        .sign_in("default", "nobody@example.com", "not the right passphrase")
        .await;
    assert_problem(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.body, unknown.body);
    // A real account that is not a member of the tenant answers the same too.
    let admin = app.admin_token().await;
    app.create_tenant(&admin, "other").await;
    let outsider = app.sign_in("other", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(outsider.body, wrong.body);
    // Unknown tenants are a different thing entirely.
    let no_tenant = app.sign_in("missing", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_problem(&no_tenant, StatusCode::NOT_FOUND, "not_found");
}

async fn repeated_failures_lock_the_login(app: TestApp) {
    for login in [ADMIN_EMAIL, "ghost@example.com"] {
        for attempt in 0..10 {
            let reply = app.sign_in("default", login, "wrong wrong wrong").await;
            assert_problem(&reply, StatusCode::UNAUTHORIZED, "invalid_credentials");
            if attempt >= 3 {
                // Without waiting out the growing delay, the next attempt is refused early.
                let early = app.sign_in("default", login, "wrong wrong wrong").await;
                assert_problem(&early, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
                assert!(early.headers.get("retry-after").is_some());
            }
            app.clock.advance(Duration::seconds(31));
        }
        // Locked: even the right password is refused, for known and unknown alike.
        let locked = app.sign_in("default", login, ADMIN_PASSWORD).await;
        assert_problem(&locked, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    }
    app.clock.advance(Duration::minutes(15));
    let reply = app.sign_in("default", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // Success cleared the count: one more failure is an ordinary failure again.
    let after = app
        .sign_in("default", ADMIN_EMAIL, "wrong wrong wrong")
        .await;
    assert_problem(&after, StatusCode::UNAUTHORIZED, "invalid_credentials");
}

async fn weak_passwords_are_refused_with_every_violation(app: TestApp) {
    let admin = app.admin_token().await;
    let reply = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/users",
            Some(&admin),
            Some(json!({"email": "weak@example.com", "password": "password"})),
        )
        .await;
    assert_problem(&reply, StatusCode::BAD_REQUEST, "weak_password");
    let rules: Vec<_> = reply.body["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(rules, ["too_short", "common"]);
    let listed = app
        .call(
            Method::GET,
            "/api/v1/tenants/default/users?email=weak",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(listed.body["items"], json!([]), "nothing was created");

    let long_common = app
        .call(
            Method::PUT,
            "/api/v1/me/password",
            Some(&admin),
            Some(json!({"current_password": ADMIN_PASSWORD, "new_password": "x".repeat(200)})),
        )
        .await;
    assert_problem(&long_common, StatusCode::BAD_REQUEST, "weak_password");
    assert_eq!(long_common.body["violations"][0]["rule"], "too_long");
}

async fn error_classes_are_problem_details(app: TestApp) {
    let admin = app.admin_token().await;
    let users = "/api/v1/tenants/default/users";

    let malformed = app
        .post_raw(users, &admin, "application/json", "{\"email\": ")
        .await;
    assert_problem(&malformed, StatusCode::BAD_REQUEST, "malformed_request");

    let unknown_field = app
        .call(
            Method::POST,
            users,
            Some(&admin),
            Some(json!({"email": "a@example.com", "colour": "red"})),
        )
        .await;
    assert_problem(&unknown_field, StatusCode::BAD_REQUEST, "malformed_request");
    assert!(
        unknown_field.body["detail"]
            .as_str()
            .unwrap()
            .contains("colour")
    );

    let missing = app
        .call(
            Method::POST,
            users,
            Some(&admin),
            Some(json!({"role": "user"})),
        )
        .await;
    assert_problem(&missing, StatusCode::BAD_REQUEST, "malformed_request");
    assert!(missing.body["detail"].as_str().unwrap().contains("email"));

    let secret_typed = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/sign-in",
            None,
            Some(json!({"login": "a", "password": 987654321})),
        )
        .await;
    assert_problem(&secret_typed, StatusCode::BAD_REQUEST, "malformed_request");
    assert!(
        !secret_typed.body.to_string().contains("987654321"),
        "{}",
        secret_typed.body
    );

    let huge = json!({"email": "big@example.com", "custom_data": {"blob": "x".repeat(70 * 1024)}});
    let too_large = app
        .call(Method::POST, users, Some(&admin), Some(huge))
        .await;
    assert_problem(
        &too_large,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );

    let not_json = app.post_raw(users, &admin, "text/plain", "hello").await;
    assert_problem(
        &not_json,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );

    let bad_email = app
        .call(
            Method::POST,
            users,
            Some(&admin),
            Some(json!({"email": "not-an-email"})),
        )
        .await;
    assert_problem(&bad_email, StatusCode::BAD_REQUEST, "validation_failed");

    let no_tenant = app
        .call(
            Method::GET,
            "/api/v1/tenants/nope/users",
            Some(&admin),
            None,
        )
        .await;
    assert_problem(&no_tenant, StatusCode::NOT_FOUND, "not_found");
    let no_user = app
        .call(
            Method::GET,
            &format!("{users}/AAAAAAAAAAAAAAAAAAAAAA"),
            Some(&admin),
            None,
        )
        .await;
    assert_problem(&no_user, StatusCode::NOT_FOUND, "not_found");
    let no_route = app
        .call(Method::GET, "/api/v1/nothing-here", None, None)
        .await;
    assert_problem(&no_route, StatusCode::NOT_FOUND, "not_found");
    let wrong_method = app
        .call(Method::DELETE, "/api/v1/me", Some(&admin), None)
        .await;
    assert_problem(
        &wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );

    app.create_user(&admin, "default", "dup@example.com", "user")
        .await;
    let dup = app
        .call(
            Method::POST,
            users,
            Some(&admin),
            Some(json!({"email": "DUP@example.com"})),
        )
        .await;
    assert_problem(&dup, StatusCode::CONFLICT, "conflict");

    let no_token = app.call(Method::GET, "/api/v1/me", None, None).await;
    assert_problem(&no_token, StatusCode::UNAUTHORIZED, "invalid_token");
    let garbage = app
        .call(Method::GET, "/api/v1/me", Some("a.b.c"), None)
        .await;
    assert_problem(&garbage, StatusCode::UNAUTHORIZED, "invalid_token");
    let mut tampered = admin.clone();
    tampered.pop();
    tampered.push(if admin.ends_with('A') { 'B' } else { 'A' });
    let forged = app
        .call(Method::GET, "/api/v1/me", Some(&tampered), None)
        .await;
    assert_problem(&forged, StatusCode::UNAUTHORIZED, "invalid_token");

    let member = app.token("default", "dup@example.com", USER_PASSWORD).await;
    let forbidden = app.call(Method::GET, users, Some(&member), None).await;
    assert_problem(&forbidden, StatusCode::FORBIDDEN, "forbidden");
    let not_platform = app
        .call(Method::GET, "/api/v1/tenants", Some(&member), None)
        .await;
    assert_problem(&not_platform, StatusCode::FORBIDDEN, "forbidden");

    app.clock.advance(Duration::minutes(6));
    let expired = app
        .call(Method::GET, "/api/v1/me", Some(&admin), None)
        .await;
    assert_problem(&expired, StatusCode::UNAUTHORIZED, "invalid_token");
}

async fn user_lists_page_over_many_rows(app: TestApp) {
    let admin = app.admin_token().await;
    for i in 0..7 {
        let role = if i % 2 == 0 { "reader" } else { "user" };
        app.create_user(&admin, "default", &format!("member{i}@example.com"), role)
            .await;
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = "/api/v1/tenants/default/users?limit=3&email=member".to_owned();
        if let Some(cursor) = &after {
            path.push_str(&format!("&after={cursor}"));
        }
        let page = app.call(Method::GET, &path, Some(&admin), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        pages += 1;
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["email"].as_str().unwrap().to_owned());
        }
        match page.body["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<_> = (0..7).map(|i| format!("member{i}@example.com")).collect();
    assert_eq!(seen, expected);

    let readers = app
        .call(
            Method::GET,
            "/api/v1/tenants/default/users?role=reader&limit=50",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(readers.body["items"].as_array().unwrap().len(), 4);

    // Only the admin signs in again; everyone else never did and was created earlier.
    app.clock.advance(Duration::seconds(2));
    let admin = app.admin_token().await;
    let since = (app.clock_now() - Duration::seconds(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let inactive = app
        .call(
            Method::GET,
            &format!(
                "/api/v1/tenants/default/users?inactive_since={}",
                since.replace('+', "%2B")
            ),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(inactive.status, StatusCode::OK, "{}", inactive.body);
    let emails: Vec<_> = inactive.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].clone())
        .collect();
    assert_eq!(emails.len(), 7, "{emails:?}");
    assert!(!emails.contains(&json!(ADMIN_EMAIL)));

    let bad_cursor = app
        .call(
            Method::GET,
            "/api/v1/tenants/default/audit?after=garbage",
            Some(&admin),
            None,
        )
        .await;
    assert_problem(&bad_cursor, StatusCode::BAD_REQUEST, "validation_failed");
    let bad_date = app
        .call(
            Method::GET,
            "/api/v1/tenants/default/users?inactive_since=yesterday",
            Some(&admin),
            None,
        )
        .await;
    assert_problem(&bad_date, StatusCode::BAD_REQUEST, "malformed_request");
}

async fn audit_records_mutations_and_sign_ins(app: TestApp) {
    let admin = app.admin_token().await;
    let id = app
        .create_user(&admin, "default", "audited@example.com", "user")
        .await;
    let _ = app
        .sign_in("default", "audited@example.com", "wrong wrong wrong")
        .await;
    app.clock.advance(Duration::seconds(1));
    let deleted = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tenants/default/users/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let events = app.audit_events(&admin).await;
    let find = |action: &str, outcome: &str| {
        events
            .iter()
            .find(|e| e["action"] == action && e["outcome"] == outcome)
            .unwrap_or_else(|| panic!("no {action}/{outcome} in {events:?}"))
    };
    let about_the_account = |action: &str| {
        events.iter().any(|e| {
            e["action"] == action && e["outcome"] == "success" && e["target"] == id.as_str()
        })
    };
    assert!(about_the_account("account.create"), "{events:?}");
    assert!(about_the_account("account.delete"), "{events:?}");
    find("session.sign_in", "success");
    let failure = find("session.sign_in", "failure");
    assert_eq!(failure["target"], "audited@example.com");
    assert!(
        !Value::from(events.clone())
            .to_string()
            .contains("wrong wrong wrong"),
        "no secrets in the log"
    );
    // Newest first.
    assert_eq!(events[0]["action"], "account.delete");
}

async fn tenants_are_isolated(app: TestApp) {
    let root = app.admin_token().await;
    app.create_tenant(&root, "acme").await;
    app.create_tenant(&root, "globex").await;
    app.create_user(&root, "acme", "boss@acme.test", "admin")
        .await;
    let globex_member = app
        .create_user(&root, "globex", "worker@globex.test", "user")
        .await;
    let boss = app.token("acme", "boss@acme.test", USER_PASSWORD).await;

    // Acme's admin manages Acme ...
    let own = app
        .call(Method::GET, "/api/v1/tenants/acme/users", Some(&boss), None)
        .await;
    assert_eq!(own.status, StatusCode::OK);
    // ... but not Globex, nor the tenant list.
    for (method, path) in [
        (Method::GET, "/api/v1/tenants/globex/users".to_owned()),
        (
            Method::GET,
            format!("/api/v1/tenants/globex/users/{globex_member}"),
        ),
        (
            Method::DELETE,
            format!("/api/v1/tenants/globex/users/{globex_member}"),
        ),
        (Method::GET, "/api/v1/tenants/globex".to_owned()),
        (Method::GET, "/api/v1/tenants/globex/audit".to_owned()),
        (
            Method::POST,
            "/api/v1/tenants/globex/keys/rotate".to_owned(),
        ),
        (Method::GET, "/api/v1/tenants".to_owned()),
        (Method::DELETE, "/api/v1/tenants/globex".to_owned()),
    ] {
        let reply = app.call(method.clone(), &path, Some(&boss), None).await;
        assert_problem(&reply, StatusCode::FORBIDDEN, "forbidden");
    }
    // A Globex member is not visible through Acme.
    let through_acme = app
        .call(
            Method::GET,
            &format!("/api/v1/tenants/acme/users/{globex_member}"),
            Some(&boss),
            None,
        )
        .await;
    assert_problem(&through_acme, StatusCode::NOT_FOUND, "not_found");
    // A token of one tenant cannot sign out of another.
    let cross = app
        .call(
            Method::POST,
            "/api/v1/tenants/globex/sign-out",
            Some(&boss),
            None,
        )
        .await;
    assert_problem(&cross, StatusCode::UNAUTHORIZED, "invalid_token");

    // The platform admin lists, reads, updates and deletes tenants.
    let list = app
        .call(Method::GET, "/api/v1/tenants?limit=2", Some(&root), None)
        .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    assert!(list.body["next"].is_string());
    let patched = app
        .call(
            Method::PATCH,
            "/api/v1/tenants/globex",
            Some(&root),
            Some(json!({"title": "Globex Corp", "metadata": {"tier": "gold", "modules": ["catalog"]}})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["title"], "Globex Corp");
    assert_eq!(patched.body["metadata"]["tier"], "gold");
    let gone = app
        .call(Method::DELETE, "/api/v1/tenants/globex", Some(&root), None)
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let missing = app
        .call(Method::GET, "/api/v1/tenants/globex", Some(&root), None)
        .await;
    assert_problem(&missing, StatusCode::NOT_FOUND, "not_found");
    let worker = app
        .sign_in("globex", "worker@globex.test", USER_PASSWORD)
        .await;
    assert_problem(&worker, StatusCode::NOT_FOUND, "not_found");
}

async fn user_lifecycle_and_sessions(app: TestApp) {
    let admin = app.admin_token().await;
    let id = app
        .create_user(&admin, "default", "life@example.com", "user")
        .await;
    let path = format!("/api/v1/tenants/default/users/{id}");

    let patched = app
        .call(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"display_name": "Life", "username": "life", "custom_data": {"team": "blue", "x": 1}})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let merged = app
        .call(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"custom_data": {"x": null, "y": 2}})),
        )
        .await;
    assert_eq!(merged.body["custom_data"], json!({"team": "blue", "y": 2}));
    assert_eq!(merged.body["username"], "life");

    // Sign in by username, twice: two sessions.
    let first = app.token("default", "LIFE", USER_PASSWORD).await;
    app.clock.advance(Duration::seconds(1));
    let _second = app
        .token("default", "life@example.com", USER_PASSWORD)
        .await;
    let sessions = app
        .call(Method::GET, &format!("{path}/sessions"), Some(&admin), None)
        .await;
    assert_eq!(sessions.status, StatusCode::OK, "{}", sessions.body);
    let list = sessions.body.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let sid = list[1]["id"].as_str().unwrap();
    let revoke = app
        .call(
            Method::DELETE,
            &format!("{path}/sessions/{sid}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT, "{}", revoke.body);
    let again = app
        .call(
            Method::DELETE,
            &format!("{path}/sessions/{sid}"),
            Some(&admin),
            None,
        )
        .await;
    assert_problem(&again, StatusCode::NOT_FOUND, "not_found");
    let me = app
        .call(Method::GET, "/api/v1/me", Some(&first), None)
        .await;
    assert_problem(&me, StatusCode::UNAUTHORIZED, "invalid_token");

    // Setting the password ends every session of the member.
    let set = app
        .call(
            Method::PUT,
            &format!("{path}/password"),
            Some(&admin),
            Some(json!({"password": "another long passphrase"})),
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.body);
    let after = app
        .call(Method::GET, &format!("{path}/sessions"), Some(&admin), None)
        .await;
    assert_eq!(after.body, json!([]));
    let old = app
        .sign_in("default", "life@example.com", USER_PASSWORD)
        .await;
    assert_problem(&old, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let member = app
        .token("default", "life@example.com", "another long passphrase")
        .await;

    // Disabled accounts cannot use their tokens nor sign in.
    let disabled = app
        .call(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(disabled.body["disabled"], true);
    let me = app
        .call(Method::GET, "/api/v1/me", Some(&member), None)
        .await;
    assert_problem(&me, StatusCode::UNAUTHORIZED, "invalid_token");
    let blocked = app
        .sign_in("default", "life@example.com", "another long passphrase")
        .await;
    assert_problem(&blocked, StatusCode::UNAUTHORIZED, "invalid_credentials");
    // Enabling it again brings none of the old sessions back.
    let enabled = app
        .call(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"disabled": false})),
        )
        .await;
    assert_eq!(enabled.body["disabled"], false);
    let me = app
        .call(Method::GET, "/api/v1/me", Some(&member), None)
        .await;
    assert_problem(&me, StatusCode::UNAUTHORIZED, "invalid_token");

    let deleted = app.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = app.call(Method::GET, &path, Some(&admin), None).await;
    assert_problem(&gone, StatusCode::NOT_FOUND, "not_found");
}

async fn sdk_refreshes_expired_tokens(app: TestApp) {
    let client = latchkey_client::Client::new(&app.base).unwrap();
    client
        .sign_in("default", ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    let before = client.session().await.unwrap();
    let me = client.me().await.unwrap();
    assert_eq!(me.account.email, ADMIN_EMAIL);

    // The server's clock moves past expiry; the SDK gets 401, refreshes once and retries.
    app.clock.advance(Duration::minutes(6));
    let created = client
        .create_user(
            "default",
            &latchkey_api::CreateUserRequest {
                email: "sdk@example.com".into(),
                username: None,
                display_name: None,
                role: None,
                password: Some(USER_PASSWORD.into()),
                custom_data: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(created.email, "sdk@example.com");
    let after = client.session().await.unwrap();
    assert_ne!(before.refresh_token.expose(), after.refresh_token.expose());

    let error = client.get_tenant("nope").await.unwrap_err();
    assert_eq!(error.code(), Some("not_found"));
}

async fn key_rotation_keeps_old_tokens_valid(app: TestApp) {
    let admin = app.admin_token().await;
    let rotated = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/keys/rotate",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{}", rotated.body);
    let kid = rotated.body["kid"].as_str().unwrap();
    // The token signed with the previous key still verifies ...
    let me = app
        .call(Method::GET, "/api/v1/me", Some(&admin), None)
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    // ... and new tokens name the new key.
    let fresh = app.admin_token().await;
    let header = fresh.split('.').next().unwrap();
    use base64::Engine as _;
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], kid);
    assert_eq!(header["alg"], "RS256");

    // The JWKS publishes both keys, new first, and verifies both tokens.
    let jwks = app
        .call(Method::GET, "/api/v1/tenants/default/jwks.json", None, None)
        .await;
    assert_eq!(jwks.status, StatusCode::OK, "{}", jwks.body);
    let keys = jwks.body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["kid"], kid);
    for (token, expected_key) in [(&fresh, &keys[0]), (&admin, &keys[1])] {
        assert_eq!(keys_kid(token), expected_key["kid"].as_str().unwrap());
        let decoding = jsonwebtoken::DecodingKey::from_rsa_components(
            expected_key["n"].as_str().unwrap(),
            expected_key["e"].as_str().unwrap(),
        )
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&["latchkey"]);
        validation.leeway = 3600;
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &decoding, &validation)
            .unwrap()
            .claims;
        assert_eq!(claims["tenant"], "default");
        assert!(claims["iss"].as_str().unwrap().ends_with("/realms/default"));
    }
    // A second rotation retires the oldest key: only two are ever published.
    let again = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/keys/rotate",
            Some(&fresh),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    let jwks = app
        .call(Method::GET, "/api/v1/tenants/default/jwks.json", None, None)
        .await;
    let kids: Vec<_> = jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].clone())
        .collect();
    assert_eq!(kids, vec![again.body["kid"].clone(), json!(kid)]);
    let stale = app
        .call(Method::GET, "/api/v1/me", Some(&admin), None)
        .await;
    assert_problem(&stale, StatusCode::UNAUTHORIZED, "invalid_token");
}

fn keys_kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

async fn own_password_change_keeps_only_this_session(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_user(&admin, "default", "self@example.com", "user")
        .await;
    let keep = app
        .token("default", "self@example.com", USER_PASSWORD)
        .await;
    let other = app
        .token("default", "self@example.com", USER_PASSWORD)
        .await;
    let wrong = app
        .call(
            Method::PUT,
            "/api/v1/me/password",
            Some(&keep),
            Some(json!({"current_password": "not it at all", "new_password": "brand new passphrase"})),
        )
        .await;
    assert_problem(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let changed = app
        .call(
            Method::PUT,
            "/api/v1/me/password",
            Some(&keep),
            Some(
                json!({"current_password": USER_PASSWORD, "new_password": "brand new passphrase"}),
            ),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    assert_eq!(
        app.call(Method::GET, "/api/v1/me", Some(&keep), None)
            .await
            .status,
        StatusCode::OK
    );
    let ended = app
        .call(Method::GET, "/api/v1/me", Some(&other), None)
        .await;
    assert_problem(&ended, StatusCode::UNAUTHORIZED, "invalid_token");
    // The successful change cleared the counter its check had reserved: four wrong
    // sign-ins in a row are all ordinary failures again.
    for _ in 0..4 {
        let reply = app
            .sign_in("default", "self@example.com", "wrong wrong wrong")
            .await;
        assert_problem(&reply, StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    app.clock.advance(Duration::seconds(2));
    app.token("default", "self@example.com", "brand new passphrase")
        .await;
}

impl TestApp {
    fn clock_now(&self) -> time::OffsetDateTime {
        use latchkey_core::Clock as _;
        self.clock.now()
    }
}

async fn tenant_admins_cannot_touch_platform_admins(app: TestApp) {
    let root = app.admin_token().await;
    app.create_user(&root, "default", "deputy@example.com", "admin")
        .await;
    let deputy = app
        .token("default", "deputy@example.com", USER_PASSWORD)
        .await;
    let me = app.call(Method::GET, "/api/v1/me", Some(&root), None).await;
    let root_id = me.body["account"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/tenants/default/users/{root_id}");
    for (method, path, body) in [
        (
            Method::PUT,
            format!("{path}/password"),
            Some(json!({"password": "i own the platform now"})),
        ),
        (
            Method::PATCH,
            path.clone(),
            Some(json!({"email": "mine@example.com"})),
        ),
        (Method::PATCH, path.clone(), Some(json!({"disabled": true}))),
        (Method::PATCH, path.clone(), Some(json!({"role": "reader"}))),
        (Method::DELETE, path.clone(), None),
    ] {
        let reply = app.call(method, &path, Some(&deputy), body).await;
        assert_problem(&reply, StatusCode::FORBIDDEN, "forbidden");
    }
    // Reading is fine, and the platform admin is untouched.
    let read = app.call(Method::GET, &path, Some(&deputy), None).await;
    assert_eq!(read.status, StatusCode::OK);
    app.admin_token().await;
}

async fn parallel_guesses_cannot_outrun_the_lockout(app: TestApp) {
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..12 {
        let request = app
            .http
            .post(app.url("/api/v1/tenants/default/sign-in"))
            .json(&json!({"login": ADMIN_EMAIL, "password": format!("guess number {i} is wrong")}));
        guesses.spawn(async move { TestApp::read(request.send().await.unwrap()).await });
    }
    let replies = guesses.join_all().await;
    let checked = replies
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    let refused = replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    // Three free failures and the first delayed one: no more than four guesses are checked.
    assert_eq!(
        (checked, refused),
        (4, 8),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let waiting = replies
        .iter()
        .find(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .unwrap();
    let retry_after: i64 = waiting.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
}

async fn password_change_guesses_are_throttled(app: TestApp) {
    let admin = app.admin_token().await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let reply = app
            .call(
                Method::PUT,
                "/api/v1/me/password",
                Some(&admin),
                Some(json!({"current_password": format!("wrong guess {i}"), "new_password": "a new long passphrase"})),
            )
            .await;
        statuses.push(reply.status);
    }
    assert_eq!(&statuses[..4], &[StatusCode::UNAUTHORIZED; 4]);
    assert_eq!(&statuses[4..], &[StatusCode::TOO_MANY_REQUESTS; 2]);
    // The same counter guards sign-in.
    let sign_in = app.sign_in("default", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_problem(&sign_in, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
}

async fn forged_tokens_for_unknown_tenants_are_cheap_401s(app: TestApp) {
    use base64::Engine as _;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let forged = format!(
        "{}.{}.AAAA",
        b64(json!({"alg": "RS256", "kid": "made-up"})),
        b64(json!({"tenant_id": "AAAAAAAAAAAAAAAAAAAAAA", "sub": "x", "sid": "y"}))
    );
    for _ in 0..3 {
        let reply = app
            .call(Method::GET, "/api/v1/me", Some(&forged), None)
            .await;
        assert_problem(&reply, StatusCode::UNAUTHORIZED, "invalid_token");
    }
    let none_alg = format!(
        "{}.{}.",
        b64(json!({"alg": "none"})),
        b64(json!({"tenant_id": "AAAAAAAAAAAAAAAAAAAAAA"}))
    );
    let reply = app
        .call(Method::GET, "/api/v1/me", Some(&none_alg), None)
        .await;
    assert_problem(&reply, StatusCode::UNAUTHORIZED, "invalid_token");
}

async fn role_changes_apply_atomically(app: TestApp) {
    let admin = app.admin_token().await;
    let id = app
        .create_user(&admin, "default", "promoted@example.com", "user")
        .await;
    let path = format!("/api/v1/tenants/default/users/{id}");
    let reply = app
        .call(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"role": "admin", "display_name": "Promoted"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["role"], "admin");
    assert_eq!(reply.body["display_name"], "Promoted");
    let promoted = app
        .token("default", "promoted@example.com", USER_PASSWORD)
        .await;
    let list = app
        .call(
            Method::GET,
            "/api/v1/tenants/default/users",
            Some(&promoted),
            None,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK);
    // An unknown role changes nothing at all.
    let bad = app
        .call(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"role": "emperor", "display_name": "Never"})),
        )
        .await;
    assert_problem(&bad, StatusCode::BAD_REQUEST, "validation_failed");
    let unchanged = app.call(Method::GET, &path, Some(&admin), None).await;
    assert_eq!(unchanged.body["display_name"], "Promoted");
    assert_eq!(unchanged.body["role"], "admin");
}

async fn refresh_tokens_are_bound_to_their_tenant(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_tenant(&admin, "elsewhere").await;
    let body = app
        .sign_in("default", ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .body;
    let token = body["refresh_token"].as_str().unwrap();
    let wrong = app
        .call(
            Method::POST,
            "/api/v1/tenants/elsewhere/token/refresh",
            None,
            Some(json!({"refresh_token": token})),
        )
        .await;
    assert_problem(&wrong, StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    // Not spent: long after the grace period it still rotates normally at its own tenant.
    app.clock.advance(Duration::seconds(30));
    let right = refresh(&app, token).await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.body);
}

async fn housekeeping_purges_ended_sessions(app: TestApp) {
    let body = app
        .sign_in("default", ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .body;
    let token = body["refresh_token"].as_str().unwrap().to_owned();
    let _ = app
        .sign_in("default", ADMIN_EMAIL, "wrong wrong wrong")
        .await;
    let nothing = latchkey_server::housekeeping::purge_once(&app.services)
        .await
        .unwrap();
    assert_eq!(nothing.sessions, 0);
    // Sessions last 30 days and are kept a week after they end.
    app.clock.advance(Duration::days(38));
    let report = latchkey_server::housekeeping::purge_once(&app.services)
        .await
        .unwrap();
    assert_eq!(report.sessions, 1, "{report:?}");
    assert!(report.refresh_tokens >= 1, "{report:?}");
    assert_eq!(report.throttles, 1, "{report:?}");
    let gone = refresh(&app, &token).await;
    assert_problem(&gone, StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    app.admin_token().await;
}
