//! The wire types of Latchkey's native REST API (`/api/v1`). The server renders them and
//! the SDK parses them, so the two cannot drift apart. With the `openapi` feature they
//! also describe themselves to the OpenAPI document.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Tenant links arrive as a list of objects, or in the first form of the field, an object
/// mapping names to URLs (read as `[{"name": …, "url": …}]`).
fn links_list_or_named<'de, D>(deserializer: D) -> Result<Vec<Map<String, Value>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Links {
        List(Vec<Map<String, Value>>),
        Named(Map<String, Value>),
    }
    Ok(match Links::deserialize(deserializer)? {
        Links::List(links) => links,
        Links::Named(named) => named
            .into_iter()
            .map(|(name, url)| {
                let mut link = Map::new();
                link.insert("name".into(), Value::String(name));
                link.insert("url".into(), url);
                link
            })
            .collect(),
    })
}

/// Derives `ToSchema` when the `openapi` feature is on; the SDK builds without utoipa.
macro_rules! wire {
    ($($item:item)*) => {
        $(
            #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
            #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
            $item
        )*
    };
}

mod groups;
pub use groups::*;

wire! {
    /// Credentials for `POST /api/v1/tenants/{tenant}/sign-in`.
    #[serde(deny_unknown_fields)]
    pub struct SignInRequest {
        /// Email address or username.
        pub login: String,
        pub password: String,
        /// The current code of the account's authenticator app, or one of its recovery
        /// codes; needed when the account has multi-factor authentication.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub totp: Option<String>,
    }

    /// `POST /api/v1/tenants/{tenant}/token/refresh`.
    #[serde(deny_unknown_fields)]
    pub struct RefreshRequest {
        pub refresh_token: String,
    }

    /// Tokens of one sign-in or refresh.
    pub struct TokenResponse {
        pub access_token: String,
        /// Opaque; rotated on every use. Keep the newest one only.
        pub refresh_token: String,
        pub id_token: String,
        /// Always `Bearer`.
        pub token_type: String,
        /// Seconds until the access token expires.
        pub expires_in: i64,
        pub account: AccountView,
        pub tenant: TenantView,
        /// Where the account stands with the tenant's terms of use (sign-in only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub terms_of_use: Option<TermsOfUseView>,
    }

    /// One published version of a tenant's terms of use.
    pub struct TermsVersionView {
        pub version: i64,
        pub public_url: String,
        /// From this instant on members must have accepted this version (or a later one).
        #[serde(with = "time::serde::rfc3339")]
        pub enforce_date: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        pub created_at: OffsetDateTime,
    }

    /// A version the account accepted, and when.
    pub struct SignedTermsView {
        pub version: i64,
        pub public_url: String,
        #[serde(with = "time::serde::rfc3339")]
        pub enforce_date: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        pub created_at: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        pub accepted_at: OffsetDateTime,
    }

    /// `GET /api/v1/me/terms`, and `terms_of_use` in sign-in responses.
    pub struct TermsOfUseView {
        /// `not_required` (no version in force), `accepted`, or `pending` (the version in
        /// force is not accepted: accept it with `POST /api/v1/me/terms/accept`).
        pub status: String,
        /// The newest version whose enforce date has come.
        pub in_force: Option<TermsVersionView>,
        /// The newest version the account accepted.
        pub last_signed: Option<SignedTermsView>,
    }

    /// `POST /api/v1/tenants/{tenant}/terms`.
    #[serde(deny_unknown_fields)]
    pub struct PublishTermsRequest {
        /// Defaults to one more than the newest version; must exceed it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub version: Option<i64>,
        pub public_url: String,
        #[serde(with = "time::serde::rfc3339")]
        pub enforce_date: OffsetDateTime,
    }

    /// `GET /api/v1/tenants/{tenant}/terms`: newest version first.
    pub struct TermsListView {
        pub items: Vec<TermsVersionView>,
    }

    /// `POST /api/v1/me/terms/accept`.
    #[serde(deny_unknown_fields)]
    pub struct AcceptTermsRequest {
        pub version: i64,
    }

    /// An account, as seen by itself or by a tenant administrator.
    pub struct AccountView {
        pub id: String,
        pub email: String,
        pub username: Option<String>,
        pub display_name: Option<String>,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub custom_data: Map<String, Value>,
        pub platform_admin: bool,
        pub disabled: bool,
        #[serde(with = "time::serde::rfc3339")]
        pub created_at: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339::option")]
        pub last_login_at: Option<OffsetDateTime>,
        /// The account's role in the tenant it is viewed through.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub role: Option<String>,
    }

    #[serde(deny_unknown_fields)]
    pub struct PasswordPolicyView {
        pub min_length: usize,
        pub max_length: usize,
    }

    #[serde(deny_unknown_fields)]
    pub struct TenantMetadataView {
        #[serde(default)]
        pub tier: Option<String>,
        #[serde(default)]
        pub modules: Vec<String>,
        /// Dashboard links, each an object such as `{"name": …, "url": …}`. An object
        /// mapping names to URLs (the first form of this field) is still accepted and
        /// read as `[{"name", "url"}]`.
        #[serde(default, deserialize_with = "links_list_or_named")]
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
        pub links: Vec<Map<String, Value>>,
        /// How often the customer's pipelines may be scheduled (Maestro's
        /// `scheduleLimit`); not interpreted by Latchkey.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub schedule_limit: Option<String>,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub settings: Map<String, Value>,
    }

    pub struct TenantView {
        pub id: String,
        pub domain: String,
        pub title: String,
        pub metadata: TenantMetadataView,
        pub password_policy: PasswordPolicyView,
        /// Members must sign in with a second factor (see `docs/mfa.md`).
        #[serde(default)]
        pub require_mfa: bool,
        #[serde(with = "time::serde::rfc3339")]
        pub created_at: OffsetDateTime,
    }

    pub struct MembershipView {
        pub tenant: String,
        pub tenant_id: String,
        pub role: String,
    }

    /// `GET /api/v1/me`.
    pub struct MeView {
        pub account: AccountView,
        /// The tenant of the token in use and the caller's role there.
        pub membership: MembershipView,
        pub permissions: Vec<String>,
        pub session_id: String,
    }

    /// `PUT /api/v1/me/password`.
    #[serde(deny_unknown_fields)]
    pub struct ChangePasswordRequest {
        pub current_password: String,
        pub new_password: String,
    }

    /// `POST /api/v1/tenants`.
    #[serde(deny_unknown_fields)]
    pub struct CreateTenantRequest {
        pub domain: String,
        pub title: String,
        #[serde(default)]
        pub metadata: Option<TenantMetadataView>,
        #[serde(default)]
        pub password_policy: Option<PasswordPolicyView>,
    }

    /// `PATCH /api/v1/tenants/{tenant}`: absent fields stay as they are.
    #[serde(deny_unknown_fields)]
    pub struct UpdateTenantRequest {
        #[serde(default)]
        pub title: Option<String>,
        #[serde(default)]
        pub metadata: Option<TenantMetadataView>,
        #[serde(default)]
        pub password_policy: Option<PasswordPolicyView>,
        /// Require every member to sign in with a second factor.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub require_mfa: Option<bool>,
    }

    /// `POST /api/v1/signup` (only when signup is enabled on the server).
    #[serde(deny_unknown_fields)]
    pub struct SignUpRequest {
        pub email: String,
        pub password: String,
        #[serde(default)]
        pub display_name: Option<String>,
    }

    /// The account and the tenant a signup created; the account administers the tenant.
    pub struct SignUpResponse {
        pub account_id: String,
        pub tenant: TenantView,
    }

    /// `GET /api/v1/tenants/{tenant}/password-policy`: what a password must satisfy.
    pub struct PasswordPolicyDocument {
        /// Minimum length in characters (Unicode scalar values).
        pub min_length: usize,
        /// Maximum length in characters.
        pub max_length: usize,
        /// Passwords on the built-in list of commonly used passwords are refused.
        pub rejects_common_passwords: bool,
        /// Passwords containing the account's email, its local part or the username
        /// are refused.
        pub rejects_account_names: bool,
        /// Always false: no composition rules (after NIST SP 800-63B).
        pub composition_rules: bool,
    }

    /// A tenant the caller belongs to (`GET /api/v1/me/tenants`).
    pub struct MyTenantView {
        pub domain: String,
        pub title: String,
        /// The caller's role there.
        pub role: String,
    }

    /// `GET /api/v1/me/tenants`.
    pub struct MyTenantsView {
        pub items: Vec<MyTenantView>,
    }

    /// `POST /api/v1/me/tenants`: a tenant the caller will administer; its domain is
    /// generated from the title.
    #[serde(deny_unknown_fields)]
    pub struct CreateOwnTenantRequest {
        pub title: String,
    }

    /// `POST /api/v1/tenants/{tenant}/members`: add accounts by email with a role.
    #[serde(deny_unknown_fields)]
    pub struct AddMembersRequest {
        pub emails: Vec<String>,
        pub role: String,
    }

    /// One member added by email.
    pub struct AddedMemberView {
        pub id: String,
        pub email: String,
        pub role: String,
    }

    /// `POST /api/v1/tenants/{tenant}/members`.
    pub struct AddedMembersView {
        pub items: Vec<AddedMemberView>,
    }

    /// `POST /api/v1/tenants/{tenant}/users`.
    #[serde(deny_unknown_fields)]
    pub struct CreateUserRequest {
        pub email: String,
        #[serde(default)]
        pub username: Option<String>,
        #[serde(default)]
        pub display_name: Option<String>,
        /// Defaults to `user`.
        #[serde(default)]
        pub role: Option<String>,
        /// Without one, the account cannot sign in until a password is set.
        #[serde(default)]
        pub password: Option<String>,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
        pub custom_data: Option<Map<String, Value>>,
    }

    /// One line of `POST /api/v1/tenants/{tenant}/users/import`, whose body is NDJSON
    /// (`application/x-ndjson`, one object per line). The fields and rules of
    /// [`CreateUserRequest`], except that a password comes only as an argon2id hash:
    /// plain-text passwords would cost one argon2 computation each.
    #[serde(deny_unknown_fields)]
    pub struct ImportUser {
        pub email: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub username: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub display_name: Option<String>,
        /// Defaults to `user`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub role: Option<String>,
        /// An argon2id PHC string, `$argon2id$v=19$m=…,t=…,p=…$salt$hash`. Without one
        /// the account cannot sign in until a password is set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub password_hash: Option<String>,
        /// Import the account disabled. Default false.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        pub disabled: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
        pub custom_data: Option<Map<String, Value>>,
    }

    /// The answer of a successful import.
    pub struct ImportUsersResponse {
        /// How many accounts were created (every line of the request).
        pub imported: u64,
    }

    /// `POST /api/v1/tenants/{tenant}/users/prune`: removes (or, as a dry run, lists) the
    /// tenant's members without a sign-in since `inactive_since` (never-signed-in ones
    /// when created before it). The caller and platform administrators are never
    /// pruned, tenant administrators only with `include_admins`. A real run prunes ONE
    /// batch per request; send `next` back as `after` until `remaining` is false.
    #[serde(deny_unknown_fields)]
    pub struct PruneUsersRequest {
        /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`: the start of that period, UTC.
        pub inactive_since: String,
        /// Required, so that a forgotten field never deletes anything by surprise.
        pub dry_run: bool,
        #[serde(default)]
        pub include_admins: bool,
        /// Dry run: page size, 1-1000 (default 1000). Real run: members per batch,
        /// 1-1000 (default 1000).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub limit: Option<u32>,
        /// The `next` of the previous page or batch.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub after: Option<String>,
    }

    /// A member a prune would remove.
    pub struct DormantUserView {
        pub id: String,
        pub email: String,
        pub role: String,
        #[serde(with = "time::serde::rfc3339::option")]
        pub last_login_at: Option<OffsetDateTime>,
        #[serde(with = "time::serde::rfc3339")]
        pub created_at: OffsetDateTime,
    }

    /// The answer to a dry run: one page of the members a real run would remove, in
    /// email order.
    pub struct PrunePreview {
        pub items: Vec<DormantUserView>,
        /// Pass as `after` for the next page; `null` on the last page.
        #[serde(default)]
        pub next: Option<String>,
        /// How many members match in all; only on the first page (without `after`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub total: Option<i64>,
    }

    /// The answer to a real run: what its one batch removed.
    pub struct PruneBatchResponse {
        /// Members removed from the tenant by this batch.
        pub pruned: u64,
        /// Of those, accounts that belonged to no other tenant and were removed too.
        pub accounts_removed: u64,
        /// Whether another batch may find more; send `next` as `after`.
        pub remaining: bool,
        #[serde(default)]
        pub next: Option<String>,
    }

    /// `POST /api/v1/tenants/{tenant}/users/restore`: brings pruned members back within
    /// the retention period, all or none.
    #[serde(deny_unknown_fields)]
    pub struct RestoreUsersRequest {
        /// Account ids, at most 1000.
        pub ids: Vec<String>,
    }

    pub struct RestoreUsersResponse {
        pub restored: u64,
    }

    /// `PATCH /api/v1/tenants/{tenant}/users/{id}`: absent fields stay; `custom_data` is
    /// merged key by key (`null` removes a key); `username: null` clears it.
    #[serde(deny_unknown_fields)]
    pub struct UpdateUserRequest {
        #[serde(default)]
        pub email: Option<String>,
        #[serde(default, with = "double_option", skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
        pub username: Option<Option<String>>,
        #[serde(default, with = "double_option", skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
        pub display_name: Option<Option<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
        pub custom_data: Option<Map<String, Value>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub disabled: Option<bool>,
        /// Changes the account's role in this tenant.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub role: Option<String>,
    }

    /// `PUT /api/v1/tenants/{tenant}/users/{id}/password`.
    #[serde(deny_unknown_fields)]
    pub struct SetPasswordRequest {
        pub password: String,
    }

    pub struct SessionView {
        pub id: String,
        #[serde(with = "time::serde::rfc3339")]
        pub created_at: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        pub last_seen_at: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        pub expires_at: OffsetDateTime,
        pub user_agent: Option<String>,
        pub ip_address: Option<String>,
    }

    #[serde(deny_unknown_fields)]
    pub struct CreateGrantRequest {
        /// `user` (for the account itself) or `service` (for an application).
        #[serde(rename = "type")]
        pub grant_type: String,
        /// The application of a `service` grant; its refresh token is bound to it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub for_client_id: Option<String>,
        /// The client a `user` grant's refresh token is bound to: an application of the
        /// tenant (such as `admin-cli`), or by default the native API (`latchkey-api`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub client_id: Option<String>,
        /// Restrict the grant to these project permissions (such as `items.read.*`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub project_permissions: Option<Vec<String>>,
    }

    pub struct CreatedGrantView {
        pub id: String,
        /// Shown once; it does not rotate and lasts until `valid_to` unless revoked.
        pub refresh_token: String,
        pub grant: GrantView,
    }

    pub struct GrantView {
        pub id: String,
        /// `user` or `service`.
        #[serde(rename = "type")]
        pub grant_type: String,
        /// The client its refresh token is bound to.
        pub client_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub for_client_id: Option<String>,
        /// Absent for an unrestricted grant.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub project_permissions: Option<Vec<String>>,
        #[serde(with = "time::serde::rfc3339")]
        pub created_at: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        pub valid_to: OffsetDateTime,
    }

    #[serde(deny_unknown_fields)]
    pub struct ExternalAuthRequest {
        /// The account's identity at the service.
        pub service_user: String,
        pub access_token: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub access_secret: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
        pub access_token_expires: Option<OffsetDateTime>,
        #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
        pub access_secret_expires: Option<OffsetDateTime>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub display_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub state: Option<String>,
    }

    pub struct ExternalAuthView {
        pub service: String,
        pub service_user: String,
        /// Returned only to the account itself and to tenant administrators.
        pub access_token: String,
        pub access_secret: Option<String>,
        #[serde(with = "time::serde::rfc3339::option")]
        pub access_token_expires: Option<OffsetDateTime>,
        #[serde(with = "time::serde::rfc3339::option")]
        pub access_secret_expires: Option<OffsetDateTime>,
        pub display_name: Option<String>,
        pub state: Option<String>,
        #[serde(with = "time::serde::rfc3339")]
        pub created_at: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        pub updated_at: OffsetDateTime,
    }

    pub struct AuditEventView {
        pub id: String,
        /// Account id of whoever acted; absent for anonymous requests.
        pub actor: Option<String>,
        pub action: String,
        pub target: Option<String>,
        /// `success` or `failure`.
        pub outcome: String,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub detail: Value,
        #[serde(with = "time::serde::rfc3339")]
        pub at: OffsetDateTime,
    }

    /// `POST /api/v1/tenants/{tenant}/keys/rotate` (the body is optional).
    #[serde(deny_unknown_fields)]
    pub struct RotateKeyRequest {
        /// `RS256` or `ES256`; default: the algorithm of the active key.
        #[serde(default)]
        pub algorithm: Option<String>,
    }

    /// The answer of `latchkey keys rotate`.
    pub struct SigningKeyView {
        pub kid: String,
        pub algorithm: String,
        #[serde(with = "time::serde::rfc3339")]
        pub created_at: OffsetDateTime,
    }

    /// A public signing key as a JSON Web Key (RFC 7517).
    pub struct Jwk {
        pub kid: String,
        /// `RSA` (with `n`, `e`) or `EC` (with `crv`, `x`, `y`).
        pub kty: String,
        /// `RS256` or `ES256`.
        pub alg: String,
        #[serde(rename = "use")]
        pub key_use: String,
        /// RSA: base64url modulus.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub n: Option<String>,
        /// RSA: base64url exponent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub e: Option<String>,
        /// EC: the curve, `P-256`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub crv: Option<String>,
        /// EC: base64url x coordinate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub x: Option<String>,
        /// EC: base64url y coordinate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub y: Option<String>,
    }

    /// The keys that verify a tenant's tokens: the active key first, then the previous
    /// one while a rotation's tokens may still be in use.
    pub struct JwkSet {
        pub keys: Vec<Jwk>,
    }

    /// `POST /api/v1/tenants/{tenant}/applications`.
    #[serde(deny_unknown_fields)]
    pub struct CreateApplicationRequest {
        pub client_id: String,
        /// Public clients (browser, command-line) have no secret. Default false.
        #[serde(default)]
        pub public: bool,
        /// `authorization_code`, `password`, `refresh_token`, `client_credentials`.
        /// Default: `authorization_code` and `refresh_token`, plus `client_credentials`
        /// for confidential clients.
        #[serde(default)]
        pub grant_types: Option<Vec<String>>,
        /// Exact redirect URIs for the authorization-code grant.
        #[serde(default)]
        pub redirect_uris: Vec<String>,
        /// Application-scoped role names.
        #[serde(default)]
        pub roles: Vec<String>,
        /// Access-token lifetime for this client in seconds (60-86400).
        #[serde(default)]
        pub access_token_lifetime: Option<i64>,
    }

    /// An application (OAuth client).
    pub struct ApplicationView {
        pub client_id: String,
        pub public: bool,
        pub grant_types: Vec<String>,
        pub redirect_uris: Vec<String>,
        pub roles: Vec<String>,
        pub access_token_lifetime: Option<i64>,
        /// True for `admin-cli`, which cannot be deleted.
        pub builtin: bool,
        #[serde(with = "time::serde::rfc3339")]
        pub created_at: OffsetDateTime,
        /// Only in the answers of creation and secret rotation: store it now, it is never
        /// shown again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub client_secret: Option<String>,
    }

    /// A role of a tenant: built-in (`admin`, `user`, `reader`, `demo`; fixed) or custom.
    pub struct RoleView {
        pub name: String,
        /// Sorted, without repeats. `{client_id}:{slug}` grants `slug` inside the
        /// application `client_id` (see docs/dialects/cloudspot.md).
        pub permissions: Vec<String>,
        pub builtin: bool,
    }

    /// `PUT /api/v1/tenants/{tenant}/roles/{name}`: the custom role's permissions (they
    /// replace the previous ones).
    #[serde(deny_unknown_fields)]
    pub struct PutRoleRequest {
        /// At most 256, each 1-128 printable ASCII characters without spaces.
        pub permissions: Vec<String>,
    }

    /// `POST /api/v1/tenants/{tenant}/users/{id}/impersonation`: a single-use token that
    /// signs in as the member, shown once.
    pub struct ImpersonationView {
        pub token: String,
        #[serde(with = "time::serde::rfc3339")]
        pub expires_at: OffsetDateTime,
    }

    /// `POST /api/v1/me/mfa/totp`: a new authenticator, shown once. It becomes active
    /// when confirmed with a first code.
    pub struct TotpEnrolmentView {
        /// The shared secret in base32, for typing into an authenticator app.
        pub secret: String,
        /// `otpauth://totp/…`, what authenticator apps import (also as the QR code).
        pub otpauth_uri: String,
        /// The otpauth URI as an SVG QR code, for people to scan.
        pub qr_svg: String,
        /// Ten single-use codes that stand in for a TOTP code when the device is lost.
        /// Stored hashed: this is the only time they are shown.
        pub recovery_codes: Vec<String>,
    }

    /// `POST /api/v1/me/mfa/totp/confirm`.
    #[serde(deny_unknown_fields)]
    pub struct ConfirmTotpRequest {
        /// The authenticator's current six-digit code.
        pub code: String,
    }

    /// `POST /api/v1/tenants/{tenant}/sign-in/mfa-enrolment`: begin enrolling an
    /// authenticator with the token of a sign-in refused with `mfa_enrollment_required`.
    #[serde(deny_unknown_fields)]
    pub struct MfaEnrolmentRequest {
        pub enrolment_token: String,
    }

    /// `POST /api/v1/tenants/{tenant}/sign-in/mfa-enrolment/confirm`: activate the
    /// authenticator with its first code and sign in.
    #[serde(deny_unknown_fields)]
    pub struct MfaEnrolmentConfirmRequest {
        pub enrolment_token: String,
        /// The authenticator's current six-digit code.
        pub code: String,
    }

    /// `DELETE /api/v1/me/mfa/totp`.
    #[serde(deny_unknown_fields)]
    pub struct DisableTotpRequest {
        pub password: String,
        /// A current TOTP code or a recovery code.
        pub code: String,
    }

    /// `GET /api/v1/me/mfa`.
    pub struct MfaStatusView {
        /// `none`, `pending` (enrolled, not confirmed) or `active`.
        pub totp: String,
        /// Recovery codes not used yet (0 unless active or pending).
        pub recovery_codes_remaining: usize,
        /// The tenant of the token requires multi-factor authentication.
        pub required_by_tenant: bool,
    }

    /// One policy rule a refused password broke.
    pub struct Violation {
        pub rule: String,
        pub message: String,
    }

    /// RFC 9457 problem details, the body of every error.
    pub struct Problem {
        #[serde(rename = "type")]
        pub problem_type: String,
        pub title: String,
        pub status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub detail: Option<String>,
        /// Stable machine-readable code, e.g. `invalid_credentials`.
        pub code: String,
        /// Every rule a password broke, for `weak_password`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub violations: Vec<Violation>,
        /// Quote this when reporting a server error; the log has the details.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub correlation_id: Option<String>,
        /// For a refused import: the line of the request (1-based, blank lines counted)
        /// the error is about.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub line: Option<u64>,
        /// For `mfa_enrollment_required` at the native sign-in: an opaque token, valid 10
        /// minutes, that lets the account enrol an authenticator and then sign in
        /// (`POST /api/v1/tenants/{tenant}/sign-in/mfa-enrolment`). Not an access token.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub enrolment_token: Option<String>,
    }
}

