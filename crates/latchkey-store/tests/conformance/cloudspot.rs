//! Custom roles, applications looked up across tenants (the Cloudspot "module"), and
//! impersonation tokens in the store.

use latchkey_core::audit::actions;
use latchkey_core::{ClientId, ImpersonationGrant, Role, RoleName};
use latchkey_store::{ConflictOn, Store, StoreError};
use time::Duration;

use super::{account, at, event, new_session, run, sign_in, tenant};

#[tokio::test]
async fn custom_roles_are_put_replaced_and_deleted_unless_held_or_builtin() {
    run(|store| async move { custom_roles(&*store).await }).await;
}

#[tokio::test]
async fn applications_are_found_across_an_accounts_tenants() {
    run(|store| async move { modules(&*store).await }).await;
}

#[tokio::test]
async fn impersonation_tokens_are_spent_once_and_open_a_session() {
    run(|store| async move { impersonation(&*store).await }).await;
}

fn role(name: &str, permissions: &[&str]) -> Role {
    Role {
        name: RoleName::parse(name).unwrap(),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        builtin: false,
    }
}

async fn custom_roles(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let put = || event(actions::ROLE_PUT, Some(&acme.id), at(1));
    assert!(
        store
            .put_role(&acme.id, &role("crm", &["crm:read"]), &put())
            .await
            .unwrap()
    );
    assert!(
        !store
            .put_role(&acme.id, &role("crm", &["crm:read", "crm:write"]), &put())
            .await
            .unwrap(),
        "a second put replaces"
    );
    let stored = store
        .role(&acme.id, &RoleName::parse("crm").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, role("crm", &["crm:read", "crm:write"]));
    assert_eq!(store.list_roles(&acme.id).await.unwrap().len(), 5);
    // Built-in roles cannot be replaced or deleted.
    assert!(matches!(
        store.put_role(&acme.id, &role("admin", &[]), &put()).await,
        Err(StoreError::Conflict(ConflictOn::Other))
    ));
    let delete = || event(actions::ROLE_DELETE, Some(&acme.id), at(2));
    assert!(matches!(
        store
            .delete_role(&acme.id, &RoleName::parse("user").unwrap(), &delete())
            .await,
        Err(StoreError::Conflict(ConflictOn::Other))
    ));
    // A tenant that does not exist.
    assert!(matches!(
        store
            .put_role(
                &latchkey_core::TenantId::generate(),
                &role("x", &[]),
                &put()
            )
            .await,
        Err(StoreError::NotFound)
    ));
    // Held by a member: refused; free again: deleted.
    let ada = account(store, "ada@example.com", Some((&acme, "crm")), at(3)).await;
    let crm = RoleName::parse("crm").unwrap();
    assert!(matches!(
        store.delete_role(&acme.id, &crm, &delete()).await,
        Err(StoreError::Conflict(ConflictOn::Other))
    ));
    store
        .put_membership(
            &acme.id,
            &ada.id,
            &RoleName::user(),
            at(4),
            &event(actions::ACCOUNT_UPDATE, Some(&acme.id), at(4)),
        )
        .await
        .unwrap();
    store.delete_role(&acme.id, &crm, &delete()).await.unwrap();
    assert_eq!(store.role(&acme.id, &crm).await.unwrap(), None);
    assert!(matches!(
        store.delete_role(&acme.id, &crm, &delete()).await,
        Err(StoreError::NotFound)
    ));
    let logged = super::actions_logged(store, &acme.id).await;
    assert_eq!(
        logged.iter().filter(|a| a.starts_with("role.")).count(),
        3,
        "{logged:?}"
    );
}

