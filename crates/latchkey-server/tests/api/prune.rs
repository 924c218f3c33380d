//! `POST …/users/prune` and `…/users/restore`: dormant-account clean-up over HTTP.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;
use time::macros::format_description;

use crate::harness::{
    ADMIN_EMAIL, Reply, TestApp, USER_PASSWORD, assert_problem, on_both_backends,
};

on_both_backends!(
    prune_removes_what_the_dry_run_lists_and_restore_brings_it_back,
    pruned_accounts_are_purged_after_the_retention,
    prune_checks_its_date_and_permission,
);

const PRUNE: &str = "/api/v1/tenants/default/users/prune";
const RESTORE: &str = "/api/v1/tenants/default/users/restore";

async fn prune(app: &TestApp, token: &str, body: Value) -> Reply {
    app.call(Method::POST, PRUNE, Some(token), Some(body)).await
}

/// Every email a dry run lists, following `next`.
async fn dry_run(
    app: &TestApp,
    token: &str,
    since: &str,
    include_admins: bool,
) -> BTreeSet<String> {
    let mut emails = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let mut body = json!({"inactive_since": since, "dry_run": true, "include_admins": include_admins, "limit": 1});
        if let Some(cursor) = &after {
            body["after"] = json!(cursor);
        }
        let page = prune(app, token, body).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for item in page.body["items"].as_array().unwrap() {
            assert!(
                item["id"].is_string() && item["created_at"].is_string(),
                "{item}"
            );
            emails.insert(item["email"].as_str().unwrap().to_owned());
        }
        match page.body["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return emails,
        }
    }
}

/// Runs a real prune to the end in batches of `limit`; returns how many went.
async fn run(app: &TestApp, token: &str, since: &str, include_admins: bool, limit: u32) -> u64 {
    let mut pruned = 0;
    let mut after: Option<String> = None;
    loop {
        let mut body = json!({"inactive_since": since, "dry_run": false, "include_admins": include_admins, "limit": limit});
        if let Some(cursor) = &after {
            body["after"] = json!(cursor);
        }
        let batch = prune(app, token, body).await;
        assert_eq!(batch.status, StatusCode::OK, "{}", batch.body);
        pruned += batch.body["pruned"].as_u64().unwrap();
        if !batch.body["remaining"].as_bool().unwrap() {
            return pruned;
        }
        after = batch.body["next"].as_str().map(str::to_owned);
    }
}

async fn members(app: &TestApp, token: &str) -> BTreeSet<String> {
    let page = app
        .call(
            Method::GET,
            "/api/v1/tenants/default/users?limit=500",
            Some(token),
            None,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str_of("email"))
        .collect()
}

trait Field {
    fn as_str_of(&self, key: &str) -> String;
}

impl Field for Value {
    fn as_str_of(&self, key: &str) -> String {
        self[key].as_str().unwrap_or_default().to_owned()
    }
}

/// The day five days from the clock's now, as `YYYY-MM-DD`.
fn date_in_five_days(app: &TestApp) -> String {
    let day = latchkey_core::Clock::now(&*app.clock) + Duration::days(5);
    day.format(format_description!("[year]-[month]-[day]"))
        .unwrap()
}

struct Cast {
    chief: String,
    dormant: String,
    lapsed: String,
    boss: String,
    since: String,
}

/// A tenant administrator `chief` (the caller), a second administrator `boss`, two
/// dormant users, one that signs in after the date and one created after it; the
/// platform administrator is dormant too. The date lies between.
async fn cast(app: &TestApp) -> Cast {
    let root = app.admin_token().await;
    app.create_user(&root, "default", "chief@example.com", "admin")
        .await;
    let boss = app
        .create_user(&root, "default", "boss@example.com", "admin")
        .await;
    let dormant = app
        .create_user(&root, "default", "dormant@example.com", "reader")
        .await;
    let lapsed = app
        .create_user(&root, "default", "lapsed@example.com", "user")
        .await;
    app.create_user(&root, "default", "active@example.com", "user")
        .await;
    let since = date_in_five_days(app);
    app.clock.advance(Duration::days(10));
    let active = app
        .sign_in("default", "active@example.com", USER_PASSWORD)
        .await;
    assert_eq!(active.status, StatusCode::OK, "{}", active.body);
    let root = app.admin_token().await;
    app.create_user(&root, "default", "newcomer@example.com", "user")
        .await;
    let chief = app
        .token("default", "chief@example.com", USER_PASSWORD)
        .await;
    Cast {
        chief,
        dormant,
        lapsed,
        boss,
        since,
    }
}

