//! `POST /api/v1/tenants/{tenant}/users/import`: NDJSON bulk import, all or nothing.

use argon2::password_hash::{PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Reply, TestApp, assert_problem, on_both_backends,
};

on_both_backends!(
    import_creates_every_account_in_one_request,
    imported_argon2id_hash_signs_in_and_is_rehashed,
    import_with_an_invalid_line_names_it_and_writes_nothing,
    import_of_a_taken_or_repeated_email_is_a_conflict,
    import_needs_users_write,
    import_refuses_other_media_types_and_oversized_requests,
    sdk_imports_an_iterator_in_batches,
);

const IMPORT: &str = "/api/v1/tenants/default/users/import";

async fn import(app: &TestApp, token: &str, content_type: &str, body: String) -> Reply {
    let response = app
        .http
        .post(app.url(IMPORT))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request sent");
    TestApp::read(response).await
}

async fn import_lines(app: &TestApp, token: &str, lines: &[Value]) -> Reply {
    let body = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    import(app, token, "application/x-ndjson", body).await
}

/// Members of the default tenant whose email starts with `prefix`.
async fn count_members(app: &TestApp, admin: &str, prefix: &str) -> usize {
    let mut count = 0;
    let mut after: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/tenants/default/users?limit=500&email={prefix}");
        if let Some(cursor) = &after {
            path.push_str(&format!("&after={cursor}"));
        }
        let page = app.call(Method::GET, &path, Some(admin), None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        count += page.body["items"].as_array().unwrap().len();
        match page.body["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return count,
        }
    }
}

/// An argon2id PHC string made the way another system would have, with cheap
/// parameters (the server's own are m=19456, t=2).
fn foreign_hash(password: &str) -> String {
    let params = Params::new(8192, 1, 1, None).unwrap();
    let salt = SaltString::from_b64("c29tZXNhbHRmcm9tZWxzZXdoZXJl").unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

async fn import_creates_every_account_in_one_request(app: TestApp) {
    let admin = app.admin_token().await;
    let lines: Vec<Value> = (0..2_500)
        .map(|i| match i % 3 {
            0 => json!({"email": format!("bulk{i}@example.com"), "username": format!("bulk{i}"), "role": "reader"}),
            1 => json!({"email": format!("bulk{i}@example.com"), "display_name": "Bulk", "disabled": true}),
            _ => json!({"email": format!("bulk{i}@example.com"), "custom_data": {"source": "legacy"}}),
        })
        .collect();
    let reply = import_lines(&app, &admin, &lines).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body, json!({"imported": 2_500}));
    assert_eq!(count_members(&app, &admin, "bulk").await, 2_500);

    let reader = app
        .call(
            Method::GET,
            "/api/v1/tenants/default/users?email=bulk0%40",
            Some(&admin),
            None,
        )
        .await;
    let reader = &reader.body["items"][0];
    assert_eq!(reader["username"], "bulk0");
    assert_eq!(reader["role"], "reader");
    assert_eq!(reader["platform_admin"], false);
    let disabled = app
        .call(
            Method::GET,
            "/api/v1/tenants/default/users?email=bulk1%40",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(disabled.body["items"][0]["disabled"], true);
    assert_eq!(disabled.body["items"][0]["role"], "user");

    // One audit event for the request, not one per account.
    let events = app.audit_events(&admin).await;
    let imports: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "account.import")
        .collect();
    assert_eq!(imports.len(), 1, "{events:?}");
    assert_eq!(imports[0]["detail"], json!({"count": 2_500}));
    assert!(
        events.len() < 10,
        "no event per account: {} events",
        events.len()
    );
}

