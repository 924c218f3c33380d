//! The Squirro dialect's grants, external authentications, `ext_id` sign-in, client
//! checks at the token endpoint and `msexchange/oauth2_token`, over HTTP.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::external_auth::{AUDIENCE, ISSUER, Issuer};
use crate::grants::{claims, create_confidential_client};
use crate::harness::{Backend, Reply, TestApp, USER_PASSWORD, on_both_backends};

on_both_backends!(
    grants_are_created_listed_used_and_revoked,
    the_token_endpoint_checks_clients_and_signs_in_by_ext_id,
    authentications_over_the_squirro_wire,
    msexchange_without_configuration_is_a_client_error,
);

const TOKEN: &str = "/api/user/oauth2/token";
const USERS: &str = "/api/user/v0/default/users";

async fn form(app: &TestApp, path: &str, token: Option<&str>, fields: &[(&str, &str)]) -> Reply {
    let mut request = app.http.post(app.url(path)).form(fields);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    TestApp::read(request.send().await.unwrap()).await
}

async fn get(app: &TestApp, path: &str, token: &str) -> Reply {
    app.call(Method::GET, path, Some(token), None).await
}

fn status(reply: &Reply, expected: StatusCode) {
    assert_eq!(reply.status, expected, "{}", reply.body);
}

/// `YYYY-MM-DD HH:MM:SS`.
fn is_grant_time(value: &Value) -> bool {
    value.as_str().is_some_and(|v| {
        v.len() == 19 && v.as_bytes()[10] == b' ' && v.as_bytes()[4] == b'-' && v[11..].len() == 8
    })
}

