//! `latchkey tenants …`.

use latchkey_api::{CreateTenantRequest, PageQuery, TenantView, UpdateTenantRequest};
use serde_json::json;

use super::{Ctx, PageArgs, fetch_pages, print_next_hint};
use crate::output::{self, Table};

#[derive(clap::Subcommand, Debug)]
pub enum TenantsCommand {
    /// List tenants.
    List(PageArgs),
    /// Create a tenant.
    Create {
        /// Domain (the tenant's name in URLs), e.g. `acme`.
        domain: String,
        /// Human-readable title.
        #[arg(long)]
        title: String,
    },
    /// Show a tenant.
    Get { domain: String },
    /// Change a tenant's title, or whether its members must use MFA.
    Update {
        domain: String,
        #[arg(long)]
        title: Option<String>,
        /// Require (`true`) or stop requiring (`false`) multi-factor authentication for
        /// every member's sign-in.
        #[arg(long, value_name = "BOOL")]
        require_mfa: Option<bool>,
    },
    /// Delete a tenant.
    Delete { domain: String },
}

pub async fn run(ctx: &Ctx, command: TenantsCommand) -> anyhow::Result<()> {
    let client = &ctx.client;
    match command {
        TenantsCommand::List(args) => {
            let (tenants, next) = fetch_pages(&args, async |after| {
                let query = PageQuery {
                    limit: args.limit,
                    after,
                };
                client.list_tenants(&query).await
            })
            .await?;
            if ctx.json {
                output::json(&tenants)?;
            } else {
                let mut table = Table::new(&["DOMAIN", "TITLE", "ID", "CREATED"]);
                for t in &tenants {
                    table.row(vec![
                        t.domain.clone(),
                        t.title.clone(),
                        t.id.clone(),
                        output::time(t.created_at),
                    ]);
                }
                table.print("No tenants.")?;
            }
            print_next_hint(ctx, next.as_deref())
        }
        TenantsCommand::Create { domain, title } => {
            let request = CreateTenantRequest {
                domain,
                title,
                metadata: None,
                password_policy: None,
            };
            show(ctx, &client.create_tenant(&request).await?)
        }
        TenantsCommand::Get { domain } => show(ctx, &client.get_tenant(&domain).await?),
        TenantsCommand::Update {
            domain,
            title,
            require_mfa,
        } => {
            if title.is_none() && require_mfa.is_none() {
                anyhow::bail!("nothing to change: pass --title or --require-mfa");
            }
            let request = UpdateTenantRequest {
                title,
                metadata: None,
                password_policy: None,
                require_mfa,
            };
            show(ctx, &client.update_tenant(&domain, &request).await?)
        }
        TenantsCommand::Delete { domain } => {
            client.delete_tenant(&domain).await?;
            if ctx.json {
                output::json(&json!({ "deleted": domain }))
            } else {
                output::line(format_args!("Deleted tenant {domain}."))
            }
        }
    }
}

fn show(ctx: &Ctx, tenant: &TenantView) -> anyhow::Result<()> {
    if ctx.json {
        return output::json(tenant);
    }
    let policy = &tenant.password_policy;
    output::fields(&[
        ("domain", tenant.domain.clone()),
        ("title", tenant.title.clone()),
        ("id", tenant.id.clone()),
        ("created", output::time(tenant.created_at)),
        ("tier", output::opt(tenant.metadata.tier.as_deref())),
        ("modules", tenant.metadata.modules.join(", ")),
        ("requires MFA", output::yes_no(tenant.require_mfa)),
        (
            "password length",
            format!("{}-{}", policy.min_length, policy.max_length),
        ),
    ])
}
