//! Groups and projects in the store: names unique per tenant, members only from the
//! tenant, role grants, project members (accounts and groups), and everything leaving
//! with a membership, a group, a project or a tenant.

use latchkey_core::audit::actions;
use latchkey_core::{
    AccountId, AuditEvent, Group, GroupId, GroupName, PageRequest, Project, ProjectId, ProjectRole,
    RoleName, Tenant, TenantId,
};
use latchkey_store::{ConflictOn, GroupUpdate, ProjectMember, ProjectMemberRef, Store, StoreError};
use time::OffsetDateTime;

use super::{account, at, event, new_session, run, sign_in, tenant};

fn group_in(tenant: &Tenant, name: &str) -> Group {
    Group {
        id: GroupId::generate(),
        tenant_id: tenant.id.clone(),
        name: GroupName::parse(name).unwrap(),
        created_at: at(1),
    }
}

fn project_in(tenant: &Tenant, title: &str, owner: Option<&AccountId>) -> Project {
    Project {
        id: ProjectId::generate(),
        tenant_id: tenant.id.clone(),
        title: title.to_owned(),
        description: String::new(),
        owner_id: owner.cloned(),
        created_at: at(1),
    }
}

fn role(name: &str) -> RoleName {
    RoleName::parse(name).unwrap()
}

fn conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Conflict(ConflictOn::Other))),
        "{result:?}"
    );
}

fn not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
}

#[tokio::test]
async fn groups_have_unique_names_tenant_members_and_role_grants() {
    run(|store| async move { groups(&*store).await }).await;
}

#[tokio::test]
async fn projects_have_account_and_group_members_with_roles() {
    run(|store| async move { projects(&*store).await }).await;
}

#[tokio::test]
async fn leaving_a_tenant_leaves_its_groups_and_projects() {
    run(|store| async move { leaving(&*store).await }).await;
}

#[tokio::test]
async fn a_page_of_groups_or_users_is_read_in_one_call() {
    run(|store| async move { page_reads(&*store).await }).await;
}

#[tokio::test]
async fn a_groups_projects_are_set_as_a_whole() {
    run(|store| async move { group_projects_set(&*store).await }).await;
}

#[tokio::test]
async fn a_group_update_is_all_or_nothing() {
    run(|store| async move { group_update_all_or_nothing(&*store).await }).await;
}

#[tokio::test]
async fn only_members_of_the_tenant_join_its_groups_and_projects() {
    run(|store| async move { tenant_members_only(&*store).await }).await;
}

