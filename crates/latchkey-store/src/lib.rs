//! Latchkey's persistence. One [`Store`] trait, implemented for SQLite (the embedded
//! default) and PostgreSQL (several nodes on one database).
//!
//! Every method is a unit of work: it runs in exactly one transaction, and a mutation
//! writes its audit event inside that same transaction, so a change and its record of who
//! made it are never separated. Services compose these units; they never see a
//! transaction handle, which keeps the trait object-safe and the backends interchangeable.

mod error;
mod group_commit;
mod model;
mod postgres;
mod sql;
mod sqlite;
pub mod testing;

pub use error::{ConflictOn, StoreError, StoreResult};
pub use model::{
    AccountCredentials, AccountMfa, AuthorizationCode, GrantRecord, GroupUpdate, MemberFilter,
    MemberRecord, MembershipRemoval, ProjectAccess, ProjectMember, ProjectMemberRecord,
    ProjectMemberRef, PruneBatch, PurgeCutoffs, PurgeReport, Redemption, RotationOutcome,
    SignInRecord, SigningKeyStatus, StoredExternalAuth, StoredSigningKey, TenantOwner,
};
pub use postgres::PostgresStore;
pub use sql::prune::MAX_PRUNE_BATCH;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use latchkey_core::{
    Account, AccountId, AccountPatch, Application, AuditEvent, ClientId, Group, GroupId,
    ImpersonationGrant, LockoutPolicy, LoginThrottle, Membership, NewAccount, NewImportedAccount,
    NewTenant, Page, PageRequest, Project, ProjectId, ProjectRole, Role, RoleName, Session,
    SessionId, Tenant, TenantId, TenantPatch, TermsAcceptance, TermsVersion, ThrottleDecision,
};
use time::OffsetDateTime;

/// Connects to the store named by `url`: `sqlite://PATH` or `postgres://…`, and migrates it.
pub async fn connect(url: &str) -> StoreResult<std::sync::Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(PostgresStore::connect(url).await?))
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(std::sync::Arc::new(
            SqliteStore::open(std::path::Path::new(path)).await?,
        ))
    } else {
        Err(StoreError::Config(
            "database URL must start with sqlite:// or postgres://".into(),
        ))
    }
}

