//! The store conformance suite: every case runs against SQLite (a fresh file) and, when
//! `LATCHKEY_TEST_POSTGRES_URL` names a server, against PostgreSQL (a fresh database
//! created for the case and dropped afterwards, also when the case fails). Both backends
//! must behave identically, down to ordering and error kinds.
//!
//! Without the variable PostgreSQL is skipped loudly; with `LATCHKEY_REQUIRE_ALL=1` the
//! skip becomes a failure (for CI).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use latchkey_core::audit::actions;
use latchkey_core::clock::from_unix_millis;
use latchkey_core::role::permissions;
use latchkey_core::{
    Account, AccountId, AccountPatch, AuditEvent, AuditEventId, AuditOutcome, Email, LockoutPolicy,
    LoginThrottle, NewAccount, NewTenant, PageRequest, PasswordPolicy, RoleName, Session,
    SessionId, SigningKeyId, Tenant, TenantDomain, TenantId, TenantMetadata, TenantPatch,
    ThrottleDecision, Username,
};
use latchkey_store::testing::{self, TestDatabase};
use latchkey_store::{
    AuthorizationCode, ConflictOn, MemberFilter, MembershipRemoval, PostgresStore, PurgeCutoffs,
    PurgeReport, Redemption, RotationOutcome, SignInRecord, SigningKeyStatus, SqliteStore, Store,
    StoreError, StoredSigningKey,
};
use serde_json::json;
use sqlx::Connection as _;
use time::{Duration, OffsetDateTime};

#[path = "conformance/import.rs"]
mod import;
use import::{
    import_conflicts_name_the_account_and_write_nothing,
    import_creates_accounts_with_memberships_and_one_event,
};
#[path = "conformance/prune.rs"]
mod prune;
use prune::{
    an_interrupted_prune_of_100_000_completes_when_run_again,
    prune_keeps_groups_projects_and_external_authentications,
    prune_selects_what_the_dry_run_lists_and_restore_undoes_it,
};
// Multi-factor authentication cases live beside this file.
#[path = "conformance/cloudspot.rs"]
mod cloudspot;
#[path = "conformance/groups.rs"]
mod groups;
#[path = "conformance/mfa.rs"]
mod mfa;
#[path = "conformance/mfa_enrolment.rs"]
mod mfa_enrolment;
#[path = "conformance/owned_tenant.rs"]
mod owned_tenant;
#[path = "conformance/terms.rs"]
mod terms;
// Grants and external authentications.
#[path = "conformance/grants.rs"]
mod grants;

// ---- harness -------------------------------------------------------------------------

/// The PostgreSQL server to test against, if any (loud skip, or failure under
/// `LATCHKEY_REQUIRE_ALL=1`).
fn postgres_url() -> Option<String> {
    testing::postgres_url("conformance suite").unwrap_or_else(|message| panic!("{message}"))
}

/// Runs `case` against every available backend. The case runs in its own task so that a
/// failing assertion still lets the PostgreSQL database be dropped.
async fn run<F, Fut>(case: F)
where
    F: Fn(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_raw(move |store, _| case(store)).await;
}

/// [`run`] for a case that also looks at the tables behind the store.
async fn run_raw<F, Fut>(case: F)
where
    F: Fn(Arc<dyn Store>, Raw) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("data").join("latchkey.db");
    let sqlite = Arc::new(SqliteStore::open(&path).await.unwrap());
    let outcome = tokio::spawn(case(sqlite.clone(), Raw::Sqlite(path))).await;
    sqlite.close().await;
    if let Err(error) = outcome {
        eprintln!("conformance case FAILED on sqlite");
        std::panic::resume_unwind(error.into_panic());
    }

    let Some(url) = postgres_url() else { return };
    let database = TestDatabase::create(&url).await.unwrap();
    let outcome = match PostgresStore::connect(&database.url).await {
        Ok(postgres) => {
            let postgres = Arc::new(postgres);
            let raw = Raw::Postgres(database.url.clone());
            let outcome = tokio::spawn(case(postgres.clone(), raw)).await;
            postgres.close().await;
            outcome
        }
        Err(error) => {
            drop(database);
            panic!("connecting to PostgreSQL: {error:?}");
        }
    };
    drop(database);
    if let Err(error) = outcome {
        eprintln!("conformance case FAILED on postgres");
        std::panic::resume_unwind(error.into_panic());
    }
}

/// The database behind a store, read directly for the few properties the trait does not
/// show. Both schemas keep instants as Unix milliseconds.
#[derive(Clone, Debug)]
enum Raw {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Raw {
    /// The stored expiry of the refresh token hashed as `hash`, if it exists.
    async fn refresh_token_expiry(&self, hash: &str) -> Option<OffsetDateTime> {
        const QUERY: &str = "SELECT expires_at FROM refresh_tokens WHERE token_hash = $1";
        let millis: Option<i64> = match self {
            Self::Sqlite(path) => {
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                let mut conn = sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .unwrap();
                let millis = sqlx::query_scalar(QUERY)
                    .bind(hash)
                    .fetch_optional(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.unwrap();
                millis
            }
            Self::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                let millis = sqlx::query_scalar(QUERY)
                    .bind(hash)
                    .fetch_optional(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.unwrap();
                millis
            }
        };
        millis.map(from_unix_millis)
    }
}

/// Declares a `#[tokio::test]` per case, each running the case on every backend.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod on_every_backend {
            $(
                #[tokio::test]
                async fn $case() {
                    super::run(|store| async move { super::$case(&*store).await }).await;
                }
            )*
        }
    };
}

conformance!(
    ping_and_backend_name,
    tenant_lifecycle_and_builtin_roles,
    tenant_domain_conflict,
    tenants_paginate_by_domain,
    tenant_delete_cascades_to_its_own_accounts_and_keeps_audit,
    account_lifecycle,
    account_uniqueness_is_case_insensitive,
    account_creation_is_atomic_with_its_membership,
    custom_data_is_merged,
    account_update_changes_role_in_the_same_transaction,
    disabling_revokes_sessions_and_a_new_password_unlocks,
    purge_removes_only_what_nothing_can_use,
    applications_register_list_rotate_and_delete,
    refresh_tokens_name_their_session,
    members_are_searched_and_counted,
    authorization_codes_are_single_use,
    password_change_revokes_other_sessions,
    memberships_upsert_list_and_remove,
    removing_the_last_membership_deletes_the_account,
    members_paginate_by_email,
    member_filters,
    throttle_reserves_attempts_up_to_the_lock_and_sign_in_clears_it,
    sessions_open_list_count_and_revoke,
    sign_in_is_refused_when_the_password_changed_meanwhile,
    refresh_rotation,
    refresh_reuse_after_grace_revokes_the_session,
    refresh_at_another_tenant_is_refused_unspent,
    signing_key_install_rotate_and_conflict,
    audit_paginates_newest_first,
    malformed_audit_cursor_is_rejected,
    import_creates_accounts_with_memberships_and_one_event,
    import_conflicts_name_the_account_and_write_nothing,
    prune_selects_what_the_dry_run_lists_and_restore_undoes_it,
    prune_keeps_groups_projects_and_external_authentications,
    an_interrupted_prune_of_100_000_completes_when_run_again,
);

// The concurrency cases need an owned store to spawn tasks with, and threads to race on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reservations_allow_only_the_free_attempts() {
    run(concurrent_reservations).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_in_racing_a_password_change_never_outlives_it() {
    run(sign_in_racing_password_change).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_first_signing_keys_conflict() {
    run(racing_first_keys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotations_rotate_once_and_honour_the_racers() {
    run(concurrent_rotations).await;
}

// Many writers at once: on SQLite they share group-committed batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_commit_independently_and_durably() {
    run_raw(concurrent_writes_commit_independently).await;
}

// This case reads a stored expiry that the trait never returns.
#[tokio::test]
async fn refresh_replacement_never_outlives_its_session() {
    run_raw(replacement_expiry_is_capped_by_the_session).await;
}

// ---- fixtures ------------------------------------------------------------------------

/// An instant `seconds` after a fixed origin; cases never read the wall clock.
fn at(seconds: i64) -> OffsetDateTime {
    from_unix_millis(1_700_000_000_000 + seconds * 1000)
}

fn event(action: &str, tenant: Option<&TenantId>, when: OffsetDateTime) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::generate(),
        tenant_id: tenant.cloned(),
        actor: None,
        action: action.to_owned(),
        target: None,
        outcome: AuditOutcome::Success,
        detail: json!({ "why": "test" }),
        at: when,
    }
}

fn new_tenant(domain: &str) -> NewTenant {
    NewTenant {
        domain: TenantDomain::parse(domain).unwrap(),
        title: format!("Tenant {domain}"),
        metadata: TenantMetadata {
            tier: Some("gold".into()),
            modules: vec!["billing".into()],
            ..TenantMetadata::default()
        },
        password_policy: PasswordPolicy::default(),
    }
}

async fn tenant(store: &dyn Store, domain: &str) -> Tenant {
    let id = TenantId::generate();
    store
        .create_tenant(
            &id,
            &new_tenant(domain),
            at(0),
            &event(actions::TENANT_CREATE, Some(&id), at(0)),
        )
        .await
        .unwrap()
}

fn new_account(email: &str, username: Option<&str>) -> NewAccount {
    NewAccount {
        email: Email::parse(email).unwrap(),
        username: username.map(|u| Username::parse(u).unwrap()),
        display_name: Some(format!("Person {email}")),
        custom_data: json!({ "team": "blue" }).as_object().cloned().unwrap(),
        platform_admin: false,
        password_hash: Some("$argon2id$original".into()),
    }
}

/// Creates an account, a member of `tenant` with `role` when given.
async fn account(
    store: &dyn Store,
    email: &str,
    member_of: Option<(&Tenant, &str)>,
    created: OffsetDateTime,
) -> Account {
    let role = member_of.map(|(t, r)| (&t.id, RoleName::parse(r).unwrap()));
    store
        .create_account(
            &AccountId::generate(),
            &new_account(email, None),
            role.as_ref().map(|(t, r)| (*t, r)),
            created,
            &event(actions::ACCOUNT_CREATE, None, created),
        )
        .await
        .unwrap()
}

fn new_session(account: &Account, tenant: &Tenant, created: OffsetDateTime) -> Session {
    Session {
        id: SessionId::generate(),
        account_id: account.id.clone(),
        tenant_id: tenant.id.clone(),
        client_id: "conformance".into(),
        created_at: created,
        last_seen_at: created,
        expires_at: created + Duration::hours(8),
        revoked_at: None,
        user_agent: Some("conformance".into()),
        ip_address: Some("192.0.2.1".into()),
    }
}

/// What [`sign_in`] records: `refresh` as the first refresh token (idle lifetime one
/// hour), no password check (`verified_hash: None`) and no rehash.
fn sign_in_record<'a>(
    session: &'a Session,
    refresh: &'a str,
    throttle_key: &'a str,
) -> SignInRecord<'a> {
    SignInRecord {
        session,
        refresh_hash: refresh,
        refresh_expires_at: session.created_at + Duration::hours(1),
        throttle_key,
        verified_hash: None,
        rehash: None,
    }
}

fn sign_in_event(session: &Session) -> AuditEvent {
    event(
        actions::SIGN_IN,
        Some(&session.tenant_id),
        session.created_at,
    )
}

/// Opens a session whose first refresh token is `refresh` (idle lifetime one hour).
async fn sign_in(store: &dyn Store, session: &Session, refresh: &str) {
    let opened = store
        .open_session(
            &sign_in_record(session, refresh, "throttle-key"),
            &sign_in_event(session),
        )
        .await
        .unwrap();
    assert!(
        opened,
        "a sign-in without a verified hash is always recorded"
    );
}

fn signing_key(tenant: &Tenant, created: OffsetDateTime) -> StoredSigningKey {
    StoredSigningKey {
        id: SigningKeyId::generate(),
        tenant_id: tenant.id.clone(),
        algorithm: "RS256".into(),
        sealed_private_key: vec![0, 1, 2, 255],
        public_key_der: vec![48, 130, 1, 34],
        status: SigningKeyStatus::Active,
        created_at: created,
    }
}

