//! Multi-factor authentication (TOTP and recovery codes) over HTTP: enrolment, every
//! sign-in path, the once-only rule, the lockout, disabling, administrators' resets and
//! the tenant requirement. Codes are computed with totp-rs from the enrolment's secret at
//! the server's (manual) clock.

use latchkey_core::Clock as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::harness::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Reply, TestApp, USER_PASSWORD, assert_problem, on_both_backends,
};

on_both_backends!(
    enrolment_confirmation_and_sign_in_with_codes,
    failed_codes_lead_to_the_lockout,
    wrong_confirmation_codes_are_throttled,
    disabling_needs_password_and_code,
    administrators_reset_and_tenants_require_mfa,
    oidc_password_grant_takes_the_totp_field,
);

const TOKEN: &str = "/realms/default/protocol/openid-connect/token";

/// An enrolled authenticator as the test keeps it.
pub(crate) struct Enrolled {
    pub(crate) secret: String,
    pub(crate) recovery_codes: Vec<String>,
}

impl Enrolled {
    /// The code of the step `offset_steps` away from the server's clock.
    pub(crate) fn code(&self, app: &TestApp, offset_steps: i64) -> String {
        let bytes = Secret::Encoded(self.secret.clone()).to_bytes().unwrap();
        let totp = TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes).unwrap();
        let at = app.clock.now().unix_timestamp() + offset_steps * 30;
        totp.generate(u64::try_from(at).unwrap())
    }

    /// A six-digit code that is none of the accepted window's.
    pub(crate) fn wrong_code(&self, app: &TestApp) -> String {
        let window: Vec<String> = (-1..=1).map(|o| self.code(app, o)).collect();
        (0..)
            .map(|n: u32| format!("{:06}", (n * 7919) % 1_000_000))
            .find(|c| !window.contains(c))
            .unwrap()
    }
}

async fn sign_in(app: &TestApp, login: &str, password: &str, totp: Option<&str>) -> Reply {
    let mut body = json!({"login": login, "password": password});
    if let Some(totp) = totp {
        body["totp"] = json!(totp);
    }
    app.call(
        Method::POST,
        "/api/v1/tenants/default/sign-in",
        None,
        Some(body),
    )
    .await
}

