//! `latchkey sessions …`.

use serde_json::json;

use super::Ctx;
use crate::output::{self, Table};

#[derive(clap::Subcommand, Debug)]
pub enum SessionsCommand {
    /// List a user's active sessions.
    List {
        /// Account id (base64url; it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        user_id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke one of a user's sessions.
    Revoke {
        /// Account id (base64url; it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        user_id: String,
        /// Session id (base64url; it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        session_id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
}

pub async fn run(ctx: &Ctx, command: SessionsCommand) -> anyhow::Result<()> {
    match command {
        SessionsCommand::List { user_id, tenant } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let sessions = ctx.client.list_sessions(&tenant, &user_id).await?;
            if ctx.json {
                return output::json(&sessions);
            }
            let mut table =
                Table::new(&["ID", "CREATED", "LAST SEEN", "EXPIRES", "IP", "USER AGENT"]);
            for s in &sessions {
                table.row(vec![
                    s.id.clone(),
                    output::time(s.created_at),
                    output::time(s.last_seen_at),
                    output::time(s.expires_at),
                    output::opt(s.ip_address.as_deref()),
                    output::opt(s.user_agent.as_deref()),
                ]);
            }
            table.print("No sessions.")
        }
        SessionsCommand::Revoke {
            user_id,
            session_id,
            tenant,
        } => {
            let tenant = ctx.tenant(tenant.as_deref());
            ctx.client
                .revoke_session(&tenant, &user_id, &session_id)
                .await?;
            if ctx.json {
                output::json(&json!({ "revoked": session_id }))
            } else {
                output::line(format_args!("Revoked session {session_id}."))
            }
        }
    }
}