fn page(limit: u32, after: Option<String>) -> PageRequest {
    PageRequest::new(Some(limit), after)
}

fn conflict_on<T: std::fmt::Debug>(result: Result<T, StoreError>) -> ConflictOn {
    match result {
        Err(StoreError::Conflict(on)) => on,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "expected NotFound, got {result:?}"
    );
}

async fn actions_logged(store: &dyn Store, tenant: &TenantId) -> Vec<String> {
    let events = store.list_audit(tenant, &page(500, None)).await.unwrap();
    events.items.into_iter().map(|e| e.action).collect()
}

// ---- tenants and roles ---------------------------------------------------------------

async fn ping_and_backend_name(store: &dyn Store) {
    store.ping().await.unwrap();
    assert!(["sqlite", "postgres"].contains(&store.backend()));
}

async fn tenant_lifecycle_and_builtin_roles(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    assert_eq!(
        store.tenant_by_id(&acme.id).await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(
        store.tenant_by_domain("acme").await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(store.tenant_by_domain("nope").await.unwrap(), None);
    assert_eq!(
        store.tenant_by_id(&TenantId::generate()).await.unwrap(),
        None
    );
    assert_eq!(
        actions_logged(store, &acme.id).await,
        [actions::TENANT_CREATE]
    );

    let names: BTreeSet<String> = store
        .list_roles(&acme.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name.as_str().to_owned())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["admin", "demo", "reader", "user"].map(String::from))
    );
    let admin = store
        .role(&acme.id, &RoleName::admin())
        .await
        .unwrap()
        .unwrap();
    assert!(admin.builtin && admin.grants(permissions::USERS_WRITE));
    let expected = latchkey_core::role::builtin_roles();
    assert_eq!(Some(&admin), expected.iter().find(|r| r.name.is_admin()));
    let unknown = RoleName::parse("auditor").unwrap();
    assert_eq!(store.role(&acme.id, &unknown).await.unwrap(), None);

    let patch = TenantPatch {
        title: Some("Acme Corporation".into()),
        metadata: Some(TenantMetadata {
            tier: None,
            modules: vec!["a".into(), "b".into()],
            links: vec![
                json!({ "name": "home", "url": "https://acme.example" })
                    .as_object()
                    .cloned()
                    .unwrap(),
            ],
            schedule_limit: Some("HOURLY".into()),
            settings: serde_json::Map::new(),
        }),
        password_policy: Some(PasswordPolicy::new(16, 256).unwrap()),
        require_mfa: Some(true),
    };
    assert!(!acme.require_mfa, "new tenants do not require MFA");
    let updated = store
        .update_tenant(
            &acme.id,
            &patch,
            &event(actions::TENANT_UPDATE, Some(&acme.id), at(1)),
        )
        .await
        .unwrap();
    assert_eq!(updated.title, "Acme Corporation");
    assert_eq!(updated.password_policy.min_length, 16);
    assert!(updated.require_mfa);
    assert_eq!(updated.created_at, acme.created_at);
    assert_eq!(
        store.tenant_by_id(&acme.id).await.unwrap(),
        Some(updated.clone())
    );
    // An empty patch changes nothing.
    let same = store
        .update_tenant(
            &acme.id,
            &TenantPatch::default(),
            &event(actions::TENANT_UPDATE, Some(&acme.id), at(2)),
        )
        .await
        .unwrap();
    assert_eq!(same, updated);
    assert_not_found(
        store
            .update_tenant(
                &TenantId::generate(),
                &patch,
                &event(actions::TENANT_UPDATE, None, at(2)),
            )
            .await,
    );
}

async fn tenant_domain_conflict(store: &dyn Store) {
    let first = tenant(store, "dup").await;
    let id = TenantId::generate();
    let again = store
        .create_tenant(
            &id,
            &new_tenant("dup"),
            at(1),
            &event(actions::TENANT_CREATE, Some(&id), at(1)),
        )
        .await;
    assert_eq!(conflict_on(again), ConflictOn::TenantDomain);
    // The failed transaction left nothing behind: no roles, no audit event.
    assert!(store.list_roles(&id).await.unwrap().is_empty());
    assert!(actions_logged(store, &id).await.is_empty());
    assert_eq!(store.tenant_by_domain("dup").await.unwrap(), Some(first));
}

async fn tenants_paginate_by_domain(store: &dyn Store) {
    // Created out of order; "a-b" sorts before "ab" bytewise, which both backends use.
    let domains = ["t7", "ab", "t3", "a-b", "t1", "zz", "t5"];
    for domain in domains {
        tenant(store, domain).await;
    }
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let result = store.list_tenants(&page(3, after)).await.unwrap();
        pages += 1;
        assert!(result.items.len() <= 3);
        seen.extend(
            result
                .items
                .into_iter()
                .map(|t| t.domain.as_str().to_owned()),
        );
        after = result.next;
        if after.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    let mut expected: Vec<String> = domains.iter().map(|d| (*d).to_owned()).collect();
    expected.sort();
    assert_eq!(seen, expected);
    // A cursor past the end gives an empty last page.
    let past = store
        .list_tenants(&page(3, Some("zzz".into())))
        .await
        .unwrap();
    assert!(past.items.is_empty() && past.next.is_none());
}

async fn tenant_delete_cascades_to_its_own_accounts_and_keeps_audit(store: &dyn Store) {
    let doomed = tenant(store, "doomed").await;
    let other = tenant(store, "other").await;
    let ada = account(store, "ada@example.com", Some((&doomed, "admin")), at(1)).await;
    store
        .put_membership(
            &other.id,
            &ada.id,
            &RoleName::user(),
            at(1),
            &event("membership.put", Some(&other.id), at(1)),
        )
        .await
        .unwrap();
    let bob = account(store, "bob@example.com", Some((&doomed, "user")), at(1)).await;
    let root = store
        .create_account(
            &AccountId::generate(),
            &NewAccount {
                platform_admin: true,
                ..new_account("root@example.com", None)
            },
            Some((&doomed.id, &RoleName::admin())),
            at(1),
            &event(actions::ACCOUNT_CREATE, None, at(1)),
        )
        .await
        .unwrap();
    let session = new_session(&ada, &doomed, at(2));
    sign_in(store, &session, "doomed-refresh").await;
    store
        .install_signing_key(&signing_key(&doomed, at(3)), false, None)
        .await
        .unwrap();

    store
        .delete_tenant(
            &doomed.id,
            &event(actions::TENANT_DELETE, Some(&doomed.id), at(4)),
        )
        .await
        .unwrap();
    assert_eq!(store.tenant_by_id(&doomed.id).await.unwrap(), None);
    assert!(store.list_roles(&doomed.id).await.unwrap().is_empty());
    assert_eq!(store.membership(&doomed.id, &ada.id).await.unwrap(), None);
    assert_eq!(store.session(&session.id).await.unwrap(), None);
    assert!(store.signing_keys(&doomed.id).await.unwrap().is_empty());
    assert_eq!(
        store
            .rotate_refresh_token(
                &doomed.id,
                "conformance",
                "doomed-refresh",
                "next",
                at(10),
                Duration::ZERO,
                at(5)
            )
            .await
            .unwrap(),
        RotationOutcome::Unknown
    );
    // An account of this tenant alone goes with it; a platform admin stays.
    assert_eq!(store.account_by_id(&bob.id).await.unwrap(), None);
    assert!(store.account_by_id(&root.id).await.unwrap().is_some());
    // An account that is a member elsewhere keeps its other membership.
    assert!(store.account_by_id(&ada.id).await.unwrap().is_some());
    let left = store.memberships_of(&ada.id).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].tenant_id, other.id);
    // The audit log outlives the tenant.
    assert_eq!(
        actions_logged(store, &doomed.id)
            .await
            .first()
            .map(String::as_str),
        Some(actions::TENANT_DELETE)
    );
    assert_not_found(
        store
            .delete_tenant(&doomed.id, &event(actions::TENANT_DELETE, None, at(5)))
            .await,
    );
}

// ---- accounts ------------------------------------------------------------------------