async fn status(app: &TestApp, token: &str) -> Value {
    let reply = app
        .call(Method::GET, "/api/v1/me/mfa", Some(token), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

async fn enrol(app: &TestApp, token: &str) -> Enrolled {
    let reply = app
        .call(Method::POST, "/api/v1/me/mfa/totp", Some(token), None)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let secret = reply.body["secret"].as_str().unwrap().to_owned();
    let codes: Vec<String> = reply.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    Enrolled {
        secret,
        recovery_codes: codes,
    }
}

async fn confirm(app: &TestApp, token: &str, code: &str) -> Reply {
    app.call(
        Method::POST,
        "/api/v1/me/mfa/totp/confirm",
        Some(token),
        Some(json!({"code": code})),
    )
    .await
}

/// Enrols and confirms an authenticator for the holder of `token`, then lets the
/// confirming code's step pass.
pub(crate) async fn enrol_and_confirm(app: &TestApp, token: &str) -> Enrolled {
    let enrolled = enrol(app, token).await;
    let reply = confirm(app, token, &enrolled.code(app, 0)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    app.clock.advance(Duration::seconds(30));
    enrolled
}

async fn enrolment_confirmation_and_sign_in_with_codes(app: TestApp) {
    let admin = app.admin_token().await;
    let ada_id = app
        .create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let ada = app.token("default", "ada@example.com", USER_PASSWORD).await;
    assert_eq!(
        status(&app, &ada).await,
        json!({"totp": "none", "recovery_codes_remaining": 0, "required_by_tenant": false})
    );

    let reply = app
        .call(Method::POST, "/api/v1/me/mfa/totp", Some(&ada), None)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let secret = reply.body["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    let uri = reply.body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Latchkey%20%28"), "{uri}");
    assert!(uri.contains(":ada%40example.com?"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}&")), "{uri}");
    assert!(uri.ends_with("&algorithm=SHA1&digits=6&period=30"), "{uri}");
    assert!(reply.body["qr_svg"].as_str().unwrap().contains("<svg"));
    assert_eq!(reply.body["recovery_codes"].as_array().unwrap().len(), 10);
    // Enrolling again before confirming replaces the pending secret.
    let enrolled = enrol(&app, &ada).await;
    assert_ne!(enrolled.secret, secret);
    assert_eq!(
        status(&app, &ada).await["totp"],
        "pending",
        "not active until confirmed"
    );
    let pending = sign_in(&app, "ada@example.com", USER_PASSWORD, None).await;
    assert_eq!(
        pending.status,
        StatusCode::OK,
        "a pending enrolment asks for no code"
    );

    let wrong = confirm(&app, &ada, &enrolled.wrong_code(&app)).await;
    assert_problem(&wrong, StatusCode::UNAUTHORIZED, "invalid_totp");
    let confirming_code = enrolled.code(&app, 0);
    let confirmed = confirm(&app, &ada, &confirming_code).await;
    assert_eq!(
        confirmed.status,
        StatusCode::NO_CONTENT,
        "{}",
        confirmed.body
    );
    assert_eq!(
        status(&app, &ada).await,
        json!({"totp": "active", "recovery_codes_remaining": 10, "required_by_tenant": false})
    );
    let again = confirm(&app, &ada, &enrolled.code(&app, 0)).await;
    assert_problem(&again, StatusCode::CONFLICT, "conflict");
    let reenrol = app
        .call(Method::POST, "/api/v1/me/mfa/totp", Some(&ada), None)
        .await;
    assert_problem(&reenrol, StatusCode::CONFLICT, "conflict");

    // The password is checked first: a wrong one says nothing about MFA.
    let bad_password = sign_in(&app, "ada@example.com", "wrong wrong wrong", None).await;
    assert_problem(
        &bad_password,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
    let bad_password_with_code = sign_in(
        &app,
        "ada@example.com",
        "wrong wrong wrong",
        Some(&enrolled.code(&app, 0)),
    )
    .await;
    assert_problem(
        &bad_password_with_code,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
    let missing = sign_in(&app, "ada@example.com", USER_PASSWORD, None).await;
    assert_problem(&missing, StatusCode::UNAUTHORIZED, "mfa_required");
    // The confirming code's step is spent: the same code, still in its own step, fails.
    let reused_confirmation = sign_in(
        &app,
        "ada@example.com",
        USER_PASSWORD,
        Some(&confirming_code),
    )
    .await;
    assert_problem(
        &reused_confirmation,
        StatusCode::UNAUTHORIZED,
        "invalid_totp",
    );
    app.clock.advance(Duration::seconds(31));
    let wrong = sign_in(
        &app,
        "ada@example.com",
        USER_PASSWORD,
        Some(&enrolled.wrong_code(&app)),
    )
    .await;
    assert_problem(&wrong, StatusCode::UNAUTHORIZED, "invalid_totp");
    app.clock.advance(Duration::seconds(31));

    let code = enrolled.code(&app, 0);
    let signed_in = sign_in(&app, "ada@example.com", USER_PASSWORD, Some(&code)).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    let replayed = sign_in(&app, "ada@example.com", USER_PASSWORD, Some(&code)).await;
    assert_problem(&replayed, StatusCode::UNAUTHORIZED, "invalid_totp");
    // An earlier step's code (still inside the window) is older than the one used.
    let older = sign_in(
        &app,
        "ada@example.com",
        USER_PASSWORD,
        Some(&enrolled.code(&app, -1)),
    )
    .await;
    assert_problem(&older, StatusCode::UNAUTHORIZED, "invalid_totp");
    app.clock.advance(Duration::seconds(31));

    // A recovery code stands in for a code once, typed any way.
    let recovery = enrolled.recovery_codes[2].to_uppercase().replace('-', " ");
    let recovered = sign_in(&app, "ada@example.com", USER_PASSWORD, Some(&recovery)).await;
    assert_eq!(recovered.status, StatusCode::OK, "{}", recovered.body);
    let spent = sign_in(
        &app,
        "ada@example.com",
        USER_PASSWORD,
        Some(&enrolled.recovery_codes[2]),
    )
    .await;
    assert_problem(&spent, StatusCode::UNAUTHORIZED, "invalid_totp");
    assert_eq!(status(&app, &ada).await["recovery_codes_remaining"], 9);

    let events = app.audit_events(&admin).await;
    let about_ada = |action: &str, outcome: &str| {
        events
            .iter()
            .filter(|e| {
                e["action"] == action && e["outcome"] == outcome && e["target"] == ada_id.as_str()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(about_ada("mfa.enrol", "success").len(), 2);
    assert_eq!(about_ada("mfa.confirm", "success").len(), 1);
    assert_eq!(about_ada("mfa.recovery_code_use", "success").len(), 1);
    let refusals: Vec<&str> = about_ada("session.sign_in", "failure")
        .iter()
        .map(|e| e["detail"]["reason"].as_str().unwrap())
        .collect();
    assert!(refusals.contains(&"mfa_required"), "{refusals:?}");
    assert!(refusals.contains(&"invalid_totp"), "{refusals:?}");
    // No secret or code reaches the log.
    let log = serde_json::to_string(&events).unwrap();
    assert!(!log.contains(&enrolled.secret));
    assert!(!log.contains(&enrolled.recovery_codes[2]));
}

async fn failed_codes_lead_to_the_lockout(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let ada = app.token("default", "ada@example.com", USER_PASSWORD).await;
    let enrolled = enrol_and_confirm(&app, &ada).await;
    for attempt in 0..10 {
        let reply = sign_in(
            &app,
            "ada@example.com",
            USER_PASSWORD,
            Some(&enrolled.wrong_code(&app)),
        )
        .await;
        assert_problem(&reply, StatusCode::UNAUTHORIZED, "invalid_totp");
        if attempt >= 3 {
            let early = sign_in(
                &app,
                "ada@example.com",
                USER_PASSWORD,
                Some(&enrolled.code(&app, 0)),
            )
            .await;
            assert_problem(&early, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
        }
        app.clock.advance(Duration::seconds(31));
    }
    // Locked: even the right password with the right code is refused.
    let locked = sign_in(
        &app,
        "ada@example.com",
        USER_PASSWORD,
        Some(&enrolled.code(&app, 0)),
    )
    .await;
    assert_problem(&locked, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    app.clock.advance(Duration::minutes(15));
    let unlocked = sign_in(
        &app,
        "ada@example.com",
        USER_PASSWORD,
        Some(&enrolled.code(&app, 0)),
    )
    .await;
    assert_eq!(unlocked.status, StatusCode::OK, "{}", unlocked.body);
}

/// Confirming an enrolment guesses a code like a sign-in does, so failures count on
/// the account's sign-in counter and a holder of a session cannot try every code.
async fn wrong_confirmation_codes_are_throttled(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let ada = app.token("default", "ada@example.com", USER_PASSWORD).await;
    let enrolled = enrol(&app, &ada).await;
    let mut refused = Vec::new();
    for _ in 0..6 {
        let reply = confirm(&app, &ada, &enrolled.wrong_code(&app)).await;
        refused.push(reply.status);
    }
    assert_eq!(refused[0], StatusCode::UNAUTHORIZED);
    assert!(
        refused.contains(&StatusCode::TOO_MANY_REQUESTS),
        "six wrong codes in a row were never throttled: {refused:?}"
    );
    // Throttled: even the right code waits.
    let early = confirm(&app, &ada, &enrolled.code(&app, 0)).await;
    assert_problem(&early, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    // The wait outlasts the access token: sign in again (the enrolment is still pending,
    // so the password alone suffices) and confirm.
    app.clock.advance(Duration::minutes(15));
    let ada = app.token("default", "ada@example.com", USER_PASSWORD).await;
    let confirmed = confirm(&app, &ada, &enrolled.code(&app, 0)).await;
    assert_eq!(
        confirmed.status,
        StatusCode::NO_CONTENT,
        "{}",
        confirmed.body
    );
    let admin = app.admin_token().await;
    let events = app.audit_events(&admin).await;
    let failures = events
        .iter()
        .filter(|e| e["action"] == "mfa.confirm" && e["outcome"] == "failure")
        .count();
    assert!(failures >= 1, "failed confirmations are audited");
}

async fn disabling_needs_password_and_code(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let ada = app.token("default", "ada@example.com", USER_PASSWORD).await;
    let nothing = app
        .call(
            Method::DELETE,
            "/api/v1/me/mfa/totp",
            Some(&ada),
            Some(json!({"password": USER_PASSWORD, "code": "123456"})),
        )
        .await;
    assert_problem(&nothing, StatusCode::NOT_FOUND, "not_found");
    let enrolled = enrol_and_confirm(&app, &ada).await;
    let disable = |password: &'static str, code: String| {
        let app = &app;
        let ada = ada.clone();
        async move {
            app.call(
                Method::DELETE,
                "/api/v1/me/mfa/totp",
                Some(&ada),
                Some(json!({"password": password, "code": code})),
            )
            .await
        }
    };
    let wrong_password = disable("wrong wrong wrong", enrolled.code(&app, 0)).await;
    assert_problem(
        &wrong_password,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
    let wrong_code = disable(USER_PASSWORD, enrolled.wrong_code(&app)).await;
    assert_problem(&wrong_code, StatusCode::UNAUTHORIZED, "invalid_totp");
    let missing_code = app
        .call(
            Method::DELETE,
            "/api/v1/me/mfa/totp",
            Some(&ada),
            Some(json!({"password": USER_PASSWORD})),
        )
        .await;
    assert_problem(&missing_code, StatusCode::BAD_REQUEST, "malformed_request");
    assert_eq!(status(&app, &ada).await["totp"], "active");
    let disabled = disable(USER_PASSWORD, enrolled.code(&app, 0)).await;
    assert_eq!(disabled.status, StatusCode::NO_CONTENT, "{}", disabled.body);
    assert_eq!(
        status(&app, &ada).await,
        json!({"totp": "none", "recovery_codes_remaining": 0, "required_by_tenant": false})
    );
    let plain = sign_in(&app, "ada@example.com", USER_PASSWORD, None).await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.body);
    let events = app.audit_events(&admin).await;
    // The manual clock did not move, so the events share one instant: compare as a set.
    let mut disables: Vec<&str> = events
        .iter()
        .filter(|e| e["action"] == "mfa.disable")
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    disables.sort_unstable();
    assert_eq!(disables, ["failure", "failure", "success"]);
}

async fn administrators_reset_and_tenants_require_mfa(app: TestApp) {
    let admin = app.admin_token().await;
    let ada_id = app
        .create_user(&admin, "default", "ada@example.com", "user")
        .await;
    app.create_user(&admin, "default", "bob@example.com", "user")
        .await;
    let ada = app.token("default", "ada@example.com", USER_PASSWORD).await;
    let bob = app.token("default", "bob@example.com", USER_PASSWORD).await;
    enrol_and_confirm(&app, &ada).await;
    let reset_path = format!("/api/v1/tenants/default/users/{ada_id}/mfa");

    let by_member = app
        .call(Method::DELETE, &reset_path, Some(&bob), None)
        .await;
    assert_problem(&by_member, StatusCode::FORBIDDEN, "forbidden");
    let reset = app
        .call(Method::DELETE, &reset_path, Some(&admin), None)
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{}", reset.body);
    let again = app
        .call(Method::DELETE, &reset_path, Some(&admin), None)
        .await;
    assert_problem(&again, StatusCode::NOT_FOUND, "not_found");
    let plain = sign_in(&app, "ada@example.com", USER_PASSWORD, None).await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.body);
    let events = app.audit_events(&admin).await;
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "mfa.reset" && e["target"] == ada_id.as_str())
    );

    // Requiring MFA: only someone who has it may switch the requirement on.
    let require = |token: String, on: bool| {
        let app = &app;
        async move {
            app.call(
                Method::PATCH,
                "/api/v1/tenants/default",
                Some(&token),
                Some(json!({"require_mfa": on})),
            )
            .await
        }
    };
    let refused = require(admin.clone(), true).await;
    assert_problem(&refused, StatusCode::BAD_REQUEST, "validation_failed");
    let root = enrol_and_confirm(&app, &admin).await;
    let bobs = enrol_and_confirm(&app, &bob).await;
    let required = require(admin.clone(), true).await;
    assert_eq!(required.status, StatusCode::OK, "{}", required.body);
    assert_eq!(required.body["require_mfa"], true);
    assert_eq!(status(&app, &bob).await["required_by_tenant"], true);

    // Ada has no authenticator: refused, distinguishably, once her password is right.
    let unenrolled = sign_in(&app, "ada@example.com", USER_PASSWORD, None).await;
    assert_problem(
        &unenrolled,
        StatusCode::FORBIDDEN,
        "mfa_enrollment_required",
    );
    let wrong = sign_in(&app, "ada@example.com", "wrong wrong wrong", None).await;
    assert_problem(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let with_bob = sign_in(
        &app,
        "bob@example.com",
        USER_PASSWORD,
        Some(&bobs.code(&app, 0)),
    )
    .await;
    assert_eq!(with_bob.status, StatusCode::OK, "{}", with_bob.body);
    let with_root = sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD, Some(&root.code(&app, 0))).await;
    assert_eq!(with_root.status, StatusCode::OK, "{}", with_root.body);

    let lifted = require(admin.clone(), false).await;
    assert_eq!(lifted.body["require_mfa"], false, "{}", lifted.body);
    let plain = sign_in(&app, "ada@example.com", USER_PASSWORD, None).await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.body);
}

async fn oidc_password_grant_takes_the_totp_field(app: TestApp) {
    let admin = app.admin_token().await;
    let enrolled = enrol_and_confirm(&app, &admin).await;
    let grant = |totp: Option<String>| {
        let app = &app;
        async move {
            let mut form = vec![
                ("client_id", "admin-cli".to_owned()),
                ("grant_type", "password".to_owned()),
                ("username", ADMIN_EMAIL.to_owned()),
                ("password", ADMIN_PASSWORD.to_owned()),
            ];
            if let Some(totp) = totp {
                form.push(("totp", totp));
            }
            let response = app
                .http
                .post(app.url(TOKEN))
                .form(&form)
                .send()
                .await
                .unwrap();
            TestApp::read(response).await
        }
    };
    let missing = grant(None).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED, "{}", missing.body);
    assert_eq!(missing.body["error"], "invalid_grant");
    assert_eq!(missing.body["error_code"], "mfa_required");
    let empty = grant(Some(String::new())).await;
    assert_eq!(empty.body["error_code"], "mfa_required", "{}", empty.body);
    let wrong = grant(Some(enrolled.wrong_code(&app))).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    assert_eq!(wrong.body["error"], "invalid_grant");
    assert_eq!(wrong.body["error_code"], "invalid_totp");
    app.clock.advance(Duration::seconds(31));
    let code = enrolled.code(&app, 0);
    let granted = grant(Some(code.clone())).await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
    assert!(granted.body["access_token"].is_string());
    let replayed = grant(Some(code)).await;
    assert_eq!(
        replayed.body["error_code"], "invalid_totp",
        "{}",
        replayed.body
    );
    // A wrong password stays an ordinary credentials error, without `error_code`.
    let response = app
        .http
        .post(app.url(TOKEN))
        .form(&[
            ("client_id", "admin-cli"),
            ("grant_type", "password"),
            ("username", ADMIN_EMAIL),
            ("password", "wrong wrong wrong"),
        ])
        .send()
        .await
        .unwrap();
    let bad = TestApp::read(response).await;
    assert_eq!(bad.body["error"], "invalid_grant");
    assert!(bad.body.get("error_code").is_none(), "{}", bad.body);
}
