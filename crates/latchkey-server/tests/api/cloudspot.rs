//! The Cloudspot License dialect over HTTP: trailing-slash paths without redirects,
//! `X-LICENSE-MODULE`/`X-LICENSE-TOKEN`, success bodies with only the client's model keys,
//! errors with only `message` and `error_code`; custom roles giving app-scoped slugs;
//! impersonation tokens and their rules.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;

use crate::harness::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Reply, TestApp, USER_PASSWORD, assert_problem, on_both_backends,
};
use crate::mfa::enrol_and_confirm;

on_both_backends!(
    custom_roles_are_listed_set_and_deleted,
    paths_answer_with_and_without_slash_and_never_redirect,
    errors_carry_only_message_and_error_code,
    permissions_are_slugs_per_company_with_the_module,
    expired_and_revoked_tokens_are_refused,
    impersonation_tokens_are_single_use_and_ruled,
    mfa_accounts_cannot_authenticate_here,
);

const BASE: &str = "/cloudspot/api/v1/auth";

/// A client that never follows redirects, so a redirect shows as its 3xx.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Sends a Cloudspot request the way the client does: JSON content type always, the
/// module and (when given) the raw token as headers.
async fn cs(
    app: &TestApp,
    method: Method,
    path: &str,
    module: Option<&str>,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = no_redirects()
        .request(method, app.url(&format!("{BASE}/{path}")))
        .header("content-type", "application/json");
    if let Some(module) = module {
        request = request.header("x-license-module", module);
    }
    if let Some(token) = token {
        request = request.header("x-license-token", token);
    }
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    TestApp::read(request.send().await.unwrap()).await
}

async fn authenticate(app: &TestApp, module: &str, login: &str, password: &str) -> Reply {
    cs(
        app,
        Method::POST,
        "authenticate/",
        Some(module),
        None,
        Some(json!({"username": login, "password": password})),
    )
    .await
}

