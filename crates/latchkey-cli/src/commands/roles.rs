//! `latchkey roles …`: a tenant's roles (custom ones beside the fixed built-in ones).

use latchkey_api::RoleView;
use serde_json::json;

use super::Ctx;
use crate::output::{self, Table};

#[derive(clap::Subcommand, Debug)]
pub enum RolesCommand {
    /// List a tenant's roles, built-in and custom.
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Create a custom role, or replace its permissions with those given.
    Set {
        /// Role name: 1-64 characters of lowercase letters, digits, '.', '_', ':' or '-'.
        name: String,
        /// A permission the role grants (repeatable; none makes an empty role). Use
        /// `CLIENT_ID:SLUG` for permissions inside an application.
        #[arg(long = "permission", value_name = "P")]
        permissions: Vec<String>,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Delete a custom role (refused while users hold it).
    Delete {
        name: String,
        #[arg(long)]
        tenant: Option<String>,
    },
}

pub async fn run(ctx: &Ctx, command: RolesCommand) -> anyhow::Result<()> {
    let client = &ctx.client;
    match command {
        RolesCommand::List { tenant } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let roles = client.list_roles(&tenant).await?;
            if ctx.json {
                return output::json(&roles);
            }
            let mut table = Table::new(&["NAME", "BUILTIN", "PERMISSIONS"]);
            for role in &roles {
                table.row(vec![
                    role.name.clone(),
                    output::yes_no(role.builtin),
                    permissions(role),
                ]);
            }
            table.print("No roles.")
        }
        RolesCommand::Set {
            name,
            permissions: granted,
            tenant,
        } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let role = client.put_role(&tenant, &name, &granted).await?;
            if ctx.json {
                return output::json(&role);
            }
            output::fields(&[
                ("name", role.name.clone()),
                ("builtin", output::yes_no(role.builtin)),
                ("permissions", permissions(&role)),
            ])
        }
        RolesCommand::Delete { name, tenant } => {
            let tenant = ctx.tenant(tenant.as_deref());
            client.delete_role(&tenant, &name).await?;
            if ctx.json {
                output::json(&json!({ "deleted": name }))
            } else {
                output::line(format_args!("Deleted role {}.", output::clean(&name)))
            }
        }
    }
}

/// Comma-separated, or `-` when empty.
fn permissions(role: &RoleView) -> String {
    if role.permissions.is_empty() {
        "-".to_owned()
    } else {
        output::clean(&role.permissions.join(", "))
    }
}
