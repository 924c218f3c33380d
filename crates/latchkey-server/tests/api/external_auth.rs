//! External authentications: create-or-modify, read, delete, sealed at rest; sign-in by
//! external identity (`ext_id`) for confidential clients only; Microsoft Exchange
//! identity tokens verified against configured issuers.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_server::services::{ClientContext, MsExchangeError, ServiceError};
use reqwest::{Method, StatusCode};
use ring::signature::KeyPair as _;
use serde_json::json;

use crate::grants::{claims, create_confidential_client, post_form};
use crate::harness::{Backend, TestApp, USER_PASSWORD, assert_problem, on_both_backends};

const TOKEN: &str = "/realms/default/protocol/openid-connect/token";

on_both_backends!(
    authentications_are_kept_sealed_and_shown_to_their_owner,
    ext_id_signs_in_confidential_clients_only,
    msexchange_tokens_are_refused_without_configuration,
);

async fn put_auth(
    app: &TestApp,
    token: &str,
    user: &str,
    service: &str,
    body: serde_json::Value,
) -> crate::harness::Reply {
    app.call(
        Method::PUT,
        &format!("/api/v1/tenants/default/users/{user}/authentications/{service}"),
        Some(token),
        Some(body),
    )
    .await
}

async fn authentications_are_kept_sealed_and_shown_to_their_owner(app: TestApp) {
    let admin = app.admin_token().await;
    let alice = app
        .create_user(&admin, "default", "alice@example.com", "user")
        .await;
    let bob = app
        .create_user(&admin, "default", "bob@example.com", "user")
        .await;
    let alice_token = app
        .token("default", "alice@example.com", USER_PASSWORD)
        .await;
    let bob_token = app.token("default", "bob@example.com", USER_PASSWORD).await;

    let body = json!({
        "service_user": "sf1",
        "access_token": "plain-access-token-4711",
        "access_secret": "plain-access-secret-0815",
        "access_token_expires": "2030-01-02T03:04:05Z",
        "display_name": "Alice at Salesforce",
        "state": "active",
    });
    let created = put_auth(&app, &alice_token, &alice, "salesforce", body.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["access_token"], "plain-access-token-4711");
    let modified = put_auth(&app, &alice_token, &alice, "salesforce", body).await;
    assert_eq!(modified.status, StatusCode::OK, "{}", modified.body);

    let path = format!("/api/v1/tenants/default/users/{alice}/authentications/salesforce");
    let read = app.call(Method::GET, &path, Some(&alice_token), None).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.body["service_user"], "sf1");
    assert_eq!(read.body["access_secret"], "plain-access-secret-0815");
    assert_eq!(read.body["access_token_expires"], "2030-01-02T03:04:05Z");
    assert_eq!(read.body["display_name"], "Alice at Salesforce");
    let by_admin = app.call(Method::GET, &path, Some(&admin), None).await;
    assert_eq!(by_admin.status, StatusCode::OK, "{}", by_admin.body);
    let list = app
        .call(
            Method::GET,
            &format!("/api/v1/tenants/default/users/{alice}/authentications"),
            Some(&alice_token),
            None,
        )
        .await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(1), "{}", list.body);

    // Another member reads nothing of it and cannot take the same identity.
    let refused = app.call(Method::GET, &path, Some(&bob_token), None).await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");
    let taken = put_auth(
        &app,
        &bob_token,
        &bob,
        "salesforce",
        json!({"service_user": "sf1", "access_token": "x"}),
    )
    .await;
    assert_problem(&taken, StatusCode::CONFLICT, "conflict");
    let bad = put_auth(
        &app,
        &bob_token,
        &bob,
        "sales.force",
        json!({"service_user": "", "access_token": "x"}),
    )
    .await;
    assert_problem(&bad, StatusCode::BAD_REQUEST, "validation_failed");

    // At rest the token and secret are sealed: the stored bytes hold no plaintext.
    let tenant = app.services.tenant_by_domain("default").await.unwrap();
    let stored = app
        .services
        .store
        .external_auth(
            &tenant.id,
            &latchkey_core::AccountId::from_string(alice.clone()),
            "salesforce",
        )
        .await
        .unwrap()
        .unwrap();
    let contains =
        |haystack: &[u8], needle: &[u8]| haystack.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(
        &stored.sealed_access_token,
        b"plain-access-token-4711"
    ));
    let sealed_secret = stored.sealed_access_secret.unwrap();
    assert!(!contains(&sealed_secret, b"plain-access-secret-0815"));
    assert!(stored.sealed_access_token.len() > "plain-access-token-4711".len());

    let deleted = app
        .call(Method::DELETE, &path, Some(&alice_token), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let gone = app.call(Method::GET, &path, Some(&alice_token), None).await;
    assert_problem(&gone, StatusCode::NOT_FOUND, "not_found");
    let again = app
        .call(Method::DELETE, &path, Some(&alice_token), None)
        .await;
    assert_problem(&again, StatusCode::NOT_FOUND, "not_found");
}