async fn account_lifecycle(store: &dyn Store) {
    assert!(store.has_no_accounts().await.unwrap());
    let acme = tenant(store, "acme").await;
    let id = AccountId::generate();
    let created = store
        .create_account(
            &id,
            &new_account("Ada@Example.com", Some("Ada.L")),
            Some((&acme.id, &RoleName::admin())),
            at(1),
            &event(actions::ACCOUNT_CREATE, Some(&acme.id), at(1)),
        )
        .await
        .unwrap();
    assert!(!store.has_no_accounts().await.unwrap());
    assert_eq!(created.email.as_str(), "Ada@Example.com");
    assert!(!created.disabled && created.last_login_at.is_none());
    assert_eq!(
        store.account_by_id(&id).await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(
        store.account_by_id(&AccountId::generate()).await.unwrap(),
        None
    );

    for login in ["ada@example.com", "ada.l", "ADA@EXAMPLE.COM"] {
        let found = store.account_by_login(login).await.unwrap().unwrap();
        assert_eq!(found.account, created, "{login}");
        assert_eq!(found.password_hash.as_deref(), Some("$argon2id$original"));
    }
    assert!(store.account_by_login("nobody").await.unwrap().is_none());
    assert_eq!(
        store.password_hash(&id).await.unwrap().as_deref(),
        Some("$argon2id$original")
    );
    assert_eq!(
        store.password_hash(&AccountId::generate()).await.unwrap(),
        None
    );
    let membership = store.membership(&acme.id, &id).await.unwrap().unwrap();
    assert_eq!(membership.role, RoleName::admin());
    assert_eq!(membership.created_at, at(1));
    assert_eq!(
        actions_logged(store, &acme.id).await[0],
        actions::ACCOUNT_CREATE
    );

    let patch = AccountPatch {
        email: Some(Email::parse("lovelace@example.com").unwrap()),
        username: Some(None),
        display_name: Some(None),
        custom_data: None,
        disabled: Some(true),
    };
    let updated = store
        .update_account(
            &id,
            &patch,
            None,
            at(50),
            &event(actions::ACCOUNT_UPDATE, None, at(2)),
        )
        .await
        .unwrap();
    assert_eq!(updated.email.as_str(), "lovelace@example.com");
    assert_eq!(updated.username, None);
    assert_eq!(updated.display_name, None);
    assert!(updated.disabled);
    assert_eq!(updated.custom_data, created.custom_data);
    assert_eq!(
        store.account_by_id(&id).await.unwrap(),
        Some(updated.clone())
    );
    assert!(store.account_by_login("ada.l").await.unwrap().is_none());
    assert!(
        store
            .account_by_login("lovelace@example.com")
            .await
            .unwrap()
            .is_some()
    );
    assert_not_found(
        store
            .update_account(
                &AccountId::generate(),
                &patch,
                None,
                at(50),
                &event(actions::ACCOUNT_UPDATE, None, at(2)),
            )
            .await,
    );

    store
        .delete_account(&id, &event(actions::ACCOUNT_DELETE, Some(&acme.id), at(3)))
        .await
        .unwrap();
    assert_eq!(store.account_by_id(&id).await.unwrap(), None);
    assert_eq!(store.membership(&acme.id, &id).await.unwrap(), None);
    assert!(store.has_no_accounts().await.unwrap());
    assert_not_found(
        store
            .delete_account(&id, &event(actions::ACCOUNT_DELETE, None, at(4)))
            .await,
    );
}

async fn account_uniqueness_is_case_insensitive(store: &dyn Store) {
    let create = |email: &'static str, username: Option<&'static str>| async move {
        store
            .create_account(
                &AccountId::generate(),
                &new_account(email, username),
                None,
                at(1),
                &event(actions::ACCOUNT_CREATE, None, at(1)),
            )
            .await
    };
    let ada = create("ada@example.com", Some("ada")).await.unwrap();
    assert_eq!(
        conflict_on(create("ADA@example.COM", None).await),
        ConflictOn::Email
    );
    assert_eq!(
        conflict_on(create("other@example.com", Some("ADA")).await),
        ConflictOn::Username
    );
    // Several accounts may go without a username.
    create("one@example.com", None).await.unwrap();
    let two = create("two@example.com", None).await.unwrap();

    // Updates hit the same rules.
    let take_email = AccountPatch {
        email: Some(Email::parse("Ada@Example.com").unwrap()),
        ..AccountPatch::default()
    };
    let result = store
        .update_account(
            &two.id,
            &take_email,
            None,
            at(50),
            &event(actions::ACCOUNT_UPDATE, None, at(2)),
        )
        .await;
    assert_eq!(conflict_on(result), ConflictOn::Email);
    let take_username = AccountPatch {
        username: Some(Some(Username::parse("Ada").unwrap())),
        ..AccountPatch::default()
    };
    let result = store
        .update_account(
            &two.id,
            &take_username,
            None,
            at(50),
            &event(actions::ACCOUNT_UPDATE, None, at(2)),
        )
        .await;
    assert_eq!(conflict_on(result), ConflictOn::Username);
    // An account may change the case of its own email.
    let recase = AccountPatch {
        email: Some(Email::parse("ADA@example.com").unwrap()),
        ..AccountPatch::default()
    };
    let recased = store
        .update_account(
            &ada.id,
            &recase,
            None,
            at(50),
            &event(actions::ACCOUNT_UPDATE, None, at(3)),
        )
        .await
        .unwrap();
    assert_eq!(recased.email.as_str(), "ADA@example.com");
}

async fn account_creation_is_atomic_with_its_membership(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let id = AccountId::generate();
    let missing_role = RoleName::parse("no-such-role").unwrap();
    let result = store
        .create_account(
            &id,
            &new_account("ada@example.com", None),
            Some((&acme.id, &missing_role)),
            at(1),
            &event(actions::ACCOUNT_CREATE, Some(&acme.id), at(1)),
        )
        .await;
    assert_not_found(result);
    let unknown_tenant = TenantId::generate();
    let result = store
        .create_account(
            &id,
            &new_account("ada@example.com", None),
            Some((&unknown_tenant, &RoleName::user())),
            at(1),
            &event(actions::ACCOUNT_CREATE, None, at(1)),
        )
        .await;
    assert_not_found(result);
    assert!(store.has_no_accounts().await.unwrap());
    assert_eq!(
        actions_logged(store, &acme.id).await,
        [actions::TENANT_CREATE]
    );
}

async fn custom_data_is_merged(store: &dyn Store) {
    let ada = account(store, "ada@example.com", None, at(0)).await;
    let patch = AccountPatch {
        custom_data: Some(
            json!({ "team": null, "level": 3, "tags": ["x"] })
                .as_object()
                .cloned()
                .unwrap(),
        ),
        ..AccountPatch::default()
    };
    let updated = store
        .update_account(
            &ada.id,
            &patch,
            None,
            at(50),
            &event(actions::ACCOUNT_UPDATE, None, at(1)),
        )
        .await
        .unwrap();
    let expected = json!({ "level": 3, "tags": ["x"] });
    assert_eq!(
        serde_json::Value::Object(updated.custom_data.clone()),
        expected
    );
    let patch = AccountPatch {
        custom_data: Some(json!({ "level": 4 }).as_object().cloned().unwrap()),
        ..AccountPatch::default()
    };
    let updated = store
        .update_account(
            &ada.id,
            &patch,
            None,
            at(50),
            &event(actions::ACCOUNT_UPDATE, None, at(2)),
        )
        .await
        .unwrap();
    let stored = store.account_by_id(&ada.id).await.unwrap().unwrap();
    assert_eq!(stored, updated);
    assert_eq!(
        serde_json::Value::Object(stored.custom_data),
        json!({ "level": 4, "tags": ["x"] })
    );
    // Other fields are untouched by a custom-data patch.
    assert_eq!(stored.email, ada.email);
    assert_eq!(stored.display_name, ada.display_name);
}

async fn account_update_changes_role_in_the_same_transaction(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let patch = AccountPatch {
        display_name: Some(Some("Ada L.".into())),
        ..AccountPatch::default()
    };
    let updated = store
        .update_account(
            &ada.id,
            &patch,
            Some((&acme.id, &RoleName::admin())),
            at(50),
            &event(actions::ACCOUNT_UPDATE, Some(&acme.id), at(1)),
        )
        .await
        .unwrap();
    assert_eq!(updated.display_name.as_deref(), Some("Ada L."));
    let membership = store.membership(&acme.id, &ada.id).await.unwrap().unwrap();
    assert_eq!(membership.role, RoleName::admin());

    // An unknown role or a tenant the account is not in changes nothing at all.
    let rename = AccountPatch {
        display_name: Some(Some("Never".into())),
        ..AccountPatch::default()
    };
    for (tenant_id, role) in [
        (&acme.id, RoleName::parse("no-such-role").unwrap()),
        (&other.id, RoleName::user()),
    ] {
        assert_not_found(
            store
                .update_account(
                    &ada.id,
                    &rename,
                    Some((tenant_id, &role)),
                    at(50),
                    &event(actions::ACCOUNT_UPDATE, Some(&acme.id), at(2)),
                )
                .await,
        );
    }
    let unchanged = store.account_by_id(&ada.id).await.unwrap().unwrap();
    assert_eq!(unchanged.display_name.as_deref(), Some("Ada L."));
    assert_eq!(
        store
            .membership(&acme.id, &ada.id)
            .await
            .unwrap()
            .unwrap()
            .role,
        RoleName::admin()
    );
}

async fn password_change_revokes_other_sessions(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let bob = account(store, "bob@example.com", Some((&acme, "user")), at(0)).await;
    let keep = new_session(&ada, &acme, at(1));
    let other = new_session(&ada, &acme, at(2));
    let bobs = new_session(&bob, &acme, at(3));
    sign_in(store, &keep, "keep-refresh").await;
    sign_in(store, &other, "other-refresh").await;
    sign_in(store, &bobs, "bob-refresh").await;

    store
        .set_password_hash(
            &ada.id,
            "$argon2id$new",
            Some(&keep.id),
            None,
            at(10),
            &event(actions::PASSWORD_CHANGE, Some(&acme.id), at(10)),
        )
        .await
        .unwrap();
    assert_eq!(
        store.password_hash(&ada.id).await.unwrap().as_deref(),
        Some("$argon2id$new")
    );
    let active: Vec<SessionId> = store
        .list_sessions(&acme.id, &ada.id, at(11))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(active, std::slice::from_ref(&keep.id));
    assert_eq!(
        store.session(&other.id).await.unwrap().unwrap().revoked_at,
        Some(at(10))
    );
    assert_eq!(
        store.session(&bobs.id).await.unwrap().unwrap().revoked_at,
        None
    );
    // The revoked session's refresh token no longer works; the kept one does.
    let refused = store
        .rotate_refresh_token(
            &acme.id,
            "conformance",
            "other-refresh",
            "x1",
            at(100),
            Duration::ZERO,
            at(11),
        )
        .await
        .unwrap();
    assert_eq!(refused, RotationOutcome::SessionInactive);
    let kept = store
        .rotate_refresh_token(
            &acme.id,
            "conformance",
            "keep-refresh",
            "x2",
            at(100),
            Duration::ZERO,
            at(11),
        )
        .await
        .unwrap();
    assert!(matches!(kept, RotationOutcome::Rotated(_)), "{kept:?}");
    assert_eq!(
        actions_logged(store, &acme.id).await[0],
        actions::PASSWORD_CHANGE
    );

    // Without `keep` (an administrator setting it), every session ends.
    store
        .set_password_hash(
            &ada.id,
            "$argon2id$admin-set",
            None,
            None,
            at(12),
            &event(actions::PASSWORD_SET, Some(&acme.id), at(12)),
        )
        .await
        .unwrap();
    assert!(
        store
            .list_sessions(&acme.id, &ada.id, at(13))
            .await
            .unwrap()
            .is_empty()
    );
    assert_not_found(
        store
            .set_password_hash(
                &AccountId::generate(),
                "h",
                None,
                None,
                at(12),
                &event(actions::PASSWORD_SET, None, at(12)),
            )
            .await,
    );
}

// ---- memberships ---------------------------------------------------------------------

async fn memberships_upsert_list_and_remove(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let ada = account(store, "ada@example.com", None, at(0)).await;
    let put = |tenant: TenantId, role: &'static str, when: i64| {
        let account = ada.id.clone();
        async move {
            store
                .put_membership(
                    &tenant,
                    &account,
                    &RoleName::parse(role).unwrap(),
                    at(when),
                    &event("membership.put", Some(&tenant), at(when)),
                )
                .await
        }
    };
    let first = put(acme.id.clone(), "user", 1).await.unwrap();
    assert_eq!(first.role, RoleName::user());
    assert_eq!(first.created_at, at(1));
    assert_eq!(
        store.membership(&acme.id, &ada.id).await.unwrap(),
        Some(first.clone())
    );
    let changed = put(acme.id.clone(), "admin", 2).await.unwrap();
    assert_eq!(changed.role, RoleName::admin());
    assert_eq!(
        changed.created_at,
        at(1),
        "a role change keeps the join date"
    );
    assert_eq!(
        store.membership(&acme.id, &ada.id).await.unwrap(),
        Some(changed)
    );
    put(globex.id.clone(), "reader", 3).await.unwrap();
    assert_not_found(put(acme.id.clone(), "no-such-role", 4).await);
    assert_not_found(put(TenantId::generate(), "user", 4).await);
    assert_not_found(
        store
            .put_membership(
                &acme.id,
                &AccountId::generate(),
                &RoleName::user(),
                at(4),
                &event("membership.put", Some(&acme.id), at(4)),
            )
            .await,
    );

    let mut tenants = vec![acme.id.clone(), globex.id.clone()];
    tenants.sort();
    let listed: Vec<TenantId> = store
        .memberships_of(&ada.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.tenant_id)
        .collect();
    assert_eq!(listed, tenants);
    assert!(
        store
            .memberships_of(&AccountId::generate())
            .await
            .unwrap()
            .is_empty()
    );

    // Removing the membership ends the account's sessions in that tenant only.
    let in_acme = new_session(&ada, &acme, at(5));
    let in_globex = new_session(&ada, &globex, at(5));
    sign_in(store, &in_acme, "acme-refresh").await;
    sign_in(store, &in_globex, "globex-refresh").await;
    let removal = store
        .remove_membership(
            &acme.id,
            &ada.id,
            at(6),
            &event("membership.remove", Some(&acme.id), at(6)),
        )
        .await
        .unwrap();
    // Still a member of globex: the account stays.
    assert_eq!(removal, MembershipRemoval::MembershipOnly);
    assert!(store.account_by_id(&ada.id).await.unwrap().is_some());
    assert_eq!(store.membership(&acme.id, &ada.id).await.unwrap(), None);
    let (_, role, _) = store
        .session_with_member_role(&in_acme.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(role, None, "no membership, no role");
    let (_, role, _) = store
        .session_with_member_role(&in_globex.id)
        .await
        .unwrap()
        .unwrap();
    assert!(role.is_some(), "still a member of globex");
    assert_eq!(
        store
            .session(&in_acme.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(at(6))
    );
    assert_eq!(
        store
            .session(&in_globex.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
    assert_eq!(
        actions_logged(store, &acme.id).await[0],
        "membership.remove"
    );
    assert_not_found(
        store
            .remove_membership(
                &acme.id,
                &ada.id,
                at(7),
                &event("membership.remove", Some(&acme.id), at(7)),
            )
            .await,
    );
    assert_eq!(
        store
            .memberships_of(&ada.id)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.tenant_id)
            .collect::<Vec<_>>(),
        std::slice::from_ref(&globex.id)
    );
}

async fn removing_the_last_membership_deletes_the_account(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let remove = |tenant: TenantId, account: AccountId, when: i64| async move {
        store
            .remove_membership(
                &tenant,
                &account,
                at(when),
                &event("membership.remove", Some(&tenant), at(when)),
            )
            .await
    };

    // A member of two tenants loses one membership and keeps the other (and itself).
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    store
        .put_membership(
            &globex.id,
            &ada.id,
            &RoleName::parse("reader").unwrap(),
            at(1),
            &event("membership.put", Some(&globex.id), at(1)),
        )
        .await
        .unwrap();
    let in_globex = new_session(&ada, &globex, at(2));
    sign_in(store, &in_globex, "globex-refresh").await;
    assert_eq!(
        remove(acme.id.clone(), ada.id.clone(), 3).await.unwrap(),
        MembershipRemoval::MembershipOnly
    );
    let kept = store.account_by_id(&ada.id).await.unwrap().unwrap();
    assert_eq!(
        (kept.email, kept.last_login_at),
        (ada.email.clone(), Some(at(2)))
    );

    // Its last membership takes the account with it, in the same unit of work: its
    // sessions, its refresh tokens and its email go too.
    assert_eq!(
        remove(globex.id.clone(), ada.id.clone(), 4).await.unwrap(),
        MembershipRemoval::AccountDeleted
    );
    assert_eq!(store.account_by_id(&ada.id).await.unwrap(), None);
    assert!(
        store
            .account_by_login("ada@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.memberships_of(&ada.id).await.unwrap().is_empty());
    assert_eq!(store.session(&in_globex.id).await.unwrap(), None);
    assert_eq!(
        store
            .rotate_refresh_token(
                &globex.id,
                "conformance",
                "globex-refresh",
                "next",
                at(100),
                Duration::ZERO,
                at(5)
            )
            .await
            .unwrap(),
        RotationOutcome::Unknown
    );
    assert_eq!(
        actions_logged(store, &globex.id).await[0],
        "membership.remove"
    );
    assert_not_found(remove(globex.id.clone(), ada.id.clone(), 5).await);
    // The email is free again.
    let again = account(store, "ada@example.com", Some((&acme, "user")), at(6)).await;
    assert_ne!(again.id, ada.id);

    // A platform administrator survives losing its last membership.
    let root = store
        .create_account(
            &AccountId::generate(),
            &NewAccount {
                platform_admin: true,
                ..new_account("root@example.com", None)
            },
            Some((&acme.id, &RoleName::admin())),
            at(7),
            &event(actions::ACCOUNT_CREATE, Some(&acme.id), at(7)),
        )
        .await
        .unwrap();
    assert_eq!(
        remove(acme.id.clone(), root.id.clone(), 8).await.unwrap(),
        MembershipRemoval::MembershipOnly
    );
    assert_eq!(store.account_by_id(&root.id).await.unwrap(), Some(root));

    // Removing a membership that does not exist touches no account, not even one
    // without any membership.
    let loner = account(store, "loner@example.com", None, at(9)).await;
    assert_not_found(remove(acme.id.clone(), loner.id.clone(), 10).await);
    assert_eq!(store.account_by_id(&loner.id).await.unwrap(), Some(loner));
}

async fn members_paginate_by_email(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let elsewhere = tenant(store, "elsewhere").await;
    let emails = [
        "g@x.io", "B@x.io", "e@x.io", "a@x.io", "F@x.io", "c@x.io", "d@x.io",
    ];
    for email in emails {
        account(store, email, Some((&acme, "user")), at(0)).await;
    }
    account(store, "outsider@x.io", Some((&elsewhere, "user")), at(0)).await;
    account(store, "nobody@x.io", None, at(0)).await;

    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let result = store
            .list_members(&acme.id, &MemberFilter::default(), &page(3, after))
            .await
            .unwrap();
        pages += 1;
        seen.extend(
            result
                .items
                .into_iter()
                .map(|m| m.account.email.normalized()),
        );
        after = result.next;
        if after.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = ["a", "b", "c", "d", "e", "f", "g"]
        .iter()
        .map(|l| format!("{l}@x.io"))
        .collect();
    assert_eq!(seen, expected);

    // The order follows an email change, and a member who joins later sorts in place
    // (memberships keep their own copy of the sort key).
    let g = store
        .account_by_login("g@x.io")
        .await
        .unwrap()
        .unwrap()
        .account;
    store
        .update_account(
            &g.id,
            &AccountPatch {
                email: Some(Email::parse("0@x.io").unwrap()),
                ..AccountPatch::default()
            },
            None,
            at(1),
            &event(actions::ACCOUNT_UPDATE, Some(&acme.id), at(1)),
        )
        .await
        .unwrap();
    let outsider = store
        .account_by_login("outsider@x.io")
        .await
        .unwrap()
        .unwrap()
        .account;
    store
        .put_membership(
            &acme.id,
            &outsider.id,
            &RoleName::parse("user").unwrap(),
            at(2),
            &event("membership.put", Some(&acme.id), at(2)),
        )
        .await
        .unwrap();
    let first = store
        .list_members(&acme.id, &MemberFilter::default(), &page(50, None))
        .await
        .unwrap();
    let emails: Vec<String> = first
        .items
        .iter()
        .map(|m| m.account.email.normalized())
        .collect();
    assert_eq!(
        emails,
        ["0", "a", "b", "c", "d", "e", "f", "outsider"]
            .iter()
            .map(|l| format!("{l}@x.io"))
            .collect::<Vec<_>>()
    );
    let after_d = store
        .list_members(
            &acme.id,
            &MemberFilter::default(),
            &page(2, Some("d@x.io".to_owned())),
        )
        .await
        .unwrap();
    let emails: Vec<String> = after_d
        .items
        .iter()
        .map(|m| m.account.email.normalized())
        .collect();
    assert_eq!(emails, ["e@x.io", "f@x.io"]);
}

async fn member_filters(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    // Created at 0 and never signed in.
    account(store, "a_b@x.io", Some((&acme, "admin")), at(0)).await;
    // Created at 0; "_" in the prefix below must not match this 'x'.
    account(store, "axb@x.io", Some((&acme, "user")), at(0)).await;
    // Created late, never signed in.
    account(store, "fresh@x.io", Some((&acme, "user")), at(500)).await;
    // Signed in long ago.
    let old = account(store, "old@x.io", Some((&acme, "reader")), at(0)).await;
    sign_in(store, &new_session(&old, &acme, at(10)), "old-refresh").await;
    // Signed in recently.
    let busy = account(store, "busy%@x.io", Some((&acme, "user")), at(0)).await;
    sign_in(store, &new_session(&busy, &acme, at(900)), "busy-refresh").await;

    let acme_id = &acme.id;
    let list = |filter: MemberFilter| async move {
        let mut emails: Vec<String> = store
            .list_members(acme_id, &filter, &page(50, None))
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|m| m.account.email.normalized())
            .collect();
        emails.sort();
        emails
    };
    let prefix = |p: &str| MemberFilter {
        email_prefix: Some(p.to_owned()),
        ..MemberFilter::default()
    };
    assert_eq!(list(prefix("a_")).await, ["a_b@x.io"]);
    assert_eq!(list(prefix("a")).await, ["a_b@x.io", "axb@x.io"]);
    assert_eq!(list(prefix("busy%")).await, ["busy%@x.io"]);
    assert_eq!(list(prefix("b%")).await, Vec::<String>::new());
    assert_eq!(list(prefix("OLD")).await, ["old@x.io"]);
    assert_eq!(list(prefix("zzz")).await, Vec::<String>::new());

    let role = |r: &str| MemberFilter {
        role: Some(RoleName::parse(r).unwrap()),
        ..MemberFilter::default()
    };
    assert_eq!(
        list(role("user")).await,
        ["axb@x.io", "busy%@x.io", "fresh@x.io"]
    );
    assert_eq!(list(role("admin")).await, ["a_b@x.io"]);
    assert_eq!(list(role("demo")).await, Vec::<String>::new());

    let inactive = MemberFilter {
        inactive_since: Some(at(100)),
        ..MemberFilter::default()
    };
    assert_eq!(list(inactive).await, ["a_b@x.io", "axb@x.io", "old@x.io"]);

    let combined = MemberFilter {
        email_prefix: Some("a".into()),
        role: Some(RoleName::user()),
        inactive_since: Some(at(100)),
        ..MemberFilter::default()
    };
    assert_eq!(list(combined).await, ["axb@x.io"]);
}

// ---- throttling ----------------------------------------------------------------------

async fn throttle_reserves_attempts_up_to_the_lock_and_sign_in_clears_it(store: &dyn Store) {
    // Three free failures, then delays of 1 s, 2 s…; the sixth failure locks the key.
    let policy = LockoutPolicy {
        max_failures: 6,
        lock_duration: Duration::minutes(15),
        ..LockoutPolicy::default()
    };
    let key = "ada@example.com";
    let reserve = |now: OffsetDateTime| {
        let policy = &policy;
        async move { store.reserve_login_attempt(key, policy, now).await.unwrap() }
    };
    let state =
        |failures: u32, last: OffsetDateTime, locked_until: Option<OffsetDateTime>| LoginThrottle {
            failures,
            last_failure_at: Some(last),
            locked_until,
        };
    assert_eq!(
        store.login_throttle(key).await.unwrap(),
        LoginThrottle::default()
    );

    // Each allowed attempt is counted as a failure at once, before any password check.
    assert_eq!(reserve(at(1)).await, ThrottleDecision::Allow);
    assert_eq!(
        store.login_throttle(key).await.unwrap(),
        state(1, at(1), None)
    );
    // The free attempts need no pause, even at the same instant.
    for expected in 2..=4 {
        assert_eq!(reserve(at(1)).await, ThrottleDecision::Allow);
        assert_eq!(
            store.login_throttle(key).await.unwrap(),
            state(expected, at(1), None)
        );
    }
    // Four failures: the next attempt waits 1 s after the last one. A refusal is not
    // counted and writes nothing.
    assert_eq!(
        reserve(at(1)).await,
        ThrottleDecision::Wait(Duration::seconds(1))
    );
    assert_eq!(
        reserve(at(1) + Duration::milliseconds(400)).await,
        ThrottleDecision::Wait(Duration::milliseconds(600))
    );
    assert_eq!(
        store.login_throttle(key).await.unwrap(),
        state(4, at(1), None)
    );
    assert_eq!(reserve(at(2)).await, ThrottleDecision::Allow);
    assert_eq!(
        store.login_throttle(key).await.unwrap(),
        state(5, at(2), None)
    );
    // Five failures: 2 s.
    assert_eq!(
        reserve(at(3)).await,
        ThrottleDecision::Wait(Duration::seconds(1))
    );
    assert_eq!(reserve(at(4)).await, ThrottleDecision::Allow);
    // The sixth failure locks the key for 15 minutes.
    let until = at(4) + Duration::minutes(15);
    let locked = state(6, at(4), Some(until));
    assert_eq!(store.login_throttle(key).await.unwrap(), locked);
    assert_eq!(reserve(at(5)).await, ThrottleDecision::Wait(until - at(5)));
    assert_eq!(
        reserve(until - Duration::SECOND).await,
        ThrottleDecision::Wait(Duration::SECOND)
    );
    assert_eq!(store.login_throttle(key).await.unwrap(), locked);

    // Other keys are counted apart.
    assert_eq!(
        store.login_throttle("someone-else").await.unwrap(),
        LoginThrottle::default()
    );
    assert_eq!(
        store
            .reserve_login_attempt("someone-else", &policy, at(5))
            .await
            .unwrap(),
        ThrottleDecision::Allow
    );
    assert_eq!(
        store.login_throttle("someone-else").await.unwrap(),
        state(1, at(5), None)
    );

    // Once the lock has run out the count starts over: this attempt is the first.
    assert_eq!(reserve(until).await, ThrottleDecision::Allow);
    assert_eq!(
        store.login_throttle(key).await.unwrap(),
        state(1, until, None)
    );
    assert_eq!(reserve(until).await, ThrottleDecision::Allow);
    assert_eq!(
        store.login_throttle(key).await.unwrap(),
        state(2, until, None)
    );

    // A successful sign-in clears the record of its key, and only that one.
    let acme = tenant(store, "acme").await;
    let ada = account(store, key, Some((&acme, "user")), at(0)).await;
    let session = new_session(&ada, &acme, until + Duration::SECOND);
    let opened = store
        .open_session(
            &sign_in_record(&session, "refresh", key),
            &sign_in_event(&session),
        )
        .await
        .unwrap();
    assert!(opened);
    assert_eq!(
        store.login_throttle(key).await.unwrap(),
        LoginThrottle::default()
    );
    assert_eq!(
        store.login_throttle("someone-else").await.unwrap(),
        state(1, at(5), None)
    );
    // …and the next attempt is free again.
    assert_eq!(
        reserve(until + Duration::SECOND).await,
        ThrottleDecision::Allow
    );
    // Reservations write no audit event; the tenant only saw the sign-in.
    assert_eq!(
        actions_logged(store, &acme.id).await,
        [actions::SIGN_IN, actions::TENANT_CREATE]
    );
}

async fn concurrent_reservations(store: Arc<dyn Store>) {
    // The default policy: three free failures, then a delay of 1 s after the fourth.
    // Twelve guesses racing at one instant get exactly four attempts, all counted,
    // whether the key's row exists beforehand or is created by the race. Several rounds
    // give a lost update several chances to show.
    let policy = LockoutPolicy::default();
    assert_eq!(policy.free_failures, 3);
    for round in 0..8 {
        let key = format!("racy-{round}");
        let earlier = round % 2;
        for _ in 0..earlier {
            let decision = store.reserve_login_attempt(&key, &policy, at(0)).await;
            assert_eq!(decision.unwrap(), ThrottleDecision::Allow);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let store = store.clone();
            let policy = policy.clone();
            let key = key.clone();
            tasks.spawn(async move {
                store
                    .reserve_login_attempt(&key, &policy, at(10))
                    .await
                    .unwrap()
            });
        }
        let mut allowed = 0;
        let mut waits = Vec::new();
        while let Some(decision) = tasks.join_next().await {
            match decision.unwrap() {
                ThrottleDecision::Allow => allowed += 1,
                ThrottleDecision::Wait(delay) => waits.push(delay),
            }
        }
        assert_eq!(allowed, 4 - earlier, "{key}");
        assert_eq!(waits, vec![Duration::seconds(1); 8 + earlier], "{key}");
        assert_eq!(
            store.login_throttle(&key).await.unwrap(),
            LoginThrottle {
                failures: 4,
                last_failure_at: Some(at(10)),
                locked_until: None,
            },
            "{key}"
        );
    }
}

// ---- sessions and refresh tokens -----------------------------------------------------

async fn sessions_open_list_count_and_revoke(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let first = new_session(&ada, &acme, at(10));
    let opened = store
        .open_session(
            &SignInRecord {
                refresh_expires_at: at(100),
                verified_hash: Some("$argon2id$original"),
                rehash: Some("$argon2id$rehashed"),
                ..sign_in_record(&first, "first-refresh", "ada@example.com")
            },
            &event(actions::SIGN_IN, Some(&acme.id), at(10)),
        )
        .await
        .unwrap();
    assert!(opened, "the stored hash is the one verified");
    assert_eq!(store.session(&first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(store.session(&SessionId::generate()).await.unwrap(), None);
    assert_eq!(
        store.session_with_member_role(&first.id).await.unwrap(),
        Some((
            first.clone(),
            Some(RoleName::parse("user").unwrap()),
            Vec::new()
        ))
    );
    assert_eq!(
        store
            .session_with_member_role(&SessionId::generate())
            .await
            .unwrap(),
        None
    );
    let signed_in = store.account_by_id(&ada.id).await.unwrap().unwrap();
    assert_eq!(signed_in.last_login_at, Some(at(10)));
    assert_eq!(
        store.password_hash(&ada.id).await.unwrap().as_deref(),
        Some("$argon2id$rehashed")
    );
    assert_eq!(actions_logged(store, &acme.id).await[0], actions::SIGN_IN);

    let second = new_session(&ada, &acme, at(20));
    sign_in(store, &second, "second-refresh").await;
    assert_eq!(
        store.password_hash(&ada.id).await.unwrap().as_deref(),
        Some("$argon2id$rehashed"),
        "no rehash keeps the hash"
    );
    let mut short = new_session(&ada, &acme, at(30));
    short.expires_at = at(40);
    sign_in(store, &short, "short-refresh").await;

    let listed = store
        .list_sessions(&acme.id, &ada.id, at(35))
        .await
        .unwrap();
    assert_eq!(listed, [short.clone(), second.clone(), first.clone()]);
    let listed = store
        .list_sessions(&acme.id, &ada.id, at(40))
        .await
        .unwrap();
    assert_eq!(
        listed,
        [second.clone(), first.clone()],
        "expired sessions are not listed"
    );
    let other = tenant(store, "other").await;
    assert!(
        store
            .list_sessions(&other.id, &ada.id, at(35))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.count_active_sessions(at(35)).await.unwrap(), 3);
    assert_eq!(store.count_active_sessions(at(40)).await.unwrap(), 2);

    // Revocations are logged under a tenant of their own so they can be counted.
    let log = TenantId::generate();
    let revoke = |id: SessionId, when: i64| {
        let log = log.clone();
        async move {
            store
                .revoke_session(
                    &id,
                    at(when),
                    &event(actions::SESSION_REVOKE, Some(&log), at(when)),
                )
                .await
                .unwrap()
        }
    };
    assert!(revoke(first.id.clone(), 50).await);
    assert!(!revoke(first.id.clone(), 51).await, "already revoked");
    assert!(!revoke(short.id.clone(), 52).await, "already expired");
    assert!(!revoke(SessionId::generate(), 53).await, "unknown");
    // Only the revocation that changed something is recorded.
    assert_eq!(actions_logged(store, &log).await, [actions::SESSION_REVOKE]);
    let revoked = store.session(&first.id).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(at(50)));
    assert!(!revoked.is_active(at(50)));
    assert_eq!(
        store
            .list_sessions(&acme.id, &ada.id, at(50))
            .await
            .unwrap(),
        std::slice::from_ref(&second)
    );
    assert_eq!(store.count_active_sessions(at(50)).await.unwrap(), 1);
    assert_eq!(
        store
            .rotate_refresh_token(
                &acme.id,
                "conformance",
                "first-refresh",
                "after-revoke",
                at(200),
                Duration::MINUTE,
                at(60)
            )
            .await
            .unwrap(),
        RotationOutcome::SessionInactive
    );
}

async fn sign_in_is_refused_when_the_password_changed_meanwhile(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let key = "ada@example.com";
    let policy = LockoutPolicy::default();
    for _ in 0..2 {
        store
            .reserve_login_attempt(key, &policy, at(1))
            .await
            .unwrap();
    }
    let throttled = store.login_throttle(key).await.unwrap();
    assert_eq!(throttled.failures, 2);

    // The password was checked against the original hash, then changed before the
    // sign-in was recorded.
    store
        .set_password_hash(
            &ada.id,
            "$argon2id$changed",
            None,
            None,
            at(2),
            &event(actions::PASSWORD_CHANGE, Some(&acme.id), at(2)),
        )
        .await
        .unwrap();
    let stale = new_session(&ada, &acme, at(3));
    let opened = store
        .open_session(
            &SignInRecord {
                verified_hash: Some("$argon2id$original"),
                rehash: Some("$argon2id$original-rehashed"),
                ..sign_in_record(&stale, "stale-refresh", key)
            },
            &sign_in_event(&stale),
        )
        .await
        .unwrap();
    assert!(!opened);
    // Nothing was recorded: no session, no refresh token, no rehash, no last login, the
    // throttle row kept, no audit event.
    assert_eq!(store.session(&stale.id).await.unwrap(), None);
    assert_eq!(store.count_active_sessions(at(4)).await.unwrap(), 0);
    assert_eq!(
        store
            .rotate_refresh_token(
                &acme.id,
                "conformance",
                "stale-refresh",
                "x",
                at(100),
                Duration::ZERO,
                at(4)
            )
            .await
            .unwrap(),
        RotationOutcome::Unknown
    );
    assert_eq!(
        store.password_hash(&ada.id).await.unwrap().as_deref(),
        Some("$argon2id$changed")
    );
    assert_eq!(
        store
            .account_by_id(&ada.id)
            .await
            .unwrap()
            .unwrap()
            .last_login_at,
        None
    );
    assert_eq!(store.login_throttle(key).await.unwrap(), throttled);
    assert_eq!(
        actions_logged(store, &acme.id).await,
        [actions::PASSWORD_CHANGE, actions::TENANT_CREATE]
    );

    // Verified against the current hash, the same sign-in goes through, rehash and all.
    let fresh = new_session(&ada, &acme, at(5));
    let opened = store
        .open_session(
            &SignInRecord {
                verified_hash: Some("$argon2id$changed"),
                rehash: Some("$argon2id$changed-rehashed"),
                ..sign_in_record(&fresh, "fresh-refresh", key)
            },
            &sign_in_event(&fresh),
        )
        .await
        .unwrap();
    assert!(opened);
    assert_eq!(store.session(&fresh.id).await.unwrap(), Some(fresh.clone()));
    assert_eq!(
        store.password_hash(&ada.id).await.unwrap().as_deref(),
        Some("$argon2id$changed-rehashed")
    );
    assert_eq!(
        store
            .account_by_id(&ada.id)
            .await
            .unwrap()
            .unwrap()
            .last_login_at,
        Some(at(5))
    );
    assert_eq!(
        store.login_throttle(key).await.unwrap(),
        LoginThrottle::default()
    );
    assert_eq!(actions_logged(store, &acme.id).await[0], actions::SIGN_IN);

    // The hash the rehash replaced no longer verifies either.
    let late = new_session(&ada, &acme, at(6));
    let opened = store
        .open_session(
            &SignInRecord {
                verified_hash: Some("$argon2id$changed"),
                ..sign_in_record(&late, "late-refresh", key)
            },
            &sign_in_event(&late),
        )
        .await
        .unwrap();
    assert!(!opened);
    assert_eq!(store.session(&late.id).await.unwrap(), None);
    // Without a verified hash (a sign-in that checked no password) nothing is compared.
    let unchecked = new_session(&ada, &acme, at(7));
    sign_in(store, &unchecked, "unchecked-refresh").await;
    assert!(store.session(&unchecked.id).await.unwrap().is_some());

    // An account without a password never matches a verified hash.
    let bob = store
        .create_account(
            &AccountId::generate(),
            &NewAccount {
                password_hash: None,
                ..new_account("bob@example.com", None)
            },
            Some((&acme.id, &RoleName::user())),
            at(8),
            &event(actions::ACCOUNT_CREATE, Some(&acme.id), at(8)),
        )
        .await
        .unwrap();
    let bobs = new_session(&bob, &acme, at(9));
    let opened = store
        .open_session(
            &SignInRecord {
                verified_hash: Some("$argon2id$original"),
                ..sign_in_record(&bobs, "bob-refresh", "bob@example.com")
            },
            &sign_in_event(&bobs),
        )
        .await
        .unwrap();
    assert!(!opened);
    assert_eq!(store.session(&bobs.id).await.unwrap(), None);
}

async fn sign_in_racing_password_change(store: Arc<dyn Store>) {
    // A sign-in verified against the old hash and a password change that ends every
    // session race; whichever commits first, no session of the old password survives.
    let acme = tenant(&*store, "acme").await;
    let ada = account(&*store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let mut old_hash = "$argon2id$original".to_owned();
    let mut refused = 0;
    for round in 0..16_i64 {
        let new_hash = format!("$argon2id$round-{round}");
        let session = new_session(&ada, &acme, at(10 * round + 1));
        let sign_in = {
            let store = store.clone();
            let session = session.clone();
            let verified = old_hash.clone();
            let refresh = format!("refresh-{round}");
            tokio::spawn(async move {
                store
                    .open_session(
                        &SignInRecord {
                            verified_hash: Some(&verified),
                            ..sign_in_record(&session, &refresh, "ada@example.com")
                        },
                        &sign_in_event(&session),
                    )
                    .await
                    .unwrap()
            })
        };
        let change = {
            let store = store.clone();
            let account = ada.id.clone();
            let tenant = acme.id.clone();
            let new_hash = new_hash.clone();
            tokio::spawn(async move {
                store
                    .set_password_hash(
                        &account,
                        &new_hash,
                        None,
                        None,
                        at(10 * round + 2),
                        &event(actions::PASSWORD_SET, Some(&tenant), at(10 * round + 2)),
                    )
                    .await
                    .unwrap();
            })
        };
        let opened = sign_in.await.unwrap();
        change.await.unwrap();
        refused += usize::from(!opened);
        assert!(
            store
                .list_sessions(&acme.id, &ada.id, at(10 * round + 3))
                .await
                .unwrap()
                .is_empty(),
            "round {round}: a session of the old password survived (opened: {opened})"
        );
        if !opened {
            assert_eq!(store.session(&session.id).await.unwrap(), None);
        }
        old_hash = new_hash;
    }
    eprintln!("sign-ins refused by the password change: {refused} of 16");
}

async fn refresh_rotation(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let session = new_session(&ada, &acme, at(0));
    sign_in(store, &session, "r0").await; // r0 expires at 3600
    let grace = Duration::seconds(30);

    assert_eq!(
        store
            .rotate_refresh_token(
                &acme.id,
                "conformance",
                "never-issued",
                "x",
                at(99),
                grace,
                at(1)
            )
            .await
            .unwrap(),
        RotationOutcome::Unknown
    );

    let RotationOutcome::Rotated(rotated) = store
        .rotate_refresh_token(
            &acme.id,
            "conformance",
            "r0",
            "r1",
            at(4000),
            grace,
            at(100),
        )
        .await
        .unwrap()
    else {
        panic!("r0 should rotate");
    };
    assert_eq!(rotated.id, session.id);
    assert_eq!(rotated.last_seen_at, at(100));
    assert_eq!(
        store.session(&session.id).await.unwrap(),
        Some(rotated.clone())
    );

    // Another process sharing r0, a lost answer or two racing requests: r0 comes back
    // within the grace period and is honoured with a replacement of its own, in the
    // same session.
    for (now, replacement) in [(at(100), "r1b"), (at(120), "r1c")] {
        let RotationOutcome::ReissuedInGrace(reissued) = store
            .rotate_refresh_token(
                &acme.id,
                "conformance",
                "r0",
                replacement,
                at(4010),
                grace,
                now,
            )
            .await
            .unwrap()
        else {
            panic!("r0 should be honoured again at {now}");
        };
        assert_eq!(reissued.id, session.id);
        assert_eq!(reissued.last_seen_at, now);
    }
    // Each sibling is a live token of that session; none of this counts as reuse.
    let RotationOutcome::Rotated(sibling) = store
        .rotate_refresh_token(
            &acme.id,
            "conformance",
            "r1b",
            "r2b",
            at(4010),
            grace,
            at(121),
        )
        .await
        .unwrap()
    else {
        panic!("r1b should rotate");
    };
    assert_eq!(sibling.id, session.id);
    assert!(
        !actions_logged(store, &acme.id)
            .await
            .iter()
            .any(|a| a == actions::REFRESH_REUSE)
    );
    // Once the grace is over, r0 is a replay again (checked in
    // `refresh_reuse_after_grace_revokes_the_session`); with no grace at all, every
    // second use is.
    let strict = new_session(&ada, &acme, at(0));
    sign_in(store, &strict, "s0").await;
    for (presented, replacement) in [("s0", "s1"), ("s0", "s1b")] {
        let outcome = store
            .rotate_refresh_token(
                &acme.id,
                "conformance",
                presented,
                replacement,
                at(4010),
                Duration::ZERO,
                at(100),
            )
            .await
            .unwrap();
        if replacement == "s1" {
            assert!(
                matches!(outcome, RotationOutcome::Rotated(_)),
                "{outcome:?}"
            );
        } else {
            assert!(
                matches!(outcome, RotationOutcome::ReuseDetected(_)),
                "{outcome:?}"
            );
        }
    }
    assert!(
        !store
            .session(&strict.id)
            .await
            .unwrap()
            .unwrap()
            .is_active(at(100))
    );
    // The one replacement, r1, carries on.
    let RotationOutcome::Rotated(again) = store
        .rotate_refresh_token(
            &acme.id,
            "conformance",
            "r1",
            "r2",
            at(5000),
            grace,
            at(200),
        )
        .await
        .unwrap()
    else {
        panic!("r1 should rotate");
    };
    assert_eq!(again.id, session.id);
    assert_eq!(again.last_seen_at, at(200));
    assert!(again.is_active(at(200)));

    // r2 outlives its idle lifetime (expires at 5000).
    assert_eq!(
        store
            .rotate_refresh_token(
                &acme.id,
                "conformance",
                "r2",
                "r3",
                at(9000),
                grace,
                at(5000)
            )
            .await
            .unwrap(),
        RotationOutcome::Expired
    );

    // The session itself ends after eight hours, whatever the token says.
    let mut late = new_session(&ada, &acme, at(0));
    late.expires_at = at(60);
    sign_in(store, &late, "late0").await;
    assert_eq!(
        store
            .rotate_refresh_token(
                &acme.id,
                "conformance",
                "late0",
                "late1",
                at(9000),
                grace,
                at(60)
            )
            .await
            .unwrap(),
        RotationOutcome::SessionInactive
    );
}

async fn refresh_reuse_after_grace_revokes_the_session(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let session = new_session(&ada, &acme, at(0));
    sign_in(store, &session, "r0").await;
    let grace = Duration::seconds(30);
    let RotationOutcome::Rotated(_) = store
        .rotate_refresh_token(
            &acme.id,
            "conformance",
            "r0",
            "r1",
            at(3000),
            grace,
            at(100),
        )
        .await
        .unwrap()
    else {
        panic!("r0 should rotate");
    };
    // Within the grace period r0 is honoured once more…
    let outcome = store
        .rotate_refresh_token(
            &acme.id,
            "conformance",
            "r0",
            "early",
            at(3000),
            grace,
            at(110),
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, RotationOutcome::ReissuedInGrace(_)),
        "{outcome:?}"
    );

    // …but r0 coming back after the grace period means someone kept a copy. The grace
    // runs from the first rotation: honouring r0 again did not extend it.
    let outcome = store
        .rotate_refresh_token(
            &acme.id,
            "conformance",
            "r0",
            "evil",
            at(3000),
            grace,
            at(131),
        )
        .await
        .unwrap();
    let RotationOutcome::ReuseDetected(revoked) = outcome else {
        panic!("expected reuse detection, got {outcome:?}");
    };
    assert_eq!(revoked.id, session.id);
    assert_eq!(revoked.revoked_at, Some(at(131)));
    assert_eq!(store.session(&session.id).await.unwrap(), Some(revoked));
    // The session's tokens are gone: neither the legitimate successor, nor the sibling
    // issued within the grace, nor the spent token, nor the replacement offered (never
    // issued) works any more.
    for token in ["r1", "evil", "r0", "early"] {
        let outcome = store
            .rotate_refresh_token(
                &acme.id,
                "conformance",
                token,
                "x",
                at(3000),
                grace,
                at(140),
            )
            .await
            .unwrap();
        assert_eq!(outcome, RotationOutcome::Unknown, "{token}");
    }
    assert_eq!(store.count_active_sessions(at(140)).await.unwrap(), 0);

    let events = store
        .list_audit(&acme.id, &page(500, None))
        .await
        .unwrap()
        .items;
    let reuse: Vec<&AuditEvent> = events
        .iter()
        .filter(|e| e.action == actions::REFRESH_REUSE)
        .collect();
    assert_eq!(reuse.len(), 1, "{events:?}");
    assert_eq!(reuse[0].tenant_id.as_ref(), Some(&acme.id));
    assert_eq!(reuse[0].actor.as_ref(), Some(&ada.id));
    assert_eq!(reuse[0].target.as_deref(), Some(session.id.as_str()));
    assert_eq!(reuse[0].outcome, AuditOutcome::Failure);
    assert_eq!(reuse[0].at, at(131));
}

async fn refresh_at_another_tenant_is_refused_unspent(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let session = new_session(&ada, &acme, at(0));
    sign_in(store, &session, "r0").await;
    let grace = Duration::seconds(10);
    assert_eq!(
        store
            .rotate_refresh_token(
                &acme.id,
                "another-client",
                "r0",
                "stolen",
                at(4000),
                grace,
                at(100)
            )
            .await
            .unwrap(),
        RotationOutcome::Unknown
    );
    assert_eq!(
        store
            .rotate_refresh_token(
                &globex.id,
                "conformance",
                "r0",
                "stolen",
                at(4000),
                grace,
                at(100)
            )
            .await
            .unwrap(),
        RotationOutcome::Unknown
    );
    assert_eq!(
        store.session(&session.id).await.unwrap(),
        Some(session.clone())
    );
    // Long after the grace period, the right tenant still gets an ordinary rotation.
    let outcome = store
        .rotate_refresh_token(
            &acme.id,
            "conformance",
            "r0",
            "r1",
            at(4000),
            grace,
            at(1000),
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, RotationOutcome::Rotated(_)),
        "{outcome:?}"
    );
    assert!(
        store
            .session(&session.id)
            .await
            .unwrap()
            .unwrap()
            .is_active(at(1000))
    );
    // Nor can another tenant set off reuse detection with the spent token.
    assert_eq!(
        store
            .rotate_refresh_token(
                &globex.id,
                "conformance",
                "r0",
                "stolen",
                at(4000),
                grace,
                at(2000)
            )
            .await
            .unwrap(),
        RotationOutcome::Unknown
    );
    assert!(
        store
            .session(&session.id)
            .await
            .unwrap()
            .unwrap()
            .is_active(at(2000))
    );
    assert!(matches!(
        store
            .rotate_refresh_token(
                &acme.id,
                "conformance",
                "r1",
                "r2",
                at(5000),
                grace,
                at(2000)
            )
            .await
            .unwrap(),
        RotationOutcome::Rotated(_)
    ));
}

async fn concurrent_rotations(store: Arc<dyn Store>) {
    let acme = tenant(&*store, "acme").await;
    let ada = account(&*store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    // Several rounds, each on a session of its own, give a double rotation several
    // chances to show.
    for round in 0..8 {
        let session = new_session(&ada, &acme, at(0));
        let shared = format!("shared-{round}");
        sign_in(&*store, &session, &shared).await;
        const RACERS: usize = 6;
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..RACERS {
            let store = store.clone();
            let tenant = acme.id.clone();
            let shared = shared.clone();
            tasks.spawn(async move {
                let outcome = store
                    .rotate_refresh_token(
                        &tenant,
                        "conformance",
                        &shared,
                        &format!("{shared}-next{n}"),
                        at(900),
                        Duration::MINUTE,
                        at(10),
                    )
                    .await
                    .unwrap();
                (n, outcome)
            });
        }
        let mut winners = Vec::new();
        let mut honoured = 0;
        while let Some(joined) = tasks.join_next().await {
            match joined.unwrap() {
                (n, RotationOutcome::Rotated(rotated)) => {
                    assert_eq!(rotated.id, session.id);
                    winners.push(n);
                }
                (_, RotationOutcome::ReissuedInGrace(reissued)) => {
                    assert_eq!(reissued.id, session.id);
                    honoured += 1;
                }
                (n, other) => panic!("{shared}, racer {n}: {other:?}"),
            }
        }
        // The rows lock serialises the racers: one rotates, the others find the token
        // spent moments ago and are honoured within the grace.
        assert_eq!(
            winners.len(),
            1,
            "{shared}: exactly one rotates, not {winners:?}"
        );
        assert_eq!(honoured, RACERS - 1);
        // Every racer's replacement was issued in that one session, and each rotates on.
        for n in 0..RACERS {
            let outcome = store
                .rotate_refresh_token(
                    &acme.id,
                    "conformance",
                    &format!("{shared}-next{n}"),
                    &format!("{shared}-after{n}"),
                    at(1000),
                    Duration::MINUTE,
                    at(20),
                )
                .await
                .unwrap();
            let RotationOutcome::Rotated(rotated) = outcome else {
                panic!("{shared}-next{n}: {outcome:?}");
            };
            assert_eq!(rotated.id, session.id);
            assert!(rotated.is_active(at(20)));
        }
    }
    assert!(
        !actions_logged(&*store, &acme.id)
            .await
            .iter()
            .any(|a| a == actions::REFRESH_REUSE)
    );
}

async fn replacement_expiry_is_capped_by_the_session(store: Arc<dyn Store>, raw: Raw) {
    let store = &*store;
    let acme = tenant(store, "acme").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let mut session = new_session(&ada, &acme, at(0));
    session.expires_at = at(500);
    sign_in(store, &session, "r0").await;
    let grace = Duration::seconds(30);
    let tenant_id = &acme.id;
    let rotate = |presented: &'static str, replacement: &'static str, expires: i64, now: i64| async move {
        store
            .rotate_refresh_token(
                tenant_id,
                "conformance",
                presented,
                replacement,
                at(expires),
                grace,
                at(now),
            )
            .await
            .unwrap()
    };

    // Asked for an expiry past the session's end, the replacement gets the session's.
    assert!(matches!(
        rotate("r0", "r1", 4000, 100).await,
        RotationOutcome::Rotated(_)
    ));
    assert_eq!(raw.refresh_token_expiry("r1").await, Some(at(500)));
    // An earlier expiry is kept as asked.
    assert!(matches!(
        rotate("r1", "r2", 400, 200).await,
        RotationOutcome::Rotated(_)
    ));
    assert_eq!(raw.refresh_token_expiry("r2").await, Some(at(400)));
    assert!(matches!(
        rotate("r2", "r3", 4000, 399).await,
        RotationOutcome::Rotated(_)
    ));
    assert_eq!(raw.refresh_token_expiry("r3").await, Some(at(500)));
    // Up to the session's last moment the replacement rotates; then the session is over.
    assert!(matches!(
        rotate("r3", "r4", 4000, 499).await,
        RotationOutcome::Rotated(_)
    ));
    assert_eq!(raw.refresh_token_expiry("r4").await, Some(at(500)));
    assert_eq!(
        rotate("r4", "r5", 4000, 500).await,
        RotationOutcome::SessionInactive
    );
    assert_eq!(raw.refresh_token_expiry("r5").await, None);
}

// ---- signing keys --------------------------------------------------------------------

async fn signing_key_install_rotate_and_conflict(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    assert!(store.signing_keys(&acme.id).await.unwrap().is_empty());

    let first = signing_key(&acme, at(1));
    store
        .install_signing_key(&first, false, None)
        .await
        .unwrap();
    assert_eq!(
        store.signing_keys(&acme.id).await.unwrap(),
        std::slice::from_ref(&first)
    );
    // Another tenant has its own active slot.
    store
        .install_signing_key(&signing_key(&other, at(1)), false, None)
        .await
        .unwrap();

    let racing = signing_key(&acme, at(2));
    let result = store.install_signing_key(&racing, false, None).await;
    assert_eq!(conflict_on(result), ConflictOn::SigningKey);

    let second = signing_key(&acme, at(3));
    store
        .install_signing_key(
            &second,
            true,
            Some(&event(actions::KEY_ROTATE, Some(&acme.id), at(3))),
        )
        .await
        .unwrap();
    let previous = StoredSigningKey {
        status: SigningKeyStatus::Previous,
        ..first.clone()
    };
    assert_eq!(
        store.signing_keys(&acme.id).await.unwrap(),
        [second.clone(), previous]
    );
    assert_eq!(
        actions_logged(store, &acme.id).await[0],
        actions::KEY_ROTATE
    );

    let third = signing_key(&acme, at(4));
    store.install_signing_key(&third, true, None).await.unwrap();
    let keys = store.signing_keys(&acme.id).await.unwrap();
    let summary: Vec<(SigningKeyId, SigningKeyStatus)> =
        keys.into_iter().map(|k| (k.id, k.status)).collect();
    assert_eq!(
        summary,
        [
            (third.id.clone(), SigningKeyStatus::Active),
            (second.id.clone(), SigningKeyStatus::Previous),
        ],
        "the first key is retired"
    );
    // No audit was asked for this time.
    assert_eq!(
        actions_logged(store, &acme.id)
            .await
            .iter()
            .filter(|a| *a == actions::KEY_ROTATE)
            .count(),
        1
    );
    assert_not_found(
        store
            .install_signing_key(
                &StoredSigningKey {
                    tenant_id: TenantId::generate(),
                    ..signing_key(&acme, at(5))
                },
                true,
                None,
            )
            .await,
    );
}

async fn racing_first_keys(store: Arc<dyn Store>) {
    let acme = tenant(&*store, "acme").await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..4 {
        let store = store.clone();
        let key = signing_key(&acme, at(n));
        tasks.spawn(async move { store.install_signing_key(&key, false, None).await });
    }
    let mut installed = 0;
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(()) => installed += 1,
            Err(StoreError::Conflict(ConflictOn::SigningKey)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(installed, 1);
    assert_eq!(store.signing_keys(&acme.id).await.unwrap().len(), 1);
}

// ---- audit ---------------------------------------------------------------------------

async fn audit_paginates_newest_first(store: &dyn Store) {
    let tenant_id = TenantId::generate();
    let other = TenantId::generate();
    // Seven events, several sharing a timestamp so the id breaks the tie.
    let mut expected = Vec::new();
    for (n, second) in [5, 1, 3, 3, 3, 7, 1].into_iter().enumerate() {
        let mut e = event("test.event", Some(&tenant_id), at(second));
        e.actor = Some(AccountId::generate());
        e.target = Some(format!("target-{n}"));
        e.outcome = if n % 2 == 0 {
            AuditOutcome::Success
        } else {
            AuditOutcome::Failure
        };
        e.detail = json!({ "n": n, "nested": { "list": [1, 2] } });
        store.append_audit(&e).await.unwrap();
        expected.push(e);
    }
    store
        .append_audit(&event("test.event", Some(&other), at(4)))
        .await
        .unwrap();
    store
        .append_audit(&event("test.event", None, at(4)))
        .await
        .unwrap();
    expected.sort_by(|a, b| (b.at, b.id.as_str()).cmp(&(a.at, a.id.as_str())));

    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let result = store.list_audit(&tenant_id, &page(3, after)).await.unwrap();
        pages += 1;
        seen.extend(result.items);
        after = result.next;
        if after.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected);
    let unique: HashSet<&str> = seen.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(unique.len(), 7);
}

async fn malformed_audit_cursor_is_rejected(store: &dyn Store) {
    let tenant_id = TenantId::generate();
    for bad in ["garbage", "12", "x.abc", "12.", ".abc", "1e3.abc"] {
        let result = store
            .list_audit(&tenant_id, &page(3, Some(bad.into())))
            .await;
        assert!(
            matches!(result, Err(StoreError::InvalidCursor)),
            "{bad:?}: {result:?}"
        );
    }
    // A well-formed cursor that matches nothing is simply past the end.
    let result = store
        .list_audit(&tenant_id, &page(3, Some("1700000000000.zzz".into())))
        .await
        .unwrap();
    assert!(result.items.is_empty() && result.next.is_none());
}

// ---- schema --------------------------------------------------------------------------

/// Both migration sets must produce the same tables, columns and named indexes.
#[tokio::test]
async fn migrations_agree_across_backends() {
    let Some(url) = postgres_url() else { return };

    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("schema.db");
    SqliteStore::open(&path).await.unwrap().close().await;
    let mut sqlite = sqlx::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new().filename(&path),
    )
    .await
    .unwrap();
    let sqlite_columns = names(
        sqlx::query(
            "SELECT m.name AS t, c.name AS n FROM sqlite_master m, pragma_table_info(m.name) c \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' AND m.name <> '_sqlx_migrations'",
        )
        .fetch_all(&mut sqlite)
        .await
        .unwrap(),
    );
    let sqlite_indexes = names(
        sqlx::query(
            "SELECT tbl_name AS t, name AS n FROM sqlite_master \
             WHERE type = 'index' AND sql IS NOT NULL",
        )
        .fetch_all(&mut sqlite)
        .await
        .unwrap(),
    );
    sqlite.close().await.unwrap();

    let database = TestDatabase::create(&url).await.unwrap();
    let postgres = async {
        PostgresStore::connect(&database.url).await?.close().await;
        let mut conn = sqlx::PgConnection::connect(&database.url).await?;
        let columns = sqlx::query(
            "SELECT table_name::text AS t, column_name::text AS n FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
        )
        .fetch_all(&mut conn)
        .await?;
        let indexes = sqlx::query(
            "SELECT tablename::text AS t, indexname::text AS n FROM pg_indexes \
             WHERE schemaname = 'public' AND indexname NOT LIKE '%\\_pkey'",
        )
        .fetch_all(&mut conn)
        .await?;
        conn.close().await?;
        Ok::<_, Box<dyn std::error::Error>>((names(columns), names(indexes)))
    }
    .await;
    drop(database);
    let (postgres_columns, postgres_indexes) = postgres.unwrap();

    assert!(sqlite_columns.len() > 40, "{sqlite_columns:?}");
    assert_eq!(sqlite_columns, postgres_columns);
    assert_eq!(sqlite_indexes, postgres_indexes);
}

fn names<R: sqlx::Row>(rows: Vec<R>) -> BTreeSet<(String, String)>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    rows.iter()
        .map(|row| (row.get::<String, _>("t"), row.get::<String, _>("n")))
        .collect()
}

async fn disabling_revokes_sessions_and_a_new_password_unlocks(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let session = new_session(&ada, &acme, at(1));
    sign_in(store, &session, "r0").await;
    let disable = AccountPatch {
        disabled: Some(true),
        ..AccountPatch::default()
    };
    store
        .update_account(
            &ada.id,
            &disable,
            None,
            at(5),
            &event(actions::ACCOUNT_UPDATE, Some(&acme.id), at(5)),
        )
        .await
        .unwrap();
    let revoked = store.session(&session.id).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(at(5)));
    let enable = AccountPatch {
        disabled: Some(false),
        ..AccountPatch::default()
    };
    store
        .update_account(
            &ada.id,
            &enable,
            None,
            at(6),
            &event(actions::ACCOUNT_UPDATE, Some(&acme.id), at(6)),
        )
        .await
        .unwrap();
    assert!(
        !store
            .session(&session.id)
            .await
            .unwrap()
            .unwrap()
            .is_active(at(7))
    );

    // A lock is lifted by a new password.
    let policy = LockoutPolicy::default();
    for i in 0..10 {
        store
            .reserve_login_attempt("account:ada", &policy, at(100 + i * 100))
            .await
            .unwrap();
    }
    assert!(
        store
            .login_throttle("account:ada")
            .await
            .unwrap()
            .locked_until
            .is_some()
    );
    store
        .set_password_hash(
            &ada.id,
            "$argon2id$new",
            None,
            Some("account:ada"),
            at(1200),
            &event(actions::PASSWORD_SET, Some(&acme.id), at(1200)),
        )
        .await
        .unwrap();
    assert_eq!(
        store.login_throttle("account:ada").await.unwrap(),
        LoginThrottle::default()
    );
}

async fn purge_removes_only_what_nothing_can_use(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    // Active session whose first token expired (at 3600).
    let long = new_session(&ada, &acme, at(0));
    sign_in(store, &long, "p1").await;
    // A session revoked long ago.
    let revoked = new_session(&ada, &acme, at(0));
    sign_in(store, &revoked, "p2").await;
    store
        .revoke_session(
            &revoked.id,
            at(100),
            &event(actions::SESSION_REVOKE, Some(&acme.id), at(100)),
        )
        .await
        .unwrap();
    // A fresh session.
    let fresh = new_session(&ada, &acme, at(10_000));
    sign_in(store, &fresh, "p3").await;

    let policy = LockoutPolicy::default();
    store
        .reserve_login_attempt("old-key", &policy, at(0))
        .await
        .unwrap();
    for i in 0..10 {
        store
            .reserve_login_attempt("locked-key", &policy, at(19_000 + i * 40))
            .await
            .unwrap();
    }
    store
        .reserve_login_attempt("fresh-key", &policy, at(20_000))
        .await
        .unwrap();

    for created in [1, 2, 3] {
        store
            .install_signing_key(&signing_key(&acme, at(created)), created > 1, None)
            .await
            .unwrap();
    }

    let cutoffs = PurgeCutoffs {
        sessions_ended_before: at(5_000),
        tokens_expired_before: at(5_000),
        throttles_idle_since: at(10_000),
        pruned_before: at(5_000),
        now: at(20_000),
    };
    let report = store.purge_expired(&cutoffs).await.unwrap();
    assert_eq!(
        report,
        PurgeReport {
            sessions: 1,
            refresh_tokens: 2,
            throttles: 1,
            signing_keys: 1,
            pruned_memberships: 0,
            pruned_accounts: 0,
        }
    );
    assert_eq!(store.session(&revoked.id).await.unwrap(), None);
    assert!(store.session(&long.id).await.unwrap().is_some());
    assert_eq!(
        store
            .rotate_refresh_token(
                &acme.id,
                "conformance",
                "p1",
                "p1b",
                at(30_000),
                Duration::ZERO,
                at(20_000)
            )
            .await
            .unwrap(),
        RotationOutcome::Unknown
    );
    let outcome = store
        .rotate_refresh_token(
            &acme.id,
            "conformance",
            "p3",
            "p3b",
            at(30_000),
            Duration::ZERO,
            at(11_000),
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, RotationOutcome::Rotated(_)),
        "{outcome:?}"
    );
    assert_eq!(
        store.login_throttle("old-key").await.unwrap(),
        LoginThrottle::default()
    );
    assert!(
        store
            .login_throttle("locked-key")
            .await
            .unwrap()
            .locked_until
            .is_some()
    );
    assert_eq!(store.login_throttle("fresh-key").await.unwrap().failures, 1);
    assert_eq!(store.signing_keys(&acme.id).await.unwrap().len(), 2);

    // Nothing more to do the second time.
    assert_eq!(
        store.purge_expired(&cutoffs).await.unwrap(),
        PurgeReport::default()
    );
}

async fn applications_register_list_rotate_and_delete(store: &dyn Store) {
    use latchkey_core::{Application, ClientId, GrantType};
    let acme = tenant(store, "acme").await;
    // Every tenant starts with the public admin-cli.
    let builtin = store
        .application(&acme.id, &ClientId::parse("admin-cli").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(builtin.public && builtin.builtin);
    assert_eq!(
        builtin.grant_types,
        vec![GrantType::Password, GrantType::RefreshToken]
    );

    let svc = Application {
        tenant_id: acme.id.clone(),
        client_id: ClientId::parse("svc").unwrap(),
        public: false,
        secret_hash: Some("hash-1".into()),
        grant_types: vec![GrantType::ClientCredentials],
        redirect_uris: vec!["https://svc.example.com/cb".into()],
        roles: vec!["reports:read".into()],
        access_token_lifetime: Some(600),
        builtin: false,
        created_at: at(1),
    };
    let audit = || event("application.create", Some(&acme.id), at(1));
    store.create_application(&svc, &audit()).await.unwrap();
    assert_eq!(
        store
            .create_application(&svc, &audit())
            .await
            .unwrap_err()
            .to_string(),
        StoreError::Conflict(ConflictOn::Other).to_string()
    );
    let orphan = Application {
        tenant_id: TenantId::generate(),
        ..svc.clone()
    };
    assert_not_found(store.create_application(&orphan, &audit()).await);
    assert_eq!(
        store.application(&acme.id, &svc.client_id).await.unwrap(),
        Some(svc.clone())
    );
    let ids: Vec<_> = store
        .list_applications(&acme.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.client_id.to_string())
        .collect();
    assert_eq!(ids, ["admin-cli", "svc"]);

    store
        .set_application_secret(&acme.id, &svc.client_id, "hash-2", &audit())
        .await
        .unwrap();
    let rotated = store
        .application(&acme.id, &svc.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rotated.secret_hash.as_deref(), Some("hash-2"));
    // Public clients have no secret to set.
    assert_not_found(
        store
            .set_application_secret(&acme.id, &builtin.client_id, "x", &audit())
            .await,
    );

    store
        .delete_application(&acme.id, &svc.client_id, &audit())
        .await
        .unwrap();
    assert_eq!(
        store.application(&acme.id, &svc.client_id).await.unwrap(),
        None
    );
    assert_not_found(
        store
            .delete_application(&acme.id, &svc.client_id, &audit())
            .await,
    );
}

async fn refresh_tokens_name_their_session(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let session = new_session(&ada, &acme, at(0));
    sign_in(store, &session, "t0").await;
    assert_eq!(
        store
            .session_of_refresh_token("t0")
            .await
            .unwrap()
            .map(|s| s.id),
        Some(session.id.clone())
    );
    assert_eq!(store.session_of_refresh_token("nope").await.unwrap(), None);
    // Looking does not rotate: t0 still rotates once.
    let outcome = store
        .rotate_refresh_token(
            &acme.id,
            "conformance",
            "t0",
            "t1",
            at(100),
            Duration::ZERO,
            at(10),
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, RotationOutcome::Rotated(_)),
        "{outcome:?}"
    );
    assert_eq!(
        store
            .session_of_refresh_token("t0")
            .await
            .unwrap()
            .map(|s| s.id),
        Some(session.id)
    );
}

async fn members_are_searched_and_counted(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    for (email, username) in [
        ("ada@example.com", Some("ada.l")),
        ("bob@example.com", None),
        ("carol_x@example.org", Some("cx")),
    ] {
        store
            .create_account(
                &AccountId::generate(),
                &new_account(email, username),
                Some((&acme.id, &RoleName::user())),
                at(0),
                &event(actions::ACCOUNT_CREATE, None, at(0)),
            )
            .await
            .unwrap();
    }
    account(store, "ada@elsewhere.com", Some((&other, "user")), at(0)).await;
    assert_eq!(
        count_matching(store, &acme, MemberFilter::default()).await,
        3
    );
    let search = |text: &str| MemberFilter {
        search: Some(text.into()),
        ..MemberFilter::default()
    };
    assert_eq!(count_matching(store, &acme, search("EXAMPLE.COM")).await, 2);
    assert_eq!(count_matching(store, &acme, search("ada")).await, 1);
    // `_` is a literal underscore, not a wildcard.
    assert_eq!(count_matching(store, &acme, search("l_x")).await, 1);
    assert_eq!(count_matching(store, &acme, search("_")).await, 1);
    let login = |text: &str| MemberFilter {
        login: Some(text.into()),
        ..MemberFilter::default()
    };
    assert_eq!(count_matching(store, &acme, login("ADA.L")).await, 1);
    assert_eq!(
        count_matching(store, &acme, login("bob@example.com")).await,
        1
    );
    assert_eq!(count_matching(store, &acme, login("bob")).await, 0);
    let found = store
        .list_members(&acme.id, &search("x"), &page(10, None))
        .await
        .unwrap();
    let emails: Vec<_> = found
        .items
        .iter()
        .map(|m| m.account.email.as_str().to_owned())
        .collect();
    assert_eq!(
        emails,
        ["ada@example.com", "bob@example.com", "carol_x@example.org"]
    );
}

async fn count_matching(store: &dyn Store, tenant: &Tenant, filter: MemberFilter) -> i64 {
    store.count_members(&tenant.id, &filter).await.unwrap()
}

async fn authorization_codes_are_single_use(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let session = new_session(&ada, &acme, at(0));
    sign_in(store, &session, "first-refresh").await;
    let code = |hash: &str, expires: i64| AuthorizationCode {
        code_hash: hash.into(),
        tenant_id: acme.id.clone(),
        client_id: "spa".into(),
        session_id: session.id.clone(),
        redirect_uri: "https://app.example.com/cb".into(),
        code_challenge: Some("challenge".into()),
        scope: "openid".into(),
        nonce: Some("n".into()),
        created_at: at(0),
        expires_at: at(expires),
    };
    store
        .create_authorization_code(&code("c1", 60))
        .await
        .unwrap();
    store
        .create_authorization_code(&code("c2", 60))
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_authorization_code("nope", at(1))
            .await
            .unwrap(),
        Redemption::Unknown
    );
    assert_eq!(
        store.redeem_authorization_code("c2", at(61)).await.unwrap(),
        Redemption::Expired
    );
    assert_eq!(
        store.redeem_authorization_code("c1", at(1)).await.unwrap(),
        Redemption::Redeemed(Box::new(code("c1", 60)))
    );
    // The session is live: a refresh token can be added, capped at the session's end.
    assert!(
        store
            .add_refresh_token(
                &session.id,
                "from-code",
                at(100_000),
                Some(at(90_000)),
                at(2)
            )
            .await
            .unwrap()
    );
    let extended = store.session(&session.id).await.unwrap().unwrap();
    assert_eq!(extended.expires_at, at(90_000));
    // A session's end is never brought forward.
    assert!(
        store
            .add_refresh_token(&session.id, "second", at(100), Some(at(10)), at(2))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .session(&session.id)
            .await
            .unwrap()
            .unwrap()
            .expires_at,
        at(90_000)
    );
    let outcome = store
        .rotate_refresh_token(
            &acme.id,
            "conformance",
            "from-code",
            "next",
            at(200),
            Duration::ZERO,
            at(3),
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, RotationOutcome::Rotated(_)),
        "{outcome:?}"
    );
    // A second use revokes the session and everything in it.
    assert_eq!(
        store.redeem_authorization_code("c1", at(4)).await.unwrap(),
        Redemption::AlreadyUsed
    );
    assert!(
        !store
            .session(&session.id)
            .await
            .unwrap()
            .unwrap()
            .is_active(at(5))
    );
    assert_eq!(
        store
            .rotate_refresh_token(
                &acme.id,
                "conformance",
                "next",
                "after",
                at(300),
                Duration::ZERO,
                at(5)
            )
            .await
            .unwrap(),
        RotationOutcome::Unknown
    );
    assert!(
        !store
            .add_refresh_token(&session.id, "late", at(400), None, at(6))
            .await
            .unwrap()
    );
}