async fn modules(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let initech = tenant(store, "initech").await;
    let crm = ClientId::parse("crm").unwrap();
    assert!(!store.application_exists_anywhere(&crm).await.unwrap());
    for t in [&acme, &globex] {
        let application = latchkey_core::Application {
            client_id: crm.clone(),
            ..latchkey_core::Application::admin_cli(t.id.clone(), at(0))
        };
        store
            .create_application(
                &application,
                &event(actions::APPLICATION_CREATE, Some(&t.id), at(0)),
            )
            .await
            .unwrap();
    }
    assert!(store.application_exists_anywhere(&crm).await.unwrap());
    // admin-cli exists in every tenant.
    assert!(
        store
            .application_exists_anywhere(&ClientId::parse("admin-cli").unwrap())
            .await
            .unwrap()
    );

    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    for (t, when) in [(&globex, 1), (&initech, 2)] {
        store
            .put_membership(
                &t.id,
                &ada.id,
                &RoleName::parse("reader").unwrap(),
                at(when),
                &event(actions::ACCOUNT_UPDATE, Some(&t.id), at(when)),
            )
            .await
            .unwrap();
    }
    let with_crm = store
        .memberships_with_application(&ada.id, &crm)
        .await
        .unwrap();
    let mut expected = vec![acme.id.clone(), globex.id.clone()];
    expected.sort();
    assert_eq!(
        with_crm
            .iter()
            .map(|m| m.tenant_id.clone())
            .collect::<Vec<_>>(),
        expected
    );
    // Joined first, no session yet: acme. Newest session: globex; initech (no crm)
    // never counts.
    assert_eq!(
        store
            .most_recently_used_tenant_with_application(&ada.id, &crm)
            .await
            .unwrap(),
        Some(acme.id.clone())
    );
    sign_in(store, &new_session(&ada, &globex, at(10)), "r1").await;
    sign_in(store, &new_session(&ada, &initech, at(20)), "r2").await;
    assert_eq!(
        store
            .most_recently_used_tenant_with_application(&ada.id, &crm)
            .await
            .unwrap(),
        Some(globex.id.clone())
    );
    let nothing = ClientId::parse("nothing").unwrap();
    assert_eq!(
        store
            .most_recently_used_tenant_with_application(&ada.id, &nothing)
            .await
            .unwrap(),
        None
    );
}

async fn impersonation(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let boss = account(store, "boss@example.com", Some((&acme, "admin")), at(0)).await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let grant = |hash: &str, t: &latchkey_core::Tenant| ImpersonationGrant {
        token_hash: hash.to_owned(),
        tenant_id: t.id.clone(),
        account_id: ada.id.clone(),
        issued_by: boss.id.clone(),
        created_at: at(10),
        expires_at: at(130),
    };
    let mint = || event(actions::IMPERSONATION_MINT, Some(&acme.id), at(10));
    store
        .create_impersonation(&grant("h1", &acme), &mint())
        .await
        .unwrap();
    // Not a member of globex.
    assert!(matches!(
        store
            .create_impersonation(&grant("h2", &globex), &mint())
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.impersonation("h1", at(20)).await.unwrap(),
        Some(grant("h1", &acme))
    );
    assert_eq!(store.impersonation("h1", at(130)).await.unwrap(), None);
    assert_eq!(store.impersonation("unknown", at(20)).await.unwrap(), None);

    let redeem = || event(actions::IMPERSONATION_REDEEM, Some(&acme.id), at(20));
    let mut session = new_session(&ada, &acme, at(20));
    session.expires_at = at(20) + Duration::minutes(5);
    // A session for another account does not spend it.
    let wrong = new_session(&boss, &acme, at(20));
    assert!(
        !store
            .redeem_impersonation("h1", &wrong, at(20), &redeem())
            .await
            .unwrap()
    );
    assert!(
        store
            .redeem_impersonation("h1", &session, at(20), &redeem())
            .await
            .unwrap()
    );
    assert_eq!(
        store.session(&session.id).await.unwrap(),
        Some(session.clone())
    );
    let again = new_session(&ada, &acme, at(21));
    assert!(
        !store
            .redeem_impersonation("h1", &again, at(21), &redeem())
            .await
            .unwrap(),
        "a token is spent once"
    );
    assert_eq!(store.session(&again.id).await.unwrap(), None);
    assert_eq!(store.impersonation("h1", at(21)).await.unwrap(), None);

    // Expired tokens are not redeemed.
    store
        .create_impersonation(&grant("h3", &acme), &mint())
        .await
        .unwrap();
    assert!(
        !store
            .redeem_impersonation("h3", &new_session(&ada, &acme, at(131)), at(131), &redeem())
            .await
            .unwrap()
    );
    // Removing the member drops its tokens.
    store
        .create_impersonation(&grant("h4", &acme), &mint())
        .await
        .unwrap();
    store
        .delete_account(&ada.id, &event(actions::ACCOUNT_DELETE, None, at(40)))
        .await
        .unwrap();
    assert_eq!(store.impersonation("h4", at(41)).await.unwrap(), None);
    let logged = super::actions_logged(store, &acme.id).await;
    assert_eq!(
        logged
            .iter()
            .filter(|a| a.starts_with("impersonation."))
            .count(),
        4,
        "{logged:?}"
    );
}