async fn ext_id_signs_in_confidential_clients_only(app: TestApp) {
    let admin = app.admin_token().await;
    let alice = app
        .create_user(&admin, "default", "alice@example.com", "user")
        .await;
    let created = put_auth(
        &app,
        &admin,
        &alice,
        "salesforce",
        json!({"service_user": "sf1", "access_token": "t"}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let secret = create_confidential_client(&app, &admin, "crm").await;

    let ext_id = |client: &'static str,
                  secret: Option<String>,
                  service: &'static str,
                  user: &'static str| {
        let app = &app;
        async move {
            let mut form = vec![
                ("client_id", client.to_owned()),
                ("grant_type", "ext_id".to_owned()),
                ("auth_service", service.to_owned()),
                ("auth_user", user.to_owned()),
            ];
            if let Some(secret) = secret {
                form.push(("client_secret", secret));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(app, TOKEN, &form).await
        }
    };

    let ok = ext_id("crm", Some(secret.clone()), "salesforce", "sf1").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let access = ok.body["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["sub"], alice.as_str());
    assert_eq!(claims(access)["azp"], "crm");
    assert!(ok.body["refresh_token"].is_string());

    let public = ext_id("admin-cli", None, "salesforce", "sf1").await;
    assert_eq!(public.status, StatusCode::BAD_REQUEST, "{}", public.body);
    assert_eq!(public.body["error"], "unauthorized_client");
    let wrong_secret = ext_id("crm", Some("nope".into()), "salesforce", "sf1").await;
    assert_eq!(
        wrong_secret.body["error"], "invalid_client",
        "{}",
        wrong_secret.body
    );

    // Unknown user and unknown service get the same answer.
    let unknown_user = ext_id("crm", Some(secret.clone()), "salesforce", "sf2").await;
    let unknown_service = ext_id("crm", Some(secret.clone()), "dropbox", "sf1").await;
    assert_eq!(
        unknown_user.body["error"], "invalid_grant",
        "{}",
        unknown_user.body
    );
    assert_eq!(unknown_user.status, unknown_service.status);
    assert_eq!(unknown_user.body, unknown_service.body);

    let events = app.audit_events(&admin).await;
    let external: Vec<_> = events
        .iter()
        .filter(|e| e["action"] == "session.external_sign_in")
        .collect();
    assert!(external.iter().any(|e| e["outcome"] == "success"));
    assert!(external.iter().any(|e| e["outcome"] == "failure"));
}

async fn msexchange_tokens_are_refused_without_configuration(app: TestApp) {
    let tenant = app.services.tenant_by_domain("default").await.unwrap();
    let refused = app
        .services
        .sign_in_with_msexchange_token(&tenant, "a.b.c", ClientContext::plain("latchkey-api"), None)
        .await;
    assert!(matches!(refused, Err(MsExchangeError::NotConfigured)));
}

// ---- Microsoft Exchange identity tokens with a configured issuer ----------------------

pub const ISSUER: &str = "https://exchange.example.com";
pub const AUDIENCE: &str = "https://addin.example.com/app";

pub struct Issuer {
    pkcs8: Vec<u8>,
}

impl Issuer {
    /// A fresh P-256 key pair, its public half written as a JWKS file.
    pub fn generate(path: &std::path::Path) -> Self {
        let rng = ring::rand::SystemRandom::new();
        let alg = &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = ring::signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        let point = pair.public_key().as_ref();
        let jwks = json!({"keys": [{
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "k1",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        }]});
        std::fs::write(path, jwks.to_string()).unwrap();
        Self {
            pkcs8: pkcs8.as_ref().to_vec(),
        }
    }

    pub fn token(&self, iss: &str, aud: &str, exp: i64, msexchuid: &str) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some("k1".into());
        jsonwebtoken::encode(
            &header,
            &json!({"iss": iss, "aud": aud, "exp": exp, "msexchuid": msexchuid}),
            &jsonwebtoken::EncodingKey::from_ec_der(&self.pkcs8),
        )
        .unwrap()
    }
}

async fn msexchange_tokens_are_verified(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("exchange-jwks.json");
    let issuer = Issuer::generate(&jwks);
    let config = json!([{"issuer": ISSUER, "jwks_file": jwks, "audience": AUDIENCE}]).to_string();
    let Some(app) =
        TestApp::start_with_env(backend, &[("LATCHKEY_MSEXCHANGE_ISSUERS", config.as_str())]).await
    else {
        return;
    };
    let admin = app.admin_token().await;
    let alice = app
        .create_user(&admin, "default", "alice@example.com", "user")
        .await;
    let created = put_auth(
        &app,
        &admin,
        &alice,
        "msexchange",
        json!({"service_user": "mailbox-42", "access_token": "unused"}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let tenant = app.services.tenant_by_domain("default").await.unwrap();
    let now = app.services.clock.now().unix_timestamp();
    let sign_in = |token: String| {
        let app = &app;
        let tenant = tenant.clone();
        async move {
            app.services
                .sign_in_with_msexchange_token(
                    &tenant,
                    &token,
                    ClientContext::plain("latchkey-api"),
                    None,
                )
                .await
        }
    };

    let tokens = sign_in(issuer.token(ISSUER, AUDIENCE, now + 300, "mailbox-42"))
        .await
        .unwrap();
    assert_eq!(tokens.context.account.id.as_str(), alice);
    assert_eq!(claims(&tokens.access_token)["sub"], alice.as_str());

    let wrong_audience =
        sign_in(issuer.token(ISSUER, "https://other.example.com", now + 300, "mailbox-42")).await;
    assert!(matches!(
        wrong_audience,
        Err(MsExchangeError::InvalidToken(_))
    ));
    let expired = sign_in(issuer.token(ISSUER, AUDIENCE, now - 1, "mailbox-42")).await;
    assert!(matches!(
        expired,
        Err(MsExchangeError::InvalidToken("expired"))
    ));
    let unknown_issuer = sign_in(issuer.token(
        "https://evil.example.com",
        AUDIENCE,
        now + 300,
        "mailbox-42",
    ))
    .await;
    assert!(matches!(
        unknown_issuer,
        Err(MsExchangeError::InvalidToken("untrusted issuer"))
    ));
    // Signed by another key that claims the trusted issuer.
    let other_dir = tempfile::tempdir().unwrap();
    let impostor = Issuer::generate(&other_dir.path().join("jwks.json"));
    let forged = sign_in(impostor.token(ISSUER, AUDIENCE, now + 300, "mailbox-42")).await;
    assert!(matches!(forged, Err(MsExchangeError::InvalidToken(_))));
    let unmapped = sign_in(issuer.token(ISSUER, AUDIENCE, now + 300, "mailbox-7")).await;
    assert!(matches!(
        unmapped,
        Err(MsExchangeError::Service(ServiceError::InvalidCredentials))
    ));
    // The server's clock decides expiry.
    let token = issuer.token(ISSUER, AUDIENCE, now + 60, "mailbox-42");
    app.clock.advance(time::Duration::seconds(61));
    assert!(matches!(
        sign_in(token).await,
        Err(MsExchangeError::InvalidToken("expired"))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msexchange_tokens_are_verified_sqlite() {
    msexchange_tokens_are_verified(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msexchange_tokens_are_verified_postgres() {
    msexchange_tokens_are_verified(Backend::Postgres).await;
}