async fn concurrent_writes_commit_independently(store: Arc<dyn Store>, raw: Raw) {
    let acme = tenant(&*store, "acme").await;
    account(&*store, "taken@example.com", Some((&acme, "user")), at(0)).await;
    let events_before = store
        .list_audit(&acme.id, &PageRequest::new(Some(100), None))
        .await
        .unwrap()
        .items
        .len();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..48 {
        let (store, tenant) = (Arc::clone(&store), acme.id.clone());
        tasks.spawn(async move {
            // Every fourth writer breaks a uniqueness rule; it must fail alone.
            let email = if i % 4 == 0 {
                "taken@example.com".to_owned()
            } else {
                format!("writer-{i}@example.com")
            };
            let role = RoleName::parse("user").unwrap();
            let result = store
                .create_account(
                    &AccountId::generate(),
                    &new_account(&email, None),
                    Some((&tenant, &role)),
                    at(1),
                    &event(actions::ACCOUNT_CREATE, Some(&tenant), at(1)),
                )
                .await;
            (email, result)
        });
    }
    let mut created = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (email, result) = done.unwrap();
        match result {
            Ok(_) => created.push(email),
            Err(StoreError::Conflict(ConflictOn::Email)) => {
                assert_eq!(email, "taken@example.com");
            }
            Err(other) => panic!("{email}: unexpected {other:?}"),
        }
    }
    assert_eq!(created.len(), 36);
    // Acknowledged means committed: a separate connection sees every one of them.
    let observer: Arc<dyn Store> = match &raw {
        Raw::Sqlite(path) => Arc::new(SqliteStore::open(path).await.unwrap()),
        Raw::Postgres(url) => Arc::new(PostgresStore::connect(url).await.unwrap()),
    };
    for email in &created {
        assert!(
            observer.account_by_login(email).await.unwrap().is_some(),
            "{email} was acknowledged but is not visible"
        );
    }
    let events = observer
        .list_audit(&acme.id, &PageRequest::new(Some(100), None))
        .await
        .unwrap();
    assert_eq!(
        events.items.len(),
        events_before + 36,
        "one event per successful write, none for failures"
    );
}
