//! Records the store returns that are not plain domain types.

use latchkey_core::{Account, AccountId, NewAccount, RoleName, Session, SigningKeyId, TenantId};
use time::OffsetDateTime;

/// An account with what sign-in needs to check it.
#[derive(Clone)]
pub struct AccountCredentials {
    pub account: Account,
    pub password_hash: Option<String>,
}

impl std::fmt::Debug for AccountCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountCredentials")
            .field("account", &self.account)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A successful sign-in as the store records it.
#[derive(Clone, Debug)]
pub struct SignInRecord<'a> {
    /// The new session.
    pub session: &'a Session,
    /// Hash of its first refresh token.
    pub refresh_hash: &'a str,
    pub refresh_expires_at: OffsetDateTime,
    /// The throttle row to clear.
    pub throttle_key: &'a str,
    /// The password hash the sign-in was verified against; when the stored hash is no
    /// longer this one (a concurrent password change), nothing is recorded.
    pub verified_hash: Option<&'a str>,
    /// A new hash of the same password with the current parameters.
    pub rehash: Option<&'a str>,
}

/// What removing a membership took with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipRemoval {
    /// The account belongs to other tenants (or is a platform administrator) and stays.
    MembershipOnly,
    /// It was the account's last membership; the account is deleted too.
    AccountDeleted,
}

/// A tenant member as listed by administrators.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberRecord {
    pub account: Account,
    pub role: RoleName,
}

#[derive(Clone, Debug, Default)]
pub struct MemberFilter {
    /// Normalised email prefix.
    pub email_prefix: Option<String>,
    pub role: Option<RoleName>,
    /// Members with no sign-in since this instant; never-signed-in members count when
    /// they were created before it.
    pub inactive_since: Option<OffsetDateTime>,
    /// Case-insensitive substring of the email or username.
    pub search: Option<String>,
    /// Exactly this email or username (case-insensitive).
    pub login: Option<String>,
    /// Leave out this account (a prune never removes its caller).
    pub exclude_account: Option<latchkey_core::AccountId>,
    /// Leave out platform administrators.
    pub exclude_platform_admins: bool,
    /// Leave out members with this role.
    pub exclude_role: Option<RoleName>,
    /// Leave out accounts that are members of other tenants too (a tenant
    /// administrator has no authority over them).
    pub exclude_shared: bool,
}

impl MemberFilter {
    /// The members a prune removes: dormant since `inactive_since`, never `caller`, never a
    /// platform administrator, no tenant administrator unless `include_admins`, and no
    /// account shared with other tenants unless `shared_too` (the caller is a platform
    /// administrator). A dry run lists with this filter, a real run removes with it, so
    /// the two select the same members.
    pub fn dormant(
        inactive_since: OffsetDateTime,
        caller: &latchkey_core::AccountId,
        include_admins: bool,
        shared_too: bool,
    ) -> Self {
        Self {
            inactive_since: Some(inactive_since),
            exclude_account: Some(caller.clone()),
            exclude_platform_admins: true,
            exclude_role: (!include_admins).then(RoleName::admin),
            exclude_shared: !shared_too,
            ..Self::default()
        }
    }
}

/// What one batch of a prune did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PruneBatch {
    /// Memberships removed (one per account).
    pub pruned: u64,
    /// Of those, accounts left without any membership and moved to the tombstone.
    pub accounts_removed: u64,
    /// The email key of the batch's last member: the next batch starts after it.
    pub last_key: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningKeyStatus {
    Active,
    /// Replaced by a newer key but still published so tokens it signed verify.
    Previous,
}

impl SigningKeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Previous => "previous",
        }
    }
}

/// A signing key as stored: the private half sealed by the server's AEAD key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSigningKey {
    pub id: SigningKeyId,
    pub tenant_id: TenantId,
    pub algorithm: String,
    /// Nonce and ciphertext of the private key, opaque to the store.
    pub sealed_private_key: Vec<u8>,
    /// DER SubjectPublicKeyInfo.
    pub public_key_der: Vec<u8>,
    pub status: SigningKeyStatus,
    pub created_at: OffsetDateTime,
}

/// What presenting a refresh token led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotationOutcome {
    /// The token was valid; the replacement now stands in its place.
    Rotated(Session),
    /// No such token (never issued, or its session was deleted).
    Unknown,
    /// The token outlived its idle lifetime.
    Expired,
    /// The session was revoked or ended.
    SessionInactive,
    /// The token was rotated moments ago (within the grace period) and was honoured
    /// again: another replacement now stands beside the first, in the same session.
    /// Processes sharing one refresh token, two requests racing and a lost answer all
    /// look like this.
    ReissuedInGrace(Session),
    /// An already-rotated token came back after the grace period: the session and all its
    /// tokens are now revoked.
    ReuseDetected(Session),
    /// The token is a grant's: grants do not rotate, the presented token stays valid
    /// (until its grant ends or is revoked). The session's `last_seen_at` is now.
    GrantUsed(Box<GrantRecord>),
}

/// The instants before which [`crate::Store::purge_expired`] deletes things.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PurgeCutoffs {
    pub sessions_ended_before: OffsetDateTime,
    pub tokens_expired_before: OffsetDateTime,
    pub throttles_idle_since: OffsetDateTime,
    /// Tombstones of pruned memberships and accounts older than this go for good.
    pub pruned_before: OffsetDateTime,
    /// The present: a lock that has not run out yet is never purged.
    pub now: OffsetDateTime,
}