async fn groups(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let bob = account(store, "bob@example.com", Some((&acme, "user")), at(0)).await;
    let eve = account(store, "eve@example.com", Some((&other, "user")), at(0)).await;
    let ev = || event(actions::GROUP_CREATE, Some(&acme.id), at(1));

    let sales = store
        .create_group(
            &group_in(&acme, "sales"),
            std::slice::from_ref(&ada.id),
            &ev(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.group(&acme.id, &sales.id).await.unwrap(),
        Some(sales.clone())
    );
    assert_eq!(
        store.group(&other.id, &sales.id).await.unwrap(),
        None,
        "per tenant"
    );
    conflict(
        store
            .create_group(&group_in(&acme, "sales"), &[], &ev())
            .await,
    );
    // The same name in another tenant is fine; members must belong to the tenant.
    store
        .create_group(&group_in(&other, "sales"), &[], &ev())
        .await
        .unwrap();
    not_found(
        store
            .create_group(
                &group_in(&acme, "ops"),
                std::slice::from_ref(&eve.id),
                &ev(),
            )
            .await,
    );
    assert_eq!(
        store.group(&acme.id, &GroupId::generate()).await.unwrap(),
        None
    );
    let ops = store
        .create_group(&group_in(&acme, "ops"), &[], &ev())
        .await
        .unwrap();

    // Paged by name.
    let first = store
        .list_groups(&acme.id, &PageRequest::new(Some(1), None))
        .await
        .unwrap();
    assert_eq!(first.items, vec![ops.clone()]);
    let second = store
        .list_groups(&acme.id, &PageRequest::new(Some(1), first.next.clone()))
        .await
        .unwrap();
    assert_eq!(second.items, vec![sales.clone()]);
    assert_eq!(second.next, None);

    // Renaming.
    conflict(
        rename_group(
            store,
            &acme.id,
            &ops.id,
            &GroupName::parse("sales").unwrap(),
            &ev(),
        )
        .await,
    );
    let renamed = rename_group(
        store,
        &acme.id,
        &ops.id,
        &GroupName::parse("operations").unwrap(),
        &ev(),
    )
    .await
    .unwrap();
    assert_eq!(renamed.name.as_str(), "operations");
    not_found(
        rename_group(
            store,
            &other.id,
            &ops.id,
            &GroupName::parse("x").unwrap(),
            &ev(),
        )
        .await,
    );

    // Members.
    conflict(
        store
            .add_group_member(&acme.id, &sales.id, &ada.id, at(2), &ev())
            .await,
    );
    not_found(
        store
            .add_group_member(&acme.id, &sales.id, &eve.id, at(2), &ev())
            .await,
    );
    not_found(
        store
            .add_group_member(&acme.id, &GroupId::generate(), &bob.id, at(2), &ev())
            .await,
    );
    store
        .add_group_member(&acme.id, &sales.id, &bob.id, at(2), &ev())
        .await
        .unwrap();
    let members = store.group_members(&acme.id, &sales.id).await.unwrap();
    let emails: Vec<_> = members.iter().map(|m| m.account.email.as_str()).collect();
    assert_eq!(emails, ["ada@example.com", "bob@example.com"]);
    assert_eq!(members[0].role, role("user"));
    store
        .remove_group_member(&acme.id, &sales.id, &ada.id, &ev())
        .await
        .unwrap();
    not_found(
        store
            .remove_group_member(&acme.id, &sales.id, &ada.id, &ev())
            .await,
    );
    set_group_members(
        store,
        &acme.id,
        &ops.id,
        &[ada.id.clone(), bob.id.clone()],
        at(3),
        &ev(),
    )
    .await
    .unwrap();
    set_group_members(
        store,
        &acme.id,
        &ops.id,
        std::slice::from_ref(&ada.id),
        at(3),
        &ev(),
    )
    .await
    .unwrap();
    let members = store.group_members(&acme.id, &ops.id).await.unwrap();
    assert_eq!(members.len(), 1);
    not_found(
        set_group_members(
            store,
            &acme.id,
            &ops.id,
            std::slice::from_ref(&eve.id),
            at(3),
            &ev(),
        )
        .await,
    );
    assert_eq!(
        store.group_members(&acme.id, &ops.id).await.unwrap().len(),
        1,
        "a refused replacement changes nothing"
    );
    let ada_groups = store.groups_of(&acme.id, &ada.id).await.unwrap();
    assert_eq!(ada_groups, vec![renamed.clone()]);

    // Role grants, and their effect on the session read.
    not_found(
        store
            .set_group_roles(&acme.id, &ops.id, &[role("nonexistent")], &ev())
            .await,
    );
    store
        .set_group_roles(&acme.id, &ops.id, &[role("admin"), role("reader")], &ev())
        .await
        .unwrap();
    store
        .set_group_roles(&acme.id, &sales.id, &[role("admin")], &ev())
        .await
        .unwrap();
    assert_eq!(
        store.group_roles(&acme.id, &ops.id).await.unwrap(),
        vec![role("admin"), role("reader")]
    );
    assert_eq!(
        store.granted_roles(&acme.id, &ada.id).await.unwrap(),
        vec![role("admin"), role("reader")]
    );
    store
        .add_group_member(&acme.id, &sales.id, &ada.id, at(4), &ev())
        .await
        .unwrap();
    assert_eq!(
        store.granted_roles(&acme.id, &ada.id).await.unwrap(),
        vec![role("admin"), role("reader")],
        "a role granted by two groups is listed once"
    );
    assert!(
        store
            .granted_roles(&other.id, &ada.id)
            .await
            .unwrap()
            .is_empty()
    );
    let session = new_session(&ada, &acme, at(5));
    sign_in(store, &session, "refresh-ada").await;
    let (_, member_role, granted) = store
        .session_with_member_role(&session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member_role, Some(role("user")));
    assert_eq!(granted, vec![role("admin"), role("reader")]);

    // Deleting a group takes its grants with it.
    store.delete_group(&acme.id, &ops.id, &ev()).await.unwrap();
    not_found(store.delete_group(&acme.id, &ops.id, &ev()).await);
    not_found(store.delete_group(&other.id, &sales.id, &ev()).await);
    store
        .set_group_roles(&acme.id, &sales.id, &[], &ev())
        .await
        .unwrap();
    assert!(
        store
            .granted_roles(&acme.id, &ada.id)
            .await
            .unwrap()
            .is_empty()
    );
    let (_, _, granted) = store
        .session_with_member_role(&session.id)
        .await
        .unwrap()
        .unwrap();
    assert!(granted.is_empty());
}

async fn projects(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let bob = account(store, "bob@example.com", Some((&acme, "user")), at(0)).await;
    let eve = account(store, "eve@example.com", Some((&other, "user")), at(0)).await;
    let ev = || event(actions::PROJECT_CREATE, Some(&acme.id), at(1));

    let alpha = store
        .create_project(&project_in(&acme, "Alpha", Some(&ada.id)), at(1), &ev())
        .await
        .unwrap();
    let beta = store
        .create_project(&project_in(&acme, "Beta", None), at(1), &ev())
        .await
        .unwrap();
    assert_eq!(
        store.project(&acme.id, &alpha.id).await.unwrap(),
        Some(alpha.clone())
    );
    assert_eq!(store.project(&other.id, &alpha.id).await.unwrap(), None);
    let mut nowhere = project_in(&acme, "x", None);
    nowhere.tenant_id = latchkey_core::TenantId::generate();
    not_found(store.create_project(&nowhere, at(1), &ev()).await);
    // The owner is the first admin.
    let members = store.project_members(&acme.id, &alpha.id).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].role, ProjectRole::Admin);
    assert_eq!(members[0].member.member_id(), ada.id.as_str());

    let all = store
        .list_projects(&acme.id, None, &PageRequest::new(Some(500), None))
        .await
        .unwrap();
    assert_eq!(all.items.len(), 2);
    let gamma = store
        .create_project(&project_in(&acme, "Gamma", None), at(1), &ev())
        .await
        .unwrap();
    let paged = store
        .list_projects(&acme.id, None, &PageRequest::new(Some(2), None))
        .await
        .unwrap();
    assert_eq!(paged.items.len(), 2);
    let rest = store
        .list_projects(
            &acme.id,
            None,
            &PageRequest::new(Some(2), paged.next.clone()),
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.next, None);
    store
        .delete_project(&acme.id, &gamma.id, &ev())
        .await
        .unwrap();
    let visible = store
        .list_projects(&acme.id, Some(&ada.id), &PageRequest::new(None, None))
        .await
        .unwrap();
    assert_eq!(visible.items, vec![alpha.clone()]);

    // Members: accounts of the tenant and groups of the tenant.
    let team = store
        .create_group(
            &group_in(&acme, "team"),
            std::slice::from_ref(&bob.id),
            &ev(),
        )
        .await
        .unwrap();
    let foreign = store
        .create_group(&group_in(&other, "team"), &[], &ev())
        .await
        .unwrap();
    let user = |a: &latchkey_core::Account| ProjectMemberRef::User(a.id.clone());
    conflict(
        store
            .add_project_member(
                &acme.id,
                &alpha.id,
                &user(&ada),
                ProjectRole::Reader,
                at(2),
                &ev(),
            )
            .await,
    );
    not_found(
        store
            .add_project_member(
                &acme.id,
                &alpha.id,
                &user(&eve),
                ProjectRole::Reader,
                at(2),
                &ev(),
            )
            .await,
    );
    not_found(
        store
            .add_project_member(
                &acme.id,
                &alpha.id,
                &ProjectMemberRef::Group(foreign.id.clone()),
                ProjectRole::Reader,
                at(2),
                &ev(),
            )
            .await,
    );
    not_found(
        store
            .add_project_member(
                &other.id,
                &alpha.id,
                &user(&eve),
                ProjectRole::Reader,
                at(2),
                &ev(),
            )
            .await,
    );
    store
        .add_project_member(
            &acme.id,
            &alpha.id,
            &user(&bob),
            ProjectRole::Reader,
            at(2),
            &ev(),
        )
        .await
        .unwrap();
    store
        .add_project_member(
            &acme.id,
            &alpha.id,
            &ProjectMemberRef::Group(team.id.clone()),
            ProjectRole::Member,
            at(2),
            &ev(),
        )
        .await
        .unwrap();
    conflict(
        store
            .add_project_member(
                &acme.id,
                &alpha.id,
                &ProjectMemberRef::Group(team.id.clone()),
                ProjectRole::Admin,
                at(2),
                &ev(),
            )
            .await,
    );
    store
        .add_project_member(
            &acme.id,
            &beta.id,
            &ProjectMemberRef::Group(team.id.clone()),
            ProjectRole::Reader,
            at(2),
            &ev(),
        )
        .await
        .unwrap();

    let members = store.project_members(&acme.id, &alpha.id).await.unwrap();
    let ids: Vec<_> = members
        .iter()
        .map(|m| m.member.member_id().to_owned())
        .collect();
    assert_eq!(
        ids,
        [ada.id.to_string(), bob.id.to_string(), team.id.to_string()]
    );
    match &members[1].member {
        ProjectMember::User {
            tenant_role,
            via_groups,
            ..
        } => {
            assert_eq!(*tenant_role, role("user"));
            assert_eq!(via_groups, &[ProjectRole::Member]);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&members[2].member, ProjectMember::Group(g) if g.id == team.id));

    // Roles change for accounts and groups alike.
    store
        .set_project_member_role(
            &acme.id,
            &alpha.id,
            bob.id.as_str(),
            ProjectRole::Admin,
            &ev(),
        )
        .await
        .unwrap();
    store
        .set_project_member_role(
            &acme.id,
            &alpha.id,
            team.id.as_str(),
            ProjectRole::Reader,
            &ev(),
        )
        .await
        .unwrap();
    not_found(
        store
            .set_project_member_role(
                &acme.id,
                &beta.id,
                bob.id.as_str(),
                ProjectRole::Admin,
                &ev(),
            )
            .await,
    );
    let members = store.project_members(&acme.id, &alpha.id).await.unwrap();
    assert_eq!(members[1].role, ProjectRole::Admin);
    assert_eq!(members[2].role, ProjectRole::Reader);

    // Bob's projects: alpha directly and through the team, beta through the team.
    let access = store.account_projects(&acme.id, &bob.id).await.unwrap();
    assert_eq!(access.len(), 3);
    assert!(
        access
            .iter()
            .any(|a| a.project.id == alpha.id && a.via_group.is_none())
    );
    assert!(
        access
            .iter()
            .any(|a| a.project.id == beta.id && a.via_group.as_ref() == Some(&team.id))
    );
    let visible = store
        .list_projects(&acme.id, Some(&bob.id), &PageRequest::new(None, None))
        .await
        .unwrap();
    assert_eq!(visible.items.len(), 2);
    assert_eq!(
        store
            .group_projects(&acme.id, &team.id)
            .await
            .unwrap()
            .len(),
        2
    );

    store
        .remove_project_member(&acme.id, &alpha.id, team.id.as_str(), &ev())
        .await
        .unwrap();
    not_found(
        store
            .remove_project_member(&acme.id, &alpha.id, team.id.as_str(), &ev())
            .await,
    );
    // Deleting a group takes it out of its projects.
    store.delete_group(&acme.id, &team.id, &ev()).await.unwrap();
    assert!(
        store
            .project_members(&acme.id, &beta.id)
            .await
            .unwrap()
            .is_empty()
    );

    not_found(store.delete_project(&other.id, &alpha.id, &ev()).await);
    store
        .delete_project(&acme.id, &alpha.id, &ev())
        .await
        .unwrap();
    assert_eq!(store.project(&acme.id, &alpha.id).await.unwrap(), None);
    assert!(
        store
            .account_projects(&acme.id, &bob.id)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn leaving(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    store
        .put_membership(
            &globex.id,
            &ada.id,
            &role("user"),
            at(0),
            &event("membership.put", Some(&globex.id), at(0)),
        )
        .await
        .unwrap();
    let bob = account(store, "bob@example.com", Some((&acme, "user")), at(0)).await;
    let ev = || event(actions::GROUP_CREATE, Some(&acme.id), at(1));
    let team = store
        .create_group(
            &group_in(&acme, "team"),
            &[ada.id.clone(), bob.id.clone()],
            &ev(),
        )
        .await
        .unwrap();
    let project = store
        .create_project(&project_in(&acme, "P", Some(&ada.id)), at(1), &ev())
        .await
        .unwrap();
    store
        .add_project_member(
            &acme.id,
            &project.id,
            &ProjectMemberRef::User(bob.id.clone()),
            ProjectRole::Member,
            at(1),
            &ev(),
        )
        .await
        .unwrap();

    // Removed from acme (but still in globex): out of acme's group and project.
    store
        .remove_membership(
            &acme.id,
            &ada.id,
            at(2),
            &event("membership.remove", Some(&acme.id), at(2)),
        )
        .await
        .unwrap();
    let members = store.group_members(&acme.id, &team.id).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].account.id, bob.id);
    let project_members = store.project_members(&acme.id, &project.id).await.unwrap();
    assert_eq!(project_members.len(), 1);
    assert_eq!(project_members[0].member.member_id(), bob.id.as_str());
    assert_eq!(
        store
            .project(&acme.id, &project.id)
            .await
            .unwrap()
            .unwrap()
            .owner_id,
        Some(ada.id.clone()),
        "the owner stays on record"
    );

    // Pruned: out of both as well.
    let batch = store
        .prune_members(
            &acme.id,
            &latchkey_store::MemberFilter::default(),
            None,
            10,
            &AccountId::generate(),
            at(3),
            &event(actions::ACCOUNT_PRUNE, Some(&acme.id), at(3)),
        )
        .await
        .unwrap();
    assert_eq!(batch.pruned, 1, "{batch:?}");
    assert!(
        store
            .group_members(&acme.id, &team.id)
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

    // Deleting the tenant takes its groups and projects.
    store
        .delete_tenant(
            &acme.id,
            &event(actions::TENANT_DELETE, Some(&acme.id), at(4)),
        )
        .await
        .unwrap();
    assert_eq!(store.group(&acme.id, &team.id).await.unwrap(), None);
    assert_eq!(store.project(&acme.id, &project.id).await.unwrap(), None);
}

