//! Signup over HTTP with `[signup] enabled`, on the native route and Squirro's: new
//! accounts, an existing account signing up again (a new workspace with its password,
//! the generic refusal without it), the cost of both paths, and the throttle per client
//! address. Requests come from distinct loopback addresses (127.0.x.y) so that the
//! per-address throttle only bites where a test means it to.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Backend, Reply, TestApp, USER_PASSWORD, assert_problem};

const NATIVE: &str = "/api/v1/signup";
const SQUIRRO: &str = "/api/user/v2/signup";
const PASSWORD: &str = "Signup-Pass-4821 long enough";

/// Words that would tell the caller the address is registered.
const REVEALING_WORDS: [&str; 5] = ["exist", "taken", "registered", "already", "in use"];

/// Runs each test body on SQLite and, when configured, PostgreSQL, with signup enabled.
macro_rules! with_signup_enabled {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use crate::harness::Backend;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = super::start(Backend::Sqlite, &[]).await.expect("sqlite always runs");
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = super::start(Backend::Postgres, &[]).await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}

with_signup_enabled!(
    a_new_email_gets_an_account_administering_a_new_tenant,
    an_existing_account_with_its_password_gets_a_new_workspace,
    other_passwords_for_a_registered_email_get_the_generic_refusal,
    accounts_with_a_second_factor_cannot_sign_up_with_the_password_alone,
    one_address_spraying_emails_is_throttled,
    password_guesses_through_signup_spend_the_sign_in_budget,
);

async fn start(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
    let mut env = vec![("LATCHKEY_SIGNUP_ENABLED", "true")];
    env.extend_from_slice(extra);
    TestApp::start_with_env(backend, &env).await
}

/// A client whose requests come from a loopback address no other call of this process
/// has used (the server sees 127.0.x.y; Linux routes all of 127/8 to the loopback).
fn from_fresh_address() -> reqwest::Client {
    static NEXT: AtomicU32 = AtomicU32::new(2);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let [_, _, high, low] = n.to_be_bytes();
    from_address(Ipv4Addr::new(127, 0, high, low))
}

fn from_address(address: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(address))
        .build()
        .unwrap()
}

async fn post(app: &TestApp, client: &reqwest::Client, path: &str, body: Value) -> Reply {
    TestApp::read(client.post(app.url(path)).json(&body).send().await.unwrap()).await
}

/// A native signup from a fresh address.
async fn sign_up(app: &TestApp, email: &str, password: &str) -> Reply {
    post(
        app,
        &from_fresh_address(),
        NATIVE,
        json!({"email": email, "password": password}),
    )
    .await
}

/// A Squirro signup from a fresh address, as `squirroclient` sends it.
async fn squirro_sign_up(app: &TestApp, email: &str, password: &str) -> Reply {
    post(
        app,
        &from_fresh_address(),
        SQUIRRO,
        json!({"client_id": null, "client_secret": null, "email": email, "password": password, "full_name": null}),
    )
    .await
}

