//! A session is one sign-in of one account into one tenant; its refresh tokens rotate
//! within it, and revoking it ends them all.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::id::{AccountId, SessionId, TenantId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub account_id: AccountId,
    pub tenant_id: TenantId,
    /// The OAuth client the session was opened for; only it may refresh, revoke or end it.
    pub client_id: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    /// The absolute end of the session, however often it is refreshed.
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
}

impl Session {
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}
