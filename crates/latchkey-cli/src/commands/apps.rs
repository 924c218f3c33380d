//! `latchkey apps …`: a tenant's applications (OAuth clients).

use latchkey_api::{ApplicationView, CreateApplicationRequest};
use serde_json::json;

use super::Ctx;
use crate::output::{self, Table};

#[derive(clap::Subcommand, Debug)]
pub enum AppsCommand {
    /// List a tenant's applications (admin-cli included).
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Show an application.
    Get {
        client_id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Register an application; a confidential client's secret is printed once.
    Create {
        /// Client id: 1-64 characters of letters, digits, '.', '_', ':' or '-'.
        #[arg(long, value_name = "ID")]
        client_id: String,
        /// A public client (browser or command-line app): no secret.
        #[arg(long)]
        public: bool,
        /// Allowed grant (repeatable): authorization_code, password, refresh_token,
        /// client_credentials. Default: authorization_code and refresh_token, plus
        /// client_credentials for confidential clients.
        #[arg(long = "grant", value_name = "TYPE")]
        grants: Vec<String>,
        /// Exact redirect URI for the authorization-code grant (repeatable).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// Application-scoped role name (repeatable).
        #[arg(long = "role", value_name = "R")]
        roles: Vec<String>,
        /// Access-token lifetime for this client, 60-86400 (default: the server's).
        #[arg(long, value_name = "SECONDS")]
        access_token_lifetime: Option<i64>,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Delete an application (not admin-cli).
    Delete {
        client_id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Give a confidential client a new secret, printed once; the old one stops working.
    RotateSecret {
        client_id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
}

pub async fn run(ctx: &Ctx, command: AppsCommand) -> anyhow::Result<()> {
    let client = &ctx.client;
    match command {
        AppsCommand::List { tenant } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let apps = client.list_applications(&tenant).await?;
            if ctx.json {
                return output::json(&apps);
            }
            let mut table = Table::new(&[
                "CLIENT ID",
                "TYPE",
                "GRANTS",
                "REDIRECT URIS",
                "BUILTIN",
                "CREATED",
            ]);
            for app in &apps {
                table.row(vec![
                    app.client_id.clone(),
                    kind(app).to_owned(),
                    list(&app.grant_types),
                    list(&app.redirect_uris),
                    output::yes_no(app.builtin),
                    output::time(app.created_at),
                ]);
            }
            table.print("No applications.")
        }
        AppsCommand::Get { client_id, tenant } => {
            let tenant = ctx.tenant(tenant.as_deref());
            show(ctx, &client.get_application(&tenant, &client_id).await?)
        }
        AppsCommand::Create {
            client_id,
            public,
            grants,
            redirect_uris,
            roles,
            access_token_lifetime,
            tenant,
        } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let request = CreateApplicationRequest {
                client_id,
                public,
                // No --grant: the server's defaults for the client type.
                grant_types: (!grants.is_empty()).then_some(grants),
                redirect_uris,
                roles,
                access_token_lifetime,
            };
            show(ctx, &client.create_application(&tenant, &request).await?)
        }
        AppsCommand::Delete { client_id, tenant } => {
            let tenant = ctx.tenant(tenant.as_deref());
            client.delete_application(&tenant, &client_id).await?;
            if ctx.json {
                output::json(&json!({ "deleted": client_id }))
            } else {
                output::line(format_args!(
                    "Deleted application {}.",
                    output::clean(&client_id)
                ))
            }
        }
        AppsCommand::RotateSecret { client_id, tenant } => {
            let tenant = ctx.tenant(tenant.as_deref());
            show(
                ctx,
                &client
                    .rotate_application_secret(&tenant, &client_id)
                    .await?,
            )
        }
    }
}

fn kind(app: &ApplicationView) -> &'static str {
    if app.public { "public" } else { "confidential" }
}

/// Comma-separated, or `-` when empty.
fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(", ")
    }
}

/// One application as `name: value` lines (or JSON); a secret in the answer comes last,
/// with the reminder that it is shown only this once.
fn show(ctx: &Ctx, app: &ApplicationView) -> anyhow::Result<()> {
    if ctx.json {
        return output::json(app);
    }
    let mut fields = vec![
        ("client id", app.client_id.clone()),
        ("type", kind(app).to_owned()),
        ("grants", list(&app.grant_types)),
        ("redirect uris", list(&app.redirect_uris)),
        ("roles", list(&app.roles)),
        (
            "token lifetime",
            app.access_token_lifetime
                .map_or_else(|| "server default".to_owned(), |s| format!("{s} s")),
        ),
        ("builtin", output::yes_no(app.builtin)),
        ("created", output::time(app.created_at)),
    ];
    if let Some(secret) = &app.client_secret {
        fields.push(("client secret", secret.clone()));
    }
    output::fields(&fields)?;
    if app.client_secret.is_some() {
        output::line("Store the client secret now: it is not shown again.")?;
    }
    Ok(())
}
