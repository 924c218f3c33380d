//! The SQL of groups and projects (migration 0010), expanded per backend like
//! [`impl_store!`](crate::sql::impl_store); the [`Store`](crate::Store) methods delegate
//! here. Members of groups and projects reference `memberships`, so leaving a tenant
//! (removal, prune, deletion) takes an account out of them by foreign key.

/// The most ids bound in one `IN (…)` list; longer lists take one statement per this
/// many. Both backends take more parameters (SQLite 32,766, PostgreSQL 65,535), and at
/// this size the longest user list a front door walks (10,000 accounts) is still one
/// statement. Empty lists issue no statement.
pub(crate) const MAX_IDS_PER_STATEMENT: usize = 10_000;

macro_rules! impl_groups {
    ($store:ty, $db:ty, for_update = $for_update:literal) => {
        const _: () = {
            use $crate::sql::groups::MAX_IDS_PER_STATEMENT;
            use $crate::sql::rows::{self, Columns as _, millis, stored};
            use $crate::{
                MemberRecord, ProjectAccess, ProjectMember, ProjectMemberRecord,
                ProjectMemberRef, StoreError, StoreResult,
            };
            use latchkey_core::{
                AccountId, AuditEvent, Group, GroupId, GroupName, Page, PageRequest, Project,
                ProjectId, ProjectRole, RoleName, TenantId,
            };
            use time::OffsetDateTime;

            type Conn = <$db as sqlx::Database>::Connection;

            /// Appends ` IN ($a, $b, …)` binding `ids` (at least one).
            fn push_in<'a>(
                query: &mut sqlx::QueryBuilder<'a, $db>,
                ids: impl IntoIterator<Item = &'a str>,
            ) {
                query.push(" IN (");
                let mut list = query.separated(", ");
                for id in ids {
                    list.push_bind(id);
                }
                list.push_unseparated(")");
            }

            fn group_row(row: &impl rows::Columns) -> StoreResult<Group> {
                Ok(Group {
                    id: GroupId::from_string(row.text("id")?),
                    tenant_id: TenantId::from_string(row.text("tenant_id")?),
                    name: GroupName::parse(&row.text("name")?)
                        .map_err(|e| StoreError::Corrupt(format!("column name: {e}")))?,
                    created_at: row.time("created_at")?,
                })
            }

            fn project_row(row: &impl rows::Columns) -> StoreResult<Project> {
                Ok(Project {
                    id: ProjectId::from_string(row.text("id")?),
                    tenant_id: TenantId::from_string(row.text("tenant_id")?),
                    title: row.text("title")?,
                    description: row.text("description")?,
                    owner_id: row.opt_text("owner_id")?.map(AccountId::from_string),
                    created_at: row.time("created_at")?,
                })
            }

            fn project_role(row: &impl rows::Columns, column: &str) -> StoreResult<ProjectRole> {
                ProjectRole::parse(&row.text(column)?)
                    .map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
            }

            fn role_name(row: &impl rows::Columns, column: &str) -> StoreResult<RoleName> {
                RoleName::parse(&row.text(column)?)
                    .map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
            }

            /// The project-access rows of `SELECT p.*, x.role AS access_role, x.via AS via`.
            fn access_row(row: &impl rows::Columns) -> StoreResult<ProjectAccess> {
                Ok(ProjectAccess {
                    project: project_row(row)?,
                    role: project_role(row, "access_role")?,
                    via_group: row.opt_text("via_group")?.map(GroupId::from_string),
                })
            }

            impl $store {
                async fn locked_group(
                    conn: &mut Conn,
                    tenant: &TenantId,
                    id: &GroupId,
                ) -> StoreResult<()> {
                    sqlx::query(concat!(
                        "SELECT id FROM tenant_groups WHERE id = $1 AND tenant_id = $2",
                        $for_update
                    ))
                    .bind(id.as_str())
                    .bind(tenant.as_str())
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    Ok(())
                }

                /// `NotFound` unless every one of `accounts` is a member of `tenant`: one
                /// statement per [`MAX_IDS_PER_STATEMENT`] accounts. Every write that makes
                /// accounts members of a group or a project checks them here.
                async fn require_tenant_members(
                    conn: &mut Conn,
                    tenant: &TenantId,
                    accounts: &[AccountId],
                ) -> StoreResult<()> {
                    let mut wanted: Vec<&str> = accounts.iter().map(AccountId::as_str).collect();
                    wanted.sort_unstable();
                    wanted.dedup();
                    for chunk in wanted.chunks(MAX_IDS_PER_STATEMENT) {
                        let mut query = sqlx::QueryBuilder::<$db>::new(
                            "SELECT COUNT(*) AS found FROM memberships WHERE tenant_id = ",
                        );
                        query.push_bind(tenant.as_str()).push(" AND account_id");
                        push_in(&mut query, chunk.iter().copied());
                        let found = query.build().fetch_one(&mut *conn).await?.int("found")?;
                        if usize::try_from(found).ok() != Some(chunk.len()) {
                            return Err(StoreError::NotFound);
                        }
                    }
                    Ok(())
                }

                async fn insert_group_members(
                    conn: &mut Conn,
                    tenant: &TenantId,
                    group: &GroupId,
                    accounts: &[AccountId],
                    now: OffsetDateTime,
                ) -> StoreResult<()> {
                    Self::require_tenant_members(&mut *conn, tenant, accounts).await?;
                    for account in accounts {
                        sqlx::query(
                            "INSERT INTO group_members (group_id, tenant_id, account_id, created_at) \
                             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                        )
                        .bind(group.as_str())
                        .bind(tenant.as_str())
                        .bind(account.as_str())
                        .bind(millis(now))
                        .execute(&mut *conn)
                        .await?;
                    }
                    Ok(())
                }

                async fn locked_project(
                    conn: &mut Conn,
                    tenant: &TenantId,
                    id: &ProjectId,
                ) -> StoreResult<()> {
                    sqlx::query(concat!(
                        "SELECT id FROM projects WHERE id = $1 AND tenant_id = $2",
                        $for_update
                    ))
                    .bind(id.as_str())
                    .bind(tenant.as_str())
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    Ok(())
                }

                pub(crate) async fn sql_create_group(
                    &self,
                    group: &Group,
                    members: &[AccountId],
                    audit: &AuditEvent,
                ) -> StoreResult<Group> {
                    self.write_audited(audit, async |conn| {
                        sqlx::query("SELECT id FROM tenants WHERE id = $1")
                            .bind(group.tenant_id.as_str())
                            .fetch_optional(&mut *conn)
                            .await?
                            .ok_or(StoreError::NotFound)?;
                        sqlx::query(
                            "INSERT INTO tenant_groups (id, tenant_id, name, created_at) \
                             VALUES ($1, $2, $3, $4)",
                        )
                        .bind(group.id.as_str())
                        .bind(group.tenant_id.as_str())
                        .bind(group.name.as_str())
                        .bind(millis(group.created_at))
                        .execute(&mut *conn)
                        .await?;
                        Self::insert_group_members(conn, &group.tenant_id, &group.id, members, group.created_at)
                            .await?;
                        Ok(Group {
                            created_at: stored(group.created_at),
                            ..group.clone()
                        })
                    })
                    .await
                }

                pub(crate) async fn sql_group(
                    &self,
                    tenant: &TenantId,
                    id: &GroupId,
                ) -> StoreResult<Option<Group>> {
                    sqlx::query("SELECT * FROM tenant_groups WHERE id = $1 AND tenant_id = $2")
                        .bind(id.as_str())
                        .bind(tenant.as_str())
                        .fetch_optional(self.reader())
                        .await?
                        .map(|row| group_row(&row))
                        .transpose()
                }

                pub(crate) async fn sql_list_groups(
                    &self,
                    tenant: &TenantId,
                    page: &PageRequest,
                ) -> StoreResult<Page<Group>> {
                    let groups = sqlx::query(
                        "SELECT * FROM tenant_groups WHERE tenant_id = $1 \
                         AND ($2 IS NULL OR name > $2) ORDER BY name LIMIT $3",
                    )
                    .bind(tenant.as_str())
                    .bind(page.after.as_deref())
                    .bind(page.fetch_limit())
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(group_row)
                    .collect::<StoreResult<Vec<_>>>()?;
                    Ok(Page::from_overfetch(groups, page, |g| g.name.as_str().to_owned()))
                }


                /// Replaces the projects `group` is in with `projects`: those not listed
                /// lose it, new ones get `role`, those it is in already keep theirs.
                async fn replace_group_projects(
                    conn: &mut Conn,
                    tenant: &TenantId,
                    group: &GroupId,
                    projects: &[ProjectId],
                    role: ProjectRole,
                    now: OffsetDateTime,
                ) -> StoreResult<()> {
                    let mut wanted: Vec<&str> = projects.iter().map(ProjectId::as_str).collect();
                    wanted.sort_unstable();
                    wanted.dedup();
                    for chunk in wanted.chunks(MAX_IDS_PER_STATEMENT) {
                        let mut query = sqlx::QueryBuilder::<$db>::new(
                            "SELECT id FROM projects WHERE tenant_id = ",
                        );
                        query.push_bind(tenant.as_str()).push(" AND id");
                        push_in(&mut query, chunk.iter().copied());
                        query.push($for_update);
                        if query.build().fetch_all(&mut *conn).await?.len() != chunk.len() {
                            return Err(StoreError::NotFound);
                        }
                    }
                    let current: Vec<String> = sqlx::query(
                        "SELECT project_id FROM project_group_members \
                         WHERE tenant_id = $1 AND group_id = $2",
                    )
                    .bind(tenant.as_str())
                    .bind(group.as_str())
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(|row| row.text("project_id"))
                    .collect::<StoreResult<_>>()?;
                    let leaving: Vec<&str> = current
                        .iter()
                        .map(String::as_str)
                        .filter(|id| wanted.binary_search(id).is_err())
                        .collect();
                    // Projects it is in already keep the group's role there.
                    let joining: Vec<&str> = wanted
                        .iter()
                        .copied()
                        .filter(|id| !current.iter().any(|c| c == id))
                        .collect();
                    for chunk in leaving.chunks(MAX_IDS_PER_STATEMENT) {
                        let mut query = sqlx::QueryBuilder::<$db>::new(
                            "DELETE FROM project_group_members WHERE tenant_id = ",
                        );
                        query
                            .push_bind(tenant.as_str())
                            .push(" AND group_id = ")
                            .push_bind(group.as_str())
                            .push(" AND project_id");
                        push_in(&mut query, chunk.iter().copied());
                        query.build().execute(&mut *conn).await?;
                    }
                    // Five parameters a row.
                    for chunk in joining.chunks(MAX_IDS_PER_STATEMENT / 5) {
                        let mut query = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO project_group_members \
                             (project_id, tenant_id, group_id, role, created_at) ",
                        );
                        query.push_values(chunk, |mut row, project| {
                            row.push_bind(*project)
                                .push_bind(tenant.as_str())
                                .push_bind(group.as_str())
                                .push_bind(role.as_str())
                                .push_bind(millis(now));
                        });
                        query.build().execute(&mut *conn).await?;
                    }
                    Ok(())
                }

                pub(crate) async fn sql_update_group(
                    &self,
                    tenant: &TenantId,
                    id: &GroupId,
                    update: &$crate::GroupUpdate,
                    now: OffsetDateTime,
                    audit: &[AuditEvent],
                ) -> StoreResult<Group> {
                    let mut lane = self.write_lane().await?;
                    let mut tx = lane.begin().await?;
                    // The group's row lock orders concurrent updates of one group.
                    Self::locked_group(&mut tx, tenant, id).await?;
                    if let Some(name) = &update.name {
                        sqlx::query(
                            "UPDATE tenant_groups SET name = $1 WHERE id = $2 AND tenant_id = $3",
                        )
                        .bind(name.as_str())
                        .bind(id.as_str())
                        .bind(tenant.as_str())
                        .execute(&mut *tx)
                        .await?;
                    }
                    if let Some(members) = &update.members {
                        sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND tenant_id = $2")
                            .bind(id.as_str())
                            .bind(tenant.as_str())
                            .execute(&mut *tx)
                            .await?;
                        Self::insert_group_members(&mut tx, tenant, id, members, now).await?;
                    }
                    if let Some((projects, role)) = &update.projects {
                        Self::replace_group_projects(&mut tx, tenant, id, projects, *role, now).await?;
                    }
                    let row = sqlx::query("SELECT * FROM tenant_groups WHERE id = $1 AND tenant_id = $2")
                        .bind(id.as_str())
                        .bind(tenant.as_str())
                        .fetch_one(&mut *tx)
                        .await?;
                    let group = group_row(&row)?;
                    for event in audit {
                        Self::insert_audit(&mut tx, event).await?;
                    }
                    tx.commit().await?;
                    lane.durable().await?;
                    Ok(group)
                }

                pub(crate) async fn sql_delete_group(
                    &self,
                    tenant: &TenantId,
                    id: &GroupId,
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        let deleted = sqlx::query("DELETE FROM tenant_groups WHERE id = $1 AND tenant_id = $2")
                            .bind(id.as_str())
                            .bind(tenant.as_str())
                            .execute(&mut *conn)
                            .await?
                            .rows_affected();
                        if deleted == 0 {
                            return Err(StoreError::NotFound);
                        }
                        Ok(())
                    })
                    .await
                }

                pub(crate) async fn sql_group_members(
                    &self,
                    tenant: &TenantId,
                    group: &GroupId,
                ) -> StoreResult<Vec<MemberRecord>> {
                    sqlx::query(
                        "SELECT a.*, m.role AS member_role FROM group_members g \
                         JOIN memberships m ON m.tenant_id = g.tenant_id AND m.account_id = g.account_id \
                         JOIN accounts a ON a.id = g.account_id \
                         WHERE g.group_id = $1 AND g.tenant_id = $2 ORDER BY m.email_key",
                    )
                    .bind(group.as_str())
                    .bind(tenant.as_str())
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(rows::member)
                    .collect()
                }

                pub(crate) async fn sql_add_group_member(
                    &self,
                    tenant: &TenantId,
                    group: &GroupId,
                    account: &AccountId,
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        Self::locked_group(conn, tenant, group).await?;
                        Self::require_tenant_members(conn, tenant, std::slice::from_ref(account)).await?;
                        sqlx::query(
                            "INSERT INTO group_members (group_id, tenant_id, account_id, created_at) \
                             VALUES ($1, $2, $3, $4)",
                        )
                        .bind(group.as_str())
                        .bind(tenant.as_str())
                        .bind(account.as_str())
                        .bind(millis(now))
                        .execute(&mut *conn)
                        .await?;
                        Ok(())
                    })
                    .await
                }

                pub(crate) async fn sql_remove_group_member(
                    &self,
                    tenant: &TenantId,
                    group: &GroupId,
                    account: &AccountId,
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        let deleted = sqlx::query(
                            "DELETE FROM group_members \
                             WHERE group_id = $1 AND tenant_id = $2 AND account_id = $3",
                        )
                        .bind(group.as_str())
                        .bind(tenant.as_str())
                        .bind(account.as_str())
                        .execute(&mut *conn)
                        .await?
                        .rows_affected();
                        if deleted == 0 {
                            return Err(StoreError::NotFound);
                        }
                        Ok(())
                    })
                    .await
                }


                pub(crate) async fn sql_set_group_roles(
                    &self,
                    tenant: &TenantId,
                    group: &GroupId,
                    roles: &[RoleName],
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        Self::locked_group(conn, tenant, group).await?;
                        sqlx::query("DELETE FROM group_roles WHERE group_id = $1 AND tenant_id = $2")
                            .bind(group.as_str())
                            .bind(tenant.as_str())
                            .execute(&mut *conn)
                            .await?;
                        for role in roles {
                            sqlx::query("SELECT name FROM roles WHERE tenant_id = $1 AND name = $2")
                                .bind(tenant.as_str())
                                .bind(role.as_str())
                                .fetch_optional(&mut *conn)
                                .await?
                                .ok_or(StoreError::NotFound)?;
                            sqlx::query(
                                "INSERT INTO group_roles (group_id, tenant_id, role) VALUES ($1, $2, $3) \
                                 ON CONFLICT DO NOTHING",
                            )
                            .bind(group.as_str())
                            .bind(tenant.as_str())
                            .bind(role.as_str())
                            .execute(&mut *conn)
                            .await?;
                        }
                        Ok(())
                    })
                    .await
                }

                pub(crate) async fn sql_group_roles(
                    &self,
                    tenant: &TenantId,
                    group: &GroupId,
                ) -> StoreResult<Vec<RoleName>> {
                    sqlx::query(
                        "SELECT role FROM group_roles WHERE group_id = $1 AND tenant_id = $2 ORDER BY role",
                    )
                    .bind(group.as_str())
                    .bind(tenant.as_str())
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(|row| role_name(row, "role"))
                    .collect()
                }

                pub(crate) async fn sql_groups_of(
                    &self,
                    tenant: &TenantId,
                    account: &AccountId,
                ) -> StoreResult<Vec<Group>> {
                    sqlx::query(
                        "SELECT g.* FROM group_members m JOIN tenant_groups g ON g.id = m.group_id \
                         WHERE m.tenant_id = $1 AND m.account_id = $2 ORDER BY g.name",
                    )
                    .bind(tenant.as_str())
                    .bind(account.as_str())
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(group_row)
                    .collect()
                }

                pub(crate) async fn sql_granted_roles(
                    &self,
                    tenant: &TenantId,
                    account: &AccountId,
                ) -> StoreResult<Vec<RoleName>> {
                    sqlx::query(
                        "SELECT DISTINCT r.role AS role FROM group_members m \
                         JOIN group_roles r ON r.group_id = m.group_id \
                         WHERE m.tenant_id = $1 AND m.account_id = $2 ORDER BY role",
                    )
                    .bind(tenant.as_str())
                    .bind(account.as_str())
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(|row| role_name(row, "role"))
                    .collect()
                }

                pub(crate) async fn sql_members_of_groups(
                    &self,
                    tenant: &TenantId,
                    groups: &[GroupId],
                ) -> StoreResult<Vec<(GroupId, MemberRecord)>> {
                    let mut members = Vec::new();
                    for chunk in groups.chunks(MAX_IDS_PER_STATEMENT) {
                        let mut query = sqlx::QueryBuilder::<$db>::new(
                            "SELECT a.*, m.role AS member_role, g.group_id AS member_of_group \
                             FROM group_members g \
                             JOIN memberships m ON m.tenant_id = g.tenant_id AND m.account_id = g.account_id \
                             JOIN accounts a ON a.id = g.account_id WHERE g.tenant_id = ",
                        );
                        query.push_bind(tenant.as_str()).push(" AND g.group_id");
                        push_in(&mut query, chunk.iter().map(GroupId::as_str));
                        query.push(" ORDER BY g.group_id, m.email_key");
                        for row in query.build().fetch_all(self.reader()).await? {
                            members.push((
                                GroupId::from_string(row.text("member_of_group")?),
                                rows::member(&row)?,
                            ));
                        }
                    }
                    Ok(members)
                }

                pub(crate) async fn sql_roles_of_groups(
                    &self,
                    tenant: &TenantId,
                    groups: &[GroupId],
                ) -> StoreResult<Vec<(GroupId, RoleName)>> {
                    let mut roles = Vec::new();
                    for chunk in groups.chunks(MAX_IDS_PER_STATEMENT) {
                        let mut query = sqlx::QueryBuilder::<$db>::new(
                            "SELECT group_id, role FROM group_roles WHERE tenant_id = ",
                        );
                        query.push_bind(tenant.as_str()).push(" AND group_id");
                        push_in(&mut query, chunk.iter().map(GroupId::as_str));
                        query.push(" ORDER BY group_id, role");
                        for row in query.build().fetch_all(self.reader()).await? {
                            roles.push((GroupId::from_string(row.text("group_id")?), role_name(&row, "role")?));
                        }
                    }
                    Ok(roles)
                }

                pub(crate) async fn sql_group_memberships(
                    &self,
                    tenant: &TenantId,
                    accounts: &[AccountId],
                ) -> StoreResult<Vec<(AccountId, Group)>> {
                    let mut memberships = Vec::new();
                    for chunk in accounts.chunks(MAX_IDS_PER_STATEMENT) {
                        let mut query = sqlx::QueryBuilder::<$db>::new(
                            "SELECT g.*, gm.account_id AS member_account FROM group_members gm \
                             JOIN tenant_groups g ON g.id = gm.group_id WHERE gm.tenant_id = ",
                        );
                        query.push_bind(tenant.as_str()).push(" AND gm.account_id");
                        push_in(&mut query, chunk.iter().map(AccountId::as_str));
                        query.push(" ORDER BY gm.account_id, g.name");
                        for row in query.build().fetch_all(self.reader()).await? {
                            memberships.push((
                                AccountId::from_string(row.text("member_account")?),
                                group_row(&row)?,
                            ));
                        }
                    }
                    Ok(memberships)
                }

                pub(crate) async fn sql_create_project(
                    &self,
                    project: &Project,
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<Project> {
                    self.write_audited(audit, async |conn| {
                        sqlx::query("SELECT id FROM tenants WHERE id = $1")
                            .bind(project.tenant_id.as_str())
                            .fetch_optional(&mut *conn)
                            .await?
                            .ok_or(StoreError::NotFound)?;
                        sqlx::query(
                            "INSERT INTO projects (id, tenant_id, title, description, owner_id, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(project.id.as_str())
                        .bind(project.tenant_id.as_str())
                        .bind(project.title.as_str())
                        .bind(project.description.as_str())
                        .bind(project.owner_id.as_ref().map(AccountId::as_str))
                        .bind(millis(project.created_at))
                        .execute(&mut *conn)
                        .await?;
                        if let Some(owner) = &project.owner_id {
                            // Only a member of the tenant can be a project member (a platform
                            // administrator acting from elsewhere stays the recorded owner).
                            sqlx::query(
                                "INSERT INTO project_account_members \
                                 (project_id, tenant_id, account_id, role, created_at) \
                                 SELECT $1, $2, $3, 'admin', $4 FROM memberships \
                                 WHERE tenant_id = $2 AND account_id = $3",
                            )
                            .bind(project.id.as_str())
                            .bind(project.tenant_id.as_str())
                            .bind(owner.as_str())
                            .bind(millis(now))
                            .execute(&mut *conn)
                            .await?;
                        }
                        Ok(Project {
                            created_at: stored(project.created_at),
                            ..project.clone()
                        })
                    })
                    .await
                }

                pub(crate) async fn sql_project(
                    &self,
                    tenant: &TenantId,
                    id: &ProjectId,
                ) -> StoreResult<Option<Project>> {
                    sqlx::query("SELECT * FROM projects WHERE id = $1 AND tenant_id = $2")
                        .bind(id.as_str())
                        .bind(tenant.as_str())
                        .fetch_optional(self.reader())
                        .await?
                        .map(|row| project_row(&row))
                        .transpose()
                }

                pub(crate) async fn sql_list_projects(
                    &self,
                    tenant: &TenantId,
                    visible_to: Option<&AccountId>,
                    page: &PageRequest,
                ) -> StoreResult<Page<Project>> {
                    let query = match visible_to {
                        None => sqlx::query(
                            "SELECT * FROM projects WHERE tenant_id = $1 \
                             AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3",
                        ),
                        Some(_) => sqlx::query(
                            "SELECT * FROM projects p WHERE p.tenant_id = $1 \
                             AND ($2 IS NULL OR p.id > $2) \
                             AND (EXISTS (SELECT 1 FROM project_account_members pm \
                                  WHERE pm.project_id = p.id AND pm.account_id = $3) \
                               OR EXISTS (SELECT 1 FROM project_group_members pg \
                                  JOIN group_members gm ON gm.group_id = pg.group_id \
                                  WHERE pg.project_id = p.id AND gm.account_id = $3)) \
                             ORDER BY p.id LIMIT $4",
                        ),
                    };
                    let mut query = query.bind(tenant.as_str()).bind(page.after.as_deref());
                    if let Some(account) = visible_to {
                        query = query.bind(account.as_str());
                    }
                    let projects = query
                        .bind(page.fetch_limit())
                        .fetch_all(self.reader())
                        .await?
                        .iter()
                        .map(project_row)
                        .collect::<StoreResult<Vec<_>>>()?;
                    Ok(Page::from_overfetch(projects, page, |p| p.id.to_string()))
                }

                pub(crate) async fn sql_delete_project(
                    &self,
                    tenant: &TenantId,
                    id: &ProjectId,
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        let deleted = sqlx::query("DELETE FROM projects WHERE id = $1 AND tenant_id = $2")
                            .bind(id.as_str())
                            .bind(tenant.as_str())
                            .execute(&mut *conn)
                            .await?
                            .rows_affected();
                        if deleted == 0 {
                            return Err(StoreError::NotFound);
                        }
                        Ok(())
                    })
                    .await
                }

                pub(crate) async fn sql_project_members(
                    &self,
                    tenant: &TenantId,
                    project: &ProjectId,
                ) -> StoreResult<Vec<ProjectMemberRecord>> {
                    // The roles the project's groups give each of their members.
                    let via = sqlx::query(
                        "SELECT gm.account_id AS account_id, pg.role AS role \
                         FROM project_group_members pg \
                         JOIN group_members gm ON gm.group_id = pg.group_id \
                         WHERE pg.project_id = $1 AND pg.tenant_id = $2",
                    )
                    .bind(project.as_str())
                    .bind(tenant.as_str())
                    .fetch_all(self.reader())
                    .await?;
                    let mut via_groups: std::collections::HashMap<String, Vec<ProjectRole>> =
                        std::collections::HashMap::new();
                    for row in &via {
                        via_groups
                            .entry(row.text("account_id")?)
                            .or_default()
                            .push(project_role(row, "role")?);
                    }
                    let mut members = Vec::new();
                    let users = sqlx::query(
                        "SELECT a.*, m.role AS member_role, pm.role AS project_role \
                         FROM project_account_members pm \
                         JOIN memberships m ON m.tenant_id = pm.tenant_id AND m.account_id = pm.account_id \
                         JOIN accounts a ON a.id = pm.account_id \
                         WHERE pm.project_id = $1 AND pm.tenant_id = $2 ORDER BY m.email_key",
                    )
                    .bind(project.as_str())
                    .bind(tenant.as_str())
                    .fetch_all(self.reader())
                    .await?;
                    for row in &users {
                        let account = rows::account(row)?;
                        let via = via_groups.remove(account.id.as_str()).unwrap_or_default();
                        members.push(ProjectMemberRecord {
                            project_id: project.clone(),
                            role: project_role(row, "project_role")?,
                            member: ProjectMember::User {
                                account,
                                tenant_role: role_name(row, "member_role")?,
                                via_groups: via,
                            },
                        });
                    }
                    let groups = sqlx::query(
                        "SELECT g.*, pg.role AS project_role FROM project_group_members pg \
                         JOIN tenant_groups g ON g.id = pg.group_id \
                         WHERE pg.project_id = $1 AND pg.tenant_id = $2 ORDER BY g.name",
                    )
                    .bind(project.as_str())
                    .bind(tenant.as_str())
                    .fetch_all(self.reader())
                    .await?;
                    for row in &groups {
                        members.push(ProjectMemberRecord {
                            project_id: project.clone(),
                            role: project_role(row, "project_role")?,
                            member: ProjectMember::Group(group_row(row)?),
                        });
                    }
                    Ok(members)
                }

                #[allow(clippy::too_many_arguments)]
                pub(crate) async fn sql_add_project_member(
                    &self,
                    tenant: &TenantId,
                    project: &ProjectId,
                    member: &ProjectMemberRef,
                    role: ProjectRole,
                    now: OffsetDateTime,
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        Self::locked_project(conn, tenant, project).await?;
                        match member {
                            ProjectMemberRef::User(account) => {
                                Self::require_tenant_members(conn, tenant, std::slice::from_ref(account)).await?;
                                sqlx::query(
                                    "INSERT INTO project_account_members \
                                     (project_id, tenant_id, account_id, role, created_at) \
                                     VALUES ($1, $2, $3, $4, $5)",
                                )
                                .bind(project.as_str())
                                .bind(tenant.as_str())
                                .bind(account.as_str())
                                .bind(role.as_str())
                                .bind(millis(now))
                                .execute(&mut *conn)
                                .await?;
                            }
                            ProjectMemberRef::Group(group) => {
                                Self::locked_group(conn, tenant, group).await?;
                                sqlx::query(
                                    "INSERT INTO project_group_members \
                                     (project_id, tenant_id, group_id, role, created_at) \
                                     VALUES ($1, $2, $3, $4, $5)",
                                )
                                .bind(project.as_str())
                                .bind(tenant.as_str())
                                .bind(group.as_str())
                                .bind(role.as_str())
                                .bind(millis(now))
                                .execute(&mut *conn)
                                .await?;
                            }
                        }
                        Ok(())
                    })
                    .await
                }

                pub(crate) async fn sql_set_project_member_role(
                    &self,
                    tenant: &TenantId,
                    project: &ProjectId,
                    member_id: &str,
                    role: ProjectRole,
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        let mut changed = 0;
                        for statement in [
                            "UPDATE project_account_members SET role = $1 \
                             WHERE project_id = $2 AND tenant_id = $3 AND account_id = $4",
                            "UPDATE project_group_members SET role = $1 \
                             WHERE project_id = $2 AND tenant_id = $3 AND group_id = $4",
                        ] {
                            changed += sqlx::query(statement)
                                .bind(role.as_str())
                                .bind(project.as_str())
                                .bind(tenant.as_str())
                                .bind(member_id)
                                .execute(&mut *conn)
                                .await?
                                .rows_affected();
                        }
                        if changed == 0 {
                            return Err(StoreError::NotFound);
                        }
                        Ok(())
                    })
                    .await
                }

                pub(crate) async fn sql_remove_project_member(
                    &self,
                    tenant: &TenantId,
                    project: &ProjectId,
                    member_id: &str,
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    self.write_audited(audit, async |conn| {
                        let mut deleted = 0;
                        for statement in [
                            "DELETE FROM project_account_members \
                             WHERE project_id = $1 AND tenant_id = $2 AND account_id = $3",
                            "DELETE FROM project_group_members \
                             WHERE project_id = $1 AND tenant_id = $2 AND group_id = $3",
                        ] {
                            deleted += sqlx::query(statement)
                                .bind(project.as_str())
                                .bind(tenant.as_str())
                                .bind(member_id)
                                .execute(&mut *conn)
                                .await?
                                .rows_affected();
                        }
                        if deleted == 0 {
                            return Err(StoreError::NotFound);
                        }
                        Ok(())
                    })
                    .await
                }

                pub(crate) async fn sql_account_projects(
                    &self,
                    tenant: &TenantId,
                    account: &AccountId,
                ) -> StoreResult<Vec<ProjectAccess>> {
                    sqlx::query(
                        "SELECT p.*, pm.role AS access_role, NULL AS via_group \
                         FROM project_account_members pm JOIN projects p ON p.id = pm.project_id \
                         WHERE pm.tenant_id = $1 AND pm.account_id = $2 \
                         UNION ALL \
                         SELECT p.*, pg.role AS access_role, pg.group_id AS via_group \
                         FROM group_members gm \
                         JOIN project_group_members pg ON pg.group_id = gm.group_id \
                         JOIN projects p ON p.id = pg.project_id \
                         WHERE gm.tenant_id = $1 AND gm.account_id = $2 \
                         ORDER BY id",
                    )
                    .bind(tenant.as_str())
                    .bind(account.as_str())
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(access_row)
                    .collect()
                }

                pub(crate) async fn sql_group_projects(
                    &self,
                    tenant: &TenantId,
                    group: &GroupId,
                ) -> StoreResult<Vec<ProjectAccess>> {
                    sqlx::query(
                        "SELECT p.*, pg.role AS access_role, pg.group_id AS via_group \
                         FROM project_group_members pg JOIN projects p ON p.id = pg.project_id \
                         WHERE pg.tenant_id = $1 AND pg.group_id = $2 ORDER BY p.id",
                    )
                    .bind(tenant.as_str())
                    .bind(group.as_str())
                    .fetch_all(self.reader())
                    .await?
                    .iter()
                    .map(access_row)
                    .collect()
                }

            }
        };
    };
}

pub(crate) use impl_groups;
