//! The hosted sign-in page in a realm that requires MFA: a member without an
//! authenticator enrols one on the way (Keycloak's CONFIGURE_TOTP required action) and
//! the authorization-code flow carries on. Driven like a browser: fetch the form, post
//! it with the CSRF cookie, read the HTML, follow the redirect, exchange the code.

use latchkey_core::Clock as _;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Reply, TestApp, USER_PASSWORD, on_both_backends};
use crate::mfa::{Enrolled, enrol_and_confirm};

on_both_backends!(
    hosted_sign_in_enrols_an_authenticator_and_continues_the_flow,
    hosted_enrolment_throttles_wrong_codes,
    hosted_enrolment_refuses_spent_tokens_forged_posts_and_demo_roles,
);

const AUTH: &str = "/realms/default/protocol/openid-connect/auth";
const TOKEN: &str = "/realms/default/protocol/openid-connect/token";
const CALLBACK: &str = "http://localhost:9999/cb";
/// A PKCE verifier and its S256 challenge (base64url of its SHA-256).
const VERIFIER: &str = "dBjftJeZ4CVP-mJ0R5hZ0ZNqTvA2V-gU6DpZrxKMBpZhY";
const CHALLENGE: &str = "uIHZUxo6NVshUaIUAhu5U_Og01TPexXJ3BmV3TPs7Xs";
const ASK_AGAIN: &str = "Enter the code from the app you just set up";

/// A public client, a member with `role`, then `require_mfa` (the administrator enrols
/// first, as it must). Returns the administrator's token and the member's id.
async fn realm_requiring_mfa(app: &TestApp, email: &str, role: &str) -> (String, String) {
    let admin = app.admin_token().await;
    let client = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/applications",
            Some(&admin),
            Some(json!({"client_id": "spa", "public": true,
                        "grant_types": ["authorization_code", "refresh_token"],
                        "redirect_uris": [CALLBACK]})),
        )
        .await;
    assert_eq!(client.status, StatusCode::CREATED, "{}", client.body);
    let member = app.create_user(&admin, "default", email, role).await;
    enrol_and_confirm(app, &admin).await;
    let required = app
        .call(
            Method::PATCH,
            "/api/v1/tenants/default",
            Some(&admin),
            Some(json!({"require_mfa": true})),
        )
        .await;
    assert_eq!(required.status, StatusCode::OK, "{}", required.body);
    (admin, member)
}

/// A browser that does not follow redirects, so the test sees the 302.
struct Browser {
    http: reqwest::Client,
    /// The CSRF cookie the last page set.
    csrf: String,
}

/// A page as the browser got it.
struct Page {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    html: String,
}

impl Page {
    async fn read(response: reqwest::Response) -> Self {
        Self {
            status: response.status(),
            headers: response.headers().clone(),
            html: response.text().await.unwrap(),
        }
    }

    /// The value of the hidden field `name`.
    fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("<input type=\"hidden\" name=\"{name}\" value=\"");
        let start = self.html.find(&marker)? + marker.len();
        let end = self.html[start..].find('"')? + start;
        Some(self.html[start..end].to_owned())
    }

    /// The text between the first `open` and the next `close`.
    fn between(&self, open: &str, close: &str) -> Option<String> {
        let start = self.html.find(open)? + open.len();
        let end = self.html[start..].find(close)? + start;
        Some(self.html[start..end].to_owned())
    }

    fn location_params(&self) -> std::collections::HashMap<String, String> {
        let location = self.headers["location"].to_str().unwrap();
        assert!(location.starts_with(CALLBACK), "{location}");
        let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }
}

fn authorize_params() -> Vec<(String, String)> {
    [
        ("client_id", "spa"),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

impl Browser {
    /// Opens the sign-in page, keeping its CSRF cookie.
    async fn open(app: &TestApp) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(authorize_params())
            .finish();
        let response = http
            .get(app.url(&format!("{AUTH}?{query}")))
            .send()
            .await
            .unwrap();
        let mut browser = Self {
            http,
            csrf: String::new(),
        };
        let page = Page::read(response).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.html);
        browser.keep_cookie(&page);
        browser
    }

    fn keep_cookie(&mut self, page: &Page) {
        if let Some(cookie) = page.headers.get("set-cookie") {
            let cookie = cookie.to_str().unwrap();
            let (_, value) = cookie.split(';').next().unwrap().split_once('=').unwrap();
            self.csrf = value.to_owned();
        }
    }

    /// Posts the authorization request's fields plus `extra` and the CSRF token, as the
    /// page's form does.
    async fn post(&mut self, app: &TestApp, extra: &[(&str, &str)]) -> Page {
        let mut fields = authorize_params();
        fields.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        fields.push(("csrf".into(), self.csrf.clone()));
        let response = self
            .http
            .post(app.url(AUTH))
            .header("cookie", format!("latchkey_csrf={}", self.csrf))
            .form(&fields)
            .send()
            .await
            .unwrap();
        let page = Page::read(response).await;
        self.keep_cookie(&page);
        page
    }

    async fn sign_in(&mut self, app: &TestApp, email: &str) -> Page {
        self.post(app, &[("username", email), ("password", USER_PASSWORD)])
            .await
    }

    async fn enter_code(&mut self, app: &TestApp, enrolment_token: &str, code: &str) -> Page {
        self.post(app, &[("enrolment_token", enrolment_token), ("code", code)])
            .await
    }
}

