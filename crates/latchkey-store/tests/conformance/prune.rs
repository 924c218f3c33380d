//! Dormant-account prune: batches that move members to tombstones, restore, purge.

use std::collections::BTreeSet;

use latchkey_core::audit::actions;
use latchkey_core::terms::{TermsAcceptance, TermsVersion};
use latchkey_core::{
    Account, AccountId, Group, GroupId, GroupName, NewImportedAccount, Project, ProjectId,
    ProjectRole, RoleName, Tenant,
};
use latchkey_store::{
    ConflictOn, MemberFilter, ProjectMemberRef, PruneBatch, PurgeCutoffs, Store, StoreError,
    StoredExternalAuth,
};

use super::{account, actions_logged, at, event, new_account, new_session, page, sign_in, tenant};

/// Accounts created at 100 s; the prune's date is 1,000 s.
const DATE: i64 = 1_000;

async fn prune(
    store: &dyn Store,
    tenant: &Tenant,
    filter: &MemberFilter,
    after: Option<&str>,
    limit: u32,
) -> PruneBatch {
    store
        .prune_members(
            &tenant.id,
            filter,
            after,
            limit,
            &AccountId::generate(),
            at(2_000),
            &event(actions::ACCOUNT_PRUNE, Some(&tenant.id), at(2_000)),
        )
        .await
        .unwrap()
}

/// Prunes batch after batch until a batch comes back short; returns how many went.
async fn prune_all(store: &dyn Store, tenant: &Tenant, filter: &MemberFilter, limit: u32) -> u64 {
    let mut pruned = 0;
    let mut after = None;
    loop {
        let batch = prune(store, tenant, filter, after.as_deref(), limit).await;
        pruned += batch.pruned;
        if batch.pruned < u64::from(limit) {
            return pruned;
        }
        after = batch.last_key;
    }
}

/// The emails of every member `filter` lists, page by page.
async fn listed(store: &dyn Store, tenant: &Tenant, filter: &MemberFilter) -> BTreeSet<String> {
    let mut emails = BTreeSet::new();
    let mut after = None;
    loop {
        let found = store
            .list_members(&tenant.id, filter, &page(2, after))
            .await
            .unwrap();
        emails.extend(
            found
                .items
                .iter()
                .map(|m| m.account.email.as_str().to_owned()),
        );
        match found.next {
            Some(next) => after = Some(next),
            None => return emails,
        }
    }
}

async fn restore(store: &dyn Store, tenant: &Tenant, ids: &[AccountId]) -> Result<u64, StoreError> {
    store
        .restore_pruned(
            &tenant.id,
            ids,
            at(1_500),
            &event(actions::ACCOUNT_RESTORE, Some(&tenant.id), at(3_000)),
        )
        .await
}

async fn role_in(store: &dyn Store, tenant: &Tenant, account: &Account) -> Option<String> {
    store
        .membership(&tenant.id, &account.id)
        .await
        .unwrap()
        .map(|m| m.role.to_string())
}

