//! Grants (sessions whose refresh token does not rotate) and external authentications.

use latchkey_core::audit::actions;
use latchkey_core::{AccountId, GrantKind};
use latchkey_store::{
    ConflictOn, GrantRecord, RotationOutcome, Store, StoreError, StoredExternalAuth,
};
use time::Duration;

use super::{account, at, event, new_session, run, tenant};

#[tokio::test]
async fn grants_do_not_rotate_and_end_with_their_session() {
    run(|store| async move { grants(&*store).await }).await;
}

#[tokio::test]
async fn external_authentications_are_unique_per_identity() {
    run(|store| async move { external_auths(&*store).await }).await;
}

async fn grants(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let stranger = account(store, "sam@example.com", Some((&other, "user")), at(0)).await;

    let mut session = new_session(&ada, &acme, at(10));
    session.client_id = "admin-cli".into();
    session.expires_at = at(10) + Duration::days(365);
    let grant = GrantRecord {
        session: session.clone(),
        kind: GrantKind::User,
        for_client_id: None,
        permissions: Some(vec!["items.read.*".into()]),
    };
    store
        .create_grant(
            &grant,
            "grant-hash",
            &event(actions::GRANT_CREATE, Some(&acme.id), at(10)),
        )
        .await
        .unwrap();
    assert_eq!(store.grant(&session.id).await.unwrap(), Some(grant.clone()));
    // A grant of an account that is no member of the tenant is refused.
    let mut foreign = new_session(&stranger, &acme, at(10));
    foreign.client_id = "admin-cli".into();
    assert!(matches!(
        store
            .create_grant(
                &GrantRecord {
                    session: foreign.clone(),
                    ..grant.clone()
                },
                "foreign-hash",
                &event(actions::GRANT_CREATE, Some(&acme.id), at(10)),
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.grant(&foreign.id).await.unwrap(), None);

    // Presented twice, long apart: no rotation, no reuse detection.
    for when in [at(20), at(20 + 86_400 * 3)] {
        let outcome = store
            .rotate_refresh_token(
                &acme.id,
                "admin-cli",
                "grant-hash",
                "unused-replacement",
                when + Duration::hours(1),
                Duration::seconds(10),
                when,
            )
            .await
            .unwrap();
        let RotationOutcome::GrantUsed(used) = outcome else {
            panic!("expected GrantUsed, got {outcome:?}");
        };
        assert_eq!(used.session.last_seen_at, when);
        assert_eq!(used.permissions, grant.permissions);
    }
    assert!(
        store
            .session_of_refresh_token("unused-replacement")
            .await
            .unwrap()
            .is_none()
    );
    // Bound to its client and tenant.
    let wrong_client = store
        .rotate_refresh_token(
            &acme.id,
            "other-client",
            "grant-hash",
            "x",
            at(30),
            Duration::seconds(10),
            at(30),
        )
        .await
        .unwrap();
    assert_eq!(wrong_client, RotationOutcome::Unknown);

    // Listed while active, newest first; plain sessions are not grants.
    super::sign_in(store, &new_session(&ada, &acme, at(40)), "plain-hash").await;
    let listed = store.list_grants(&acme.id, &ada.id, at(50)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].session.id, session.id);
    assert_eq!(listed[0].kind, GrantKind::User);
    assert!(
        store
            .list_grants(&other.id, &ada.id, at(50))
            .await
            .unwrap()
            .is_empty()
    );

    // Revoking the session revokes the grant.
    assert!(
        store
            .revoke_session(
                &session.id,
                at(60),
                &event(actions::GRANT_REVOKE, Some(&acme.id), at(60))
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .list_grants(&acme.id, &ada.id, at(70))
            .await
            .unwrap()
            .is_empty()
    );
    let refused = store
        .rotate_refresh_token(
            &acme.id,
            "admin-cli",
            "grant-hash",
            "y",
            at(80),
            Duration::seconds(10),
            at(80),
        )
        .await
        .unwrap();
    assert_eq!(refused, RotationOutcome::SessionInactive);
}

fn record(
    tenant: &latchkey_core::Tenant,
    account: &AccountId,
    service: &str,
    user: &str,
) -> StoredExternalAuth {
    StoredExternalAuth {
        tenant_id: tenant.id.clone(),
        account_id: account.clone(),
        service: service.into(),
        service_user: user.into(),
        sealed_access_token: vec![1, 2, 3],
        access_token_expires: Some(super::at(1_000)),
        sealed_access_secret: None,
        access_secret_expires: None,
        display_name: Some("Display".into()),
        state: None,
        created_at: super::at(5),
        updated_at: super::at(5),
    }
}

async fn external_auths(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let bob = account(store, "bob@example.com", Some((&acme, "user")), at(0)).await;
    let put = |r: StoredExternalAuth| async move {
        store
            .put_external_auth(
                &r,
                &event(actions::EXTERNAL_AUTH_PUT, Some(&r.tenant_id), at(5)),
            )
            .await
    };

    assert!(
        put(record(&acme, &ada.id, "salesforce", "sf1"))
            .await
            .unwrap()
    );
    // Replacing keeps one row and answers false.
    let mut changed = record(&acme, &ada.id, "salesforce", "sf1b");
    changed.sealed_access_secret = Some(vec![9, 9]);
    changed.updated_at = at(6);
    assert!(!put(changed.clone()).await.unwrap());
    assert_eq!(
        store
            .external_auth(&acme.id, &ada.id, "salesforce")
            .await
            .unwrap(),
        Some(changed.clone())
    );
    // One account per identity within a tenant.
    assert!(matches!(
        put(record(&acme, &bob.id, "salesforce", "sf1b")).await,
        Err(StoreError::Conflict(ConflictOn::Other))
    ));
    assert!(
        put(record(&acme, &bob.id, "dropbox", "sf1b"))
            .await
            .unwrap()
    );
    // Not a member of `other`.
    assert!(matches!(
        put(record(&other, &ada.id, "salesforce", "sf1b")).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .external_auth_by_identity(&acme.id, "salesforce", "sf1b")
            .await
            .unwrap()
            .map(|r| r.account_id),
        Some(ada.id.clone())
    );
    assert!(
        store
            .external_auth_by_identity(&other.id, "salesforce", "sf1b")
            .await
            .unwrap()
            .is_none()
    );
    assert!(put(record(&acme, &ada.id, "box", "ada")).await.unwrap());
    let services: Vec<String> = store
        .external_auths_of(&acme.id, &ada.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.service)
        .collect();
    assert_eq!(services, vec!["box".to_owned(), "salesforce".to_owned()]);

    let (acme_id, ada_id) = (&acme.id, &ada.id);
    let delete = |service: &'static str| async move {
        store
            .delete_external_auth(
                acme_id,
                ada_id,
                service,
                &event(actions::EXTERNAL_AUTH_DELETE, Some(acme_id), at(7)),
            )
            .await
            .unwrap()
    };
    assert!(delete("salesforce").await);
    assert!(!delete("salesforce").await);
    assert!(
        store
            .external_auth(&acme.id, &ada.id, "salesforce")
            .await
            .unwrap()
            .is_none()
    );
    // The identity is free again.
    assert!(
        put(record(&acme, &bob.id, "salesforce", "sf1b"))
            .await
            .unwrap()
    );
    // They go with their account.
    store
        .delete_account(&bob.id, &event(actions::ACCOUNT_DELETE, None, at(8)))
        .await
        .unwrap();
    assert!(
        store
            .external_auth_by_identity(&acme.id, "salesforce", "sf1b")
            .await
            .unwrap()
            .is_none()
    );
}