/// Asserts the enrolment page with a new authenticator; returns it and the token.
fn enrolment_page(page: &Page) -> (Enrolled, String) {
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(page.headers["x-frame-options"], "DENY");
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("default-src 'none'")
            && policy.contains("form-action 'self' http://localhost:9999;"),
        "{policy}"
    );
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
    );
    assert!(page.html.contains("<svg"), "{}", page.html);
    assert!(
        !page.html.contains("<?xml"),
        "the SVG is inlined as an element"
    );
    assert!(!page.html.contains("<script"), "no scripts on the page");
    let secret = page
        .between("<code>", "</code>")
        .expect("the secret as text");
    assert_eq!(secret.len(), 32, "160 bits in base32: {secret}");
    let recovery_codes: Vec<String> = page
        .html
        .split("<li>")
        .skip(1)
        .map(|item| item.split("</li>").next().unwrap().to_owned())
        .collect();
    assert_eq!(recovery_codes.len(), 10, "{}", page.html);
    assert!(
        page.html.contains("safe"),
        "the page says to keep the codes"
    );
    let token = page
        .hidden("enrolment_token")
        .expect("a hidden enrolment token");
    assert!(!token.is_empty());
    // The authorization request rides along in hidden fields, as on the sign-in page.
    assert_eq!(page.hidden("state").as_deref(), Some("st-1"));
    assert_eq!(page.hidden("code_challenge").as_deref(), Some(CHALLENGE));
    assert!(page.html.contains("name=\"code\""));
    (
        Enrolled {
            secret,
            recovery_codes,
        },
        token,
    )
}

async fn exchange(app: &TestApp, code: &str) -> Reply {
    let response = app
        .http
        .post(app.url(TOKEN))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    TestApp::read(response).await
}

