//! `latchkey workspaces …`: the signed-in account's own tenants (`/api/v1/me/tenants`).

use latchkey_api::MyTenantsQuery;
use serde_json::json;

use super::{Ctx, confirm};
use crate::output::{self, Table};

#[derive(clap::Subcommand, Debug)]
pub enum WorkspacesCommand {
    /// List the tenants you belong to, with your role in each.
    List {
        /// Only the tenants you administer.
        #[arg(long)]
        admin_only: bool,
    },
    /// Create a tenant you administer; its domain is generated from the title. Allowed
    /// to platform administrators, and to everyone when the server enables
    /// `[workspaces] self_service` or signup.
    Create {
        /// Human-readable title.
        title: String,
    },
    /// Delete a tenant you administer, with its memberships, sessions and keys (not the
    /// tenant you are signed in to).
    Delete {
        /// The tenant's domain.
        domain: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(ctx: &Ctx, command: WorkspacesCommand) -> anyhow::Result<()> {
    let client = &ctx.client;
    match command {
        WorkspacesCommand::List { admin_only } => {
            let query = MyTenantsQuery {
                // Unset rather than `false`, so the server's default applies.
                admin_only: admin_only.then_some(true),
            };
            let tenants = client.list_my_tenants(&query).await?;
            if ctx.json {
                return output::json(&tenants);
            }
            let mut table = Table::new(&["DOMAIN", "TITLE", "ROLE"]);
            for t in &tenants {
                table.row(vec![t.domain.clone(), t.title.clone(), t.role.clone()]);
            }
            table.print("No workspaces.")
        }
        WorkspacesCommand::Create { title } => {
            let tenant = client.create_my_tenant(&title).await?;
            super::tenants::show(ctx, &tenant)
        }
        WorkspacesCommand::Delete { domain, yes } => {
            if !yes {
                confirm(
                    &format!(
                        "Delete workspace {} with its members, sessions and keys?",
                        output::clean(&domain)
                    ),
                    &format!("delete workspace {domain}"),
                    "nothing deleted",
                )?;
            }
            client.delete_my_tenant(&domain).await?;
            if ctx.json {
                output::json(&json!({ "deleted": domain }))
            } else {
                output::line(format_args!(
                    "Deleted workspace {}.",
                    output::clean(&domain)
                ))
            }
        }
    }
}