async fn license_token(app: &TestApp, module: &str, login: &str) -> String {
    let reply = authenticate(app, module, login, USER_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["token"].as_str().unwrap().to_owned()
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

fn assert_cloudspot_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(
        keys(&reply.body),
        set(&["message", "error_code"]),
        "{}",
        reply.body
    );
    assert_eq!(reply.body["error_code"], code, "{}", reply.body);
    assert!(
        reply.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

async fn create_application(app: &TestApp, admin: &str, tenant: &str, client_id: &str) {
    let reply = app
        .call(
            Method::POST,
            &format!("/api/v1/tenants/{tenant}/applications"),
            Some(admin),
            Some(json!({"client_id": client_id, "public": true})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

async fn put_role(app: &TestApp, token: &str, tenant: &str, name: &str, perms: &[&str]) -> Reply {
    app.call(
        Method::PUT,
        &format!("/api/v1/tenants/{tenant}/roles/{name}"),
        Some(token),
        Some(json!({ "permissions": perms })),
    )
    .await
}

async fn tenant_id(app: &TestApp, admin: &str, domain: &str) -> String {
    let reply = app
        .call(
            Method::GET,
            &format!("/api/v1/tenants/{domain}"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// Adds an existing account to `tenant` with `role`. No endpoint adds an existing
/// account to a second tenant: the store does (as in the Maestro tests).
async fn add_member(app: &TestApp, tenant_id: &str, account_id: &str, role: &str) {
    let services = &app.services;
    let tenant = latchkey_core::TenantId::from_string(tenant_id.to_owned());
    services
        .store
        .put_membership(
            &tenant,
            &latchkey_core::AccountId::from_string(account_id.to_owned()),
            &latchkey_core::RoleName::parse(role).unwrap(),
            services.clock.now(),
            &services.audit_event(
                Some(&tenant),
                None,
                "account.update",
                None,
                latchkey_core::AuditOutcome::Success,
                json!({}),
            ),
        )
        .await
        .unwrap();
}

async fn custom_roles_are_listed_set_and_deleted(app: TestApp) {
    let admin = app.admin_token().await;
    let listed = app
        .call(
            Method::GET,
            "/api/v1/tenants/default/roles",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let names: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "demo", "reader", "user"]);
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["builtin"] == true)
    );

    let created = put_role(
        &app,
        &admin,
        "default",
        "crm-editor",
        &["crm:write", "crm:read", "crm:read"],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        created.body,
        json!({"name": "crm-editor", "permissions": ["crm:read", "crm:write"], "builtin": false})
    );
    let replaced = put_role(
        &app,
        &admin,
        "default",
        "crm-editor",
        &["crm:read", "profile.read"],
    )
    .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    assert_eq!(
        replaced.body["permissions"],
        json!(["crm:read", "profile.read"])
    );

    // Built-in roles are fixed; names and permissions are checked.
    for builtin in ["admin", "user", "reader", "demo"] {
        assert_problem(
            &put_role(&app, &admin, "default", builtin, &["x"]).await,
            StatusCode::CONFLICT,
            "conflict",
        );
        let removed = app
            .call(
                Method::DELETE,
                &format!("/api/v1/tenants/default/roles/{builtin}"),
                Some(&admin),
                None,
            )
            .await;
        assert_problem(&removed, StatusCode::CONFLICT, "conflict");
    }
    assert_problem(
        &put_role(&app, &admin, "default", "Bad%20Name", &[]).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    );
    assert_problem(
        &put_role(&app, &admin, "default", "ok", &["has space"]).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    );
    assert_problem(
        &put_role(&app, &admin, "default", "ok", &["caf\u{e9}"]).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    );
    let too_many: Vec<String> = (0..300).map(|i| format!("p{i}")).collect();
    let refs: Vec<&str> = too_many.iter().map(String::as_str).collect();
    assert_problem(
        &put_role(&app, &admin, "default", "ok", &refs).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    );

    // Members can hold a custom role; it cannot go while they do.
    let ada = app
        .create_user(&admin, "default", "ada@example.com", "crm-editor")
        .await;
    let in_use = app
        .call(
            Method::DELETE,
            "/api/v1/tenants/default/roles/crm-editor",
            Some(&admin),
            None,
        )
        .await;
    assert_problem(&in_use, StatusCode::CONFLICT, "conflict");
    // Without tenant.write, nothing changes (a user may still read the roles).
    let bob = app
        .create_user(&admin, "default", "bob@example.com", "user")
        .await;
    let _ = bob;
    let bob_token = app.token("default", "bob@example.com", USER_PASSWORD).await;
    assert_problem(
        &put_role(&app, &bob_token, "default", "mine", &[]).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let bob_delete = app
        .call(
            Method::DELETE,
            "/api/v1/tenants/default/roles/crm-editor",
            Some(&bob_token),
            None,
        )
        .await;
    assert_problem(&bob_delete, StatusCode::FORBIDDEN, "forbidden");
    let bob_list = app
        .call(
            Method::GET,
            "/api/v1/tenants/default/roles",
            Some(&bob_token),
            None,
        )
        .await;
    assert_eq!(bob_list.status, StatusCode::OK);

    let moved = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tenants/default/users/{ada}"),
            Some(&admin),
            Some(json!({"role": "user"})),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let removed = app
        .call(
            Method::DELETE,
            "/api/v1/tenants/default/roles/crm-editor",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    let again = app
        .call(
            Method::DELETE,
            "/api/v1/tenants/default/roles/crm-editor",
            Some(&admin),
            None,
        )
        .await;
    assert_problem(&again, StatusCode::NOT_FOUND, "not_found");
    // A removed role can no longer be given.
    let refused = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tenants/default/users/{ada}"),
            Some(&admin),
            Some(json!({"role": "crm-editor"})),
        )
        .await;
    assert_problem(&refused, StatusCode::BAD_REQUEST, "validation_failed");

    let mut actions: Vec<Value> = app
        .audit_events(&admin)
        .await
        .into_iter()
        .filter(|e| e["action"].as_str().is_some_and(|a| a.starts_with("role.")))
        .map(|e| json!([e["action"], e["target"], e["actor"].is_string()]))
        .collect();
    actions.sort_by_key(Value::to_string);
    assert_eq!(
        actions,
        vec![
            json!(["role.delete", "crm-editor", true]),
            json!(["role.put", "crm-editor", true]),
            json!(["role.put", "crm-editor", true]),
        ]
    );
}

async fn paths_answer_with_and_without_slash_and_never_redirect(app: TestApp) {
    let admin = app.admin_token().await;
    create_application(&app, &admin, "default", "crm").await;
    put_role(&app, &admin, "default", "crm-user", &["crm:read"]).await;
    app.create_user(&admin, "default", "ada@example.com", "crm-user")
        .await;
    let company = tenant_id(&app, &admin, "default").await;

    for slash in ["/", ""] {
        let signed_in = cs(
            &app,
            Method::POST,
            &format!("authenticate{slash}"),
            Some("crm"),
            None,
            Some(json!({"username": "ada@example.com", "password": USER_PASSWORD})),
        )
        .await;
        assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
        assert_eq!(keys(&signed_in.body), set(&["token", "permissions"]));
        let token = signed_in.body["token"].as_str().unwrap();
        assert_eq!(
            signed_in.body["permissions"],
            json!([{"company_id": company, "company_name": "Default", "permissions": ["read"]}])
        );

        let permissions = cs(
            &app,
            Method::GET,
            &format!("get-permissions{slash}"),
            Some("crm"),
            Some(token),
            None,
        )
        .await;
        assert_eq!(permissions.status, StatusCode::OK, "{}", permissions.body);
        assert_eq!(keys(&permissions.body), set(&["permissions"]));
        assert_eq!(
            keys(&permissions.body["permissions"][0]),
            set(&["company_id", "company_name", "permissions"])
        );

        let profile = cs(
            &app,
            Method::GET,
            &format!("users/profile{slash}"),
            Some("crm"),
            Some(token),
            None,
        )
        .await;
        assert_eq!(profile.status, StatusCode::OK, "{}", profile.body);
        assert_eq!(
            profile.body,
            json!({"first_name": null, "last_name": null, "email": "ada@example.com", "pin": null})
        );

        let by_company = cs(
            &app,
            Method::GET,
            &format!("get-company-permissions/{company}{slash}"),
            Some("crm"),
            Some(token),
            None,
        )
        .await;
        assert_eq!(by_company.status, StatusCode::OK, "{}", by_company.body);
        assert_eq!(by_company.body, json!({"permissions": ["read"]}));
    }
}

async fn errors_carry_only_message_and_error_code(app: TestApp) {
    let admin = app.admin_token().await;
    create_application(&app, &admin, "default", "crm").await;
    app.create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let token = license_token(&app, "crm", "ada@example.com").await;

    // Unknown or missing module: 401, even with good credentials or a good token.
    assert_cloudspot_error(
        &authenticate(&app, "nope", "ada@example.com", USER_PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "NOT_AUTHORIZED",
    );
    assert_cloudspot_error(
        &cs(
            &app,
            Method::GET,
            "get-permissions/",
            Some("nope"),
            Some(&token),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "NOT_AUTHORIZED",
    );
    assert_cloudspot_error(
        &cs(
            &app,
            Method::GET,
            "users/profile/",
            None,
            Some(&token),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "NOT_AUTHORIZED",
    );
    // Missing or garbage token.
    assert_cloudspot_error(
        &cs(&app, Method::GET, "users/profile/", Some("crm"), None, None).await,
        StatusCode::UNAUTHORIZED,
        "NOT_AUTHORIZED",
    );
    assert_cloudspot_error(
        &cs(
            &app,
            Method::GET,
            "get-permissions/",
            Some("crm"),
            Some("not.a.token"),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "NOT_AUTHORIZED",
    );
    // Bad credentials.
    assert_cloudspot_error(
        &authenticate(&app, "crm", "ada@example.com", "wrong-password").await,
        StatusCode::UNAUTHORIZED,
        "NOT_AUTHORIZED",
    );
    assert_cloudspot_error(
        &authenticate(&app, "crm", "nobody@example.com", "wrong-password").await,
        StatusCode::UNAUTHORIZED,
        "NOT_AUTHORIZED",
    );
    // Unknown paths and wrong methods under the mount.
    assert_cloudspot_error(
        &cs(
            &app,
            Method::GET,
            "nothing/here/",
            Some("crm"),
            Some(&token),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    assert_cloudspot_error(
        &cs(&app, Method::GET, "authenticate/", Some("crm"), None, None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "NOT_ALLOWED",
    );
    assert_cloudspot_error(
        &cs(
            &app,
            Method::PUT,
            "get-permissions/",
            Some("crm"),
            Some(&token),
            None,
        )
        .await,
        StatusCode::METHOD_NOT_ALLOWED,
        "NOT_ALLOWED",
    );
    // Malformed, incomplete and oversized bodies.
    let malformed = no_redirects()
        .post(app.url(&format!("{BASE}/authenticate/")))
        .header("content-type", "application/json")
        .header("x-license-module", "crm")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_cloudspot_error(
        &TestApp::read(malformed).await,
        StatusCode::BAD_REQUEST,
        "INVALID_FORMAT",
    );
    assert_cloudspot_error(
        &cs(
            &app,
            Method::POST,
            "authenticate/",
            Some("crm"),
            None,
            Some(json!({"username": "ada@example.com"})),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "INVALID_FORMAT",
    );
    let huge = json!({"username": "a".repeat(200_000), "password": "x"});
    let oversized = cs(
        &app,
        Method::POST,
        "authenticate/",
        Some("crm"),
        None,
        Some(huge),
    )
    .await;
    assert_cloudspot_error(&oversized, StatusCode::PAYLOAD_TOO_LARGE, "INVALID_FORMAT");
    assert_cloudspot_error(
        &cs(
            &app,
            Method::POST,
            "impersonation-validation/",
            Some("crm"),
            None,
            Some(json!({"token": "made-up"})),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "NOT_AUTHORIZED",
    );
    // Success bodies never carry has_error or error.
    let ok = cs(
        &app,
        Method::GET,
        "get-permissions/",
        Some("crm"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(!ok.body.to_string().contains("has_error"));
}

async fn permissions_are_slugs_per_company_with_the_module(app: TestApp) {
    let admin = app.admin_token().await;
    for domain in ["acme", "globex", "initech"] {
        app.create_tenant(&admin, domain).await;
    }
    // acme and globex have the module; initech has another application only.
    create_application(&app, &admin, "acme", "crm").await;
    create_application(&app, &admin, "globex", "crm").await;
    create_application(&app, &admin, "initech", "erp").await;
    put_role(
        &app,
        &admin,
        "acme",
        "sales",
        &[
            "crm:leads.read",
            "crm:leads.write",
            "erp:books",
            "users.read",
        ],
    )
    .await;
    put_role(&app, &admin, "globex", "viewer", &["crm:leads.read"]).await;
    put_role(&app, &admin, "initech", "crm-looking", &["crm:everything"]).await;
    let ada = app
        .create_user(&admin, "acme", "ada@example.com", "sales")
        .await;
    let acme = tenant_id(&app, &admin, "acme").await;
    let globex = tenant_id(&app, &admin, "globex").await;
    let initech = tenant_id(&app, &admin, "initech").await;
    add_member(&app, &globex, &ada, "viewer").await;
    add_member(&app, &initech, &ada, "crm-looking").await;

    // The latest-used tenant with the module: globex after a native sign-in there; a
    // newer sign-in to initech (no module) does not count.
    app.token("globex", "ada@example.com", USER_PASSWORD).await;
    app.clock.advance(Duration::seconds(1));
    app.token("initech", "ada@example.com", USER_PASSWORD).await;
    app.clock.advance(Duration::seconds(1));
    let signed_in = authenticate(&app, "crm", "ada@example.com", USER_PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    let token = signed_in.body["token"].as_str().unwrap().to_owned();
    let me = app
        .call(Method::GET, "/api/v1/me", Some(&token), None)
        .await;
    assert_eq!(me.body["membership"]["tenant"], "globex", "{}", me.body);

    let mut expected = vec![
        json!({"company_id": acme, "company_name": "ACME", "permissions": ["leads.read", "leads.write"]}),
        json!({"company_id": globex, "company_name": "GLOBEX", "permissions": ["leads.read"]}),
    ];
    expected.sort_by(|a, b| a["company_id"].as_str().cmp(&b["company_id"].as_str()));
    assert_eq!(signed_in.body["permissions"], json!(expected));
    let listed = cs(
        &app,
        Method::GET,
        "get-permissions/",
        Some("crm"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(listed.body, json!({"permissions": expected}));
    // Another module gives other slugs (erp exists in initech only).
    let erp = cs(
        &app,
        Method::GET,
        "get-permissions/",
        Some("erp"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        erp.body,
        json!({"permissions": [{"company_id": initech, "company_name": "INITECH", "permissions": []}]})
    );

    let in_acme = cs(
        &app,
        Method::GET,
        &format!("get-company-permissions/{acme}/"),
        Some("crm"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        in_acme.body,
        json!({"permissions": ["leads.read", "leads.write"]})
    );
    for missing in [initech.as_str(), "unknown-company", "acme"] {
        let reply = cs(
            &app,
            Method::GET,
            &format!("get-company-permissions/{missing}/"),
            Some("crm"),
            Some(&token),
            None,
        )
        .await;
        assert_cloudspot_error(&reply, StatusCode::NOT_FOUND, "NOT_FOUND");
    }

    // A role change shows at once on this node (its cached copy is dropped).
    put_role(
        &app,
        &admin,
        "globex",
        "viewer",
        &["crm:leads.read", "crm:reports"],
    )
    .await;
    let changed = cs(
        &app,
        Method::GET,
        &format!("get-company-permissions/{globex}/"),
        Some("crm"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        changed.body,
        json!({"permissions": ["leads.read", "reports"]})
    );

    // An account that is a member of no tenant with the module cannot authenticate.
    app.create_user(&admin, "initech", "bob@example.com", "user")
        .await;
    let bob = authenticate(&app, "crm", "bob@example.com", USER_PASSWORD).await;
    assert_cloudspot_error(&bob, StatusCode::UNAUTHORIZED, "NOT_AUTHORIZED");
}

async fn expired_and_revoked_tokens_are_refused(app: TestApp) {
    let admin = app.admin_token().await;
    create_application(&app, &admin, "default", "crm").await;
    app.create_user(&admin, "default", "ada@example.com", "user")
        .await;

    let token = license_token(&app, "crm", "ada@example.com").await;
    let ok = cs(
        &app,
        Method::GET,
        "users/profile/",
        Some("crm"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    app.clock.advance(Duration::minutes(6));
    for path in ["users/profile/", "get-permissions/"] {
        let expired = cs(&app, Method::GET, path, Some("crm"), Some(&token), None).await;
        assert_cloudspot_error(&expired, StatusCode::UNAUTHORIZED, "NOT_AUTHORIZED");
    }

    let token = license_token(&app, "crm", "ada@example.com").await;
    let out = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/sign-out",
            Some(&token),
            None,
        )
        .await;
    assert!(out.status.is_success(), "{}", out.body);
    let revoked = cs(
        &app,
        Method::GET,
        "get-permissions/",
        Some("crm"),
        Some(&token),
        None,
    )
    .await;
    assert_cloudspot_error(&revoked, StatusCode::UNAUTHORIZED, "NOT_AUTHORIZED");
}

async fn mint(app: &TestApp, token: &str, tenant: &str, id: &str) -> Reply {
    app.call(
        Method::POST,
        &format!("/api/v1/tenants/{tenant}/users/{id}/impersonation"),
        Some(token),
        None,
    )
    .await
}

async fn exchange(app: &TestApp, token: &str) -> Reply {
    cs(
        app,
        Method::POST,
        "impersonation-validation/",
        Some("crm"),
        None,
        Some(json!({"token": token})),
    )
    .await
}

async fn impersonation_tokens_are_single_use_and_ruled(app: TestApp) {
    let root = app.admin_token().await;
    create_application(&app, &root, "default", "crm").await;
    put_role(&app, &root, "default", "crm-user", &["crm:read"]).await;
    let ada = app
        .create_user(&root, "default", "ada@example.com", "crm-user")
        .await;
    let boss = app
        .create_user(&root, "default", "boss@example.com", "admin")
        .await;
    let other_admin = app
        .create_user(&root, "default", "other@example.com", "admin")
        .await;
    let bob = app
        .create_user(&root, "default", "bob@example.com", "user")
        .await;
    let root_id = app
        .call(Method::GET, "/api/v1/me", Some(&root), None)
        .await
        .body["account"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let boss_token = app
        .token("default", "boss@example.com", USER_PASSWORD)
        .await;
    let bob_token = app.token("default", "bob@example.com", USER_PASSWORD).await;
    let company = tenant_id(&app, &root, "default").await;

    // A tenant admin impersonates an ordinary member, once.
    let minted = mint(&app, &boss_token, "default", &ada).await;
    assert_eq!(minted.status, StatusCode::CREATED, "{}", minted.body);
    assert_eq!(keys(&minted.body), set(&["token", "expires_at"]));
    let secret = minted.body["token"].as_str().unwrap().to_owned();
    let exchanged = exchange(&app, &secret).await;
    assert_eq!(exchanged.status, StatusCode::OK, "{}", exchanged.body);
    assert_eq!(
        keys(&exchanged.body),
        set(&["token", "auth_token", "user", "company"])
    );
    assert_eq!(exchanged.body["user"]["email"], "ada@example.com");
    assert_eq!(exchanged.body["company"]["company_id"], company);
    assert_eq!(exchanged.body["company"]["permissions"], json!(["read"]));
    let as_ada = exchanged.body["token"].as_str().unwrap();
    let profile = cs(
        &app,
        Method::GET,
        "users/profile/",
        Some("crm"),
        Some(as_ada),
        None,
    )
    .await;
    assert_eq!(profile.body["email"], "ada@example.com");
    assert_cloudspot_error(
        &exchange(&app, &secret).await,
        StatusCode::UNAUTHORIZED,
        "NOT_AUTHORIZED",
    );

    // It expires after 120 seconds.
    let late = mint(&app, &boss_token, "default", &ada).await;
    app.clock.advance(Duration::seconds(121));
    assert_cloudspot_error(
        &exchange(&app, late.body["token"].as_str().unwrap()).await,
        StatusCode::UNAUTHORIZED,
        "NOT_AUTHORIZED",
    );
    let boss_token = app
        .token("default", "boss@example.com", USER_PASSWORD)
        .await;
    let bob_token_fresh = app.token("default", "bob@example.com", USER_PASSWORD).await;
    let _ = bob_token;

    // Tenant admins cannot impersonate administrators, platform administrators, or
    // themselves; members without users.write cannot impersonate at all.
    assert_problem(
        &mint(&app, &boss_token, "default", &other_admin).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_problem(
        &mint(&app, &boss_token, "default", &root_id).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_problem(
        &mint(&app, &boss_token, "default", &boss).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    );
    assert_problem(
        &mint(&app, &bob_token_fresh, "default", &ada).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_problem(
        &mint(&app, &boss_token, "default", "AAAAAAAAAAAAAAAAAAAAAA").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let _ = bob;
    // A platform administrator can impersonate a tenant administrator.
    let by_root = mint(&app, &root, "default", &other_admin).await;
    assert_eq!(by_root.status, StatusCode::CREATED, "{}", by_root.body);
    let as_other = exchange(&app, by_root.body["token"].as_str().unwrap()).await;
    assert_eq!(as_other.status, StatusCode::OK, "{}", as_other.body);
    assert_eq!(as_other.body["user"]["email"], "other@example.com");

    // A token minted for a member who became an administrator meanwhile is refused.
    let promoted_later = mint(&app, &boss_token, "default", &ada).await;
    let promote = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tenants/default/users/{ada}"),
            Some(&root),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(promote.status, StatusCode::OK, "{}", promote.body);
    assert_cloudspot_error(
        &exchange(&app, promoted_later.body["token"].as_str().unwrap()).await,
        StatusCode::UNAUTHORIZED,
        "NOT_AUTHORIZED",
    );

    // Minting and exchanging are in the audit log, with the administrator as actor.
    let events = app.audit_events(&root).await;
    let find = |action: &str| {
        events
            .iter()
            .filter(|e| e["action"] == action)
            .map(|e| json!([e["actor"], e["target"]]))
            .collect::<Vec<_>>()
    };
    assert!(find("impersonation.mint").contains(&json!([boss, ada])));
    assert!(find("impersonation.redeem").contains(&json!([boss, ada])));
    assert!(find("impersonation.redeem").contains(&json!([root_id, other_admin])));
    assert_eq!(find("impersonation.redeem").len(), 2);
    let _ = (ADMIN_EMAIL, ADMIN_PASSWORD);
}

async fn mfa_accounts_cannot_authenticate_here(app: TestApp) {
    let admin = app.admin_token().await;
    create_application(&app, &admin, "default", "crm").await;
    app.create_user(&admin, "default", "ada@example.com", "user")
        .await;
    let ada = app.token("default", "ada@example.com", USER_PASSWORD).await;
    enrol_and_confirm(&app, &ada).await;
    let refused = authenticate(&app, "crm", "ada@example.com", USER_PASSWORD).await;
    assert_cloudspot_error(&refused, StatusCode::UNAUTHORIZED, "MFA_NOT_SUPPORTED");
    // A wrong password still reads as bad credentials.
    let wrong = authenticate(&app, "crm", "ada@example.com", "wrong-password").await;
    assert_cloudspot_error(&wrong, StatusCode::UNAUTHORIZED, "NOT_AUTHORIZED");
}