async fn native_sign_in(app: &TestApp, email: &str, totp: Option<&str>) -> Reply {
    let mut body = json!({"login": email, "password": USER_PASSWORD});
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

/// When the member's only session expires, as its administrator sees it.
async fn session_expiry(app: &TestApp, admin: &str, member: &str) -> time::OffsetDateTime {
    let sessions = app
        .call(
            Method::GET,
            &format!("/api/v1/tenants/default/users/{member}/sessions"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(sessions.status, StatusCode::OK, "{}", sessions.body);
    assert_eq!(
        sessions.body.as_array().unwrap().len(),
        1,
        "{}",
        sessions.body
    );
    time::OffsetDateTime::parse(
        sessions.body[0]["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

async fn hosted_sign_in_enrols_an_authenticator_and_continues_the_flow(app: TestApp) {
    let (admin, ada) = realm_requiring_mfa(&app, "ada@example.com", "user").await;
    let mut browser = Browser::open(&app).await;
    let page = browser.sign_in(&app, "ada@example.com").await;
    let (enrolled, token) = enrolment_page(&page);
    assert!(page.html.contains(&enrolled.recovery_codes[0]));

    // A wrong code asks again, keeping the pending secret and not showing it again.
    let wrong = browser
        .enter_code(&app, &token, &enrolled.wrong_code(&app))
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.html);
    assert!(wrong.headers.get("location").is_none());
    assert_eq!(wrong.headers["cache-control"], "no-store");
    assert!(wrong.html.contains("role=\"alert\""), "{}", wrong.html);
    assert!(wrong.html.contains(ASK_AGAIN), "{}", wrong.html);
    assert!(!wrong.html.contains(&enrolled.secret), "{}", wrong.html);
    assert!(!wrong.html.contains("<svg"), "{}", wrong.html);
    assert!(!wrong.html.contains(&enrolled.recovery_codes[0]));
    assert_eq!(wrong.hidden("enrolment_token"), Some(token.clone()));
    assert!(wrong.html.contains("name=\"code\""));
    // No code at all: asked again too.
    let empty = browser.enter_code(&app, &token, "").await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST, "{}", empty.html);
    assert!(empty.html.contains(ASK_AGAIN), "{}", empty.html);

    // The secret of the first page still works: no new enrolment began.
    let done = browser
        .enter_code(&app, &token, &enrolled.code(&app, 0))
        .await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.html);
    let params = done.location_params();
    assert_eq!(params["state"], "st-1");
    assert_eq!(params["iss"], format!("{}/realms/default", app.base));
    // As with a password: the session lives two minutes until the code is exchanged,
    // and the exchange extends it.
    let pending = session_expiry(&app, &admin, &ada).await - app.clock.now();
    assert!(pending <= time::Duration::minutes(2), "{pending}");
    let tokens = exchange(&app, &params["code"]).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let full = session_expiry(&app, &admin, &ada).await - app.clock.now();
    assert!(full > time::Duration::days(1), "{full}");
    let access = tokens.body["access_token"].as_str().unwrap();
    let info = app
        .call(
            Method::GET,
            "/realms/default/protocol/openid-connect/userinfo",
            Some(access),
            None,
        )
        .await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.body);
    assert_eq!(info.body["email"], "ada@example.com");

    // The authenticator is active: signing in now takes its codes.
    let without_code = native_sign_in(&app, "ada@example.com", None).await;
    assert_eq!(
        without_code.body["code"], "mfa_required",
        "{}",
        without_code.body
    );
    app.clock.advance(time::Duration::seconds(30));
    let with_code = native_sign_in(&app, "ada@example.com", Some(&enrolled.code(&app, 0))).await;
    assert_eq!(with_code.status, StatusCode::OK, "{}", with_code.body);

    // The token is spent: posting it again starts the sign-in over.
    let spent = browser
        .enter_code(&app, &token, &enrolled.code(&app, 0))
        .await;
    assert_eq!(spent.status, StatusCode::UNAUTHORIZED, "{}", spent.html);
    assert!(spent.html.contains("name=\"password\""), "{}", spent.html);
    assert!(spent.html.contains("sign in again"), "{}", spent.html);
}

async fn hosted_enrolment_throttles_wrong_codes(app: TestApp) {
    realm_requiring_mfa(&app, "ada@example.com", "user").await;
    let mut browser = Browser::open(&app).await;
    let (enrolled, token) = enrolment_page(&browser.sign_in(&app, "ada@example.com").await);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let page = browser
            .enter_code(&app, &token, &enrolled.wrong_code(&app))
            .await;
        assert!(page.headers.get("location").is_none());
        assert_eq!(page.hidden("enrolment_token"), Some(token.clone()));
        statuses.push(page.status);
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "six wrong codes in a row were never throttled: {statuses:?}"
    );
    // Throttled on the account: even the right code waits, with the message.
    let early = browser
        .enter_code(&app, &token, &enrolled.code(&app, 0))
        .await;
    assert_eq!(
        early.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        early.html
    );
    assert!(
        early.html.contains("Too many failed attempts"),
        "{}",
        early.html
    );
    assert!(!early.html.contains(&enrolled.secret));
}

async fn hosted_enrolment_refuses_spent_tokens_forged_posts_and_demo_roles(app: TestApp) {
    realm_requiring_mfa(&app, "demo@example.com", "demo").await;
    let mut browser = Browser::open(&app).await;
    // An unknown token: the sign-in page again, with a message.
    let unknown = browser.enter_code(&app, "not-a-token", "123456").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED, "{}", unknown.html);
    assert!(unknown.html.contains("role=\"alert\""), "{}", unknown.html);
    assert!(
        unknown.html.contains("name=\"password\""),
        "{}",
        unknown.html
    );
    assert!(unknown.hidden("enrolment_token").is_none());

    // The enrolment post needs the CSRF cookie like the password post.
    let forged = browser
        .http
        .post(app.url(AUTH))
        .form(
            &[
                authorize_params(),
                vec![
                    ("enrolment_token".into(), "not-a-token".into()),
                    ("code".into(), "123456".into()),
                    ("csrf".into(), browser.csrf.clone()),
                ],
            ]
            .concat(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // A role that may not change its profile cannot enrol: told so, nothing shown.
    let demo = browser.sign_in(&app, "demo@example.com").await;
    assert_eq!(demo.status, StatusCode::FORBIDDEN, "{}", demo.html);
    assert!(demo.html.contains("administrator"), "{}", demo.html);
    assert!(!demo.html.contains("<svg"));
    assert!(demo.hidden("enrolment_token").is_none());
}
