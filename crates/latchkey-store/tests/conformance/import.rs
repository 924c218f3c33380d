//! Bulk import: many accounts and their memberships in one transaction, all or none.

use latchkey_core::audit::actions;
use latchkey_core::{AccountId, NewImportedAccount, RoleName, Tenant};
use latchkey_store::{ConflictOn, MemberFilter, Store, StoreError};

use super::{account, actions_logged, at, event, new_account, tenant};

/// A stand-in PHC string: the store keeps hashes verbatim and never parses them.
const HASH: &str =
    "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGg";

fn imported(email: &str, username: Option<&str>, role: &str) -> NewImportedAccount {
    let mut account = new_account(email, username);
    account.password_hash = Some(HASH.into());
    NewImportedAccount {
        id: AccountId::generate(),
        account,
        role: RoleName::parse(role).unwrap(),
        disabled: false,
    }
}

/// `count` accounts `person{i}@example.com`, every third a `reader` with a username.
fn batch(count: usize) -> Vec<NewImportedAccount> {
    (0..count)
        .map(|i| {
            let email = format!("person{i}@example.com");
            if i % 3 == 0 {
                imported(&email, Some(&format!("person{i}")), "reader")
            } else {
                imported(&email, None, "user")
            }
        })
        .collect()
}

async fn members(store: &dyn Store, tenant: &Tenant) -> i64 {
    store
        .count_members(&tenant.id, &MemberFilter::default())
        .await
        .unwrap()
}

async fn import(
    store: &dyn Store,
    tenant: &Tenant,
    accounts: &[NewImportedAccount],
) -> Result<u64, StoreError> {
    store
        .import_accounts(
            &tenant.id,
            accounts,
            at(5),
            &event(actions::ACCOUNT_IMPORT, Some(&tenant.id), at(5)),
        )
        .await
}

fn import_conflict(result: Result<u64, StoreError>) -> (usize, ConflictOn, Option<usize>) {
    match result {
        Err(StoreError::ImportConflict { index, on, repeats }) => (index, on, repeats),
        other => panic!("expected an import conflict, got {other:?}"),
    }
}

pub(crate) async fn import_creates_accounts_with_memberships_and_one_event(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    // More than two multi-row statements' worth.
    let mut accounts = batch(2_500);
    accounts[7].disabled = true;
    accounts[8].account.password_hash = None;
    assert_eq!(import(store, &acme, &accounts).await.unwrap(), 2_500);
    assert_eq!(members(store, &acme).await, 2_500);

    let first = store.account_by_login("PERSON0").await.unwrap().unwrap();
    assert_eq!(first.account.id, accounts[0].id);
    assert_eq!(first.account.email.as_str(), "person0@example.com");
    assert_eq!(first.password_hash.as_deref(), Some(HASH));
    assert!(!first.account.platform_admin);
    assert!(!first.account.disabled);
    assert_eq!(first.account.created_at, at(5));
    assert_eq!(first.account.custom_data, accounts[0].account.custom_data);
    let role = |i: usize| {
        let id = accounts[i].id.clone();
        let tenant = acme.id.clone();
        async move { store.membership(&tenant, &id).await.unwrap().unwrap().role }
    };
    assert_eq!(role(0).await.as_str(), "reader");
    assert_eq!(role(2_498).await.as_str(), "user");
    let disabled = store.account_by_id(&accounts[7].id).await.unwrap().unwrap();
    assert!(disabled.disabled);
    assert_eq!(store.password_hash(&accounts[8].id).await.unwrap(), None);

    let logged = actions_logged(store, &acme.id).await;
    let imports = logged.iter().filter(|a| *a == actions::ACCOUNT_IMPORT);
    assert_eq!(imports.count(), 1, "one event per batch: {logged:?}");
}

pub(crate) async fn import_conflicts_name_the_account_and_write_nothing(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let taken = account(store, "taken@example.com", Some((&acme, "user")), at(1)).await;
    store
        .update_account(
            &taken.id,
            &latchkey_core::AccountPatch {
                username: Some(Some(latchkey_core::Username::parse("taken").unwrap())),
                ..Default::default()
            },
            None,
            at(2),
            &event(actions::ACCOUNT_UPDATE, None, at(2)),
        )
        .await
        .unwrap();

    // An email taken by a stored account, in the second statement's rows, any case.
    let mut accounts = batch(1_500);
    accounts[1_200] = imported("TAKEN@example.com", None, "user");
    assert_eq!(
        import_conflict(import(store, &acme, &accounts).await),
        (1_200, ConflictOn::Email, None)
    );
    // A stored username; the earliest clash is the one named.
    let mut accounts = batch(50);
    accounts[40] = imported("other@example.com", Some("Taken"), "user");
    accounts[45] = imported("taken@example.com", None, "user");
    assert_eq!(
        import_conflict(import(store, &acme, &accounts).await),
        (40, ConflictOn::Username, None)
    );
    // Repeats inside the batch: the later account is named.
    let mut accounts = batch(10);
    accounts[6] = imported("Person2@Example.com", None, "user");
    assert_eq!(
        import_conflict(import(store, &acme, &accounts).await),
        (6, ConflictOn::Email, Some(2))
    );
    let mut accounts = batch(10);
    accounts[9] = imported("new@example.com", Some("PERSON3"), "user");
    assert_eq!(
        import_conflict(import(store, &acme, &accounts).await),
        (9, ConflictOn::Username, Some(3))
    );
    // A role the tenant does not have.
    let mut accounts = batch(10);
    accounts[4].role = RoleName::parse("auditor").unwrap();
    assert!(
        matches!(
            import(store, &acme, &accounts).await,
            Err(StoreError::NotFound)
        ),
        "unknown role"
    );

    assert_eq!(members(store, &acme).await, 1, "nothing was imported");
    assert!(store.account_by_login("person0").await.unwrap().is_none());
    let logged = actions_logged(store, &acme.id).await;
    assert!(
        !logged.iter().any(|a| a == actions::ACCOUNT_IMPORT),
        "{logged:?}"
    );
    // After the failures the same batch goes in whole.
    assert_eq!(import(store, &acme, &batch(1_500)).await.unwrap(), 1_500);
    assert_eq!(members(store, &acme).await, 1_501);
}