pub(crate) async fn prune_selects_what_the_dry_run_lists_and_restore_undoes_it(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    let created = at(100);
    let caller = account(store, "caller@acme.test", Some((&acme, "admin")), created).await;
    let admin = account(store, "admin@acme.test", Some((&acme, "admin")), created).await;
    let mut platform = new_account("platform@acme.test", None);
    platform.platform_admin = true;
    let platform = store
        .create_account(
            &AccountId::generate(),
            &platform,
            Some((&acme.id, &RoleName::user())),
            created,
            &event(actions::ACCOUNT_CREATE, None, created),
        )
        .await
        .unwrap();
    let active = account(store, "active@acme.test", Some((&acme, "user")), created).await;
    sign_in(
        store,
        &new_session(&active, &acme, at(DATE)),
        "active-token",
    )
    .await;
    let newcomer = account(
        store,
        "newcomer@acme.test",
        Some((&acme, "user")),
        at(DATE + 1),
    )
    .await;
    let dormant = account(store, "dormant@acme.test", Some((&acme, "reader")), created).await;
    let lapsed = account(store, "lapsed@acme.test", Some((&acme, "user")), created).await;
    let lapsed_session = new_session(&lapsed, &acme, at(DATE - 1));
    sign_in(store, &lapsed_session, "lapsed-token").await;
    let shared = account(store, "shared@acme.test", Some((&acme, "user")), created).await;
    store
        .put_membership(
            &other.id,
            &shared.id,
            &RoleName::user(),
            created,
            &event(actions::ACCOUNT_UPDATE, None, created),
        )
        .await
        .unwrap();

    // The dormant account accepted the tenant's terms: the acceptance survives the
    // account's prune and restore.
    let terms = store
        .publish_terms(
            &TermsVersion {
                tenant_id: acme.id.clone(),
                version: 1,
                public_url: "https://acme.test/terms/1".into(),
                enforce_date: created,
                created_at: created,
            },
            &event(actions::TERMS_PUBLISH, Some(&acme.id), created),
        )
        .await
        .unwrap();
    let acceptance = TermsAcceptance {
        tenant_id: acme.id.clone(),
        account_id: dormant.id.clone(),
        version: terms.version,
        accepted_at: created,
    };
    assert!(
        store
            .accept_terms(
                &acceptance,
                &event(actions::TERMS_ACCEPT, Some(&acme.id), created)
            )
            .await
            .unwrap()
    );

    // A tenant administrator: no admins, no accounts shared with other tenants.
    let narrow = MemberFilter::dormant(at(DATE), &caller.id, false, false);
    let expected: BTreeSet<String> = ["dormant@acme.test", "lapsed@acme.test"]
        .map(String::from)
        .into();
    assert_eq!(listed(store, &acme, &narrow).await, expected);
    assert_eq!(store.count_members(&acme.id, &narrow).await.unwrap(), 2);
    // A platform administrator including admins: the caller and platform admins still stay.
    let wide = MemberFilter::dormant(at(DATE), &caller.id, true, true);
    let expected_wide: BTreeSet<String> = [
        "admin@acme.test",
        "dormant@acme.test",
        "lapsed@acme.test",
        "shared@acme.test",
    ]
    .map(String::from)
    .into();
    assert_eq!(listed(store, &acme, &wide).await, expected_wide);

    // The real run (batches of one) removes exactly what the dry run listed.
    let everyone_before = listed(store, &acme, &MemberFilter::default()).await;
    assert_eq!(prune_all(store, &acme, &wide, 1).await, 4);
    let everyone_after = listed(store, &acme, &MemberFilter::default()).await;
    let removed: BTreeSet<String> = everyone_before
        .difference(&everyone_after)
        .cloned()
        .collect();
    assert_eq!(removed, expected_wide);
    for kept in [&caller, &platform, &active, &newcomer] {
        assert!(
            role_in(store, &acme, kept).await.is_some(),
            "{}",
            kept.email.as_str()
        );
    }
    // Accounts without any membership left are gone from sign-in; the shared one stays.
    assert!(
        store
            .account_by_login("dormant@acme.test")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.account_by_id(&lapsed.id).await.unwrap().is_none());
    assert_eq!(
        role_in(store, &other, &shared).await.as_deref(),
        Some("user")
    );
    assert!(
        store
            .account_by_login("shared@acme.test")
            .await
            .unwrap()
            .is_some()
    );
    // One audit event per account.
    let pruned_events = actions_logged(store, &acme.id)
        .await
        .into_iter()
        .filter(|a| a == actions::ACCOUNT_PRUNE)
        .count();
    assert_eq!(pruned_events, 4);
    // A second run finds nothing.
    assert_eq!(
        prune(store, &acme, &wide, None, 10).await,
        PruneBatch::default()
    );

    // Restore: account and membership with its role come back.
    assert_eq!(
        restore(
            store,
            &acme,
            &[dormant.id.clone(), shared.id.clone(), admin.id.clone()]
        )
        .await
        .unwrap(),
        3
    );
    assert_eq!(
        role_in(store, &acme, &dormant).await.as_deref(),
        Some("reader")
    );
    assert_eq!(
        role_in(store, &acme, &admin).await.as_deref(),
        Some("admin")
    );
    assert_eq!(
        role_in(store, &acme, &shared).await.as_deref(),
        Some("user")
    );
    let back = store
        .account_by_login("DORMANT@acme.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.account, dormant);
    assert_eq!(
        store.accepted_terms(&acme.id, &dormant.id).await.unwrap(),
        vec![acceptance]
    );
    assert_eq!(back.password_hash.as_deref(), Some("$argon2id$original"));
    // Restoring twice, or what was never pruned: not found, nothing written.
    assert!(matches!(
        restore(store, &acme, std::slice::from_ref(&dormant.id)).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        restore(store, &acme, std::slice::from_ref(&active.id)).await,
        Err(StoreError::NotFound)
    ));

    // The email was registered again meanwhile: a conflict, and all or none.
    let taken = account(store, "LAPSED@acme.test", Some((&other, "user")), at(2_500)).await;
    let conflict = restore(store, &acme, std::slice::from_ref(&lapsed.id)).await;
    assert!(
        matches!(conflict, Err(StoreError::Conflict(ConflictOn::Email))),
        "{conflict:?}"
    );
    store
        .delete_account(&taken.id, &event(actions::ACCOUNT_DELETE, None, at(2_600)))
        .await
        .unwrap();

    // Purge after the retention: the tombstones go for good.
    let purge = |before| PurgeCutoffs {
        sessions_ended_before: at(0),
        tokens_expired_before: at(0),
        throttles_idle_since: at(0),
        pruned_before: before,
        now: at(10_000),
    };
    let early = store.purge_expired(&purge(at(2_000))).await.unwrap();
    assert_eq!((early.pruned_memberships, early.pruned_accounts), (0, 0));
    let report = store.purge_expired(&purge(at(2_001))).await.unwrap();
    assert_eq!((report.pruned_memberships, report.pruned_accounts), (1, 1));
    assert!(matches!(
        restore(store, &acme, std::slice::from_ref(&lapsed.id)).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .account_by_login("lapsed@acme.test")
            .await
            .unwrap()
            .is_none()
    );
}

/// `count` members `u{i}@bulk.test`, created at 100 s, never signed in.
async fn seed(store: &dyn Store, tenant: &Tenant, count: usize) {
    let accounts: Vec<NewImportedAccount> = (0..count)
        .map(|i| NewImportedAccount {
            id: AccountId::generate(),
            account: new_account(&format!("u{i:06}@bulk.test"), None),
            role: RoleName::user(),
            disabled: false,
        })
        .collect();
    for chunk in accounts.chunks(10_000) {
        store
            .import_accounts(
                &tenant.id,
                chunk,
                at(100),
                &event(actions::ACCOUNT_IMPORT, Some(&tenant.id), at(100)),
            )
            .await
            .unwrap();
    }
}

pub(crate) async fn an_interrupted_prune_of_100_000_completes_when_run_again(store: &dyn Store) {
    let bulk = tenant(store, "bulk").await;
    seed(store, &bulk, 100_000).await;
    let filter = MemberFilter::dormant(at(DATE), &AccountId::generate(), false, false);
    assert_eq!(
        store.count_members(&bulk.id, &filter).await.unwrap(),
        100_000
    );

    // Ten batches, then the run stops (the CLI was interrupted).
    let mut after = None;
    for _ in 0..10 {
        let batch = prune(store, &bulk, &filter, after.as_deref(), 1_000).await;
        assert_eq!(batch.pruned, 1_000);
        assert_eq!(batch.accounts_removed, 1_000);
        after = batch.last_key;
    }
    assert_eq!(
        store.count_members(&bulk.id, &filter).await.unwrap(),
        90_000
    );
    // A new run starts from scratch with the same criteria and finishes the job.
    assert_eq!(prune_all(store, &bulk, &filter, 1_000).await, 90_000);
    assert_eq!(
        store
            .count_members(&bulk.id, &MemberFilter::default())
            .await
            .unwrap(),
        0
    );
    assert!(
        store
            .account_by_login("u099999@bulk.test")
            .await
            .unwrap()
            .is_none()
    );
}

/// A pruned member's groups and projects, and a pruned account's external
/// authentications, wait beside their tombstones and come back with a restore; a group
/// deleted meanwhile is simply not returned to.
pub(crate) async fn prune_keeps_groups_projects_and_external_authentications(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let created = at(100);
    let dormant = account(store, "dormant@acme.test", Some((&acme, "user")), created).await;
    let ev = || event(actions::ACCOUNT_UPDATE, Some(&acme.id), created);
    let group = |name: &str| Group {
        id: GroupId::generate(),
        tenant_id: acme.id.clone(),
        name: GroupName::parse(name).unwrap(),
        created_at: created,
    };
    let kept = store
        .create_group(&group("kept"), std::slice::from_ref(&dormant.id), &ev())
        .await
        .unwrap();
    let doomed = store
        .create_group(&group("doomed"), std::slice::from_ref(&dormant.id), &ev())
        .await
        .unwrap();
    let project = store
        .create_project(
            &Project {
                id: ProjectId::generate(),
                tenant_id: acme.id.clone(),
                title: "Atlas".into(),
                description: String::new(),
                owner_id: None,
                created_at: created,
            },
            created,
            &ev(),
        )
        .await
        .unwrap();
    store
        .add_project_member(
            &acme.id,
            &project.id,
            &ProjectMemberRef::User(dormant.id.clone()),
            ProjectRole::Admin,
            created,
            &ev(),
        )
        .await
        .unwrap();
    let identity = StoredExternalAuth {
        tenant_id: acme.id.clone(),
        account_id: dormant.id.clone(),
        service: "salesforce".into(),
        service_user: "sf-7".into(),
        sealed_access_token: vec![9, 8, 7],
        access_token_expires: Some(at(5_000)),
        sealed_access_secret: Some(vec![6, 5]),
        access_secret_expires: None,
        display_name: Some("SF".into()),
        state: Some("ok".into()),
        created_at: created,
        updated_at: created,
    };
    assert!(store.put_external_auth(&identity, &ev()).await.unwrap());

    let all = MemberFilter::dormant(at(DATE), &AccountId::generate(), false, true);
    assert_eq!(prune_all(store, &acme, &all, 10).await, 1);
    assert!(
        store
            .groups_of(&acme.id, &dormant.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .project_members(&acme.id, &project.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .external_auth(&acme.id, &dormant.id, "salesforce")
            .await
            .unwrap(),
        None
    );

    store
        .delete_group(&acme.id, &doomed.id, &ev())
        .await
        .unwrap();
    assert_eq!(
        restore(store, &acme, std::slice::from_ref(&dormant.id))
            .await
            .unwrap(),
        1
    );
    let groups: Vec<GroupId> = store
        .groups_of(&acme.id, &dormant.id)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(groups, vec![kept.id.clone()]);
    let members = store.project_members(&acme.id, &project.id).await.unwrap();
    assert_eq!(members.len(), 1, "{members:?}");
    assert_eq!(members[0].role, ProjectRole::Admin);
    assert_eq!(members[0].member.member_id(), dormant.id.as_str());
    assert_eq!(
        store
            .external_auth(&acme.id, &dormant.id, "salesforce")
            .await
            .unwrap(),
        Some(identity.clone())
    );

    // Pruned again, and meanwhile another account takes the external identity: the
    // restore brings the account back without it (the identity stays with its holder).
    assert_eq!(prune_all(store, &acme, &all, 10).await, 1);
    let taker = account(
        store,
        "taker@acme.test",
        Some((&acme, "user")),
        at(DATE + 5),
    )
    .await;
    let taken = StoredExternalAuth {
        account_id: taker.id.clone(),
        ..identity.clone()
    };
    assert!(store.put_external_auth(&taken, &ev()).await.unwrap());
    assert_eq!(
        restore(store, &acme, std::slice::from_ref(&dormant.id))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .external_auth(&acme.id, &dormant.id, "salesforce")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .external_auth_by_identity(&acme.id, "salesforce", "sf-7")
            .await
            .unwrap()
            .map(|a| a.account_id),
        Some(taker.id)
    );
    assert_eq!(
        store.groups_of(&acme.id, &dormant.id).await.unwrap().len(),
        1
    );
}