async fn grants_are_created_listed_used_and_revoked(app: TestApp) {
    let admin = app.admin_token().await;
    let alice = app
        .create_user(&admin, "default", "sq.alice@example.com", "user")
        .await;
    let admin_id = claims(&admin)["sub"].as_str().unwrap().to_owned();
    let secret = create_confidential_client(&app, &admin, "crm").await;

    // A restricted user grant of the administrator.
    let grants = format!("{USERS}/{admin_id}/grants");
    let created = form(
        &app,
        &grants,
        Some(&admin),
        &[
            ("type", "user"),
            ("project_permissions", "items.*, projects.read.*"),
        ],
    )
    .await;
    status(&created, StatusCode::CREATED);
    let grant_id = created.body["id"].as_str().unwrap().to_owned();
    let refresh = created.body["refresh_token"].as_str().unwrap().to_owned();

    // Its refresh token signs in without a tenant, twice (it does not rotate).
    for _ in 0..2 {
        let used = form(
            &app,
            TOKEN,
            None,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
        status(&used, StatusCode::OK);
        assert_eq!(used.body["tenant"], "default");
        assert_eq!(used.body["user_id"], admin_id.as_str());
        assert_eq!(
            used.body["project_permissions"],
            json!(["items.*", "projects.read.*"])
        );
        // The restricted token may not list users.
        let access = used.body["access_token"].as_str().unwrap();
        status(&get(&app, USERS, access).await, StatusCode::FORBIDDEN);
    }

    // An unrestricted service grant for an application of the tenant.
    let service = form(
        &app,
        &format!("{USERS}/{alice}/grants"),
        Some(&admin),
        &[("type", "service"), ("for_client_id", "crm")],
    )
    .await;
    status(&service, StatusCode::CREATED);
    let service_refresh = service.body["refresh_token"].as_str().unwrap().to_owned();
    // Bound to `crm`: refused for the native client, accepted with crm's credentials,
    // and the tokens then belong to crm, with no restriction.
    let native = form(
        &app,
        TOKEN,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &service_refresh),
        ],
    )
    .await;
    status(&native, StatusCode::FORBIDDEN);
    let as_crm = form(
        &app,
        TOKEN,
        None,
        &[
            ("client_id", "crm"),
            ("client_secret", &secret),
            ("grant_type", "refresh_token"),
            ("refresh_token", &service_refresh),
        ],
    )
    .await;
    status(&as_crm, StatusCode::OK);
    assert_eq!(as_crm.body["project_permissions"], Value::Null);
    assert_eq!(as_crm.body["tenant"], "default");
    assert_eq!(
        claims(as_crm.body["access_token"].as_str().unwrap())["azp"],
        "crm"
    );

    // Listing: Squirro's fields and time format.
    let listed = get(&app, &grants, &admin).await;
    status(&listed, StatusCode::OK);
    let listed = listed.body["grants"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], grant_id.as_str());
    assert_eq!(listed[0]["type"], "user");
    assert!(is_grant_time(&listed[0]["created_at"]), "{}", listed[0]);
    assert!(is_grant_time(&listed[0]["valid_to"]), "{}", listed[0]);

    // Refusals: a bad type, an unknown application, a member's service grant, a
    // wrong client secret.
    status(
        &form(&app, &grants, Some(&admin), &[("type", "forever")]).await,
        StatusCode::BAD_REQUEST,
    );
    status(
        &form(
            &app,
            &grants,
            Some(&admin),
            &[("type", "service"), ("for_client_id", "nope")],
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    let alice_token = app
        .token("default", "sq.alice@example.com", USER_PASSWORD)
        .await;
    status(
        &form(
            &app,
            &format!("{USERS}/{alice}/grants"),
            Some(&alice_token),
            &[("type", "service"), ("for_client_id", "crm")],
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    status(
        &form(
            &app,
            &grants,
            Some(&admin),
            &[
                ("type", "user"),
                ("client_id", "crm"),
                ("client_secret", "x"),
            ],
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    status(
        &get(
            &app,
            &format!("{grants}?client_id=crm&client_secret=x"),
            &admin,
        )
        .await,
        StatusCode::FORBIDDEN,
    );

    // delete_grant goes through the session route: 204, then the token is dead.
    let revoked = app
        .call(
            Method::DELETE,
            &format!("{USERS}/{admin_id}/sessions/{grant_id}"),
            Some(&admin),
            None,
        )
        .await;
    status(&revoked, StatusCode::NO_CONTENT);
    assert_eq!(revoked.body, Value::Null);
    let dead = form(
        &app,
        TOKEN,
        None,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    status(&dead, StatusCode::FORBIDDEN);
    let listed = get(&app, &grants, &admin).await;
    assert_eq!(listed.body["grants"], json!([]));
}

async fn the_token_endpoint_checks_clients_and_signs_in_by_ext_id(app: TestApp) {
    let admin = app.admin_token().await;
    let alice = app
        .create_user(&admin, "default", "sq.ext@example.com", "user")
        .await;
    let secret = create_confidential_client(&app, &admin, "crm").await;
    let created = form(
        &app,
        &format!("/api/user/v0/default/authentications/salesforce/{alice}"),
        Some(&admin),
        &[("service_user", "sf1"), ("access_token", "t")],
    )
    .await;
    status(&created, StatusCode::CREATED);

    let ext_id = |secret: Option<&str>, tenant: Option<&str>, user: &str| {
        let mut fields = vec![
            ("client_id", "crm".to_owned()),
            ("grant_type", "ext_id".to_owned()),
            ("auth_service", "salesforce".to_owned()),
            ("auth_user", user.to_owned()),
        ];
        if let Some(secret) = secret {
            fields.push(("client_secret", secret.to_owned()));
        }
        if let Some(tenant) = tenant {
            fields.push(("tenant", tenant.to_owned()));
        }
        let app = &app;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            form(app, TOKEN, None, &fields).await
        }
    };
    let ok = ext_id(Some(&secret), Some("default"), "sf1").await;
    status(&ok, StatusCode::OK);
    assert_eq!(ok.body["user_id"], alice.as_str());
    assert_eq!(ok.body["tenant"], "default");
    assert_eq!(ok.body["project_permissions"], Value::Null);
    assert_eq!(
        claims(ok.body["access_token"].as_str().unwrap())["azp"],
        "crm"
    );

    status(
        &ext_id(None, Some("default"), "sf1").await,
        StatusCode::FORBIDDEN,
    );
    status(
        &ext_id(Some("wrong"), Some("default"), "sf1").await,
        StatusCode::FORBIDDEN,
    );
    status(
        &ext_id(Some(&secret), Some("default"), "sf2").await,
        StatusCode::FORBIDDEN,
    );
    status(
        &ext_id(Some(&secret), None, "sf1").await,
        StatusCode::BAD_REQUEST,
    );
    // No client at all: refused too.
    let anonymous = form(
        &app,
        TOKEN,
        None,
        &[
            ("tenant", "default"),
            ("grant_type", "ext_id"),
            ("auth_service", "salesforce"),
            ("auth_user", "sf1"),
        ],
    )
    .await;
    status(&anonymous, StatusCode::FORBIDDEN);

    // Password sign-in with a client: checked, and the tokens belong to it.
    let password = |secret: &str| {
        let app = &app;
        let secret = secret.to_owned();
        async move {
            form(
                app,
                TOKEN,
                None,
                &[
                    ("client_id", "crm"),
                    ("client_secret", &secret),
                    ("tenant", "default"),
                    ("grant_type", "password"),
                    ("username", "sq.ext@example.com"),
                    ("password", USER_PASSWORD),
                ],
            )
            .await
        }
    };
    let signed_in = password(&secret).await;
    status(&signed_in, StatusCode::OK);
    assert_eq!(
        claims(signed_in.body["access_token"].as_str().unwrap())["azp"],
        "crm"
    );
    status(&password("wrong").await, StatusCode::FORBIDDEN);
    // A client id without a tenant cannot be placed.
    let homeless = form(
        &app,
        TOKEN,
        None,
        &[
            ("client_id", "crm"),
            ("client_secret", &secret),
            ("grant_type", "password"),
            ("username", "sq.ext@example.com"),
            ("password", USER_PASSWORD),
        ],
    )
    .await;
    status(&homeless, StatusCode::BAD_REQUEST);
}

async fn authentications_over_the_squirro_wire(app: TestApp) {
    let admin = app.admin_token().await;
    let alice = app
        .create_user(&admin, "default", "sq.auth@example.com", "user")
        .await;
    let path = format!("/api/user/v0/default/authentications/dropbox/{alice}");
    let put = |body: Value| {
        let app = &app;
        let admin = admin.clone();
        let path = path.clone();
        async move {
            app.call(Method::POST, &path, Some(&admin), Some(body))
                .await
        }
    };
    let created = put(json!({
        "service_user": "db1",
        "access_token": "tok",
        "access_secret": "sec",
        "display_name": "Alice at Dropbox",
        "access_token_expires": "2031-02-03T04:05:06",
    }))
    .await;
    status(&created, StatusCode::CREATED);
    assert_eq!(created.body["access_token_expires"], "2031-02-03T04:05:06");
    assert_eq!(created.body["access_secret"], "sec");
    assert_eq!(created.body["access_secret_expires"], Value::Null);
    for key in [
        "access_secret",
        "access_secret_expires",
        "access_token",
        "access_token_expires",
        "display_name",
        "service_user",
        "state",
    ] {
        assert!(created.body.get(key).is_some(), "{key}: {}", created.body);
    }
    let modified = put(json!({"service_user": "db1", "access_token": "tok2"})).await;
    status(&modified, StatusCode::OK);
    let read = get(&app, &path, &admin).await;
    status(&read, StatusCode::OK);
    assert_eq!(read.body["access_token"], "tok2");
    status(
        &put(json!({"service_user": "db1", "access_token": "t", "access_token_expires": "03/02/2031"})).await,
        StatusCode::BAD_REQUEST,
    );
    status(
        &put(json!({"access_token": "t"})).await,
        StatusCode::BAD_REQUEST,
    );
    // Another member may not read alice's credentials.
    app.create_user(&admin, "default", "sq.bob@example.com", "user")
        .await;
    let bob = app
        .token("default", "sq.bob@example.com", USER_PASSWORD)
        .await;
    status(&get(&app, &path, &bob).await, StatusCode::FORBIDDEN);

    let deleted = app.call(Method::DELETE, &path, Some(&admin), None).await;
    status(&deleted, StatusCode::NO_CONTENT);
    assert_eq!(deleted.body, Value::Null);
    status(&get(&app, &path, &admin).await, StatusCode::NOT_FOUND);
    status(
        &app.call(Method::DELETE, &path, Some(&admin), None).await,
        StatusCode::NOT_FOUND,
    );
}

async fn msexchange_without_configuration_is_a_client_error(app: TestApp) {
    let admin = app.admin_token().await;
    let refused = get(
        &app,
        "/api/user/msexchange/oauth2_token?msexchuid_token=a.b.c",
        &admin,
    )
    .await;
    status(&refused, StatusCode::BAD_REQUEST);
    assert!(
        refused.body["error"]
            .as_str()
            .is_some_and(|e| e.contains("not configured")),
        "{}",
        refused.body
    );
    let anonymous = app
        .call(
            Method::GET,
            "/api/user/msexchange/oauth2_token?msexchuid_token=a.b.c",
            None,
            None,
        )
        .await;
    status(&anonymous, StatusCode::UNAUTHORIZED);
}

async fn msexchange_tokens_become_access_tokens(backend: Backend) {
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
        .create_user(&admin, "default", "sq.mail@example.com", "user")
        .await;
    let created = form(
        &app,
        &format!("/api/user/v0/default/authentications/msexchange/{alice}"),
        Some(&admin),
        &[("service_user", "mailbox-42"), ("access_token", "unused")],
    )
    .await;
    status(&created, StatusCode::CREATED);
    let now = app.services.clock.now().unix_timestamp();
    let exchange = |token: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            get(
                app,
                &format!("/api/user/msexchange/oauth2_token?msexchuid_token={token}"),
                &admin,
            )
            .await
        }
    };
    let ok = exchange(issuer.token(ISSUER, AUDIENCE, now + 300, "mailbox-42")).await;
    status(&ok, StatusCode::OK);
    assert_eq!(ok.body["user_id"], alice.as_str());
    let access = ok.body["oauth2_token"].as_str().unwrap();
    assert_eq!(claims(access)["sub"], alice.as_str());
    // The token works on the user API.
    status(
        &get(&app, &format!("{USERS}/{alice}"), access).await,
        StatusCode::OK,
    );

    status(
        &exchange(issuer.token(ISSUER, AUDIENCE, now - 1, "mailbox-42")).await,
        StatusCode::FORBIDDEN,
    );
    status(
        &exchange(issuer.token(ISSUER, AUDIENCE, now + 300, "mailbox-7")).await,
        StatusCode::FORBIDDEN,
    );
    status(&exchange("garbage".into()).await, StatusCode::FORBIDDEN);
    status(
        &get(&app, "/api/user/msexchange/oauth2_token", &admin).await,
        StatusCode::BAD_REQUEST,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msexchange_tokens_become_access_tokens_sqlite() {
    msexchange_tokens_become_access_tokens(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msexchange_tokens_become_access_tokens_postgres() {
    msexchange_tokens_become_access_tokens(Backend::Postgres).await;
}
