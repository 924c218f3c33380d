//! Latchkey's domain: the types every front door and store agree on, and the rules that
//! govern them. This crate performs no I/O: no network, no database, no files. Anything
//! that needs the outside world (the clock, randomness for ids) is passed in or kept to
//! the operating system's random source.

pub mod account;
pub mod application;
pub mod audit;
pub mod clock;
pub mod grant;
pub mod group;
pub mod id;
pub mod impersonation;
pub mod lockout;
pub mod names;
pub mod page;
pub mod password_policy;
pub mod project;
pub mod prune;
pub mod role;
pub mod secret;
pub mod session;
pub mod tenant;
pub mod terms;
pub mod token;
pub mod totp;

pub use account::{Account, AccountPatch, NewAccount, NewImportedAccount};
pub use application::{Application, ClientId, GrantType};
pub use audit::{AuditEvent, AuditOutcome, NewAuditEvent};
pub use clock::{Clock, SystemClock};
pub use grant::GrantKind;
pub use group::{Group, GroupName};
pub use id::{AccountId, AuditEventId, GroupId, ProjectId, SessionId, SigningKeyId, TenantId};
pub use impersonation::{ImpersonationGrant, ImpersonationRefused};
pub use lockout::{LockoutPolicy, LoginThrottle, ThrottleDecision};
pub use names::{Email, NameError, TenantDomain, Username};
pub use page::{Page, PageRequest};
pub use password_policy::{PasswordPolicy, PolicyViolation};
pub use project::{MemberType, Project, ProjectRole};
pub use prune::{InactiveSince, InactiveSinceError};
pub use role::{InvalidPermissions, Membership, Permission, Role, RoleName};
pub use session::Session;
pub use tenant::{NewTenant, Tenant, TenantMetadata, TenantPatch};
pub use terms::{TermsAcceptance, TermsState, TermsStatus, TermsVersion};