async fn page_reads(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let bob = account(store, "bob@example.com", Some((&acme, "reader")), at(0)).await;
    let cy = account(store, "cy@example.com", Some((&acme, "user")), at(0)).await;
    let ev = || event(actions::GROUP_CREATE, Some(&acme.id), at(1));
    // Ada is in a group of `other` too: it must not show through `acme`.
    store
        .put_membership(&other.id, &ada.id, &role("user"), at(1), &ev())
        .await
        .unwrap();
    let elsewhere = store
        .create_group(
            &group_in(&other, "elsewhere"),
            std::slice::from_ref(&ada.id),
            &ev(),
        )
        .await
        .unwrap();

    let sales = store
        .create_group(
            &group_in(&acme, "sales"),
            &[bob.id.clone(), ada.id.clone()],
            &ev(),
        )
        .await
        .unwrap();
    let ops = store
        .create_group(
            &group_in(&acme, "ops"),
            std::slice::from_ref(&ada.id),
            &ev(),
        )
        .await
        .unwrap();
    let empty = store
        .create_group(&group_in(&acme, "empty"), &[], &ev())
        .await
        .unwrap();
    store
        .set_group_roles(&acme.id, &sales.id, &[role("reader"), role("admin")], &ev())
        .await
        .unwrap();

    // Members of a page of groups: by group id, then email; with their tenant role.
    let mut groups = vec![
        sales.id.clone(),
        ops.id.clone(),
        empty.id.clone(),
        elsewhere.id.clone(),
    ];
    let members = store.members_of_groups(&acme.id, &groups).await.unwrap();
    let mut expected = vec![
        (&sales.id, "ada@example.com", "user"),
        (&sales.id, "bob@example.com", "reader"),
        (&ops.id, "ada@example.com", "user"),
    ];
    expected.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()).then(a.1.cmp(b.1)));
    let got: Vec<_> = members
        .iter()
        .map(|(g, m)| (g, m.account.email.as_str(), m.role.as_str()))
        .collect();
    assert_eq!(got, expected, "another tenant's group has no members here");
    for (group, _) in &members {
        let one = store.group_members(&acme.id, group).await.unwrap();
        let batched: Vec<_> = members
            .iter()
            .filter(|(g, _)| g == group)
            .map(|(_, m)| m.clone())
            .collect();
        assert_eq!(batched, one, "the same records as one group's read");
    }

    // Roles of a page of groups: by group id, then role.
    let roles = store.roles_of_groups(&acme.id, &groups).await.unwrap();
    assert_eq!(
        roles,
        vec![
            (sales.id.clone(), role("admin")),
            (sales.id.clone(), role("reader"))
        ]
    );

    // Groups of a page of users: by account id, then group name; only this tenant's.
    let accounts = vec![ada.id.clone(), bob.id.clone(), cy.id.clone()];
    let memberships = store.group_memberships(&acme.id, &accounts).await.unwrap();
    let mut expected = vec![
        (ada.id.clone(), ops.clone()),
        (ada.id.clone(), sales.clone()),
        (bob.id.clone(), sales.clone()),
    ];
    expected.sort_by(|a, b| {
        a.0.as_str()
            .cmp(b.0.as_str())
            .then(a.1.name.as_str().cmp(b.1.name.as_str()))
    });
    assert_eq!(memberships, expected);
    assert_eq!(
        store.group_memberships(&other.id, &accounts).await.unwrap(),
        vec![(ada.id.clone(), elsewhere.clone())]
    );

    // Nothing asked, nothing answered.
    groups.clear();
    assert!(
        store
            .members_of_groups(&acme.id, &groups)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .roles_of_groups(&acme.id, &groups)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .group_memberships(&acme.id, &[])
            .await
            .unwrap()
            .is_empty()
    );
}

