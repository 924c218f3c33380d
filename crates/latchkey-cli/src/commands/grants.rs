//! `latchkey grants …` and `latchkey authentications …`.

use anyhow::Context as _;
use latchkey_client::api::{CreateGrantRequest, ExternalAuthRequest, ExternalAuthView};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Ctx, parse_instant, read_line_stdin};
use crate::output::{self, Table};

#[derive(clap::Subcommand, Debug)]
pub enum GrantsCommand {
    /// Create a grant (a long-lived refresh token, shown once) for a user.
    Create {
        /// Account id (base64url; it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        user_id: String,
        /// `user` (for the account itself) or `service` (for an application).
        #[arg(long = "type", default_value = "user")]
        grant_type: String,
        /// The application of a service grant.
        #[arg(long)]
        for_client_id: Option<String>,
        /// The client a user grant is bound to (default: the native API).
        #[arg(long)]
        client_id: Option<String>,
        /// Restrict the grant to these project permissions (comma-separated, such as
        /// `items.read.*,projects.read.*`).
        #[arg(long, value_delimiter = ',')]
        permissions: Option<Vec<String>>,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// List a user's active grants.
    List {
        #[arg(allow_hyphen_values = true)]
        user_id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke one of a user's grants.
    Revoke {
        #[arg(allow_hyphen_values = true)]
        user_id: String,
        /// Grant id (base64url; it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        grant_id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum AuthenticationsCommand {
    /// Create or replace a user's authentication at an external service. The access
    /// token is read from the first line of stdin, an access secret (optional) from the
    /// second.
    Set {
        #[arg(allow_hyphen_values = true)]
        user_id: String,
        /// The external service, such as `salesforce` or `msexchange`.
        service: String,
        /// The account's identity at the service.
        #[arg(long)]
        service_user: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        state: Option<String>,
        /// When the access token expires (`YYYY-MM-DD` or RFC 3339).
        #[arg(long)]
        token_expires: Option<String>,
        /// When the access secret expires (`YYYY-MM-DD` or RFC 3339).
        #[arg(long)]
        secret_expires: Option<String>,
        /// Also read an access secret from the second line of stdin.
        #[arg(long)]
        with_secret: bool,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Show a user's authentication at a service (credentials only with
    /// `--show-secrets`).
    Show {
        #[arg(allow_hyphen_values = true)]
        user_id: String,
        service: String,
        #[arg(long)]
        show_secrets: bool,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Delete a user's authentication at a service.
    Delete {
        #[arg(allow_hyphen_values = true)]
        user_id: String,
        service: String,
        #[arg(long)]
        tenant: Option<String>,
    },
}

pub async fn run(ctx: &Ctx, command: GrantsCommand) -> anyhow::Result<()> {
    match command {
        GrantsCommand::Create {
            user_id,
            grant_type,
            for_client_id,
            client_id,
            permissions,
            tenant,
        } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let created = ctx
                .client
                .create_grant(
                    &tenant,
                    &user_id,
                    &CreateGrantRequest {
                        grant_type,
                        for_client_id,
                        client_id,
                        project_permissions: permissions,
                    },
                )
                .await?;
            if ctx.json {
                return output::json(&created);
            }
            output::fields(&[
                ("id", created.id.clone()),
                ("type", created.grant.grant_type.clone()),
                ("client", created.grant.client_id.clone()),
                ("valid to", output::time(created.grant.valid_to)),
                ("refresh token", created.refresh_token.clone()),
            ])?;
            output::stderr("The refresh token is shown only this once.");
            Ok(())
        }
        GrantsCommand::List { user_id, tenant } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let grants = ctx.client.list_grants(&tenant, &user_id).await?;
            if ctx.json {
                return output::json(&grants);
            }
            let mut table =
                Table::new(&["ID", "TYPE", "CLIENT", "PERMISSIONS", "CREATED", "VALID TO"]);
            for g in &grants {
                table.row(vec![
                    g.id.clone(),
                    g.grant_type.clone(),
                    output::clean(&g.client_id),
                    g.project_permissions
                        .as_ref()
                        .map_or_else(|| "all".to_owned(), |p| output::clean(&p.join(","))),
                    output::time(g.created_at),
                    output::time(g.valid_to),
                ]);
            }
            table.print("No grants.")
        }
        GrantsCommand::Revoke {
            user_id,
            grant_id,
            tenant,
        } => {
            let tenant = ctx.tenant(tenant.as_deref());
            ctx.client
                .revoke_grant(&tenant, &user_id, &grant_id)
                .await?;
            if ctx.json {
                output::json(&json!({ "revoked": grant_id }))
            } else {
                output::line(format_args!("Revoked grant {grant_id}."))
            }
        }
    }
}

fn instant(text: Option<&str>) -> anyhow::Result<Option<OffsetDateTime>> {
    text.map(|t| {
        let rfc = parse_instant(t)?;
        OffsetDateTime::parse(&rfc, &Rfc3339).context("parsing the instant")
    })
    .transpose()
}

fn show(view: &ExternalAuthView, secrets: bool) -> anyhow::Result<()> {
    let hidden = |value: Option<&str>| match (value, secrets) {
        (None, _) => "-".to_owned(),
        (Some(v), true) => output::clean(v),
        (Some(_), false) => "(hidden; --show-secrets)".to_owned(),
    };
    output::fields(&[
        ("service", output::clean(&view.service)),
        ("service user", output::clean(&view.service_user)),
        (
            "display name",
            output::clean(&output::opt(view.display_name.as_deref())),
        ),
        ("state", output::clean(&output::opt(view.state.as_deref()))),
        ("access token", hidden(Some(&view.access_token))),
        ("token expires", output::opt_time(view.access_token_expires)),
        ("access secret", hidden(view.access_secret.as_deref())),
        (
            "secret expires",
            output::opt_time(view.access_secret_expires),
        ),
        ("updated", output::time(view.updated_at)),
    ])
}

fn redacted(view: &ExternalAuthView) -> ExternalAuthView {
    ExternalAuthView {
        access_token: "(hidden)".into(),
        access_secret: view.access_secret.as_ref().map(|_| "(hidden)".into()),
        ..view.clone()
    }
}

pub async fn run_authentications(ctx: &Ctx, command: AuthenticationsCommand) -> anyhow::Result<()> {
    match command {
        AuthenticationsCommand::Set {
            user_id,
            service,
            service_user,
            display_name,
            state,
            token_expires,
            secret_expires,
            with_secret,
            tenant,
        } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let access_token = read_line_stdin("the access token")?;
            let access_secret = if with_secret {
                Some(read_line_stdin("the access secret")?)
            } else {
                None
            };
            let view = ctx
                .client
                .put_authentication(
                    &tenant,
                    &user_id,
                    &service,
                    &ExternalAuthRequest {
                        service_user,
                        access_token,
                        access_secret,
                        access_token_expires: instant(token_expires.as_deref())?,
                        access_secret_expires: instant(secret_expires.as_deref())?,
                        display_name,
                        state,
                    },
                )
                .await?;
            if ctx.json {
                return output::json(&redacted(&view));
            }
            show(&view, false)
        }
        AuthenticationsCommand::Show {
            user_id,
            service,
            show_secrets,
            tenant,
        } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let view = ctx
                .client
                .get_authentication(&tenant, &user_id, &service)
                .await?;
            if ctx.json {
                return if show_secrets {
                    output::json(&view)
                } else {
                    output::json(&redacted(&view))
                };
            }
            show(&view, show_secrets)
        }
        AuthenticationsCommand::Delete {
            user_id,
            service,
            tenant,
        } => {
            let tenant = ctx.tenant(tenant.as_deref());
            ctx.client
                .delete_authentication(&tenant, &user_id, &service)
                .await?;
            if ctx.json {
                output::json(&json!({ "deleted": service }))
            } else {
                output::line(format_args!("Deleted the {service} authentication."))
            }
        }
    }
}
