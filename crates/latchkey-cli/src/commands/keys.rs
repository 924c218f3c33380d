//! `latchkey keys …`.

use super::Ctx;
use crate::output;

#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a new signing key for the tenant's tokens.
    Rotate {
        #[arg(long)]
        tenant: Option<String>,
        /// `RS256` or `ES256`; default: the algorithm of the active key.
        #[arg(long)]
        algorithm: Option<String>,
    },
}

pub async fn run(ctx: &Ctx, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Rotate { tenant, algorithm } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let key = ctx
                .client
                .rotate_keys(&tenant, algorithm.as_deref())
                .await?;
            if ctx.json {
                return output::json(&key);
            }
            output::fields(&[
                ("kid", key.kid.clone()),
                ("algorithm", key.algorithm.clone()),
                ("created", output::time(key.created_at)),
            ])
        }
    }
}