async fn group_projects_set(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let ev = || event(actions::GROUP_UPDATE, Some(&acme.id), at(1));
    let sales = store
        .create_group(
            &group_in(&acme, "sales"),
            std::slice::from_ref(&ada.id),
            &ev(),
        )
        .await
        .unwrap();
    let ops = store
        .create_group(&group_in(&acme, "ops"), &[], &ev())
        .await
        .unwrap();
    let mut projects = Vec::new();
    for title in ["Alpha", "Beta", "Gamma"] {
        projects.push(
            store
                .create_project(&project_in(&acme, title, None), at(1), &ev())
                .await
                .unwrap(),
        );
    }
    let (alpha, beta, gamma) = (&projects[0], &projects[1], &projects[2]);
    let theirs = store
        .create_project(&project_in(&other, "Theirs", None), at(1), &ev())
        .await
        .unwrap();
    let group_roles = |access: Vec<latchkey_store::ProjectAccess>| -> Vec<(String, ProjectRole)> {
        access
            .into_iter()
            .map(|a| (a.project.title, a.role))
            .collect()
    };

    // Alpha as admin (set by hand), then the set {alpha, beta}: beta joins with the
    // given role, alpha keeps its role.
    store
        .add_project_member(
            &acme.id,
            &alpha.id,
            &ProjectMemberRef::Group(sales.id.clone()),
            ProjectRole::Admin,
            at(2),
            &ev(),
        )
        .await
        .unwrap();
    set_group_projects(
        store,
        &acme.id,
        &sales.id,
        &[beta.id.clone(), alpha.id.clone(), beta.id.clone()],
        ProjectRole::Member,
        at(3),
        &ev(),
    )
    .await
    .unwrap();
    let mut expected = vec![
        ("Alpha".to_owned(), ProjectRole::Admin),
        ("Beta".to_owned(), ProjectRole::Member),
    ];
    expected.sort_by_key(|(title, _)| {
        projects
            .iter()
            .find(|p| p.title == *title)
            .map(|p| p.id.to_string())
    });
    assert_eq!(
        group_roles(store.group_projects(&acme.id, &sales.id).await.unwrap()),
        expected
    );
    // Its members reach the projects through it.
    assert_eq!(
        store
            .account_projects(&acme.id, &ada.id)
            .await
            .unwrap()
            .len(),
        2
    );

    // The set {gamma, beta}: alpha is left, gamma joins, beta keeps member.
    set_group_projects(
        store,
        &acme.id,
        &sales.id,
        &[gamma.id.clone(), beta.id.clone()],
        ProjectRole::Reader,
        at(4),
        &ev(),
    )
    .await
    .unwrap();
    let mut expected = vec![
        ("Beta".to_owned(), ProjectRole::Member),
        ("Gamma".to_owned(), ProjectRole::Reader),
    ];
    expected.sort_by_key(|(title, _)| {
        projects
            .iter()
            .find(|p| p.title == *title)
            .map(|p| p.id.to_string())
    });
    let before = group_roles(store.group_projects(&acme.id, &sales.id).await.unwrap());
    assert_eq!(before, expected);
    assert!(
        store
            .project_members(&acme.id, &alpha.id)
            .await
            .unwrap()
            .is_empty(),
        "alpha lost the group"
    );

    // One unknown project, or another tenant's, refuses the whole set: nothing changes.
    for bad in [ProjectId::generate(), theirs.id.clone()] {
        not_found(
            set_group_projects(
                store,
                &acme.id,
                &sales.id,
                &[alpha.id.clone(), bad],
                ProjectRole::Member,
                at(5),
                &ev(),
            )
            .await,
        );
        assert_eq!(
            group_roles(store.group_projects(&acme.id, &sales.id).await.unwrap()),
            before
        );
    }
    // An unknown group, or another tenant's.
    not_found(
        set_group_projects(
            store,
            &acme.id,
            &GroupId::generate(),
            std::slice::from_ref(&alpha.id),
            ProjectRole::Member,
            at(5),
            &ev(),
        )
        .await,
    );
    not_found(
        set_group_projects(
            store,
            &other.id,
            &sales.id,
            &[],
            ProjectRole::Member,
            at(5),
            &ev(),
        )
        .await,
    );
    // Other groups are untouched; the empty set leaves every project.
    set_group_projects(
        store,
        &acme.id,
        &ops.id,
        std::slice::from_ref(&alpha.id),
        ProjectRole::Reader,
        at(6),
        &ev(),
    )
    .await
    .unwrap();
    set_group_projects(
        store,
        &acme.id,
        &sales.id,
        &[],
        ProjectRole::Member,
        at(7),
        &ev(),
    )
    .await
    .unwrap();
    assert!(
        store
            .group_projects(&acme.id, &sales.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        group_roles(store.group_projects(&acme.id, &ops.id).await.unwrap()),
        vec![("Alpha".to_owned(), ProjectRole::Reader)]
    );
}

async fn tenant_members_only(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let bob = account(store, "bob@example.com", Some((&acme, "user")), at(0)).await;
    let eve = account(store, "eve@example.com", Some((&other, "user")), at(0)).await;
    let ev = || event(actions::GROUP_CREATE, Some(&acme.id), at(1));

    // A member named twice is one member; one outsider among members refuses the write.
    let sales = store
        .create_group(
            &group_in(&acme, "sales"),
            &[ada.id.clone(), bob.id.clone(), ada.id.clone()],
            &ev(),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .group_members(&acme.id, &sales.id)
            .await
            .unwrap()
            .len(),
        2
    );
    not_found(
        store
            .create_group(
                &group_in(&acme, "mixed"),
                &[ada.id.clone(), eve.id.clone()],
                &ev(),
            )
            .await,
    );
    assert_eq!(
        store
            .list_groups(&acme.id, &PageRequest::new(None, None))
            .await
            .unwrap()
            .items
            .len(),
        1,
        "the refused group was not created"
    );
    not_found(
        set_group_members(
            store,
            &acme.id,
            &sales.id,
            &[bob.id.clone(), eve.id.clone()],
            at(2),
            &ev(),
        )
        .await,
    );
    not_found(
        set_group_members(
            store,
            &acme.id,
            &sales.id,
            &[AccountId::generate()],
            at(2),
            &ev(),
        )
        .await,
    );
    assert_eq!(
        store
            .group_members(&acme.id, &sales.id)
            .await
            .unwrap()
            .len(),
        2,
        "refused replacements change nothing"
    );
    not_found(
        store
            .add_group_member(&acme.id, &sales.id, &eve.id, at(2), &ev())
            .await,
    );
    let project = store
        .create_project(&project_in(&acme, "Alpha", None), at(1), &ev())
        .await
        .unwrap();
    not_found(
        store
            .add_project_member(
                &acme.id,
                &project.id,
                &ProjectMemberRef::User(eve.id.clone()),
                ProjectRole::Reader,
                at(2),
                &ev(),
            )
            .await,
    );
    store
        .add_project_member(
            &acme.id,
            &project.id,
            &ProjectMemberRef::User(bob.id.clone()),
            ProjectRole::Reader,
            at(2),
            &ev(),
        )
        .await
        .unwrap();
}

async fn group_update_all_or_nothing(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    let ada = account(store, "ada@example.com", Some((&acme, "user")), at(0)).await;
    let bob = account(store, "bob@example.com", Some((&acme, "user")), at(0)).await;
    let eve = account(store, "eve@example.com", Some((&other, "user")), at(0)).await;
    let ev = || event(actions::GROUP_UPDATE, Some(&acme.id), at(1));
    let group = store
        .create_group(
            &group_in(&acme, "editors"),
            std::slice::from_ref(&ada.id),
            &ev(),
        )
        .await
        .unwrap();
    let alpha = store
        .create_project(&project_in(&acme, "Alpha", None), at(1), &ev())
        .await
        .unwrap();
    let beta = store
        .create_project(&project_in(&acme, "Beta", None), at(1), &ev())
        .await
        .unwrap();
    let foreign = store
        .create_project(&project_in(&other, "Foreign", None), at(1), &ev())
        .await
        .unwrap();

    // Everything at once, with one audit event per part.
    let update = GroupUpdate {
        name: Some(GroupName::parse("writers").unwrap()),
        members: Some(vec![bob.id.clone()]),
        projects: Some((vec![alpha.id.clone()], ProjectRole::Reader)),
    };
    let events = [ev(), ev(), ev()];
    let updated = store
        .update_group(&acme.id, &group.id, &update, at(2), &events)
        .await
        .unwrap();
    assert_eq!(updated.name.as_str(), "writers");
    let after_update = group_state(store, &acme.id, &group.id).await;
    assert_eq!(
        after_update,
        (
            "writers".to_owned(),
            vec![bob.id.to_string()],
            vec![(alpha.id.to_string(), ProjectRole::Reader)]
        )
    );

    // One bad part refuses the whole update: an unknown or foreign project, an account
    // of another tenant, a taken name.
    let taken = store
        .create_group(&group_in(&acme, "taken"), &[], &ev())
        .await
        .unwrap();
    let refused = [
        GroupUpdate {
            name: Some(GroupName::parse("renamed").unwrap()),
            members: Some(vec![ada.id.clone()]),
            projects: Some((
                vec![beta.id.clone(), foreign.id.clone()],
                ProjectRole::Admin,
            )),
        },
        GroupUpdate {
            name: Some(GroupName::parse("renamed").unwrap()),
            members: Some(vec![ada.id.clone(), eve.id.clone()]),
            projects: Some((vec![beta.id.clone()], ProjectRole::Admin)),
        },
        GroupUpdate {
            name: Some(taken.name.clone()),
            members: Some(vec![ada.id.clone()]),
            projects: Some((vec![beta.id.clone()], ProjectRole::Admin)),
        },
    ];
    for (n, update) in refused.iter().enumerate() {
        let result = store
            .update_group(&acme.id, &group.id, update, at(3), &[ev()])
            .await;
        assert!(
            matches!(result, Err(StoreError::NotFound | StoreError::Conflict(_))),
            "update {n}: {result:?}"
        );
        assert_eq!(
            group_state(store, &acme.id, &group.id).await,
            after_update,
            "update {n} changed something"
        );
    }
    // An unknown group.
    assert!(matches!(
        store
            .update_group(
                &acme.id,
                &GroupId::generate(),
                &GroupUpdate::default(),
                at(3),
                &[]
            )
            .await,
        Err(StoreError::NotFound)
    ));
}

/// A group's name, member ids and (project id, role) pairs.
async fn group_state(
    store: &dyn Store,
    tenant: &latchkey_core::TenantId,
    group: &GroupId,
) -> (String, Vec<String>, Vec<(String, ProjectRole)>) {
    let name = store.group(tenant, group).await.unwrap().unwrap().name;
    let members = store
        .group_members(tenant, group)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.account.id.to_string())
        .collect();
    let projects = store
        .group_projects(tenant, group)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.project.id.to_string(), p.role))
        .collect();
    (name.to_string(), members, projects)
}

