//! Terms of use over the native API, and the tenant profile fields Maestro shows
//! (tier, modules, links, schedule limit).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::harness::{TestApp, USER_PASSWORD, assert_problem, on_both_backends};
use latchkey_core::Clock as _;

on_both_backends!(
    members_are_pending_until_they_accept_the_terms_in_force,
    only_administrators_publish_and_versions_only_grow,
    tenant_profile_holds_links_and_schedule_limit,
);

fn iso(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

async fn publish(app: &TestApp, token: &str, body: Value) -> crate::harness::Reply {
    app.call(
        Method::POST,
        "/api/v1/tenants/default/terms",
        Some(token),
        Some(body),
    )
    .await
}

async fn members_are_pending_until_they_accept_the_terms_in_force(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_user(&admin, "default", "ada@example.com", "demo")
        .await;
    let signed_in = app
        .sign_in("default", "ada@example.com", USER_PASSWORD)
        .await;
    assert_eq!(
        signed_in.body["terms_of_use"],
        json!({"status": "not_required", "in_force": null, "last_signed": null})
    );

    let now = app.clock.now();
    let v1 = publish(
        &app,
        &admin,
        json!({"public_url": "https://acme.example/terms/1", "enforce_date": iso(now - Duration::hours(1))}),
    )
    .await;
    assert_eq!(v1.status, StatusCode::CREATED, "{}", v1.body);
    assert_eq!(v1.body["version"], 1);

    let signed_in = app
        .sign_in("default", "ada@example.com", USER_PASSWORD)
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::OK,
        "pending members still sign in"
    );
    assert_eq!(signed_in.body["terms_of_use"]["status"], "pending");
    assert_eq!(signed_in.body["terms_of_use"]["in_force"]["version"], 1);
    let ada = signed_in.body["access_token"].as_str().unwrap().to_owned();

    let unknown = app
        .call(
            Method::POST,
            "/api/v1/me/terms/accept",
            Some(&ada),
            Some(json!({"version": 7})),
        )
        .await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "not_found");
    // Even the demo role, which may not edit its profile, may accept.
    let accepted = app
        .call(
            Method::POST,
            "/api/v1/me/terms/accept",
            Some(&ada),
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    assert_eq!(accepted.body["status"], "accepted");
    assert_eq!(accepted.body["last_signed"]["version"], 1);
    assert_eq!(
        accepted.body["last_signed"]["public_url"],
        "https://acme.example/terms/1"
    );

    // A version announced for later changes nothing until its date.
    let v2 = publish(
        &app,
        &admin,
        json!({"public_url": "https://acme.example/terms/2", "enforce_date": iso(now + Duration::days(1))}),
    )
    .await;
    assert_eq!(v2.body["version"], 2, "{}", v2.body);
    let own = app
        .call(Method::GET, "/api/v1/me/terms", Some(&ada), None)
        .await;
    assert_eq!(own.body["status"], "accepted", "{}", own.body);
    app.clock.advance(Duration::days(2));
    let signed_in = app
        .sign_in("default", "ada@example.com", USER_PASSWORD)
        .await;
    assert_eq!(signed_in.body["terms_of_use"]["status"], "pending");
    assert_eq!(signed_in.body["terms_of_use"]["in_force"]["version"], 2);
    assert_eq!(signed_in.body["terms_of_use"]["last_signed"]["version"], 1);

    let admin = app.admin_token().await;
    let events = app.audit_events(&admin).await;
    let actions: Vec<&str> = events.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "terms.publish").count(), 2);
    assert_eq!(actions.iter().filter(|a| **a == "terms.accept").count(), 1);
}

async fn only_administrators_publish_and_versions_only_grow(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_user(&admin, "default", "bob@example.com", "user")
        .await;
    let bob = app.token("default", "bob@example.com", USER_PASSWORD).await;
    let body =
        json!({"public_url": "https://acme.example/terms", "enforce_date": "2024-01-01T00:00:00Z"});
    assert_problem(
        &publish(&app, &bob, body.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let five = publish(
        &app,
        &admin,
        json!({"version": 5, "public_url": "https://acme.example/terms/5", "enforce_date": "2024-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(five.status, StatusCode::CREATED, "{}", five.body);
    assert_problem(
        &publish(
            &app,
            &admin,
            json!({"version": 5, "public_url": "https://acme.example/x", "enforce_date": "2024-01-01T00:00:00Z"}),
        )
        .await,
        StatusCode::CONFLICT,
        "conflict",
    );
    assert_problem(
        &publish(
            &app,
            &admin,
            json!({"public_url": "ftp://acme.example/x", "enforce_date": "2024-01-01T00:00:00Z"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    );
    let six = publish(&app, &admin, body).await;
    assert_eq!(six.body["version"], 6, "{}", six.body);
    let listed = app
        .call(
            Method::GET,
            "/api/v1/tenants/default/terms",
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let versions: Vec<i64> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, vec![6, 5]);
}

async fn tenant_profile_holds_links_and_schedule_limit(app: TestApp) {
    let admin = app.admin_token().await;
    let links = json!([{"name": "BI", "url": "https://bi.acme.example"}]);
    let updated = app
        .call(
            Method::PATCH,
            "/api/v1/tenants/default",
            Some(&admin),
            Some(json!({"metadata": {"tier": "STANDARD", "modules": ["catalog", "pipelines"], "links": links, "schedule_limit": "HOURLY"}})),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    let read = app
        .call(Method::GET, "/api/v1/tenants/default", Some(&admin), None)
        .await;
    assert_eq!(read.body["metadata"]["links"], links);
    assert_eq!(read.body["metadata"]["schedule_limit"], "HOURLY");
    assert_eq!(read.body["metadata"]["tier"], "STANDARD");
    // The first form of `links`, an object of names to URLs, is still accepted.
    let legacy = app
        .call(
            Method::PATCH,
            "/api/v1/tenants/default",
            Some(&admin),
            Some(json!({"metadata": {"links": {"home": "https://acme.example"}}})),
        )
        .await;
    assert_eq!(
        legacy.body["metadata"]["links"],
        json!([{"name": "home", "url": "https://acme.example"}])
    );
}