/// The domains of the tenants `email` belongs to, with its role in each.
async fn tenants_of(
    app: &TestApp,
    domain: &str,
    email: &str,
    password: &str,
) -> Vec<(String, String)> {
    let token = app.token(domain, email, password).await;
    let mine = app
        .call(Method::GET, "/api/v1/me/tenants", Some(&token), None)
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["domain"].as_str().unwrap().to_owned(),
                t["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// How many tenants the server has (as the platform administrator sees them).
async fn tenant_count(app: &TestApp) -> usize {
    let admin = app.admin_token().await;
    let listed = app
        .call(Method::GET, "/api/v1/tenants?limit=200", Some(&admin), None)
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    listed.body["items"].as_array().unwrap().len()
}

fn assert_generic_refusal(reply: &Reply) {
    assert_problem(reply, StatusCode::BAD_REQUEST, "validation_failed");
    let detail = reply.body["detail"].as_str().unwrap();
    assert_says_nothing_about_the_address(detail);
}

fn assert_says_nothing_about_the_address(message: &str) {
    let lower = message.to_lowercase();
    for word in REVEALING_WORDS {
        assert!(!lower.contains(word), "`{message}` says `{word}`");
    }
}

async fn a_new_email_gets_an_account_administering_a_new_tenant(app: TestApp) {
    let native = post(
        &app,
        &from_fresh_address(),
        NATIVE,
        json!({"email": "ada@example.com", "password": PASSWORD, "display_name": "Ada Lab"}),
    )
    .await;
    assert_eq!(native.status, StatusCode::CREATED, "{}", native.body);
    let domain = native.body["tenant"]["domain"].as_str().unwrap();
    assert!(domain.starts_with("ada-lab-"), "{domain}");
    assert_eq!(native.body["tenant"]["title"], "Ada Lab");
    assert_eq!(
        tenants_of(&app, domain, "ada@example.com", PASSWORD).await,
        vec![(domain.to_owned(), "admin".to_owned())]
    );

    let squirro = squirro_sign_up(&app, "grace@example.com", PASSWORD).await;
    assert_eq!(squirro.status, StatusCode::CREATED, "{}", squirro.body);
    let tenant = squirro.body["tenant"].as_str().unwrap();
    assert!(
        squirro.body["user_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert_eq!(
        tenants_of(&app, tenant, "grace@example.com", PASSWORD).await,
        vec![(tenant.to_owned(), "admin".to_owned())]
    );
}

async fn an_existing_account_with_its_password_gets_a_new_workspace(app: TestApp) {
    let first = sign_up(&app, "owner@example.com", PASSWORD).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let account = first.body["account_id"].as_str().unwrap();
    let home = first.body["tenant"]["domain"].as_str().unwrap();

    // Signing up again with the account's password: the same shape, the same account,
    // another tenant it administers (the email is matched as the account has it).
    let again = sign_up(&app, "Owner@Example.com", PASSWORD).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(again.body["account_id"], account);
    let second = again.body["tenant"]["domain"].as_str().unwrap();
    assert_ne!(second, home);

    let squirro = squirro_sign_up(&app, "owner@example.com", PASSWORD).await;
    assert_eq!(squirro.status, StatusCode::CREATED, "{}", squirro.body);
    assert_eq!(squirro.body["user_id"], account);
    let third = squirro.body["tenant"].as_str().unwrap();

    let mut expected: Vec<(String, String)> = [home, second, third]
        .iter()
        .map(|d| ((*d).to_owned(), "admin".to_owned()))
        .collect();
    expected.sort();
    assert_eq!(
        tenants_of(&app, home, "owner@example.com", PASSWORD).await,
        expected
    );

    // The new tenant's log names the account and says it already existed.
    let token = app.token(second, "owner@example.com", PASSWORD).await;
    let log = app
        .call(
            Method::GET,
            &format!("/api/v1/tenants/{second}/audit"),
            Some(&token),
            None,
        )
        .await;
    let created = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "tenant.create")
        .cloned()
        .unwrap_or_else(|| panic!("no tenant.create in {}", log.body));
    assert_eq!(created["actor"], account);
    assert_eq!(created["outcome"], "success");
    assert_eq!(created["detail"]["existing_account"], true);

    // A member an administrator created signs up with its password: a workspace too.
    let admin = app.admin_token().await;
    let member = app
        .create_user(&admin, "default", "member@example.com", "user")
        .await;
    let joined = sign_up(&app, "member@example.com", USER_PASSWORD).await;
    assert_eq!(joined.status, StatusCode::CREATED, "{}", joined.body);
    assert_eq!(joined.body["account_id"], member.as_str());
    let workspace = joined.body["tenant"]["domain"].as_str().unwrap();
    let listed = tenants_of(&app, "default", "member@example.com", USER_PASSWORD).await;
    assert!(
        listed.contains(&(workspace.to_owned(), "admin".to_owned()))
            && listed.contains(&("default".to_owned(), "user".to_owned())),
        "{listed:?}"
    );
}

async fn other_passwords_for_a_registered_email_get_the_generic_refusal(app: TestApp) {
    let admin = app.admin_token().await;
    let member = app
        .create_user(&admin, "default", "taken@example.com", "user")
        .await;
    let tenants_before = tenant_count(&app).await;

    let native = sign_up(&app, "taken@example.com", "Another-Pass-9137 quite long").await;
    assert_generic_refusal(&native);
    let squirro = squirro_sign_up(&app, "taken@example.com", "Another-Pass-9137 quite long").await;
    assert_eq!(squirro.status, StatusCode::BAD_REQUEST, "{}", squirro.body);
    // The same words on both routes.
    assert_eq!(squirro.body["error"], native.body["detail"]);

    // A weak password is judged before the address is looked up: the answer is the one
    // a new address gets.
    let weak_taken = sign_up(&app, "taken@example.com", "short").await;
    let weak_new = sign_up(&app, "nobody@example.com", "short").await;
    assert_problem(&weak_taken, StatusCode::BAD_REQUEST, "weak_password");
    assert_eq!(weak_taken.body["detail"], weak_new.body["detail"]);

    // An invitation (an account without a password) cannot be claimed by signing up.
    let invited = app
        .call(
            Method::POST,
            "/api/v1/tenants/default/members",
            Some(&admin),
            Some(json!({"emails": ["invited@example.com"], "role": "user"})),
        )
        .await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    assert_generic_refusal(&sign_up(&app, "invited@example.com", PASSWORD).await);

    // A disabled account is refused even with its own password.
    let disabled = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tenants/default/users/{member}"),
            Some(&admin),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    assert_generic_refusal(&sign_up(&app, "taken@example.com", USER_PASSWORD).await);

    // Nothing was created, and the member's tenant logged each refusal without an actor.
    assert_eq!(tenant_count(&app).await, tenants_before);
    let admin = app.admin_token().await;
    let refusals: Vec<Value> = app
        .audit_events(&admin)
        .await
        .into_iter()
        .filter(|e| e["action"] == "tenant.create" && e["outcome"] == "failure")
        .collect();
    let for_member: Vec<&Value> = refusals
        .iter()
        .filter(|e| e["target"] == member.as_str())
        .collect();
    assert_eq!(for_member.len(), 3, "{refusals:?}");
    for event in &for_member {
        assert_eq!(event["actor"], Value::Null);
        assert_eq!(event["detail"]["reason"], "invalid_credentials");
        assert!(
            event["detail"]["ip"]
                .as_str()
                .is_some_and(|ip| ip.starts_with("127.0.")),
            "{event}"
        );
        assert_eq!(event["detail"]["signup"], true);
    }
    assert_eq!(
        refusals.len(),
        4,
        "the invitation's refusal too: {refusals:?}"
    );
}

async fn accounts_with_a_second_factor_cannot_sign_up_with_the_password_alone(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_user(&admin, "default", "guarded@example.com", "user")
        .await;
    let token = app
        .token("default", "guarded@example.com", USER_PASSWORD)
        .await;
    crate::mfa::enrol_and_confirm(&app, &token).await;
    let tenants_before = tenant_count(&app).await;

    // A wrong password gets the generic refusal; only the right one learns more.
    assert_generic_refusal(&sign_up(&app, "guarded@example.com", PASSWORD).await);
    let refused = sign_up(&app, "guarded@example.com", USER_PASSWORD).await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("second factor"),
        "{}",
        refused.body
    );
    let squirro = squirro_sign_up(&app, "guarded@example.com", USER_PASSWORD).await;
    assert_eq!(squirro.status, StatusCode::FORBIDDEN, "{}", squirro.body);
    assert_eq!(tenant_count(&app).await, tenants_before);
}

async fn one_address_spraying_emails_is_throttled(app: TestApp) {
    let sprayer = from_address(Ipv4Addr::new(127, 0, 0, 1));
    let mut statuses = Vec::new();
    let mut last = None;
    for i in 0..13 {
        let reply = post(
            &app,
            &sprayer,
            NATIVE,
            json!({"email": format!("spray{i}@example.com"), "password": PASSWORD}),
        )
        .await;
        statuses.push(reply.status);
        last = Some(reply);
    }
    // Ten free attempts and the first delayed one (the clock stands still), then the
    // address must wait: the emails are all different, so only the per-address counter
    // can refuse.
    assert_eq!(&statuses[..11], &[StatusCode::CREATED; 11], "{statuses:?}");
    assert_eq!(&statuses[11..], &[StatusCode::TOO_MANY_REQUESTS; 2]);
    let refused = last.unwrap();
    assert_problem(&refused, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    let retry_after: i64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);

    // Squirro's route shares the counter, and its answer carries Retry-After too.
    let squirro = post(
        &app,
        &sprayer,
        SQUIRRO,
        json!({"email": "spray-squirro@example.com", "password": PASSWORD, "full_name": null}),
    )
    .await;
    assert_eq!(
        squirro.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        squirro.body
    );
    assert!(squirro.headers.contains_key("retry-after"));
    assert!(squirro.body["error"].is_string());

    // The refused emails were not charged: from another address they sign up at once.
    let elsewhere = sign_up(&app, "spray11@example.com", PASSWORD).await;
    assert_eq!(elsewhere.status, StatusCode::CREATED, "{}", elsewhere.body);

    // After waiting as told, the address may try again.
    app.clock
        .advance(time::Duration::seconds(retry_after.max(1) + 1));
    let later = post(
        &app,
        &sprayer,
        NATIVE,
        json!({"email": "spray-later@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(later.status, StatusCode::CREATED, "{}", later.body);
}

/// Guessing a registered account's password through signup counts on the same counter
/// as guessing it at sign-in: signup is no second budget of guesses.
async fn password_guesses_through_signup_spend_the_sign_in_budget(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_user(&admin, "default", "target@example.com", "user")
        .await;
    let mut refusals = 0;
    for guess in 0..20 {
        let reply = post(
            &app,
            &from_fresh_address(),
            NATIVE,
            json!({"email": "target@example.com", "password": format!("Guess-{guess}-long enough pass")}),
        )
        .await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        assert_generic_refusal(&reply);
        refusals += 1;
    }
    assert!(refusals < 20, "signup guesses were never throttled");
    // The account's sign-in counter is the one that filled up: even the right password
    // must wait now.
    let sign_in = app
        .sign_in("default", "target@example.com", USER_PASSWORD)
        .await;
    assert_problem(&sign_in, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
}