async fn imported_argon2id_hash_signs_in_and_is_rehashed(app: TestApp) {
    let admin = app.admin_token().await;
    let password = "a passphrase from the old system";
    let hash = foreign_hash(password);
    let reply = import_lines(
        &app,
        &admin,
        &[
            json!({"email": "migrated@example.com", "username": "migrated", "password_hash": hash}),
            json!({"email": "nopassword@example.com"}),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);

    let signed_in = app.sign_in("default", "migrated", password).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    let wrong = app.sign_in("default", "migrated", "not the password").await;
    assert_problem(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");
    // The weaker imported parameters were upgraded at the sign-in.
    let stored = app
        .services
        .store
        .account_by_login("migrated")
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert_ne!(stored, hash);
    assert!(
        stored.contains("m=19456,t=2,p=1"),
        "rehashed with the server's parameters"
    );
    let again = app
        .sign_in("default", "migrated@example.com", password)
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    // Without a hash, no password works until one is set.
    let none = app.sign_in("default", "nopassword@example.com", "").await;
    assert_problem(&none, StatusCode::UNAUTHORIZED, "invalid_credentials");
}

async fn import_with_an_invalid_line_names_it_and_writes_nothing(app: TestApp) {
    let admin = app.admin_token().await;
    let good = |i: usize| json!({"email": format!("valid{i}@example.com")});
    let hash = foreign_hash("whatever it was");
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"email": "not an email"}),
            "validation_failed",
            "email",
        ),
        (
            json!({"email": "x@example.com", "username": "a@b"}),
            "validation_failed",
            "username",
        ),
        (
            json!({"email": "x@example.com", "role": "wizard"}),
            "validation_failed",
            "role `wizard` does not exist",
        ),
        (
            json!({"email": "x@example.com", "password_hash": "hunter2hunter2"}),
            "validation_failed",
            "password_hash is not a PHC string",
        ),
        (
            json!({"email": "x@example.com", "password_hash": hash.replace("argon2id", "argon2i")}),
            "validation_failed",
            "argon2id",
        ),
        (
            json!({"email": "x@example.com", "password": "hunter2hunter2"}),
            "malformed_request",
            "plain-text passwords",
        ),
        (
            json!({"email": "x@example.com", "platform_admin": true}),
            "malformed_request",
            "platform_admin",
        ),
        (json!({"username": "nobody"}), "malformed_request", "email"),
    ];
    for (bad, code, mentions) in cases {
        // Line 3 after a blank line 2: numbers count every line of the body.
        let body = format!("{}\n\n{bad}\n{}\n", good(1), good(4));
        let reply = import(&app, &admin, "application/x-ndjson", body).await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, code);
        assert_eq!(reply.body["line"], 3, "{}", reply.body);
        let detail = reply.body["detail"].as_str().unwrap();
        assert!(detail.starts_with("line 3"), "{detail}");
        assert!(
            detail.contains(mentions),
            "{detail} should mention {mentions}"
        );
        assert!(!detail.contains("hunter2"), "{detail}");
    }
    let broken = import(
        &app,
        &admin,
        "application/x-ndjson",
        format!("{}\n{{\"email\": ", good(1)),
    )
    .await;
    assert_problem(&broken, StatusCode::BAD_REQUEST, "malformed_request");
    assert_eq!(broken.body["line"], 2);
    let empty = import(&app, &admin, "application/x-ndjson", "\n \n".into()).await;
    assert_problem(&empty, StatusCode::BAD_REQUEST, "validation_failed");

    assert_eq!(
        count_members(&app, &admin, "valid").await,
        0,
        "nothing was written"
    );
    let events = app.audit_events(&admin).await;
    assert!(!events.iter().any(|e| e["action"] == "account.import"));
}

async fn import_of_a_taken_or_repeated_email_is_a_conflict(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_user(&admin, "default", "existing@example.com", "user")
        .await;
    let taken = import_lines(
        &app,
        &admin,
        &[
            json!({"email": "fresh1@example.com"}),
            json!({"email": "fresh2@example.com"}),
            json!({"email": "EXISTING@example.com"}),
        ],
    )
    .await;
    assert_problem(&taken, StatusCode::CONFLICT, "conflict");
    assert_eq!(taken.body["line"], 3);
    assert_eq!(
        taken.body["detail"],
        "line 3: an account with this email address already exists"
    );
    let repeated = import_lines(
        &app,
        &admin,
        &[
            json!({"email": "fresh1@example.com", "username": "fresh"}),
            json!({"email": "fresh2@example.com", "username": "FRESH"}),
        ],
    )
    .await;
    assert_problem(&repeated, StatusCode::CONFLICT, "conflict");
    assert_eq!(repeated.body["line"], 2);
    assert_eq!(
        repeated.body["detail"],
        "line 2: the username repeats line 1"
    );
    assert_eq!(count_members(&app, &admin, "fresh").await, 0);
}