/// How many rows a purge deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub sessions: u64,
    pub refresh_tokens: u64,
    pub throttles: u64,
    pub signing_keys: u64,
    /// Pruned memberships and accounts whose retention ran out.
    pub pruned_memberships: u64,
    pub pruned_accounts: u64,
}

/// An authorization code as stored (the code itself is only known to the client).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationCode {
    pub code_hash: String,
    pub tenant_id: TenantId,
    pub client_id: String,
    /// The session opened by the sign-in the code stands for.
    pub session_id: latchkey_core::SessionId,
    pub redirect_uri: String,
    /// PKCE S256 challenge (base64url SHA-256 of the verifier), when one was sent.
    pub code_challenge: Option<String>,
    pub scope: String,
    pub nonce: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What redeeming an authorization code led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redemption {
    /// First use within its lifetime: the code is now spent.
    Redeemed(Box<AuthorizationCode>),
    Unknown,
    Expired,
    /// The code was used before: the session it issued is now revoked (RFC 6749 §4.1.2).
    AlreadyUsed,
}

/// An account's authenticator (TOTP) as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountMfa {
    pub account_id: latchkey_core::AccountId,
    /// Nonce and ciphertext of the TOTP secret, opaque to the store.
    pub sealed_secret: Vec<u8>,
    pub created_at: OffsetDateTime,
    /// `None` while the enrolment waits for its first valid code.
    pub confirmed_at: Option<OffsetDateTime>,
    /// The last time step a code was accepted for; later codes must be of a later step.
    pub last_step: Option<i64>,
    /// Hashes of the recovery codes not spent yet.
    pub unused_recovery_codes: Vec<String>,
}

impl AccountMfa {
    /// Confirmed, so sign-in asks for a code.
    pub fn is_active(&self) -> bool {
        self.confirmed_at.is_some()
    }
}

impl std::fmt::Debug for AccountMfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountMfa")
            .field("account_id", &self.account_id)
            .field("created_at", &self.created_at)
            .field("confirmed_at", &self.confirmed_at)
            .field("last_step", &self.last_step)
            .field("unused_recovery_codes", &self.unused_recovery_codes.len())
            .finish_non_exhaustive()
    }
}

/// What one update of a group changes; `None` leaves that part as it is. Applied in one
/// transaction by [`crate::Store::update_group`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupUpdate {
    pub name: Option<latchkey_core::GroupName>,
    /// The group's members, as a whole.
    pub members: Option<Vec<latchkey_core::AccountId>>,
    /// The projects the group is in, as a whole; new ones with this role, those it is in
    /// already keeping theirs.
    pub projects: Option<(Vec<latchkey_core::ProjectId>, latchkey_core::ProjectRole)>,
}

/// A member of a project, as listed with the project.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectMemberRecord {
    pub project_id: latchkey_core::ProjectId,
    /// The role stored for this member.
    pub role: latchkey_core::ProjectRole,
    pub member: ProjectMember,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ProjectMember {
    User {
        account: Account,
        /// The account's role in the tenant.
        tenant_role: RoleName,
        /// The roles the account's groups hold in the same project.
        via_groups: Vec<latchkey_core::ProjectRole>,
    },
    Group(latchkey_core::Group),
}

impl ProjectMember {
    pub fn member_id(&self) -> &str {
        match self {
            Self::User { account, .. } => account.id.as_str(),
            Self::Group(group) => group.id.as_str(),
        }
    }
}

/// Who is added to a project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectMemberRef {
    User(latchkey_core::AccountId),
    Group(latchkey_core::GroupId),
}

/// A project and a role held in it, directly (`via_group` is `None`) or through a group.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectAccess {
    pub project: latchkey_core::Project,
    pub role: latchkey_core::ProjectRole,
    pub via_group: Option<latchkey_core::GroupId>,
}
/// A grant as stored: its session (whose `client_id` the refresh token is bound to) and
/// what only grants have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRecord {
    pub session: Session,
    pub kind: latchkey_core::GrantKind,
    /// The application of a service grant.
    pub for_client_id: Option<String>,
    /// The project permissions the grant is restricted to; `None`: unrestricted.
    pub permissions: Option<Vec<String>>,
}

/// An external authentication as stored: token and secret sealed by the server, opaque
/// to the store.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredExternalAuth {
    pub tenant_id: TenantId,
    pub account_id: latchkey_core::AccountId,
    pub service: String,
    pub service_user: String,
    pub sealed_access_token: Vec<u8>,
    pub access_token_expires: Option<OffsetDateTime>,
    pub sealed_access_secret: Option<Vec<u8>>,
    pub access_secret_expires: Option<OffsetDateTime>,
    pub display_name: Option<String>,
    pub state: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl std::fmt::Debug for StoredExternalAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredExternalAuth")
            .field("tenant_id", &self.tenant_id)
            .field("account_id", &self.account_id)
            .field("service", &self.service)
            .field("service_user", &self.service_user)
            .field("display_name", &self.display_name)
            .finish_non_exhaustive()
    }
}

/// Who administers a tenant created with [`crate::Store::create_owned_tenant`]: an
/// existing account, or a new one created in the same transaction (signup).
#[derive(Clone, Copy, Debug)]
pub enum TenantOwner<'a> {
    Existing(&'a AccountId),
    New(&'a AccountId, &'a NewAccount),
}