/// One keyset page of a list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` to fetch the next page; `null` on the last page.
    #[serde(default)]
    pub next: Option<String>,
}

/// Query of `GET /api/v1/tenants/{tenant}/users`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct ListUsersQuery {
    /// Page size, 1-500 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next` value of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Case-insensitive email prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// RFC 3339 instant: only accounts without a sign-in since then (accounts that never
    /// signed in count when created before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_since: Option<String>,
}

/// Query of `GET /api/v1/me/tenants`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct MyTenantsQuery {
    /// Only the tenants the caller administers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_only: Option<bool>,
}

/// Query of the other paged lists.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// Serde helper telling "absent" (`None`) from "null" (`Some(None)`).
pub mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        value: &Option<Option<T>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

/// Stable problem codes the server answers with.
pub mod codes {
    pub const MALFORMED_REQUEST: &str = "malformed_request";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    pub const VALIDATION_FAILED: &str = "validation_failed";
    pub const WEAK_PASSWORD: &str = "weak_password";
    pub const INVALID_CREDENTIALS: &str = "invalid_credentials";
    /// The password was right; the account needs a TOTP or recovery code as well.
    pub const MFA_REQUIRED: &str = "mfa_required";
    /// The TOTP or recovery code was wrong, or already used.
    pub const INVALID_TOTP: &str = "invalid_totp";
    /// The password was right, but the tenant requires MFA and the account has none.
    pub const MFA_ENROLLMENT_REQUIRED: &str = "mfa_enrollment_required";
    /// The enrolment token is unknown, expired, already used or for another tenant.
    pub const INVALID_ENROLMENT_TOKEN: &str = "invalid_enrolment_token";
    pub const TOO_MANY_ATTEMPTS: &str = "too_many_attempts";
    pub const INVALID_TOKEN: &str = "invalid_token";
    pub const INVALID_CLIENT: &str = "invalid_client";
    pub const INVALID_REFRESH_TOKEN: &str = "invalid_refresh_token";
    pub const FORBIDDEN: &str = "forbidden";
    pub const NOT_FOUND: &str = "not_found";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const CONFLICT: &str = "conflict";
    pub const INTERNAL: &str = "internal_error";
    pub const UNAVAILABLE: &str = "service_unavailable";
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn patch_distinguishes_absent_from_null() {
        let absent: UpdateUserRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(absent.username, None);
        let null: UpdateUserRequest = serde_json::from_str(r#"{"username":null}"#).unwrap();
        assert_eq!(null.username, Some(None));
        let set: UpdateUserRequest = serde_json::from_str(r#"{"username":"ada"}"#).unwrap();
        assert_eq!(set.username, Some(Some("ada".into())));
    }

    #[test]
    fn unknown_fields_are_refused_in_requests() {
        assert!(
            serde_json::from_str::<SignInRequest>(r#"{"login":"a","password":"b","x":1}"#).is_err()
        );
    }
}