async fn import_needs_users_write(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_user(&admin, "default", "plain@example.com", "user")
        .await;
    let user = app
        .token(
            "default",
            "plain@example.com",
            crate::harness::USER_PASSWORD,
        )
        .await;
    let reply = import_lines(&app, &user, &[json!({"email": "sneaky@example.com"})]).await;
    assert_problem(&reply, StatusCode::FORBIDDEN, "forbidden");
    let anonymous = app
        .http
        .post(app.url(IMPORT))
        .header("content-type", "application/x-ndjson")
        .body("{\"email\": \"sneaky@example.com\"}\n")
        .send()
        .await
        .unwrap();
    let anonymous = TestApp::read(anonymous).await;
    assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "invalid_token");
    assert_eq!(count_members(&app, &admin, "sneaky").await, 0);
}

async fn import_refuses_other_media_types_and_oversized_requests(app: TestApp) {
    let admin = app.admin_token().await;
    let line = "{\"email\": \"media@example.com\"}\n".to_owned();
    let json = import(&app, &admin, "application/json", line.clone()).await;
    assert_problem(
        &json,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let with_charset = import(&app, &admin, "application/x-ndjson; charset=utf-8", line).await;
    assert_eq!(
        with_charset.status,
        StatusCode::CREATED,
        "{}",
        with_charset.body
    );

    let too_many: String = (0..10_001)
        .map(|i| format!("{{\"email\":\"many{i}@example.com\"}}\n"))
        .collect();
    let reply = import(&app, &admin, "application/x-ndjson", too_many).await;
    assert_problem(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(reply.body["line"], 10_001);
    assert!(reply.body["detail"].as_str().unwrap().contains("10000"));

    // Over 16 MiB, although only blank lines.
    let huge = "\n".repeat(16 * 1024 * 1024 + 1);
    let reply = import(&app, &admin, "application/x-ndjson", huge).await;
    assert_problem(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(count_members(&app, &admin, "many").await, 0);
    // The 64 KiB limit of the other routes stays.
    let big_json = json!({"email": "big@example.com", "custom_data": {"x": "y".repeat(70_000)}});
    let reply = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/users",
            Some(&admin),
            Some(big_json),
        )
        .await;
    assert_problem(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

async fn sdk_imports_an_iterator_in_batches(app: TestApp) {
    let client = latchkey_client::Client::new(&app.base).unwrap();
    client
        .sign_in("default", ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    let user = |i: usize| latchkey_client::api::ImportUser {
        email: format!("sdk{i}@example.com"),
        username: None,
        display_name: None,
        role: None,
        password_hash: None,
        disabled: false,
        custom_data: None,
    };
    let imported = client
        .import_users_in_batches("default", (0..1_000).map(user), 300)
        .await
        .unwrap();
    assert_eq!(imported, 1_000);
    assert_eq!(
        client
            .import_users("default", &[user(1_000)])
            .await
            .unwrap(),
        1
    );

    // Item 250 of the second run repeats an imported email: the batch of items 201-300
    // is refused, the two before it stay.
    let second = (2_000..2_500).map(|i| if i == 2_249 { user(7) } else { user(i) });
    let stopped = client
        .import_users_in_batches("default", second, 100)
        .await
        .unwrap_err();
    assert_eq!(stopped.imported, 200);
    assert_eq!(stopped.error.status(), Some(409));
    assert_eq!(stopped.error.problem().unwrap().line, Some(50));
    let admin = app.admin_token().await;
    assert_eq!(count_members(&app, &admin, "sdk").await, 1_201);
}
