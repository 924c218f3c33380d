//! The OpenID Connect / OAuth 2.0 endpoints under `/realms/{t}` and `/auth/realms/{t}`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{ADMIN_EMAIL, ADMIN_PASSWORD, Reply, TestApp, on_both_backends};

on_both_backends!(
    realm_metadata_describes_one_key_under_both_prefixes,
    password_grant_refresh_userinfo_and_logout,
    token_endpoint_errors_are_oauth_objects,
    confidential_clients_get_service_tokens_and_introspect,
    revocation_ends_the_session,
    refresh_tokens_belong_to_their_client,
    authorization_code_flow_with_pkce,
    authorization_requests_that_must_not_redirect_or_must_fail,
);

const TOKEN: &str = "/realms/default/protocol/openid-connect/token";

/// Form fields of a request.
type Form<'a> = Vec<(&'a str, &'a str)>;

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Reply {
    let response = app
        .http
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    TestApp::read(response).await
}

async fn password_grant(app: &TestApp, scope: &str) -> Value {
    let reply = post_form(
        app,
        TOKEN,
        &[
            ("client_id", "admin-cli"),
            ("grant_type", "password"),
            ("username", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("scope", scope),
            // python-keycloak sends these empty: they must be ignored.
            ("code", ""),
            ("redirect_uri", ""),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.headers["cache-control"], "no-store");
    reply.body
}

fn assert_oauth_error(reply: &Reply, status: StatusCode, error: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body["error"], error, "{}", reply.body);
    assert!(
        reply.body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
}

async fn create_confidential_client(app: &TestApp, client_id: &str, grants: &[&str]) -> String {
    let admin = app.admin_token().await;
    let reply = app
        .call(
            reqwest::Method::POST,
            "/api/v1/tenants/default/applications",
            Some(&admin),
            Some(json!({"client_id": client_id, "grant_types": grants, "roles": ["reports:read"]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["client_secret"].as_str().unwrap().to_owned()
}

async fn realm_metadata_describes_one_key_under_both_prefixes(app: TestApp) {
    use base64::Engine as _;
    use rsa::pkcs8::DecodePublicKey as _;
    use rsa::traits::PublicKeyParts as _;
    for prefix in ["", "/auth"] {
        let realm = app
            .call(
                reqwest::Method::GET,
                &format!("{prefix}/realms/default"),
                None,
                None,
            )
            .await;
        assert_eq!(realm.status, StatusCode::OK, "{}", realm.body);
        assert_eq!(realm.body["realm"], "default");
        let issuer = format!("{}/realms/default", app.base);
        assert_eq!(
            realm.body["token-service"],
            format!("{issuer}/protocol/openid-connect")
        );
        let der = base64::engine::general_purpose::STANDARD
            .decode(realm.body["public_key"].as_str().unwrap())
            .unwrap();
        let key = rsa::RsaPublicKey::from_public_key_der(&der).unwrap();

        let certs = app
            .call(
                reqwest::Method::GET,
                &format!("{prefix}/realms/default/protocol/openid-connect/certs"),
                None,
                None,
            )
            .await;
        let jwk = &certs.body["keys"][0];
        let b64 = |bytes: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        assert_eq!(jwk["n"], b64(key.n().to_bytes_be()));
        assert_eq!(jwk["e"], b64(key.e().to_bytes_be()));
        assert_eq!(
            (
                jwk["kty"].as_str(),
                jwk["alg"].as_str(),
                jwk["use"].as_str()
            ),
            (Some("RSA"), Some("RS256"), Some("sig"))
        );

        let discovery = app
            .call(
                reqwest::Method::GET,
                &format!("{prefix}/realms/default/.well-known/openid-configuration"),
                None,
                None,
            )
            .await;
        assert_eq!(discovery.body["issuer"], issuer);
        assert_eq!(
            discovery.body["token_endpoint"],
            format!("{issuer}/protocol/openid-connect/token")
        );
        assert_eq!(
            discovery.body["jwks_uri"],
            format!("{issuer}/protocol/openid-connect/certs")
        );
        assert!(
            discovery.body["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("client_credentials"))
        );
    }
    let missing = app
        .call(reqwest::Method::GET, "/realms/nowhere", None, None)
        .await;
    assert_oauth_error(&missing, StatusCode::NOT_FOUND, "invalid_request");
}

async fn password_grant_refresh_userinfo_and_logout(app: TestApp) {
    let tokens = password_grant(&app, "openid").await;
    for field in ["access_token", "refresh_token", "id_token", "session_state"] {
        assert!(tokens[field].is_string(), "{field}: {tokens}");
    }
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 300);
    assert!(tokens["refresh_expires_in"].as_i64().unwrap() > 0);
    assert_eq!(tokens["not-before-policy"], 0);
    assert_eq!(tokens["scope"], "openid profile email");
    // Without `openid` there is no ID token.
    let plain = password_grant(&app, "").await;
    assert!(plain.get("id_token").is_none(), "{plain}");

    let access = tokens["access_token"].as_str().unwrap();
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let info = app
            .call(
                method,
                "/auth/realms/default/protocol/openid-connect/userinfo",
                Some(access),
                None,
            )
            .await;
        assert_eq!(info.status, StatusCode::OK, "{}", info.body);
        assert_eq!(info.body["email"], ADMIN_EMAIL);
        assert!(info.body["sub"].is_string());
    }
    // The same access token works on the native API.
    let me = app
        .call(reqwest::Method::GET, "/api/v1/me", Some(access), None)
        .await;
    assert_eq!(me.status, StatusCode::OK);

    let refresh = tokens["refresh_token"].as_str().unwrap();
    let refreshed = post_form(
        &app,
        TOKEN,
        &[
            ("client_id", "admin-cli"),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
        ],
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert_ne!(refreshed.body["access_token"], tokens["access_token"]);
    let newer = refreshed.body["refresh_token"].as_str().unwrap();

    let logout = post_form(
        &app,
        "/realms/default/protocol/openid-connect/logout",
        &[("client_id", "admin-cli"), ("refresh_token", newer)],
    )
    .await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT, "{}", logout.body);
    let after = post_form(
        &app,
        TOKEN,
        &[
            ("client_id", "admin-cli"),
            ("grant_type", "refresh_token"),
            ("refresh_token", newer),
        ],
    )
    .await;
    assert_oauth_error(&after, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(after.body["error_description"], "Session not active");
    let info = app
        .call(
            reqwest::Method::GET,
            "/realms/default/protocol/openid-connect/userinfo",
            Some(access),
            None,
        )
        .await;
    assert_oauth_error(&info, StatusCode::UNAUTHORIZED, "invalid_token");
    assert!(info.headers.get("www-authenticate").is_some());
    let again = post_form(
        &app,
        "/realms/default/protocol/openid-connect/logout",
        &[("client_id", "admin-cli"), ("refresh_token", "not-a-token")],
    )
    .await;
    assert_oauth_error(&again, StatusCode::BAD_REQUEST, "invalid_grant");
}

async fn token_endpoint_errors_are_oauth_objects(app: TestApp) {
    let cases: Vec<(Form<'_>, StatusCode, &str)> = vec![
        (
            vec![("client_id", "admin-cli")],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            vec![("client_id", "admin-cli"), ("grant_type", "implicit")],
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            vec![
                ("client_id", "nobody"),
                ("grant_type", "password"),
                ("username", "x"),
                ("password", "y"),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            vec![("grant_type", "password")],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            vec![
                ("client_id", "admin-cli"),
                ("grant_type", "client_credentials"),
            ],
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
        ),
        (
            vec![
                ("client_id", "admin-cli"),
                ("grant_type", "password"),
                ("username", ADMIN_EMAIL),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            vec![
                ("client_id", "admin-cli"),
                ("grant_type", "password"),
                ("username", ADMIN_EMAIL),
                ("password", "wrong wrong"),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
        ),
        (
            vec![
                ("client_id", "admin-cli"),
                ("grant_type", "password"),
                ("username", "ghost@example.com"),
                ("password", "wrong wrong"),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
        ),
        (
            vec![
                ("client_id", "admin-cli"),
                ("grant_type", "refresh_token"),
                ("refresh_token", "bogus"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            vec![
                ("client_id", "admin-cli"),
                ("grant_type", "authorization_code"),
                ("code", "x"),
            ],
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
        ),
    ];
    for (form, status, error) in cases {
        let reply = post_form(&app, TOKEN, &form).await;
        assert_oauth_error(&reply, status, error);
    }
    // A body that is not percent-encoded (squonk2 sends passwords raw) is parsed, not fatal.
    let raw = app
        .http
        .post(app.url(TOKEN))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "client_id=admin-cli&grant_type=password&username={ADMIN_EMAIL}&password=p&a+s s%&x=%zz"
        ))
        .send()
        .await
        .unwrap();
    let raw = TestApp::read(raw).await;
    assert_oauth_error(&raw, StatusCode::UNAUTHORIZED, "invalid_grant");
    let oversized = post_form(&app, TOKEN, &[("grant_type", &"x".repeat(70 * 1024))]).await;
    assert_eq!(oversized.status, StatusCode::PAYLOAD_TOO_LARGE);
    let unknown_realm = post_form(
        &app,
        "/realms/nowhere/protocol/openid-connect/token",
        &[("grant_type", "password")],
    )
    .await;
    assert_oauth_error(&unknown_realm, StatusCode::NOT_FOUND, "invalid_request");
}

async fn confidential_clients_get_service_tokens_and_introspect(app: TestApp) {
    let secret = create_confidential_client(&app, "svc", &["client_credentials"]).await;
    let by_post = post_form(
        &app,
        TOKEN,
        &[
            ("client_id", "svc"),
            ("client_secret", &secret),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(by_post.status, StatusCode::OK, "{}", by_post.body);
    assert!(by_post.body.get("refresh_token").is_none());
    let service_token = by_post.body["access_token"].as_str().unwrap().to_owned();
    let by_basic = app
        .http
        .post(app.url(TOKEN))
        .basic_auth("svc", Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(by_basic.status(), StatusCode::OK);
    let wrong = post_form(
        &app,
        TOKEN,
        &[
            ("client_id", "svc"),
            ("client_secret", "wrong"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_oauth_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_client");
    // The confidential client may not use grants it was not given.
    let password = post_form(
        &app,
        TOKEN,
        &[
            ("client_id", "svc"),
            ("client_secret", &secret),
            ("grant_type", "password"),
            ("username", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
        ],
    )
    .await;
    assert_oauth_error(&password, StatusCode::BAD_REQUEST, "unauthorized_client");
    // A service token is not an account's token.
    let me = app
        .call(
            reqwest::Method::GET,
            "/api/v1/me",
            Some(&service_token),
            None,
        )
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);

    let introspect = "/realms/default/protocol/openid-connect/token/introspect";
    let user_tokens = password_grant(&app, "openid").await;
    let access = user_tokens["access_token"].as_str().unwrap();
    let active = post_form(
        &app,
        introspect,
        &[
            ("client_id", "svc"),
            ("client_secret", &secret),
            ("token", access),
        ],
    )
    .await;
    assert_eq!(active.status, StatusCode::OK, "{}", active.body);
    assert_eq!(active.body["active"], true);
    assert_eq!(active.body["username"], ADMIN_EMAIL);
    assert_eq!(active.body["client_id"], "admin-cli");
    assert_eq!(active.body["realm_access"]["roles"], json!(["admin"]));
    let service = post_form(
        &app,
        introspect,
        &[
            ("client_id", "svc"),
            ("client_secret", &secret),
            ("token", &service_token),
        ],
    )
    .await;
    assert_eq!(service.body["active"], true);
    assert_eq!(service.body["sub"], "service-account-svc");
    assert_eq!(
        service.body["resource_access"]["svc"]["roles"],
        json!(["reports:read"])
    );
    let refresh = post_form(
        &app,
        introspect,
        &[
            ("client_id", "svc"),
            ("client_secret", &secret),
            ("token", user_tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(refresh.body["active"], true);
    assert_eq!(refresh.body["token_type"], "Refresh");
    let garbage = post_form(
        &app,
        introspect,
        &[
            ("client_id", "svc"),
            ("client_secret", &secret),
            ("token", "a.b.c"),
        ],
    )
    .await;
    assert_eq!(garbage.body, json!({"active": false}));
    // Public clients may not introspect.
    let public = post_form(
        &app,
        introspect,
        &[("client_id", "admin-cli"), ("token", access)],
    )
    .await;
    assert_oauth_error(&public, StatusCode::UNAUTHORIZED, "invalid_client");
    // Expired tokens are inactive.
    app.clock.advance(time::Duration::minutes(6));
    let expired = post_form(
        &app,
        introspect,
        &[
            ("client_id", "svc"),
            ("client_secret", &secret),
            ("token", access),
        ],
    )
    .await;
    assert_eq!(expired.body["active"], false);
}

async fn revocation_ends_the_session(app: TestApp) {
    let revoke = "/realms/default/protocol/openid-connect/revoke";
    let tokens = password_grant(&app, "openid").await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let unknown = post_form(
        &app,
        revoke,
        &[("client_id", "admin-cli"), ("token", "whatever")],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::OK);
    let revoked = post_form(
        &app,
        revoke,
        &[("client_id", "admin-cli"), ("token", refresh)],
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    let access = tokens["access_token"].as_str().unwrap();
    let me = app
        .call(reqwest::Method::GET, "/api/v1/me", Some(access), None)
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    // Revoking by access token works too.
    let second = password_grant(&app, "").await;
    let second_access = second["access_token"].as_str().unwrap();
    post_form(
        &app,
        revoke,
        &[("client_id", "admin-cli"), ("token", second_access)],
    )
    .await;
    let me = app
        .call(
            reqwest::Method::GET,
            "/api/v1/me",
            Some(second_access),
            None,
        )
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let no_client = post_form(&app, revoke, &[("token", second_access)]).await;
    assert_oauth_error(&no_client, StatusCode::UNAUTHORIZED, "invalid_client");
}

const AUTH: &str = "/realms/default/protocol/openid-connect/auth";
const CALLBACK: &str = "http://localhost:9999/cb";
/// A PKCE verifier and its S256 challenge (base64url of its SHA-256).
const VERIFIER: &str = "dBjftJeZ4CVP-mJ0R5hZ0ZNqTvA2V-gU6DpZrxKMBpZhY";
const CHALLENGE: &str = "uIHZUxo6NVshUaIUAhu5U_Og01TPexXJ3BmV3TPs7Xs";

async fn create_public_app(app: &TestApp) {
    let admin = app.admin_token().await;
    let reply = app
        .call(
            reqwest::Method::POST,
            "/api/v1/tenants/default/applications",
            Some(&admin),
            Some(json!({"client_id": "spa", "public": true,
                        "grant_types": ["authorization_code", "refresh_token"],
                        "redirect_uris": [CALLBACK]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn auth_query(extra: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("client_id", "spa"),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ] {
        if !extra.iter().any(|(name, _)| *name == k) {
            query.append_pair(k, v);
        }
    }
    for (k, v) in extra {
        if !v.is_empty() {
            query.append_pair(k, v);
        }
    }
    query.finish()
}

/// Loads the sign-in page; returns the CSRF cookie value.
async fn load_page(app: &TestApp, client: &reqwest::Client, query: &str) -> String {
    let page = client
        .get(app.url(&format!("{AUTH}?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    // Browsers check form-action against the redirect after the post as well.
    assert!(
        policy.contains("form-action 'self' http://localhost:9999;"),
        "{policy}"
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<form method=\"post\"") && html.contains("name=\"password\""),
        "{html}"
    );
    assert!(!html.contains("<script"), "no scripts on the page");
    cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, value)| value.to_owned())
        .unwrap()
}

async fn submit(
    app: &TestApp,
    client: &reqwest::Client,
    query: &str,
    csrf: &str,
    password: &str,
) -> reqwest::Response {
    let mut fields: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    fields.push(("username".into(), ADMIN_EMAIL.into()));
    fields.push(("password".into(), password.into()));
    fields.push(("csrf".into(), csrf.into()));
    client
        .post(app.url(AUTH))
        .header("cookie", format!("latchkey_csrf={csrf}"))
        .form(&fields)
        .send()
        .await
        .unwrap()
}

fn location_params(response: &reqwest::Response) -> std::collections::HashMap<String, String> {
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(CALLBACK), "{location}");
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

async fn exchange(app: &TestApp, code: &str, verifier: &str, redirect_uri: &str) -> Reply {
    post_form(
        app,
        TOKEN,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ],
    )
    .await
}

async fn authorization_code_flow_with_pkce(app: TestApp) {
    use base64::Engine as _;
    create_public_app(&app).await;
    let client = no_redirects();
    let query = auth_query(&[]);
    let csrf = load_page(&app, &client, &query).await;

    let wrong = submit(&app, &client, &query, &csrf, "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.unwrap().contains("role=\"alert\""));

    let signed_in = submit(&app, &client, &query, &csrf, ADMIN_PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::FOUND);
    let params = location_params(&signed_in);
    assert_eq!(params["state"], "st-1");
    assert_eq!(params["iss"], format!("{}/realms/default", app.base));
    let code = params["code"].clone();

    // Wrong verifier or redirect URI: refused (and the code is spent).
    let bad_verifier = exchange(&app, &code, &"x".repeat(43), CALLBACK).await;
    assert_oauth_error(&bad_verifier, StatusCode::BAD_REQUEST, "invalid_grant");

    // A fresh code for the real exchange.
    let csrf = load_page(&app, &client, &query).await;
    let params = location_params(&submit(&app, &client, &query, &csrf, ADMIN_PASSWORD).await);
    let code = params["code"].clone();
    let other_redirect = exchange(&app, &code, VERIFIER, "http://localhost:9999/other").await;
    assert_oauth_error(&other_redirect, StatusCode::BAD_REQUEST, "invalid_grant");

    let csrf = load_page(&app, &client, &query).await;
    let params = location_params(&submit(&app, &client, &query, &csrf, ADMIN_PASSWORD).await);
    let code = params["code"].clone();
    let tokens = exchange(&app, &code, VERIFIER, CALLBACK).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let id_token = tokens.body["id_token"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(id_token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["aud"], "spa");
    assert_eq!(claims["iss"], format!("{}/realms/default", app.base));
    let access = tokens.body["access_token"].as_str().unwrap();
    let info = app
        .call(
            reqwest::Method::GET,
            "/realms/default/protocol/openid-connect/userinfo",
            Some(access),
            None,
        )
        .await;
    assert_eq!(info.status, StatusCode::OK);
    // A third-party application's token proves who the user is; it does not carry the
    // user's administrative power to the management APIs.
    for path in ["/api/v1/me", "/admin/realms/default/users"] {
        let managed = app
            .call(reqwest::Method::GET, path, Some(access), None)
            .await;
        assert_eq!(
            managed.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            managed.body
        );
    }

    // Replaying the code revokes what it issued.
    let replay = exchange(&app, &code, VERIFIER, CALLBACK).await;
    assert_oauth_error(&replay, StatusCode::BAD_REQUEST, "invalid_grant");
    let after = app
        .call(
            reqwest::Method::GET,
            "/realms/default/protocol/openid-connect/userinfo",
            Some(access),
            None,
        )
        .await;
    assert_oauth_error(&after, StatusCode::UNAUTHORIZED, "invalid_token");
    let admin = app.admin_token().await;
    let events = app.audit_events(&admin).await;
    assert!(
        Value::from(events.clone())
            .to_string()
            .contains("session.code_reuse_detected"),
        "{events:?}"
    );

    // Codes live 60 seconds.
    let csrf = load_page(&app, &client, &query).await;
    let params = location_params(&submit(&app, &client, &query, &csrf, ADMIN_PASSWORD).await);
    app.clock.advance(time::Duration::seconds(61));
    let late = exchange(&app, &params["code"], VERIFIER, CALLBACK).await;
    assert_oauth_error(&late, StatusCode::BAD_REQUEST, "invalid_grant");

    // A session opened by the page lives two minutes unless its code is exchanged; the
    // exchange extends it to a full session.
    let csrf = load_page(&app, &client, &query).await;
    let params = location_params(&submit(&app, &client, &query, &csrf, ADMIN_PASSWORD).await);
    let tokens = exchange(&app, &params["code"], VERIFIER, CALLBACK).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    app.clock.advance(time::Duration::minutes(5));
    let refreshed = post_form(
        &app,
        TOKEN,
        &[
            ("client_id", "spa"),
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                tokens.body["refresh_token"].as_str().unwrap(),
            ),
        ],
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
}

async fn authorization_requests_that_must_not_redirect_or_must_fail(app: TestApp) {
    create_public_app(&app).await;
    let client = no_redirects();
    // Unknown clients and unregistered redirect URIs get a page, never a redirect.
    for query in [
        auth_query(&[("client_id", "nobody")]),
        auth_query(&[("redirect_uri", "https://evil.example.com/cb")]),
        auth_query(&[("redirect_uri", "")]),
    ] {
        let page = client
            .get(app.url(&format!("{AUTH}?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(page.headers().get("location").is_none());
        assert!(page.text().await.unwrap().contains("role=\"alert\""));
    }
    // With client and redirect URI verified, errors go back to the client.
    for (extra, error) in [
        (
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            "invalid_request",
        ),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (vec![("prompt", "none")], "login_required"),
    ] {
        let query = auth_query(&extra);
        let reply = client
            .get(app.url(&format!("{AUTH}?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::FOUND, "{query}");
        let params = location_params(&reply);
        assert_eq!(params["error"], error, "{query}");
        assert_eq!(params["state"], "st-1");
        assert_eq!(params["iss"], format!("{}/realms/default", app.base));
    }
    // Without the CSRF cookie, or with a different one, the form is refused.
    let query = auth_query(&[]);
    let csrf = load_page(&app, &client, &query).await;
    let mut fields: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    fields.extend([
        ("username".to_owned(), ADMIN_EMAIL.to_owned()),
        ("password".to_owned(), ADMIN_PASSWORD.to_owned()),
        ("csrf".to_owned(), csrf.clone()),
    ]);
    let forged = client
        .post(app.url(AUTH))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let mismatched = client
        .post(app.url(AUTH))
        .header("cookie", "latchkey_csrf=something-else")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(mismatched.status(), StatusCode::FORBIDDEN);
    // Values are escaped into the page.
    let query = auth_query(&[("state", "\"><script>alert(1)</script>")]);
    let page = client
        .get(app.url(&format!("{AUTH}?{query}")))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>alert(1)"), "{html}");
    // The discovery document now advertises the flow.
    let discovery = app
        .call(
            reqwest::Method::GET,
            "/realms/default/.well-known/openid-configuration",
            None,
            None,
        )
        .await;
    assert_eq!(
        discovery.body["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        discovery.body["authorization_endpoint"],
        format!("{}/realms/default/protocol/openid-connect/auth", app.base)
    );
}

async fn refresh_tokens_belong_to_their_client(app: TestApp) {
    let admin = app.admin_token().await;
    for reserved in ["latchkey-api", "latchkey", "admin-cli"] {
        let reply = app
            .call(
                reqwest::Method::POST,
                "/api/v1/tenants/default/applications",
                Some(&admin),
                Some(json!({"client_id": reserved})),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CONFLICT,
            "{reserved}: {}",
            reply.body
        );
    }
    let secret =
        create_confidential_client(&app, "other-app", &["password", "refresh_token"]).await;
    let tokens = password_grant(&app, "").await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let as_other = [
        ("client_id", "other-app"),
        ("client_secret", secret.as_str()),
    ];
    let mut form = as_other.to_vec();
    form.extend([("grant_type", "refresh_token"), ("refresh_token", refresh)]);
    let stolen = post_form(&app, TOKEN, &form).await;
    assert_oauth_error(&stolen, StatusCode::BAD_REQUEST, "invalid_grant");
    let mut form = as_other.to_vec();
    form.push(("refresh_token", refresh));
    let logout = post_form(
        &app,
        "/realms/default/protocol/openid-connect/logout",
        &form,
    )
    .await;
    assert_oauth_error(&logout, StatusCode::BAD_REQUEST, "invalid_grant");
    let mut form = as_other.to_vec();
    form.push(("token", refresh));
    let revoke = post_form(
        &app,
        "/realms/default/protocol/openid-connect/revoke",
        &form,
    )
    .await;
    assert_eq!(revoke.status, StatusCode::OK);
    // None of that touched the session: its own client still refreshes it, and the
    // native API's refresh endpoint (another client) cannot.
    let native = app
        .call(
            reqwest::Method::POST,
            "/api/v1/tenants/default/token/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(native.status, StatusCode::UNAUTHORIZED);
    let own = post_form(
        &app,
        TOKEN,
        &[
            ("client_id", "admin-cli"),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
        ],
    )
    .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
}