async fn prune_removes_what_the_dry_run_lists_and_restore_brings_it_back(app: TestApp) {
    let cast = cast(&app).await;
    let dormant_users: BTreeSet<String> = ["dormant@example.com", "lapsed@example.com"]
        .map(String::from)
        .into();
    assert_eq!(
        dry_run(&app, &cast.chief, &cast.since, false).await,
        dormant_users
    );
    let mut with_admins = dormant_users.clone();
    with_admins.insert("boss@example.com".into());
    assert_eq!(
        dry_run(&app, &cast.chief, &cast.since, true).await,
        with_admins
    );
    let first = prune(
        &app,
        &cast.chief,
        json!({"inactive_since": cast.since, "dry_run": true, "include_admins": true}),
    )
    .await;
    assert_eq!(first.body["total"], 3, "{}", first.body);

    // The real run, one member per batch, removes exactly what the dry run listed.
    let before = members(&app, &cast.chief).await;
    assert_eq!(run(&app, &cast.chief, &cast.since, true, 1).await, 3);
    let after = members(&app, &cast.chief).await;
    let removed: BTreeSet<String> = before.difference(&after).cloned().collect();
    assert_eq!(removed, with_admins);
    assert!(after.contains(ADMIN_EMAIL) && after.contains("chief@example.com"));
    assert!(after.contains("active@example.com") && after.contains("newcomer@example.com"));
    assert_eq!(run(&app, &cast.chief, &cast.since, true, 1000).await, 0);

    // Gone: no sign-in (the same answer as a wrong password), no member.
    let refused = app
        .sign_in("default", "dormant@example.com", USER_PASSWORD)
        .await;
    assert_problem(&refused, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let get = app
        .call(
            Method::GET,
            &format!("/api/v1/tenants/default/users/{}", cast.dormant),
            Some(&cast.chief),
            None,
        )
        .await;
    assert_eq!(get.status, StatusCode::NOT_FOUND);
    let events: Vec<Value> = app.audit_events(&cast.chief).await;
    let pruned_events = events
        .iter()
        .filter(|e| e["action"] == "account.prune")
        .count();
    assert_eq!(pruned_events, 3);

    // Restore: role and sign-in come back.
    let restored = app
        .call(
            Method::POST,
            RESTORE,
            Some(&cast.chief),
            Some(json!({"ids": [cast.dormant, cast.boss]})),
        )
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    assert_eq!(restored.body["restored"], 2);
    let back = app
        .call(
            Method::GET,
            &format!("/api/v1/tenants/default/users/{}", cast.dormant),
            Some(&cast.chief),
            None,
        )
        .await;
    assert_eq!(back.body["role"], "reader", "{}", back.body);
    let boss = app
        .call(
            Method::GET,
            &format!("/api/v1/tenants/default/users/{}", cast.boss),
            Some(&cast.chief),
            None,
        )
        .await;
    assert_eq!(boss.body["role"], "admin", "{}", boss.body);
    let signed_in = app
        .sign_in("default", "dormant@example.com", USER_PASSWORD)
        .await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    let again = app
        .call(
            Method::POST,
            RESTORE,
            Some(&cast.chief),
            Some(json!({"ids": [cast.dormant]})),
        )
        .await;
    assert_problem(&again, StatusCode::NOT_FOUND, "not_found");

    // The email was registered again by someone else: 409, nothing restored.
    let root = app.admin_token().await;
    app.create_user(&root, "default", "LAPSED@example.com", "user")
        .await;
    let taken = app
        .call(
            Method::POST,
            RESTORE,
            Some(&cast.chief),
            Some(json!({"ids": [cast.lapsed]})),
        )
        .await;
    assert_problem(&taken, StatusCode::CONFLICT, "conflict");
}

async fn pruned_accounts_are_purged_after_the_retention(app: TestApp) {
    let cast = cast(&app).await;
    assert_eq!(run(&app, &cast.chief, &cast.since, false, 1000).await, 2);
    let kept = latchkey_server::housekeeping::purge_once(&app.services)
        .await
        .unwrap();
    assert_eq!((kept.pruned_memberships, kept.pruned_accounts), (0, 0));
    // Still restorable on day 29 (access tokens expire long before: sign in again).
    app.clock.advance(Duration::days(29));
    let chief = app
        .token("default", "chief@example.com", USER_PASSWORD)
        .await;
    let restored = app
        .call(
            Method::POST,
            RESTORE,
            Some(&chief),
            Some(json!({"ids": [cast.dormant]})),
        )
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    // Beyond the 30 days: refused even before housekeeping ran, then purged.
    app.clock.advance(Duration::days(2));
    let chief = app
        .token("default", "chief@example.com", USER_PASSWORD)
        .await;
    let late = app
        .call(
            Method::POST,
            RESTORE,
            Some(&chief),
            Some(json!({"ids": [cast.lapsed]})),
        )
        .await;
    assert_problem(&late, StatusCode::NOT_FOUND, "not_found");
    let report = latchkey_server::housekeeping::purge_once(&app.services)
        .await
        .unwrap();
    assert_eq!(
        (report.pruned_memberships, report.pruned_accounts),
        (1, 1),
        "{report:?}"
    );
    // The email is free (it was already: the tombstone never held it).
    let root = app.admin_token().await;
    app.create_user(&root, "default", "lapsed@example.com", "user")
        .await;
}

async fn prune_checks_its_date_and_permission(app: TestApp) {
    let root = app.admin_token().await;
    for (date, reason) in [
        ("2024-13", "no such month"),
        ("2023-02-30", "no such day"),
        ("yesterday", "four digits"),
    ] {
        let reply = prune(
            &app,
            &root,
            json!({"inactive_since": date, "dry_run": true}),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{date}: {}",
            reply.body
        );
        assert!(
            reply.body["detail"].as_str().unwrap().contains(reason),
            "{}",
            reply.body
        );
    }
    // dry_run must be said.
    let implicit = prune(&app, &root, json!({"inactive_since": "2024"})).await;
    assert_eq!(
        implicit.status,
        StatusCode::BAD_REQUEST,
        "{}",
        implicit.body
    );
    let too_big = prune(
        &app,
        &root,
        json!({"inactive_since": "2024", "dry_run": false, "limit": 5000}),
    )
    .await;
    assert_eq!(too_big.status, StatusCode::BAD_REQUEST, "{}", too_big.body);
    app.create_user(&root, "default", "plain@example.com", "user")
        .await;
    let plain = app
        .token("default", "plain@example.com", USER_PASSWORD)
        .await;
    let refused = prune(
        &app,
        &plain,
        json!({"inactive_since": "2100", "dry_run": false}),
    )
    .await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");
    let restore = app
        .call(
            Method::POST,
            RESTORE,
            Some(&plain),
            Some(json!({"ids": ["AAAAAAAAAAAAAAAAAAAAAA"]})),
        )
        .await;
    assert_problem(&restore, StatusCode::FORBIDDEN, "forbidden");
    // The platform administrator running a prune of everything keeps itself.
    let batch = prune(
        &app,
        &root,
        json!({"inactive_since": "2100", "dry_run": false, "include_admins": true}),
    )
    .await;
    assert_eq!(batch.body["pruned"], 1, "{}", batch.body);
    let me = app.call(Method::GET, "/api/v1/me", Some(&root), None).await;
    assert_eq!(me.status, StatusCode::OK);
}
