//! `latchkey keys …`.

use super::Ctx;
use crate::output;

#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a new signing key for the tenant's tokens.
    Rotate {
        #[arg(long)]
        tenant: Option<String>,
    },
}

pub async fn run(ctx: &Ctx, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Rotate { tenant } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let key = ctx.client.rotate_keys(&tenant).await?;
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
