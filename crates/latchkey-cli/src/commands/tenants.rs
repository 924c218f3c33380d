//! `latchkey tenants …`.

use latchkey_api::{
    CreateTenantRequest, PageQuery, TenantMetadataView, TenantView, UpdateTenantRequest,
};
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
    /// Change a tenant's title, whether its members must use MFA, or its customer
    /// profile (tier, modules, dashboard links, schedule limit).
    Update {
        domain: String,
        #[arg(long)]
        title: Option<String>,
        /// Require (`true`) or stop requiring (`false`) multi-factor authentication for
        /// every member's sign-in.
        #[arg(long, value_name = "BOOL")]
        require_mfa: Option<bool>,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Delete a tenant.
    Delete { domain: String },
    /// Show what a password must satisfy in a tenant (any member).
    PasswordPolicy {
        /// The tenant's domain; default: the tenant you are signed in to.
        domain: Option<String>,
    },
}

/// The customer profile kept in a tenant's metadata. The other metadata fields are
/// kept as they are (the command reads the tenant first, then sends the whole metadata).
#[derive(clap::Args, Debug, Default)]
pub struct ProfileArgs {
    /// Subscription tier, e.g. `STANDARD`; an empty value removes it.
    #[arg(long)]
    tier: Option<String>,
    /// Enabled modules, comma-separated (replaces the list; empty for none).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    modules: Option<Vec<String>>,
    /// A dashboard link `NAME=URL`; repeat for several (replaces the list).
    #[arg(long = "link", value_name = "NAME=URL")]
    links: Vec<String>,
    /// Remove every dashboard link.
    #[arg(long, conflicts_with = "links")]
    clear_links: bool,
    /// Pipeline schedule limit, e.g. `HOURLY`; an empty value removes it.
    #[arg(long)]
    schedule_limit: Option<String>,
}

impl ProfileArgs {
    fn is_empty(&self) -> bool {
        self.tier.is_none()
            && self.modules.is_none()
            && self.links.is_empty()
            && !self.clear_links
            && self.schedule_limit.is_none()
    }

    /// `current` with the requested changes.
    fn apply(self, mut current: TenantMetadataView) -> anyhow::Result<TenantMetadataView> {
        let non_empty = |v: String| Some(v).filter(|v| !v.trim().is_empty());
        if let Some(tier) = self.tier {
            current.tier = non_empty(tier);
        }
        if let Some(modules) = self.modules {
            current.modules = modules
                .into_iter()
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty())
                .collect();
        }
        if self.clear_links {
            current.links.clear();
        } else if !self.links.is_empty() {
            current.links = self
                .links
                .iter()
                .map(|link| {
                    let (name, url) = link
                        .split_once('=')
                        .ok_or_else(|| anyhow::anyhow!("--link takes NAME=URL, got {link:?}"))?;
                    let mut object = serde_json::Map::new();
                    object.insert("name".into(), json!(name.trim()));
                    object.insert("url".into(), json!(url.trim()));
                    Ok(object)
                })
                .collect::<anyhow::Result<_>>()?;
        }
        if let Some(limit) = self.schedule_limit {
            current.schedule_limit = non_empty(limit);
        }
        Ok(current)
    }
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
            profile,
        } => {
            if title.is_none() && require_mfa.is_none() && profile.is_empty() {
                anyhow::bail!(
                    "nothing to change: pass --title, --require-mfa, --tier, --modules, --link, --clear-links or --schedule-limit"
                );
            }
            let metadata = if profile.is_empty() {
                None
            } else {
                Some(profile.apply(client.get_tenant(&domain).await?.metadata)?)
            };
            let request = UpdateTenantRequest {
                title,
                metadata,
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
        TenantsCommand::PasswordPolicy { domain } => {
            let tenant = ctx.tenant(domain.as_deref());
            let policy = client.password_policy(&tenant).await?;
            if ctx.json {
                return output::json(&policy);
            }
            output::fields(&[
                ("tenant", tenant),
                ("min length", policy.min_length.to_string()),
                ("max length", policy.max_length.to_string()),
                (
                    "rejects common passwords",
                    output::yes_no(policy.rejects_common_passwords),
                ),
                (
                    "rejects account names",
                    output::yes_no(policy.rejects_account_names),
                ),
                (
                    "composition rules",
                    output::yes_no(policy.composition_rules),
                ),
            ])
        }
    }
}

pub(super) fn show(ctx: &Ctx, tenant: &TenantView) -> anyhow::Result<()> {
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
        (
            "links",
            tenant
                .metadata
                .links
                .iter()
                .map(|link| {
                    let text = |key: &str| link.get(key).and_then(|v| v.as_str()).unwrap_or("");
                    format!("{}={}", text("name"), text("url"))
                })
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "schedule limit",
            output::opt(tenant.metadata.schedule_limit.as_deref()),
        ),
        ("requires MFA", output::yes_no(tenant.require_mfa)),
        (
            "password length",
            format!("{}-{}", policy.min_length, policy.max_length),
        ),
    ])
}
