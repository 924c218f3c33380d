//! Tenants created together with their administrator (workspaces, signup): one
//! transaction, so a refused creation leaves neither a tenant nor an account behind.

use latchkey_core::audit::actions;
use latchkey_core::{AccountId, RoleName, TenantId};
use latchkey_store::{ConflictOn, Store, StoreError, TenantOwner};

use super::{account, at, event, new_account, new_tenant, run, tenant};

#[tokio::test]
async fn an_owned_tenant_comes_with_its_admin_membership() {
    run(|store| async move { owned_tenant(&*store).await }).await;
}

async fn owned_tenant(store: &dyn Store) {
    let home = tenant(store, "home").await;
    let ada = account(store, "ada@example.com", Some((&home, "user")), at(0)).await;

    // An existing account becomes the administrator of the new tenant.
    let id = TenantId::generate();
    let work = store
        .create_owned_tenant(
            &id,
            &new_tenant("work"),
            TenantOwner::Existing(&ada.id),
            at(1),
            &event(actions::TENANT_CREATE, Some(&id), at(1)),
        )
        .await
        .unwrap();
    assert_eq!(
        store.tenant_by_domain("work").await.unwrap(),
        Some(work.clone())
    );
    let membership = store.membership(&work.id, &ada.id).await.unwrap().unwrap();
    assert_eq!(membership.role, RoleName::admin());
    assert!(
        store
            .role(&work.id, &RoleName::admin())
            .await
            .unwrap()
            .is_some()
    );
    // Its other membership is untouched.
    let home_role = store.membership(&home.id, &ada.id).await.unwrap().unwrap();
    assert_eq!(home_role.role, RoleName::user());

    // A new account is created with it (signup).
    let id = TenantId::generate();
    let bob_id = AccountId::generate();
    let bob = new_account("bob@example.com", None);
    let signup = store
        .create_owned_tenant(
            &id,
            &new_tenant("bobs"),
            TenantOwner::New(&bob_id, &bob),
            at(2),
            &event(actions::TENANT_CREATE, Some(&id), at(2)),
        )
        .await
        .unwrap();
    let stored = store.account_by_id(&bob_id).await.unwrap().unwrap();
    assert_eq!(stored.email, bob.email);
    assert_eq!(
        store.memberships_of(&bob_id).await.unwrap().len(),
        1,
        "the new account belongs to its tenant only"
    );
    assert!(
        store
            .membership(&signup.id, &bob_id)
            .await
            .unwrap()
            .unwrap()
            .role
            .is_admin()
    );

    // A taken domain writes nothing: no tenant, no account.
    let carol_id = AccountId::generate();
    let carol = new_account("carol@example.com", None);
    let id = TenantId::generate();
    assert!(matches!(
        store
            .create_owned_tenant(
                &id,
                &new_tenant("work"),
                TenantOwner::New(&carol_id, &carol),
                at(3),
                &event(actions::TENANT_CREATE, Some(&id), at(3)),
            )
            .await,
        Err(StoreError::Conflict(ConflictOn::TenantDomain))
    ));
    assert!(store.account_by_id(&carol_id).await.unwrap().is_none());

    // A taken email writes nothing either.
    let id = TenantId::generate();
    assert!(matches!(
        store
            .create_owned_tenant(
                &id,
                &new_tenant("again"),
                TenantOwner::New(
                    &AccountId::generate(),
                    &new_account("ADA@example.com", None)
                ),
                at(4),
                &event(actions::TENANT_CREATE, Some(&id), at(4)),
            )
            .await,
        Err(StoreError::Conflict(ConflictOn::Email))
    ));
    assert!(store.tenant_by_domain("again").await.unwrap().is_none());

    // An unknown owner is not found, and no tenant is left behind.
    let id = TenantId::generate();
    assert!(matches!(
        store
            .create_owned_tenant(
                &id,
                &new_tenant("orphan"),
                TenantOwner::Existing(&AccountId::generate()),
                at(5),
                &event(actions::TENANT_CREATE, Some(&id), at(5)),
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(store.tenant_by_domain("orphan").await.unwrap().is_none());
}