/// The most tombstones of each kind (pruned memberships, pruned accounts) one
/// [`Store::purge_expired`] deletes; the rest go in the following runs.
pub const PURGE_PRUNED_PER_RUN: u32 = 50_000;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// The backend's name, for logs and metrics.
    fn backend(&self) -> &'static str;

    // ---- tenants -------------------------------------------------------------------

    /// Creates a tenant with the built-in roles and the built-in client `admin-cli`.
    async fn create_tenant(
        &self,
        id: &TenantId,
        tenant: &NewTenant,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<Tenant>;
    /// [`Store::create_tenant`], and in the same transaction the `owner`'s `admin`
    /// membership of it (creating the owner's account first when it is new). `NotFound`
    /// when an existing owner does not exist; `Conflict` on a taken domain, email or
    /// username (nothing is written).
    async fn create_owned_tenant(
        &self,
        id: &TenantId,
        tenant: &NewTenant,
        owner: TenantOwner<'_>,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<Tenant>;
    async fn tenant_by_domain(&self, domain: &str) -> StoreResult<Option<Tenant>>;
    async fn tenant_by_id(&self, id: &TenantId) -> StoreResult<Option<Tenant>>;
    /// Tenants ordered by domain.
    async fn list_tenants(&self, page: &PageRequest) -> StoreResult<Page<Tenant>>;
    async fn update_tenant(
        &self,
        id: &TenantId,
        patch: &TenantPatch,
        audit: &AuditEvent,
    ) -> StoreResult<Tenant>;
    /// Deletes a tenant with its roles, memberships, sessions and keys. Accounts are
    /// global: those that are members elsewhere (and platform administrators) stay, those
    /// that belonged to this tenant alone are deleted with it.
    async fn delete_tenant(&self, id: &TenantId, audit: &AuditEvent) -> StoreResult<()>;

    // ---- applications (OAuth clients) -------------------------------------------------

    /// Registers an application; `Conflict(Other)` when the tenant already has one with
    /// that client id, `NotFound` when the tenant does not exist.
    async fn create_application(
        &self,
        application: &Application,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn application(
        &self,
        tenant: &TenantId,
        client_id: &ClientId,
    ) -> StoreResult<Option<Application>>;
    /// A tenant's applications ordered by client id (a tenant has few).
    async fn list_applications(&self, tenant: &TenantId) -> StoreResult<Vec<Application>>;
    async fn delete_application(
        &self,
        tenant: &TenantId,
        client_id: &ClientId,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Replaces a confidential client's secret hash.
    async fn set_application_secret(
        &self,
        tenant: &TenantId,
        client_id: &ClientId,
        secret_hash: &str,
        audit: &AuditEvent,
    ) -> StoreResult<()>;

    // ---- roles ---------------------------------------------------------------------

    async fn role(&self, tenant: &TenantId, name: &RoleName) -> StoreResult<Option<Role>>;
    async fn list_roles(&self, tenant: &TenantId) -> StoreResult<Vec<Role>>;
    /// Creates the custom role `role` in the tenant or replaces its permissions; true
    /// when it was created. `Conflict(Other)` when a built-in role has that name (they
    /// cannot change), `NotFound` when the tenant does not exist.
    async fn put_role(
        &self,
        tenant: &TenantId,
        role: &Role,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Removes a custom role. `NotFound` when the tenant has no such role,
    /// `Conflict(Other)` when it is built in or a membership (or a pruned membership
    /// that could be restored) still holds it.
    async fn delete_role(
        &self,
        tenant: &TenantId,
        name: &RoleName,
        audit: &AuditEvent,
    ) -> StoreResult<()>;

    // ---- applications across tenants (the Cloudspot "module") -----------------------

    /// True when some tenant has an application with this client id.
    async fn application_exists_anywhere(&self, client_id: &ClientId) -> StoreResult<bool>;
    /// The account's memberships in tenants that have an application with this client
    /// id, ordered by tenant id.
    async fn memberships_with_application(
        &self,
        account: &AccountId,
        client_id: &ClientId,
    ) -> StoreResult<Vec<Membership>>;
    /// [`Store::most_recently_used_tenant`] among the account's tenants that have an
    /// application with this client id.
    async fn most_recently_used_tenant_with_application(
        &self,
        account: &AccountId,
        client_id: &ClientId,
    ) -> StoreResult<Option<TenantId>>;

    // ---- impersonation --------------------------------------------------------------

    /// Stores a minted impersonation token (by hash). `NotFound` when its account is no
    /// member of its tenant.
    async fn create_impersonation(
        &self,
        grant: &ImpersonationGrant,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// The impersonation token hashed as `token_hash`, if it is unspent and unexpired
    /// at `now`.
    async fn impersonation(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<ImpersonationGrant>>;
    /// Spends the impersonation token and opens `session` (no refresh token) as its
    /// member, in one transaction. False, nothing written, when the token is unknown,
    /// spent or expired at `now`, names another account or tenant than `session`, or its
    /// member is no longer a member or is disabled.
    async fn redeem_impersonation(
        &self,
        token_hash: &str,
        session: &Session,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;

    // ---- accounts ------------------------------------------------------------------

    /// True when no account exists yet (the instance needs bootstrapping).
    async fn has_no_accounts(&self) -> StoreResult<bool>;
    /// Creates an account, and its membership when `membership` is given.
    async fn create_account(
        &self,
        id: &AccountId,
        account: &NewAccount,
        membership: Option<(&TenantId, &RoleName)>,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<Account>;
    /// Creates `accounts` as members of `tenant`, all or none: one transaction, with
    /// `audit` as the single event of the whole batch. Rows go in with multi-row
    /// `INSERT`s. `ImportConflict` names the first account whose email or username is
    /// taken, by a stored account or an earlier one of the batch (nothing is written);
    /// `NotFound` when the tenant lacks one of the roles. Returns how many were created.
    async fn import_accounts(
        &self,
        tenant: &TenantId,
        accounts: &[NewImportedAccount],
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<u64>;
    async fn account_by_id(&self, id: &AccountId) -> StoreResult<Option<Account>>;
    /// Finds an account by normalised email or username, with its password hash.
    async fn account_by_login(&self, login_key: &str) -> StoreResult<Option<AccountCredentials>>;
    async fn password_hash(&self, id: &AccountId) -> StoreResult<Option<String>>;
    /// Applies `patch`; with `role_in`, also changes the account's role in that tenant
    /// (`NotFound` when the account is no member there or the role does not exist).
    /// Disabling an account revokes all its sessions at `now`, so enabling it again
    /// brings none of them back.
    async fn update_account(
        &self,
        id: &AccountId,
        patch: &AccountPatch,
        role_in: Option<(&TenantId, &RoleName)>,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<Account>;
    async fn delete_account(&self, id: &AccountId, audit: &AuditEvent) -> StoreResult<()>;
    /// Sets the password hash, revokes every session of the account except `keep`,
    /// deletes its MFA enrolment tokens (earned with the old password) and clears the
    /// brute-force record `clear_throttle` (a new password unlocks).
    /// NotFound when the account does not exist.
    async fn set_password_hash(
        &self,
        id: &AccountId,
        hash: &str,
        keep: Option<&SessionId>,
        clear_throttle: Option<&str>,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<()>;

    // ---- memberships ---------------------------------------------------------------

    async fn membership(
        &self,
        tenant: &TenantId,
        account: &AccountId,
    ) -> StoreResult<Option<Membership>>;
    /// Adds the account to the tenant or changes its role there.
    async fn put_membership(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        role: &RoleName,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<Membership>;
    /// Removes the membership and revokes the account's sessions in that tenant; an
    /// account left without any membership is deleted too, unless it is a platform
    /// administrator. One transaction, so an account joining another tenant meanwhile
    /// is never lost.
    async fn remove_membership(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<MembershipRemoval>;
    /// Every membership of an account, in any tenant, ordered by tenant id.
    async fn memberships_of(&self, account: &AccountId) -> StoreResult<Vec<Membership>>;
    /// How many members of a tenant match `filter`.
    async fn count_members(&self, tenant: &TenantId, filter: &MemberFilter) -> StoreResult<i64>;
    /// Members of a tenant ordered by normalised email.
    async fn list_members(
        &self,
        tenant: &TenantId,
        filter: &MemberFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<MemberRecord>>;

    // ---- dormant-account prune ---------------------------------------------------------

    /// Prunes the first `limit` members of `tenant` that match `filter` and sort after
    /// the email key `after`, in email order, as ONE transaction: their memberships move
    /// to `pruned_memberships`, their sessions in the tenant end, and accounts left
    /// without any membership move (with their authenticator) to `pruned_accounts`.
    /// Each account gets its own audit event, a copy of `audit` with a fresh id, the
    /// account as target and `{"email", "role", "account_removed"}` merged into the
    /// detail. The victims are selected inside the transaction with the filter of
    /// [`Store::list_members`], so a dry run lists exactly what a run removes, and an
    /// interrupted run picks up where it stopped when started again.
    #[allow(clippy::too_many_arguments)]
    async fn prune_members(
        &self,
        tenant: &TenantId,
        filter: &MemberFilter,
        after: Option<&str>,
        limit: u32,
        pruned_by: &AccountId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<PruneBatch>;
    /// Brings pruned members of `tenant` back, all or none, in one transaction: the
    /// account (when it was moved out) with its authenticator, and its membership with
    /// its role. `NotFound` when one of them has no pruned membership in `tenant` pruned
    /// at or after `pruned_since` (never pruned there, restored already, out of its
    /// retention, purged, or its account was deleted since);
    /// `Conflict` when its email or username was registered again meanwhile. One audit
    /// event per account, a copy of `audit` with a fresh id and the account as target.
    async fn restore_pruned(
        &self,
        tenant: &TenantId,
        accounts: &[AccountId],
        pruned_since: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<u64>;

    // ---- groups ----------------------------------------------------------------------

    /// Creates a group with `members` (accounts that are members of its tenant).
    /// `Conflict(Other)` when the tenant has a group of that name; `NotFound` when the
    /// tenant does not exist or one of `members` is no member of it.
    async fn create_group(
        &self,
        group: &Group,
        members: &[AccountId],
        audit: &AuditEvent,
    ) -> StoreResult<Group>;
    async fn group(&self, tenant: &TenantId, id: &GroupId) -> StoreResult<Option<Group>>;
    /// A tenant's groups ordered by name (the cursor is the name).
    async fn list_groups(&self, tenant: &TenantId, page: &PageRequest) -> StoreResult<Page<Group>>;
    /// Renames a group and/or replaces its members and/or its projects, all or nothing,
    /// writing `audit` (one event per part changed) in the same transaction. `NotFound`
    /// for an unknown group or project, or an account that is no member of the tenant;
    /// `Conflict(Other)` when the name is taken.
    async fn update_group(
        &self,
        tenant: &TenantId,
        id: &GroupId,
        update: &GroupUpdate,
        now: OffsetDateTime,
        audit: &[AuditEvent],
    ) -> StoreResult<Group>;
    /// Deletes a group with its members, role grants and project memberships.
    async fn delete_group(
        &self,
        tenant: &TenantId,
        id: &GroupId,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// A group's members with their tenant role, ordered by normalised email.
    async fn group_members(
        &self,
        tenant: &TenantId,
        group: &GroupId,
    ) -> StoreResult<Vec<MemberRecord>>;
    /// `Conflict(Other)` when the account is in the group already; `NotFound` when the
    /// group is unknown or the account is no member of the tenant.
    async fn add_group_member(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        account: &AccountId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// `NotFound` when the group is unknown or the account is not in it.
    async fn remove_group_member(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        account: &AccountId,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Replaces the roles a group grants; `NotFound` for an unknown group or role.
    async fn set_group_roles(
        &self,
        tenant: &TenantId,
        group: &GroupId,
        roles: &[RoleName],
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// The roles a group grants, by name.
    async fn group_roles(&self, tenant: &TenantId, group: &GroupId) -> StoreResult<Vec<RoleName>>;
    /// The groups of a tenant the account is in, by name.
    async fn groups_of(&self, tenant: &TenantId, account: &AccountId) -> StoreResult<Vec<Group>>;
    /// The members of each of `groups` with their tenant role, for a page of groups in one
    /// round trip: one row per group membership, ordered by group id, then normalised
    /// email. Groups of other tenants have none.
    async fn members_of_groups(
        &self,
        tenant: &TenantId,
        groups: &[GroupId],
    ) -> StoreResult<Vec<(GroupId, MemberRecord)>>;
    /// The roles each of `groups` grants: one row per grant, ordered by group id, then
    /// role.
    async fn roles_of_groups(
        &self,
        tenant: &TenantId,
        groups: &[GroupId],
    ) -> StoreResult<Vec<(GroupId, RoleName)>>;
    /// The groups of the tenant each of `accounts` is in, for a page of users in one round
    /// trip: one row per group membership, ordered by account id, then group name.
    async fn group_memberships(
        &self,
        tenant: &TenantId,
        accounts: &[AccountId],
    ) -> StoreResult<Vec<(AccountId, Group)>>;
    /// The roles an account's groups grant it in a tenant, by name, without repeats.
    async fn granted_roles(
        &self,
        tenant: &TenantId,
        account: &AccountId,
    ) -> StoreResult<Vec<RoleName>>;

    // ---- projects --------------------------------------------------------------------

    /// Creates a project; its owner, when it is a member of the tenant, becomes the
    /// project's first `admin`. `NotFound` when the tenant does not exist.
    async fn create_project(
        &self,
        project: &Project,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<Project>;
    async fn project(&self, tenant: &TenantId, id: &ProjectId) -> StoreResult<Option<Project>>;
    /// A tenant's projects ordered by id; with `visible_to`, only those the account is a
    /// member of, directly or through a group.
    async fn list_projects(
        &self,
        tenant: &TenantId,
        visible_to: Option<&AccountId>,
        page: &PageRequest,
    ) -> StoreResult<Page<Project>>;
    async fn delete_project(
        &self,
        tenant: &TenantId,
        id: &ProjectId,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// A project's members: accounts (by normalised email), then groups (by name).
    async fn project_members(
        &self,
        tenant: &TenantId,
        project: &ProjectId,
    ) -> StoreResult<Vec<ProjectMemberRecord>>;
    /// `Conflict(Other)` when already a member; `NotFound` for an unknown project, group,
    /// or an account that is no member of the tenant.
    #[allow(clippy::too_many_arguments)]
    async fn add_project_member(
        &self,
        tenant: &TenantId,
        project: &ProjectId,
        member: &ProjectMemberRef,
        role: ProjectRole,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Changes the role of the member (account or group) `member_id`; `NotFound` when
    /// it is no member of the project.
    async fn set_project_member_role(
        &self,
        tenant: &TenantId,
        project: &ProjectId,
        member_id: &str,
        role: ProjectRole,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// `NotFound` when `member_id` is no member of the project.
    async fn remove_project_member(
        &self,
        tenant: &TenantId,
        project: &ProjectId,
        member_id: &str,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Every role the account holds in the tenant's projects: one entry per direct
    /// membership and per group membership, ordered by project id.
    async fn account_projects(
        &self,
        tenant: &TenantId,
        account: &AccountId,
    ) -> StoreResult<Vec<ProjectAccess>>;
    /// The projects a group is a member of, ordered by project id.
    async fn group_projects(
        &self,
        tenant: &TenantId,
        group: &GroupId,
    ) -> StoreResult<Vec<ProjectAccess>>;

    // ---- sign-in throttling ----------------------------------------------------------

    async fn login_throttle(&self, key: &str) -> StoreResult<LoginThrottle>;
    /// Decides whether a sign-in attempt on `key` may proceed and, when it may, counts
    /// it as a failure straight away (one transaction), before any password is checked:
    /// parallel guesses cannot outrun the count. A successful sign-in then clears the
    /// record in [`Store::open_session`].
    async fn reserve_login_attempt(
        &self,
        key: &str,
        policy: &LockoutPolicy,
        now: OffsetDateTime,
    ) -> StoreResult<ThrottleDecision>;

    // ---- sessions and refresh tokens -------------------------------------------------

    /// Records a successful sign-in: clears the throttle row, sets the last-login time,
    /// replaces the password hash when a rehash is given, and opens the session with its
    /// first refresh token. Returns false, recording nothing, when the account's password
    /// hash is no longer the one verified (it changed during the sign-in).
    async fn open_session(
        &self,
        record: &SignInRecord<'_>,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    async fn session(&self, id: &SessionId) -> StoreResult<Option<Session>>;
    /// A session and, in the same read, the role of its account in the session's tenant
    /// (`None` once the account is no longer a member) and the roles its groups there
    /// grant it (empty when it is no member). The token-validation path needs all of it
    /// on every request; one round-trip instead of two.
    async fn session_with_member_role(
        &self,
        id: &SessionId,
    ) -> StoreResult<Option<(Session, Option<RoleName>, Vec<RoleName>)>>;
    /// The session a refresh token (by hash) belongs to, without rotating it; `None`
    /// for unknown tokens. Rotated tokens still name their session.
    async fn session_of_refresh_token(&self, token_hash: &str) -> StoreResult<Option<Session>>;
    /// Number of sessions, in all tenants, neither revoked nor expired at `now` (a
    /// metrics gauge).
    async fn count_active_sessions(&self, now: OffsetDateTime) -> StoreResult<i64>;
    /// Active sessions of an account in a tenant, newest first.
    async fn list_sessions(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Session>>;
    /// Revokes a session and with it its refresh tokens (presenting one then answers
    /// [`RotationOutcome::SessionInactive`]). False, and nothing recorded, when the session
    /// was unknown, already revoked or expired; `audit` is written only when it was active.
    async fn revoke_session(
        &self,
        id: &SessionId,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Exchanges the refresh token hashed as `presented` for `replacement`, whose expiry
    /// is capped at the session's end. A token of another `tenant`, or presented by another
    /// client than the session's, is `Unknown` and left unspent. A token rotated at most `grace`
    /// ago (`grace` > 0) is honoured again: `replacement` is stored beside the first
    /// replacement, in the same session ([`RotationOutcome::ReissuedInGrace`]: processes
    /// sharing one token, requests racing, a lost answer). One rotated longer ago (or at
    /// all, with a zero grace) revokes its session and deletes its tokens (reuse detection, recorded as a
    /// `session.refresh_reuse_detected` audit event). On success the session's
    /// `last_seen_at` becomes `now`. A grant's token is never rotated: after the same
    /// tenant, client and activity checks (and its own expiry, the grant's end) it
    /// answers [`RotationOutcome::GrantUsed`] and `replacement` is not stored.
    #[allow(clippy::too_many_arguments)]
    async fn rotate_refresh_token(
        &self,
        tenant: &TenantId,
        client_id: &str,
        presented: &str,
        replacement: &str,
        replacement_expires_at: OffsetDateTime,
        grace: time::Duration,
        now: OffsetDateTime,
    ) -> StoreResult<RotationOutcome>;

    // ---- grants -----------------------------------------------------------------------

    /// Opens a grant: its session, its grant row and its one refresh token (hashed as
    /// `refresh_hash`, valid until the session's end). `NotFound` when the account is no
    /// member of the session's tenant.
    async fn create_grant(
        &self,
        grant: &GrantRecord,
        refresh_hash: &str,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// A grant by its id (its session's id), active or not; `None` for unknown ids and for
    /// sessions that are not grants.
    async fn grant(&self, id: &SessionId) -> StoreResult<Option<GrantRecord>>;
    /// An account's grants in a tenant, neither revoked nor expired at `now`, newest first.
    async fn list_grants(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<GrantRecord>>;

    // ---- external authentications ------------------------------------------------------

    /// Creates the account's authentication for `record.service` in the tenant, or
    /// replaces it (keeping its `created_at`); true when it was created. `Conflict(Other)`
    /// when another account of the tenant holds that `service_user` of the service,
    /// `NotFound` when the account is no member of the tenant.
    async fn put_external_auth(
        &self,
        record: &StoredExternalAuth,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    async fn external_auth(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        service: &str,
    ) -> StoreResult<Option<StoredExternalAuth>>;
    /// The account's authentications in a tenant, ordered by service.
    async fn external_auths_of(
        &self,
        tenant: &TenantId,
        account: &AccountId,
    ) -> StoreResult<Vec<StoredExternalAuth>>;
    /// The authentication of an external identity, whoever holds it.
    async fn external_auth_by_identity(
        &self,
        tenant: &TenantId,
        service: &str,
        service_user: &str,
    ) -> StoreResult<Option<StoredExternalAuth>>;
    /// False, nothing written, when there was none.
    async fn delete_external_auth(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        service: &str,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;

    // ---- authorization codes ---------------------------------------------------------

    async fn create_authorization_code(&self, code: &AuthorizationCode) -> StoreResult<()>;
    /// Spends a code, in one transaction: a second use revokes the session the code
    /// issued (and its refresh tokens) and answers `AlreadyUsed`.
    async fn redeem_authorization_code(
        &self,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Redemption>;
    /// Adds a refresh token to an active session, first extending the session's end to
    /// `extend_session_to` when given; false (nothing changed) when the session is revoked
    /// or over.
    async fn add_refresh_token(
        &self,
        session: &SessionId,
        token_hash: &str,
        expires_at: OffsetDateTime,
        extend_session_to: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;

    // ---- signing keys ----------------------------------------------------------------

    /// The tenant's active key first, then its previous key(s), newest first.
    async fn signing_keys(&self, tenant: &TenantId) -> StoreResult<Vec<StoredSigningKey>>;
    /// Installs `key` as the tenant's active key. With `rotate`, the current active key
    /// becomes previous and any older previous key is retired; without it, the insert
    /// fails with a conflict when the tenant already has an active key (two nodes racing
    /// to create the first key).
    async fn install_signing_key(
        &self,
        key: &StoredSigningKey,
        rotate: bool,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<()>;

    // ---- housekeeping ----------------------------------------------------------------

    /// Deletes state nothing can use any more, in one transaction: sessions that ended
    /// (revoked or expired) before `sessions_ended_before`, with their refresh tokens;
    /// refresh tokens that expired before `tokens_expired_before`; throttle records that
    /// are not locked and saw no failure since `throttles_idle_since` (failures decay);
    /// retired signing keys; tombstones of pruned memberships and accounts pruned before
    /// `pruned_before` (at most [`PURGE_PRUNED_PER_RUN`] of each per run, so a purge
    /// after a prune of millions does not hold the writer for long); authorization codes,
    /// impersonation and MFA enrolment tokens that expired before `tokens_expired_before`.
    /// Idempotent, so several nodes may run it.
    async fn purge_expired(&self, cutoffs: &PurgeCutoffs) -> StoreResult<PurgeReport>;

    // ---- multi-factor authentication ------------------------------------------------

    /// The account's authenticator, pending or active, with its unspent recovery codes.
    async fn account_mfa(&self, account: &AccountId) -> StoreResult<Option<AccountMfa>>;
    /// Those of `accounts` that have an active (confirmed) authenticator, in one query
    /// (at most 1,000 ids).
    async fn accounts_with_active_mfa(
        &self,
        accounts: &[AccountId],
    ) -> StoreResult<std::collections::HashSet<AccountId>>;
    /// Stores a new, unconfirmed authenticator with the hashes of its recovery codes,
    /// replacing an unconfirmed one. `Conflict(Other)` when the account already has an
    /// active authenticator, `NotFound` when the account does not exist.
    async fn begin_mfa_enrolment(
        &self,
        account: &AccountId,
        sealed_secret: &[u8],
        recovery_code_hashes: &[String],
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Activates the pending authenticator and records `step`, the time step of the
    /// confirming code, as used, deletes the account's MFA enrolment tokens (spent), and
    /// clears the sign-in throttle `clear_throttle` (the failed confirmations counted on
    /// it). False, nothing written, when none is pending.
    async fn confirm_mfa_enrolment(
        &self,
        account: &AccountId,
        step: i64,
        now: OffsetDateTime,
        clear_throttle: Option<&str>,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Accepts a code of time `step` for the account's active authenticator: true only
    /// when `step` is later than the last accepted one. One conditional UPDATE, so a
    /// code is accepted at most once even when nodes race with it.
    async fn accept_totp_step(&self, account: &AccountId, step: i64) -> StoreResult<bool>;
    /// Spends the recovery code hashed as `code_hash`: true the first time, false when
    /// it is unknown or spent (nothing written then).
    async fn use_recovery_code(
        &self,
        account: &AccountId,
        code_hash: &str,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Removes the account's authenticator and recovery codes (disabling, or an
    /// administrator's reset) and clears the brute-force record `clear_throttle`. False,
    /// nothing written, when there was none.
    async fn remove_mfa(
        &self,
        account: &AccountId,
        clear_throttle: Option<&str>,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;

    // ---- MFA enrolment tokens ----------------------------------------------------

    /// Stores an enrolment token (by hash) that lets `account`, a member of `tenant`
    /// without an active authenticator, enrol one and then open a session there.
    /// `NotFound`, nothing written, when the account is no member of the tenant.
    async fn create_mfa_enrolment_token(
        &self,
        token_hash: &str,
        account: &AccountId,
        tenant: &TenantId,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// The account and tenant of the enrolment token hashed as `token_hash`, if it is
    /// not expired at `now`.
    async fn mfa_enrolment_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(AccountId, TenantId)>>;
    /// Deletes all of the account's enrolment tokens (spent once it has an active
    /// authenticator) and answers how many there were. Not audited on its own: it
    /// follows the audited confirmation that spends them.
    async fn delete_mfa_enrolment_tokens(&self, account: &AccountId) -> StoreResult<u64>;

    // ---- terms of use ---------------------------------------------------------------

    /// Publishes a version of a tenant's terms of use. `Conflict(Other)` when the tenant
    /// already has a version with that number or a later one (versions only grow),
    /// `NotFound` when the tenant does not exist. Returns the version as stored
    /// (timestamps at millisecond precision).
    async fn publish_terms(
        &self,
        terms: &TermsVersion,
        audit: &AuditEvent,
    ) -> StoreResult<TermsVersion>;
    /// A tenant's versions, newest (highest number) first.
    async fn terms_versions(&self, tenant: &TenantId) -> StoreResult<Vec<TermsVersion>>;
    /// Records that the account accepted `version`: true the first time; false, nothing
    /// written, when it had already. `NotFound` when the tenant has no such version.
    async fn accept_terms(
        &self,
        acceptance: &TermsAcceptance,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// The versions an account accepted in a tenant, newest first.
    async fn accepted_terms(
        &self,
        tenant: &TenantId,
        account: &AccountId,
    ) -> StoreResult<Vec<TermsAcceptance>>;

    /// Of the tenants the account is a member of, the one of its newest session (ended
    /// sessions count until housekeeping purges them); without any, the tenant it joined
    /// first. `None` when it is a member nowhere.
    async fn most_recently_used_tenant(&self, account: &AccountId)
    -> StoreResult<Option<TenantId>>;

    // ---- audit -----------------------------------------------------------------------

    /// Records an event that accompanies no other write (a refused request).
    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<()>;
    /// A tenant's events, newest first.
    async fn list_audit(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> StoreResult<Page<AuditEvent>>;
}
