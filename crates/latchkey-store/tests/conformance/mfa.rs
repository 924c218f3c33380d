//! Multi-factor authentication in the store: enrolment, the once-only rule for time
//! steps (also when callers race), single-use recovery codes, removal.

use std::sync::Arc;

use latchkey_core::AccountId;
use latchkey_core::audit::actions;
use latchkey_store::{ConflictOn, Store, StoreError};

use super::{account, at, event, run, tenant};

const SEALED: &[u8] = b"nonce-and-ciphertext";

fn hashes(prefix: &str) -> Vec<String> {
    (0..10).map(|i| format!("{prefix}-hash-{i:02}")).collect()
}

#[tokio::test]
async fn enrolment_is_pending_until_confirmed() {
    run(|store| async move { enrolment(&*store).await }).await;
}

#[tokio::test]
async fn a_time_step_is_accepted_once_and_only_forwards() {
    run(|store| async move { steps_only_move_forwards(&*store).await }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_acceptances_of_one_step_let_one_win() {
    run(concurrent_acceptances).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recovery_codes_are_single_use_even_when_raced() {
    run(recovery_codes_single_use).await;
}

#[tokio::test]
async fn removing_mfa_drops_codes_and_clears_the_throttle() {
    run(|store| async move { removal(&*store).await }).await;
}

async fn enrolment(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    assert_eq!(store.account_mfa(&ada.id).await.unwrap(), None);
    store
        .begin_mfa_enrolment(
            &ada.id,
            SEALED,
            &hashes("a"),
            at(1),
            &event(actions::MFA_ENROL, Some(&acme.id), at(1)),
        )
        .await
        .unwrap();
    let pending = store.account_mfa(&ada.id).await.unwrap().unwrap();
    assert!(!pending.is_active());
    assert_eq!(pending.sealed_secret, SEALED);
    assert_eq!(pending.created_at, at(1));
    assert_eq!(pending.unused_recovery_codes, hashes("a"));
    // A pending enrolment accepts no step: there is nothing to sign in with yet.
    assert!(!store.accept_totp_step(&ada.id, 100).await.unwrap());

    // Enrolling again replaces a pending enrolment with its codes.
    store
        .begin_mfa_enrolment(
            &ada.id,
            b"other",
            &hashes("b"),
            at(2),
            &event(actions::MFA_ENROL, Some(&acme.id), at(2)),
        )
        .await
        .unwrap();
    let replaced = store.account_mfa(&ada.id).await.unwrap().unwrap();
    assert_eq!(replaced.sealed_secret, b"other");
    assert_eq!(replaced.unused_recovery_codes, hashes("b"));
    // A pending authenticator is not an active one.
    assert!(
        store
            .accounts_with_active_mfa(std::slice::from_ref(&ada.id))
            .await
            .unwrap()
            .is_empty()
    );

    // A failed confirmation counted on the account's throttle; confirming clears it.
    let throttle_key = "account:ada";
    store
        .reserve_login_attempt(
            throttle_key,
            &latchkey_core::lockout::LockoutPolicy::default(),
            at(2),
        )
        .await
        .unwrap();
    assert_eq!(
        store.login_throttle(throttle_key).await.unwrap().failures,
        1
    );
    assert!(
        store
            .confirm_mfa_enrolment(
                &ada.id,
                100,
                at(3),
                Some(throttle_key),
                &event(actions::MFA_CONFIRM, Some(&acme.id), at(3))
            )
            .await
            .unwrap()
    );
    let active = store.account_mfa(&ada.id).await.unwrap().unwrap();
    assert!(active.is_active());
    let stranger = AccountId::generate();
    assert_eq!(
        store
            .accounts_with_active_mfa(&[stranger, ada.id.clone()])
            .await
            .unwrap(),
        std::collections::HashSet::from([ada.id.clone()])
    );
    assert!(
        store
            .accounts_with_active_mfa(&[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(active.confirmed_at, Some(at(3)));
    assert_eq!(active.last_step, Some(100));
    assert_eq!(
        store.login_throttle(throttle_key).await.unwrap().failures,
        0
    );
    // Nothing pending any more.
    assert!(
        !store
            .confirm_mfa_enrolment(
                &ada.id,
                101,
                at(4),
                None,
                &event(actions::MFA_CONFIRM, Some(&acme.id), at(4))
            )
            .await
            .unwrap()
    );
    // An active authenticator is not replaced by a new enrolment.
    let again = store
        .begin_mfa_enrolment(
            &ada.id,
            SEALED,
            &hashes("c"),
            at(5),
            &event(actions::MFA_ENROL, Some(&acme.id), at(5)),
        )
        .await;
    assert!(matches!(
        again,
        Err(StoreError::Conflict(ConflictOn::Other))
    ));
    assert_eq!(
        store.account_mfa(&ada.id).await.unwrap().unwrap(),
        active,
        "the refused enrolment changed nothing"
    );
    let unknown = store
        .begin_mfa_enrolment(
            &latchkey_core::AccountId::generate(),
            SEALED,
            &hashes("d"),
            at(5),
            &event(actions::MFA_ENROL, None, at(5)),
        )
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)));
    // Enrolment and confirmation were audited in their transactions.
    let log = store
        .list_audit(&acme.id, &latchkey_core::PageRequest::new(Some(50), None))
        .await
        .unwrap();
    let actions_logged: Vec<&str> = log
        .items
        .iter()
        .map(|e| e.action.as_str())
        .filter(|a| a.starts_with("mfa."))
        .collect();
    assert_eq!(
        actions_logged,
        [actions::MFA_CONFIRM, actions::MFA_ENROL, actions::MFA_ENROL]
    );
}

async fn active_mfa(store: &dyn Store, email: &str) -> latchkey_core::AccountId {
    let ada = account(store, email, None, at(0)).await;
    store
        .begin_mfa_enrolment(
            &ada.id,
            SEALED,
            &hashes(email),
            at(1),
            &event(actions::MFA_ENROL, None, at(1)),
        )
        .await
        .unwrap();
    assert!(
        store
            .confirm_mfa_enrolment(
                &ada.id,
                100,
                at(2),
                None,
                &event(actions::MFA_CONFIRM, None, at(2))
            )
            .await
            .unwrap()
    );
    ada.id
}

async fn steps_only_move_forwards(store: &dyn Store) {
    let ada = active_mfa(store, "ada@example.com").await;
    assert!(
        !store.accept_totp_step(&ada, 100).await.unwrap(),
        "the confirming code's step is spent"
    );
    assert!(store.accept_totp_step(&ada, 101).await.unwrap());
    assert!(!store.accept_totp_step(&ada, 101).await.unwrap(), "replay");
    assert!(
        !store.accept_totp_step(&ada, 99).await.unwrap(),
        "older step"
    );
    assert!(store.accept_totp_step(&ada, 103).await.unwrap());
    assert!(!store.accept_totp_step(&ada, 102).await.unwrap());
    assert_eq!(
        store.account_mfa(&ada).await.unwrap().unwrap().last_step,
        Some(103)
    );
    // Another account's steps are its own.
    let bob = active_mfa(store, "bob@example.com").await;
    assert!(store.accept_totp_step(&bob, 101).await.unwrap());
    // No authenticator, nothing accepted.
    let carol = account(store, "carol@example.com", None, at(0)).await;
    assert!(!store.accept_totp_step(&carol.id, 500).await.unwrap());
}

async fn concurrent_acceptances(store: Arc<dyn Store>) {
    let ada = active_mfa(&*store, "ada@example.com").await;
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            let ada = ada.clone();
            tokio::spawn(async move { store.accept_totp_step(&ada, 200).await.unwrap() })
        })
        .collect();
    let mut accepted = 0;
    for attempt in attempts {
        accepted += usize::from(attempt.await.unwrap());
    }
    assert_eq!(accepted, 1, "exactly one of the racing acceptances wins");
}

async fn recovery_codes_single_use(store: Arc<dyn Store>) {
    let ada = active_mfa(&*store, "ada@example.com").await;
    let code = hashes("ada@example.com")[4].clone();
    let attempts: Vec<_> = (0..6)
        .map(|_| {
            let store = Arc::clone(&store);
            let ada = ada.clone();
            let code = code.clone();
            tokio::spawn(async move {
                store
                    .use_recovery_code(
                        &ada,
                        &code,
                        at(10),
                        &event(actions::MFA_RECOVERY_CODE_USE, None, at(10)),
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut spent = 0;
    for attempt in attempts {
        spent += usize::from(attempt.await.unwrap());
    }
    assert_eq!(spent, 1);
    let mfa = store.account_mfa(&ada).await.unwrap().unwrap();
    assert_eq!(mfa.unused_recovery_codes.len(), 9);
    assert!(!mfa.unused_recovery_codes.contains(&code));
    assert!(
        !store
            .use_recovery_code(
                &ada,
                "no-such-hash",
                at(11),
                &event(actions::MFA_RECOVERY_CODE_USE, None, at(11))
            )
            .await
            .unwrap()
    );
    // Codes belong to their account.
    let bob = active_mfa(&*store, "bob@example.com").await;
    let adas_other_code = &hashes("ada@example.com")[5];
    assert!(
        !store
            .use_recovery_code(
                &bob,
                adas_other_code,
                at(12),
                &event(actions::MFA_RECOVERY_CODE_USE, None, at(12))
            )
            .await
            .unwrap()
    );
}

async fn removal(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let ada = active_mfa(store, "ada@example.com").await;
    let throttle = format!("account:{ada}");
    let policy = latchkey_core::LockoutPolicy::default();
    store
        .reserve_login_attempt(&throttle, &policy, at(3))
        .await
        .unwrap();
    assert_eq!(store.login_throttle(&throttle).await.unwrap().failures, 1);
    assert!(
        store
            .remove_mfa(
                &ada,
                Some(&throttle),
                &event(actions::MFA_RESET, Some(&acme.id), at(4))
            )
            .await
            .unwrap()
    );
    assert_eq!(store.account_mfa(&ada).await.unwrap(), None);
    assert_eq!(store.login_throttle(&throttle).await.unwrap().failures, 0);
    assert!(
        !store
            .remove_mfa(
                &ada,
                None,
                &event(actions::MFA_RESET, Some(&acme.id), at(5))
            )
            .await
            .unwrap(),
        "nothing left to remove"
    );
    // Enrolling afterwards starts from scratch, with the new codes only.
    store
        .begin_mfa_enrolment(
            &ada,
            SEALED,
            &hashes("fresh"),
            at(6),
            &event(actions::MFA_ENROL, None, at(6)),
        )
        .await
        .unwrap();
    let fresh = store.account_mfa(&ada).await.unwrap().unwrap();
    assert_eq!(fresh.unused_recovery_codes, hashes("fresh"));
    assert_eq!(fresh.last_step, None);
    // Deleting the account takes its authenticator along.
    store
        .delete_account(&ada, &event(actions::ACCOUNT_DELETE, None, at(7)))
        .await
        .unwrap();
    assert_eq!(store.account_mfa(&ada).await.unwrap(), None);
    let log = store
        .list_audit(&acme.id, &latchkey_core::PageRequest::new(Some(50), None))
        .await
        .unwrap();
    let resets = log
        .items
        .iter()
        .filter(|e| e.action == actions::MFA_RESET)
        .count();
    assert_eq!(resets, 1, "one reset, audited once");
}
