//! Enrolment tokens in the store: bound to an account and one of its tenants, found only
//! until they expire, deleted together, gone with their account or tenant, purged once
//! expired.

use latchkey_core::audit::actions;
use latchkey_core::{AuditOutcome, PageRequest};
use latchkey_store::{PurgeCutoffs, Store, StoreError};

use super::{account, at, event, run, tenant};

#[tokio::test]
async fn enrolment_tokens_are_bound_expire_and_are_deleted_together() {
    run(|store| async move { enrolment_tokens(&*store).await }).await;
}

#[tokio::test]
async fn enrolment_tokens_go_with_their_tenant_and_are_purged_once_expired() {
    run(|store| async move { enrolment_token_lifetime(&*store).await }).await;
}

fn issued(tenant: &latchkey_core::TenantId) -> latchkey_core::AuditEvent {
    let mut issued = event(actions::SIGN_IN, Some(tenant), at(10));
    issued.outcome = AuditOutcome::Failure;
    issued
}

async fn enrolment_tokens(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let beta = tenant(store, "beta").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let bob = account(store, "bob@example.com", Some((&acme, "user")), at(0)).await;

    for hash in ["ada-1", "ada-2"] {
        store
            .create_mfa_enrolment_token(hash, &ada.id, &acme.id, at(610), at(10), &issued(&acme.id))
            .await
            .unwrap();
    }
    store
        .create_mfa_enrolment_token(
            "bob-1",
            &bob.id,
            &acme.id,
            at(610),
            at(10),
            &issued(&acme.id),
        )
        .await
        .unwrap();
    // Only for a member of the tenant: nothing is written otherwise.
    let stranger = store
        .create_mfa_enrolment_token(
            "ada-beta",
            &ada.id,
            &beta.id,
            at(610),
            at(10),
            &issued(&beta.id),
        )
        .await;
    assert!(
        matches!(stranger, Err(StoreError::NotFound)),
        "{stranger:?}"
    );
    assert_eq!(
        store.mfa_enrolment_token("ada-beta", at(11)).await.unwrap(),
        None
    );

    // Found by hash until it expires, with its account and tenant.
    assert_eq!(
        store.mfa_enrolment_token("ada-1", at(11)).await.unwrap(),
        Some((ada.id.clone(), acme.id.clone()))
    );
    assert_eq!(
        store.mfa_enrolment_token("ada-1", at(609)).await.unwrap(),
        Some((ada.id.clone(), acme.id.clone()))
    );
    assert_eq!(
        store.mfa_enrolment_token("ada-1", at(610)).await.unwrap(),
        None
    );
    assert_eq!(
        store.mfa_enrolment_token("unknown", at(11)).await.unwrap(),
        None
    );

    // Deleting an account's tokens leaves the others'.
    assert_eq!(store.delete_mfa_enrolment_tokens(&ada.id).await.unwrap(), 2);
    assert_eq!(
        store.mfa_enrolment_token("ada-1", at(11)).await.unwrap(),
        None
    );
    assert_eq!(
        store.mfa_enrolment_token("ada-2", at(11)).await.unwrap(),
        None
    );
    assert_eq!(
        store.mfa_enrolment_token("bob-1", at(11)).await.unwrap(),
        Some((bob.id.clone(), acme.id.clone()))
    );
    assert_eq!(store.delete_mfa_enrolment_tokens(&ada.id).await.unwrap(), 0);

    // A new password ends the tokens earned with the old one.
    store
        .set_password_hash(
            &bob.id,
            "$argon2id$new",
            None,
            None,
            at(20),
            &event(actions::PASSWORD_CHANGE, Some(&acme.id), at(20)),
        )
        .await
        .unwrap();
    assert_eq!(
        store.mfa_enrolment_token("bob-1", at(21)).await.unwrap(),
        None
    );

    // Each issued token was audited in its transaction; the refused one was not.
    let log = store
        .list_audit(&acme.id, &PageRequest::new(Some(50), None))
        .await
        .unwrap();
    let issued_events = log
        .items
        .iter()
        .filter(|e| e.action == actions::SIGN_IN && e.outcome == AuditOutcome::Failure)
        .count();
    assert_eq!(issued_events, 3);
    let beta_log = store
        .list_audit(&beta.id, &PageRequest::new(Some(50), None))
        .await
        .unwrap();
    assert!(beta_log.items.iter().all(|e| e.action != actions::SIGN_IN));

    // Confirming an authenticator spends the account's tokens in the same transaction.
    store
        .create_mfa_enrolment_token(
            "ada-3",
            &ada.id,
            &acme.id,
            at(610),
            at(30),
            &issued(&acme.id),
        )
        .await
        .unwrap();
    store
        .begin_mfa_enrolment(
            &ada.id,
            b"sealed",
            &[],
            at(31),
            &event(actions::MFA_ENROL, Some(&acme.id), at(31)),
        )
        .await
        .unwrap();
    assert!(
        store
            .confirm_mfa_enrolment(
                &ada.id,
                7,
                at(32),
                None,
                &event(actions::MFA_CONFIRM, Some(&acme.id), at(32)),
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.mfa_enrolment_token("ada-3", at(33)).await.unwrap(),
        None
    );
}

async fn enrolment_token_lifetime(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let beta = tenant(store, "beta").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    store
        .put_membership(
            &beta.id,
            &ada.id,
            &latchkey_core::RoleName::parse("user").unwrap(),
            at(1),
            &event(actions::ACCOUNT_UPDATE, Some(&beta.id), at(1)),
        )
        .await
        .unwrap();
    store
        .create_mfa_enrolment_token(
            "acme-old",
            &ada.id,
            &acme.id,
            at(100),
            at(10),
            &issued(&acme.id),
        )
        .await
        .unwrap();
    store
        .create_mfa_enrolment_token(
            "acme-new",
            &ada.id,
            &acme.id,
            at(900),
            at(300),
            &issued(&acme.id),
        )
        .await
        .unwrap();
    store
        .create_mfa_enrolment_token(
            "beta",
            &ada.id,
            &beta.id,
            at(900),
            at(300),
            &issued(&beta.id),
        )
        .await
        .unwrap();

    // Housekeeping deletes the expired one only.
    store
        .purge_expired(&PurgeCutoffs {
            sessions_ended_before: at(500),
            tokens_expired_before: at(500),
            throttles_idle_since: at(500),
            pruned_before: at(500),
            now: at(500),
        })
        .await
        .unwrap();
    // (Looked up at a time before its expiry: gone, not merely expired.)
    assert_eq!(
        store.mfa_enrolment_token("acme-old", at(50)).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .mfa_enrolment_token("acme-new", at(500))
            .await
            .unwrap(),
        Some((ada.id.clone(), acme.id.clone()))
    );

    // A deleted tenant takes its tokens along; the account's others stay.
    store
        .delete_tenant(&acme.id, &event(actions::TENANT_DELETE, None, at(600)))
        .await
        .unwrap();
    assert_eq!(
        store
            .mfa_enrolment_token("acme-new", at(600))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.mfa_enrolment_token("beta", at(600)).await.unwrap(),
        Some((ada.id.clone(), beta.id.clone()))
    );

    // A deleted account takes its tokens along.
    store
        .delete_account(&ada.id, &event(actions::ACCOUNT_DELETE, None, at(700)))
        .await
        .unwrap();
    assert_eq!(
        store.mfa_enrolment_token("beta", at(700)).await.unwrap(),
        None
    );
}
