//! Applications (OAuth clients) through the native API: the built-in `admin-cli`,
//! registration and its rules, secrets shown once, permissions, audit.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, USER_PASSWORD, assert_problem};

crate::harness::on_both_backends!(
    admin_cli_is_built_into_every_tenant,
    confidential_clients_get_their_secret_once,
    public_clients_have_no_secret,
    invalid_applications_are_refused,
    unknown_and_builtin_applications,
    only_the_tenants_administrators_manage_applications,
    application_changes_are_audited_without_secrets,
    sdk_manages_applications,
);

fn apps(tenant: &str) -> String {
    format!("/api/v1/tenants/{tenant}/applications")
}

fn app_path(tenant: &str, client_id: &str) -> String {
    format!("/api/v1/tenants/{tenant}/applications/{client_id}")
}

/// Registers an application in `default` and returns the answer, failing unless `201`.
async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let reply = app
        .call(Method::POST, &apps("default"), Some(token), Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body
}

/// The tenant's applications by client id, failing unless `200`.
async fn list(app: &TestApp, token: &str, tenant: &str) -> Vec<Value> {
    let reply = app
        .call(Method::GET, &apps(tenant), Some(token), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body.as_array().expect("an array").clone()
}

fn client_ids(list: &[Value]) -> Vec<&str> {
    list.iter()
        .map(|a| a["client_id"].as_str().expect("client_id"))
        .collect()
}

/// Whether the stored secret of `client_id` in `default` is `secret`, asked through the
/// services' client authentication (there is no endpoint using it yet).
async fn authenticates(app: &TestApp, client_id: &str, secret: Option<&str>) -> bool {
    let tenant = app.services.tenant_by_domain("default").await.unwrap();
    app.services
        .authenticate_client(&tenant, client_id, secret)
        .await
        .is_ok()
}

fn assert_admin_cli(view: &Value) {
    assert_eq!(view["client_id"], "admin-cli", "{view}");
    assert_eq!(view["public"], true, "{view}");
    assert_eq!(view["builtin"], true, "{view}");
    assert_eq!(
        view["grant_types"],
        json!(["password", "refresh_token"]),
        "{view}"
    );
    assert_eq!(view["redirect_uris"], json!([]), "{view}");
    assert_eq!(view["roles"], json!([]), "{view}");
    assert_eq!(view["access_token_lifetime"], Value::Null, "{view}");
    assert!(view["created_at"].is_string(), "{view}");
    assert!(view.get("client_secret").is_none(), "{view}");
}

async fn admin_cli_is_built_into_every_tenant(app: TestApp) {
    let admin = app.admin_token().await;
    // The bootstrap tenant has it ...
    let default = list(&app, &admin, "default").await;
    assert_eq!(client_ids(&default), vec!["admin-cli"]);
    assert_admin_cli(&default[0]);
    let got = app
        .call(
            Method::GET,
            &app_path("default", "admin-cli"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_admin_cli(&got.body);
    // ... and so does every tenant created later, on its own.
    app.create_tenant(&admin, "acme").await;
    let acme = list(&app, &admin, "acme").await;
    assert_eq!(client_ids(&acme), vec!["admin-cli"]);
    assert_admin_cli(&acme[0]);
    // A tenant's applications go with it: recreated, it has only its own admin-cli again.
    let reply = app
        .call(
            Method::POST,
            &apps("acme"),
            Some(&admin),
            Some(json!({"client_id": "acme-web"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let deleted = app
        .call(Method::DELETE, "/api/v1/tenants/acme", Some(&admin), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let gone = app
        .call(Method::GET, &apps("acme"), Some(&admin), None)
        .await;
    assert_problem(&gone, StatusCode::NOT_FOUND, "not_found");
    app.create_tenant(&admin, "acme").await;
    let acme = list(&app, &admin, "acme").await;
    assert_eq!(client_ids(&acme), vec!["admin-cli"]);
    assert_admin_cli(&acme[0]);
    // admin-cli is public: it authenticates without a secret, never with one.
    assert!(authenticates(&app, "admin-cli", None).await);
    assert!(!authenticates(&app, "admin-cli", Some("anything")).await);
}

async fn confidential_clients_get_their_secret_once(app: TestApp) {
    let admin = app.admin_token().await;
    let created = create(
        &app,
        &admin,
        json!({
            "client_id": "billing-web",
            "redirect_uris": ["https://billing.example.com/cb", "http://localhost:8080/cb"],
            "roles": ["invoice.viewer"],
            "access_token_lifetime": 600,
        }),
    )
    .await;
    assert_eq!(created["client_id"], "billing-web");
    assert_eq!(created["public"], false);
    assert_eq!(created["builtin"], false);
    // Confidential clients default to the code, refresh and client-credentials grants.
    assert_eq!(
        created["grant_types"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    assert_eq!(
        created["redirect_uris"],
        json!(["https://billing.example.com/cb", "http://localhost:8080/cb"])
    );
    assert_eq!(created["roles"], json!(["invoice.viewer"]));
    assert_eq!(created["access_token_lifetime"], 600);
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43, "256 bits in base64url: {secret}");
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{secret}"
    );
    assert!(authenticates(&app, "billing-web", Some(&secret)).await);
    assert!(!authenticates(&app, "billing-web", None).await);
    assert!(!authenticates(&app, "billing-web", Some("not-the-secret")).await);

    // Neither reading nor listing ever shows the secret again.
    let got = app
        .call(
            Method::GET,
            &app_path("default", "billing-web"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert!(got.body.get("client_secret").is_none(), "{}", got.body);
    assert!(!got.body.to_string().contains(&secret));
    let mut without_secret = created.clone();
    without_secret
        .as_object_mut()
        .unwrap()
        .remove("client_secret");
    assert_eq!(got.body, without_secret);
    let listed = list(&app, &admin, "default").await;
    assert_eq!(client_ids(&listed), vec!["admin-cli", "billing-web"]);
    assert!(listed.iter().all(|a| a.get("client_secret").is_none()));
    assert!(!Value::from(listed).to_string().contains(&secret));

    // A new secret replaces the old one, shown in that answer only.
    let rotated = app
        .call(
            Method::POST,
            &format!("{}/rotate-secret", app_path("default", "billing-web")),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new_secret = rotated.body["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(new_secret.len(), 43);
    assert_ne!(new_secret, secret);
    assert_eq!(rotated.body["client_id"], "billing-web");
    assert_eq!(rotated.body["grant_types"], created["grant_types"]);
    assert!(authenticates(&app, "billing-web", Some(&new_secret)).await);
    assert!(!authenticates(&app, "billing-web", Some(&secret)).await);
    let got = app
        .call(
            Method::GET,
            &app_path("default", "billing-web"),
            Some(&admin),
            None,
        )
        .await;
    assert!(got.body.get("client_secret").is_none(), "{}", got.body);

    // Deleted, it is gone, and so is its secret.
    let deleted = app
        .call(
            Method::DELETE,
            &app_path("default", "billing-web"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(deleted.body, Value::Null);
    let gone = app
        .call(
            Method::GET,
            &app_path("default", "billing-web"),
            Some(&admin),
            None,
        )
        .await;
    assert_problem(&gone, StatusCode::NOT_FOUND, "not_found");
    assert!(!authenticates(&app, "billing-web", Some(&new_secret)).await);
    assert_eq!(
        client_ids(&list(&app, &admin, "default").await),
        vec!["admin-cli"]
    );
    // The client id is free again.
    let again = create(&app, &admin, json!({"client_id": "billing-web"})).await;
    assert_ne!(again["client_secret"], Value::from(new_secret));
}

async fn public_clients_have_no_secret(app: TestApp) {
    let admin = app.admin_token().await;
    let spa = create(
        &app,
        &admin,
        json!({"client_id": "spa", "public": true, "redirect_uris": ["https://spa.example.com/"]}),
    )
    .await;
    assert_eq!(spa["public"], true);
    // Public clients default to the code and refresh grants.
    assert_eq!(
        spa["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert!(spa.get("client_secret").is_none(), "{spa}");
    assert!(authenticates(&app, "spa", None).await);
    // Explicit grants are kept in order, once each.
    let tool = create(
        &app,
        &admin,
        json!({"client_id": "tool", "public": true,
               "grant_types": ["password", "refresh_token", "password"]}),
    )
    .await;
    assert_eq!(tool["grant_types"], json!(["password", "refresh_token"]));
    // A client that could use no grant at all is refused.
    let inert = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/applications",
            Some(&admin),
            Some(json!({"client_id": "inert", "grant_types": []})),
        )
        .await;
    assert_problem(&inert, StatusCode::BAD_REQUEST, "validation_failed");
    // A public client has no secret to rotate.
    let rotate = app
        .call(
            Method::POST,
            &format!("{}/rotate-secret", app_path("default", "spa")),
            Some(&admin),
            None,
        )
        .await;
    assert_problem(&rotate, StatusCode::BAD_REQUEST, "validation_failed");
    assert!(authenticates(&app, "spa", None).await);
}

async fn invalid_applications_are_refused(app: TestApp) {
    let admin = app.admin_token().await;
    for (body, code) in [
        // Public clients cannot hold client credentials.
        (
            json!({"client_id": "a", "public": true, "grant_types": ["client_credentials"]}),
            "validation_failed",
        ),
        (
            json!({"client_id": "a", "grant_types": ["implicit"]}),
            "validation_failed",
        ),
        (
            json!({"client_id": "a", "grant_types": ["authorization_code", "Password"]}),
            "validation_failed",
        ),
        // Plain http only on loopback; never a fragment; absolute URLs only.
        (
            json!({"client_id": "a", "redirect_uris": ["http://evil.example.com/cb"]}),
            "validation_failed",
        ),
        (
            json!({"client_id": "a", "redirect_uris": ["https://app.example.com/cb#frag"]}),
            "validation_failed",
        ),
        (
            json!({"client_id": "a", "redirect_uris": ["https://app.example.com/ok", "/relative"]}),
            "validation_failed",
        ),
        (
            json!({"client_id": "a", "redirect_uris": ["javascript:alert(1)"]}),
            "validation_failed",
        ),
        (json!({"client_id": "has space"}), "validation_failed"),
        (json!({"client_id": ""}), "validation_failed"),
        (json!({"client_id": "a".repeat(65)}), "validation_failed"),
        (
            json!({"client_id": "a", "access_token_lifetime": 59}),
            "validation_failed",
        ),
        (
            json!({"client_id": "a", "access_token_lifetime": 86_401}),
            "validation_failed",
        ),
        (
            json!({"client_id": "a", "roles": ["Not A Role"]}),
            "validation_failed",
        ),
        // Shape errors.
        (json!({"public": true}), "malformed_request"),
        (
            json!({"client_id": "a", "client_secret": "chosen"}),
            "malformed_request",
        ),
        (
            json!({"client_id": "a", "grant_types": "password"}),
            "malformed_request",
        ),
    ] {
        let reply = app
            .call(
                Method::POST,
                &apps("default"),
                Some(&admin),
                Some(body.clone()),
            )
            .await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, code);
        assert!(reply.body.get("client_secret").is_none(), "{body}");
    }
    // Nothing was registered by any of them.
    assert_eq!(
        client_ids(&list(&app, &admin, "default").await),
        vec!["admin-cli"]
    );
    // The limits themselves are fine.
    for (client_id, lifetime) in [("short", 60), ("long", 86_400)] {
        create(
            &app,
            &admin,
            json!({"client_id": client_id, "access_token_lifetime": lifetime}),
        )
        .await;
    }
    create(&app, &admin, json!({"client_id": "a".repeat(64)})).await;

    // A client id is unique within its tenant (and case-sensitive) ...
    let first = create(&app, &admin, json!({"client_id": "dup"})).await;
    let duplicate = app
        .call(
            Method::POST,
            &apps("default"),
            Some(&admin),
            Some(json!({"client_id": "dup", "public": true})),
        )
        .await;
    assert_problem(&duplicate, StatusCode::CONFLICT, "conflict");
    let builtin = app
        .call(
            Method::POST,
            &apps("default"),
            Some(&admin),
            Some(json!({"client_id": "admin-cli"})),
        )
        .await;
    assert_problem(&builtin, StatusCode::CONFLICT, "conflict");
    create(&app, &admin, json!({"client_id": "DUP"})).await;
    // ... the first one is untouched: still confidential, its secret still valid.
    let got = app
        .call(Method::GET, &app_path("default", "dup"), Some(&admin), None)
        .await;
    assert_eq!(got.body["public"], false, "{}", got.body);
    let secret = first["client_secret"].as_str().unwrap();
    assert!(authenticates(&app, "dup", Some(secret)).await);
    // ... and other tenants may use it too.
    app.create_tenant(&admin, "acme").await;
    let acme = app
        .call(
            Method::POST,
            &apps("acme"),
            Some(&admin),
            Some(json!({"client_id": "dup"})),
        )
        .await;
    assert_eq!(acme.status, StatusCode::CREATED, "{}", acme.body);
}

async fn unknown_and_builtin_applications(app: TestApp) {
    let admin = app.admin_token().await;
    for path in [
        app_path("default", "nope"),
        // Not even a valid client id.
        app_path("default", "not%20valid"),
    ] {
        let got = app.call(Method::GET, &path, Some(&admin), None).await;
        assert_problem(&got, StatusCode::NOT_FOUND, "not_found");
        let deleted = app.call(Method::DELETE, &path, Some(&admin), None).await;
        assert_problem(&deleted, StatusCode::NOT_FOUND, "not_found");
        let rotated = app
            .call(
                Method::POST,
                &format!("{path}/rotate-secret"),
                Some(&admin),
                None,
            )
            .await;
        assert_problem(&rotated, StatusCode::NOT_FOUND, "not_found");
    }
    // An unknown tenant.
    let missing = app
        .call(Method::GET, &apps("nowhere"), Some(&admin), None)
        .await;
    assert_problem(&missing, StatusCode::NOT_FOUND, "not_found");

    // admin-cli can be neither deleted nor given a secret.
    let path = app_path("default", "admin-cli");
    let deleted = app.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_problem(&deleted, StatusCode::BAD_REQUEST, "validation_failed");
    assert!(
        deleted.body["detail"]
            .as_str()
            .unwrap()
            .contains("built in"),
        "{}",
        deleted.body
    );
    let rotated = app
        .call(
            Method::POST,
            &format!("{path}/rotate-secret"),
            Some(&admin),
            None,
        )
        .await;
    assert_problem(&rotated, StatusCode::BAD_REQUEST, "validation_failed");
    let listed = list(&app, &admin, "default").await;
    assert_eq!(client_ids(&listed), vec!["admin-cli"]);
    assert_admin_cli(&listed[0]);
    // Sign-in through it still works.
    app.admin_token().await;

    // Wrong methods and missing tokens.
    let put = app.call(Method::PUT, &path, Some(&admin), None).await;
    assert_problem(&put, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    for (method, path) in [
        (Method::GET, apps("default")),
        (Method::POST, apps("default")),
        (Method::GET, path.clone()),
        (Method::DELETE, path.clone()),
        (Method::POST, format!("{path}/rotate-secret")),
    ] {
        let reply = app.call(method, &path, None, None).await;
        assert_problem(&reply, StatusCode::UNAUTHORIZED, "invalid_token");
    }
}

async fn only_the_tenants_administrators_manage_applications(app: TestApp) {
    let root = app.admin_token().await;
    let svc = create(&app, &root, json!({"client_id": "svc"})).await;
    let svc_secret = svc["client_secret"].as_str().unwrap().to_owned();

    // A plain member of the tenant may do nothing with its applications.
    app.create_user(&root, "default", "member@example.com", "user")
        .await;
    app.create_user(&root, "default", "reader@example.com", "reader")
        .await;
    let member = app
        .token("default", "member@example.com", USER_PASSWORD)
        .await;
    let reader = app
        .token("default", "reader@example.com", USER_PASSWORD)
        .await;
    // Another tenant's administrator may do nothing with this tenant's.
    app.create_tenant(&root, "acme").await;
    app.create_user(&root, "acme", "boss@acme.test", "admin")
        .await;
    let boss = app.token("acme", "boss@acme.test", USER_PASSWORD).await;

    for token in [&member, &reader, &boss] {
        for (method, path, body) in [
            (Method::GET, apps("default"), None),
            (
                Method::POST,
                apps("default"),
                Some(json!({"client_id": "sneaky"})),
            ),
            (Method::GET, app_path("default", "svc"), None),
            (Method::GET, app_path("default", "admin-cli"), None),
            (Method::DELETE, app_path("default", "svc"), None),
            (
                Method::POST,
                format!("{}/rotate-secret", app_path("default", "svc")),
                None,
            ),
            // Unknown ones look the same: permission is checked before existence.
            (Method::GET, app_path("default", "nope"), None),
        ] {
            let reply = app.call(method.clone(), &path, Some(token), body).await;
            assert_problem(&reply, StatusCode::FORBIDDEN, "forbidden");
        }
    }
    // Nothing changed.
    assert_eq!(
        client_ids(&list(&app, &root, "default").await),
        vec!["admin-cli", "svc"]
    );
    assert!(authenticates(&app, "svc", Some(&svc_secret)).await);

    // Acme's administrator manages Acme's applications ...
    assert_eq!(
        client_ids(&list(&app, &boss, "acme").await),
        vec!["admin-cli"]
    );
    let own = app
        .call(
            Method::POST,
            &apps("acme"),
            Some(&boss),
            Some(json!({"client_id": "acme-portal", "public": true})),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);
    let gone = app
        .call(
            Method::DELETE,
            &app_path("acme", "acme-portal"),
            Some(&boss),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
    // ... and a platform administrator every tenant's.
    let by_root = app
        .call(
            Method::POST,
            &apps("acme"),
            Some(&root),
            Some(json!({"client_id": "from-root"})),
        )
        .await;
    assert_eq!(by_root.status, StatusCode::CREATED, "{}", by_root.body);
    assert_eq!(
        client_ids(&list(&app, &boss, "acme").await),
        vec!["admin-cli", "from-root"]
    );
    // Acme's applications are not Default's.
    let through_default = app
        .call(
            Method::GET,
            &app_path("default", "from-root"),
            Some(&root),
            None,
        )
        .await;
    assert_problem(&through_default, StatusCode::NOT_FOUND, "not_found");

    // The member's token still works for what a member may do.
    let me = app
        .call(Method::GET, "/api/v1/me", Some(&member), None)
        .await;
    assert_eq!(me.status, StatusCode::OK);
    let perms = me.body["permissions"].as_array().unwrap();
    assert!(!perms.contains(&json!("applications.read")), "{perms:?}");
    let me = app.call(Method::GET, "/api/v1/me", Some(&root), None).await;
    let perms = me.body["permissions"].as_array().unwrap();
    assert!(perms.contains(&json!("applications.read")), "{perms:?}");
    assert!(perms.contains(&json!("applications.write")), "{perms:?}");
}

async fn application_changes_are_audited_without_secrets(app: TestApp) {
    let admin = app.admin_token().await;
    let admin_id = app
        .sign_in("default", ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .body["account"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = create(
        &app,
        &admin,
        json!({"client_id": "audited", "grant_types": ["client_credentials"]}),
    )
    .await;
    let first = created["client_secret"].as_str().unwrap().to_owned();
    // A refused duplicate leaves no event.
    let duplicate = app
        .call(
            Method::POST,
            &apps("default"),
            Some(&admin),
            Some(json!({"client_id": "audited"})),
        )
        .await;
    assert_problem(&duplicate, StatusCode::CONFLICT, "conflict");
    // The test clock stands still unless moved: move it so that "newest first" is defined.
    app.clock.advance(time::Duration::seconds(1));
    let rotated = app
        .call(
            Method::POST,
            &format!("{}/rotate-secret", app_path("default", "audited")),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let second = rotated.body["client_secret"].as_str().unwrap().to_owned();
    app.clock.advance(time::Duration::seconds(1));
    let deleted = app
        .call(
            Method::DELETE,
            &app_path("default", "audited"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);

    let events = app.audit_events(&admin).await;
    let about = |action: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|e| e["action"] == action && e["target"] == "audited")
            .collect()
    };
    for action in [
        "application.create",
        "application.rotate_secret",
        "application.delete",
    ] {
        let found = about(action);
        assert_eq!(found.len(), 1, "{action} in {events:?}");
        assert_eq!(found[0]["outcome"], "success", "{action}");
        assert_eq!(found[0]["actor"], admin_id.as_str(), "{action}");
    }
    let create_event = about("application.create")[0];
    assert_eq!(create_event["detail"]["public"], false);
    assert_eq!(
        create_event["detail"]["grant_types"],
        json!(["client_credentials"])
    );
    // Newest first.
    assert_eq!(events[0]["action"], "application.delete");
    assert_eq!(events[1]["action"], "application.rotate_secret");
    // No secret, nor anything derived from it in an obvious way, ever lands in the log.
    let text = Value::from(events.clone()).to_string();
    for secret in [&first, &second] {
        assert!(!text.contains(secret.as_str()), "secret in the audit log");
        assert!(
            !text.contains(&secret[..16]),
            "secret prefix in the audit log"
        );
    }
    assert!(!text.contains("client_secret") && !text.contains("secret_hash"));
}

async fn sdk_manages_applications(app: TestApp) {
    use latchkey_api::CreateApplicationRequest;

    let client = latchkey_client::Client::new(&app.base).unwrap();
    client
        .sign_in("default", ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .unwrap();
    let listed = client.list_applications("default").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].client_id, "admin-cli");
    assert!(listed[0].builtin && listed[0].public);
    assert_eq!(listed[0].client_secret, None);

    let request = CreateApplicationRequest {
        client_id: "sdk-app".into(),
        public: false,
        grant_types: None,
        redirect_uris: vec!["https://sdk.example.com/cb".into()],
        roles: vec![],
        access_token_lifetime: Some(120),
    };
    let created = client
        .create_application("default", &request)
        .await
        .unwrap();
    let secret = created.client_secret.clone().unwrap();
    assert_eq!(secret.len(), 43);
    assert_eq!(
        created.grant_types,
        ["authorization_code", "refresh_token", "client_credentials"]
    );
    assert_eq!(created.access_token_lifetime, Some(120));

    let got = client.get_application("default", "sdk-app").await.unwrap();
    assert_eq!(got.client_secret, None);
    assert_eq!(got.redirect_uris, request.redirect_uris);

    let rotated = client
        .rotate_application_secret("default", "sdk-app")
        .await
        .unwrap();
    let new_secret = rotated.client_secret.unwrap();
    assert_eq!(new_secret.len(), 43);
    assert_ne!(new_secret, secret);

    let duplicate = client
        .create_application("default", &request)
        .await
        .unwrap_err();
    assert_eq!(duplicate.status(), Some(409));
    assert_eq!(duplicate.code(), Some("conflict"));
    // The SDK's error never carries the secret (it was not sent, and is not echoed).
    assert!(!format!("{duplicate} {duplicate:?}").contains(&new_secret));

    let builtin = client
        .delete_application("default", "admin-cli")
        .await
        .unwrap_err();
    assert_eq!(builtin.code(), Some("validation_failed"));
    client
        .delete_application("default", "sdk-app")
        .await
        .unwrap();
    let missing = client
        .get_application("default", "sdk-app")
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("not_found"));
    // Path arguments are one segment each, whatever they contain.
    let odd = client
        .get_application("default", "../users")
        .await
        .unwrap_err();
    assert_eq!(odd.code(), Some("not_found"));
}
