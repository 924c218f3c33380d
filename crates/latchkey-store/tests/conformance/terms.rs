//! Terms of use in the store: versions only grow, acceptances are recorded once, both go
//! with their tenant or account; and the "most recently used" tenant of an account.

use latchkey_core::audit::actions;
use latchkey_core::{RoleName, TermsAcceptance, TermsVersion};
use latchkey_store::{ConflictOn, Store, StoreError};

use super::{account, at, event, new_session, run, sign_in, tenant};

fn version(tenant: &latchkey_core::Tenant, number: i64, enforce: i64) -> TermsVersion {
    TermsVersion {
        tenant_id: tenant.id.clone(),
        version: number,
        public_url: format!("https://acme.example/terms/v{number}"),
        enforce_date: at(enforce),
        created_at: at(1),
    }
}

#[tokio::test]
async fn terms_versions_only_grow_and_acceptances_count_once() {
    run(|store| async move { versions_and_acceptances(&*store).await }).await;
}

#[tokio::test]
async fn the_most_recently_used_tenant_is_the_one_of_the_newest_session() {
    run(|store| async move { most_recently_used(&*store).await }).await;
}

async fn versions_and_acceptances(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let publish = |t: &latchkey_core::Tenant| event(actions::TERMS_PUBLISH, Some(&t.id), at(1));

    assert!(store.terms_versions(&acme.id).await.unwrap().is_empty());
    store
        .publish_terms(&version(&acme, 1, 10), &publish(&acme))
        .await
        .unwrap();
    store
        .publish_terms(&version(&acme, 2, 20), &publish(&acme))
        .await
        .unwrap();
    for stale in [1, 2] {
        assert!(matches!(
            store
                .publish_terms(&version(&acme, stale, 30), &publish(&acme))
                .await,
            Err(StoreError::Conflict(ConflictOn::Other))
        ));
    }
    // Numbers are per tenant.
    store
        .publish_terms(&version(&other, 1, 10), &publish(&other))
        .await
        .unwrap();
    let listed = store.terms_versions(&acme.id).await.unwrap();
    assert_eq!(listed, vec![version(&acme, 2, 20), version(&acme, 1, 10)]);

    let acceptance = |number: i64, when: i64| TermsAcceptance {
        tenant_id: acme.id.clone(),
        account_id: ada.id.clone(),
        version: number,
        accepted_at: at(when),
    };
    let accept = || event(actions::TERMS_ACCEPT, Some(&acme.id), at(40));
    assert!(
        store
            .accept_terms(&acceptance(1, 40), &accept())
            .await
            .unwrap()
    );
    assert!(
        !store
            .accept_terms(&acceptance(1, 41), &accept())
            .await
            .unwrap(),
        "a second acceptance of one version records nothing"
    );
    assert!(matches!(
        store.accept_terms(&acceptance(9, 42), &accept()).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .accept_terms(&acceptance(2, 43), &accept())
            .await
            .unwrap()
    );
    let accepted = store.accepted_terms(&acme.id, &ada.id).await.unwrap();
    assert_eq!(accepted, vec![acceptance(2, 43), acceptance(1, 40)]);
    assert!(
        store
            .accepted_terms(&other.id, &ada.id)
            .await
            .unwrap()
            .is_empty()
    );

    // Removing the account drops its acceptances; deleting the tenant its versions.
    store
        .delete_account(&ada.id, &event(actions::ACCOUNT_DELETE, None, at(50)))
        .await
        .unwrap();
    assert!(
        store
            .accepted_terms(&acme.id, &ada.id)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .delete_tenant(&acme.id, &event(actions::TENANT_DELETE, None, at(51)))
        .await
        .unwrap();
    assert!(store.terms_versions(&acme.id).await.unwrap().is_empty());
    assert!(matches!(
        store
            .publish_terms(&version(&acme, 3, 10), &publish(&acme))
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn most_recently_used(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let initech = tenant(store, "initech").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let loner = account(store, "loner@example.com", None, at(0)).await;
    assert_eq!(
        store.most_recently_used_tenant(&loner.id).await.unwrap(),
        None
    );
    assert_eq!(
        store.most_recently_used_tenant(&ada.id).await.unwrap(),
        Some(acme.id.clone())
    );
    for (t, when) in [(&globex, 2), (&initech, 3)] {
        store
            .put_membership(
                &t.id,
                &ada.id,
                &RoleName::parse("user").unwrap(),
                at(when),
                &event(actions::ACCOUNT_UPDATE, Some(&t.id), at(when)),
            )
            .await
            .unwrap();
    }
    // No session anywhere: the tenant joined first.
    assert_eq!(
        store.most_recently_used_tenant(&ada.id).await.unwrap(),
        Some(acme.id.clone())
    );
    sign_in(store, &new_session(&ada, &globex, at(10)), "r1").await;
    sign_in(store, &new_session(&ada, &acme, at(5)), "r2").await;
    assert_eq!(
        store.most_recently_used_tenant(&ada.id).await.unwrap(),
        Some(globex.id.clone())
    );
    sign_in(store, &new_session(&ada, &initech, at(20)), "r3").await;
    assert_eq!(
        store.most_recently_used_tenant(&ada.id).await.unwrap(),
        Some(initech.id.clone())
    );
    // A tenant the account left no longer counts.
    store
        .remove_membership(
            &initech.id,
            &ada.id,
            at(30),
            &event(actions::ACCOUNT_DELETE, Some(&initech.id), at(30)),
        )
        .await
        .unwrap();
    assert_eq!(
        store.most_recently_used_tenant(&ada.id).await.unwrap(),
        Some(globex.id.clone())
    );
}