// The store's one group write is `update_group`; these name its single-part uses.

async fn rename_group(
    store: &dyn Store,
    tenant: &TenantId,
    group: &GroupId,
    name: &GroupName,
    audit: &AuditEvent,
) -> Result<Group, StoreError> {
    let update = GroupUpdate {
        name: Some(name.clone()),
        ..GroupUpdate::default()
    };
    store
        .update_group(
            tenant,
            group,
            &update,
            audit.at,
            std::slice::from_ref(audit),
        )
        .await
}

async fn set_group_members(
    store: &dyn Store,
    tenant: &TenantId,
    group: &GroupId,
    members: &[AccountId],
    now: OffsetDateTime,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let update = GroupUpdate {
        members: Some(members.to_vec()),
        ..GroupUpdate::default()
    };
    store
        .update_group(tenant, group, &update, now, std::slice::from_ref(audit))
        .await
        .map(drop)
}

async fn set_group_projects(
    store: &dyn Store,
    tenant: &TenantId,
    group: &GroupId,
    projects: &[ProjectId],
    role: ProjectRole,
    now: OffsetDateTime,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let update = GroupUpdate {
        projects: Some((projects.to_vec(), role)),
        ..GroupUpdate::default()
    };
    store
        .update_group(tenant, group, &update, now, std::slice::from_ref(audit))
        .await
        .map(drop)
}
