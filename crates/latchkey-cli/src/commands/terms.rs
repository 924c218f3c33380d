//! `latchkey terms …`: a tenant's terms of use (publish, list) and accepting them.

use latchkey_api::{PublishTermsRequest, TermsOfUseView};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Ctx, parse_instant};
use crate::output::{self, Table};

#[derive(clap::Subcommand, Debug)]
pub enum TermsCommand {
    /// Publish a version of the tenant's terms of use (administrators).
    Publish {
        /// Where members read the document (http or https URL).
        #[arg(long)]
        url: String,
        /// From when members must have accepted it: YYYY-MM-DD (midnight UTC) or RFC 3339.
        #[arg(long, value_name = "DATE")]
        enforce_date: String,
        /// The version number; defaults to one more than the newest.
        #[arg(long)]
        version: Option<i64>,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// List the tenant's versions, newest first.
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Show whether you have accepted the terms in force.
    Status,
    /// Accept a version of the terms of use of your session's tenant.
    Accept { version: i64 },
}

pub async fn run(ctx: &Ctx, command: TermsCommand) -> anyhow::Result<()> {
    let client = &ctx.client;
    match command {
        TermsCommand::Publish {
            url,
            enforce_date,
            version,
            tenant,
        } => {
            let enforce_date = OffsetDateTime::parse(&parse_instant(&enforce_date)?, &Rfc3339)?;
            let request = PublishTermsRequest {
                version,
                public_url: url,
                enforce_date,
            };
            let published = client
                .publish_terms(&ctx.tenant(tenant.as_deref()), &request)
                .await?;
            if ctx.json {
                return output::json(&published);
            }
            output::line(format_args!(
                "Published version {} (enforced from {}).",
                published.version,
                output::time(published.enforce_date)
            ))
        }
        TermsCommand::List { tenant } => {
            let versions = client.list_terms(&ctx.tenant(tenant.as_deref())).await?;
            if ctx.json {
                return output::json(&versions);
            }
            let mut table = Table::new(&["VERSION", "ENFORCED FROM", "URL", "CREATED"]);
            for v in &versions {
                table.row(vec![
                    v.version.to_string(),
                    output::time(v.enforce_date),
                    v.public_url.clone(),
                    output::time(v.created_at),
                ]);
            }
            table.print("No terms of use published.")
        }
        TermsCommand::Status => show(ctx, &client.own_terms().await?),
        TermsCommand::Accept { version } => show(ctx, &client.accept_terms(version).await?),
    }
}

fn show(ctx: &Ctx, terms: &TermsOfUseView) -> anyhow::Result<()> {
    if ctx.json {
        return output::json(terms);
    }
    output::fields(&[
        ("status", terms.status.clone()),
        (
            "in force",
            output::opt(
                terms
                    .in_force
                    .as_ref()
                    .map(|v| v.version.to_string())
                    .as_deref(),
            ),
        ),
        (
            "last accepted",
            output::opt(
                terms
                    .last_signed
                    .as_ref()
                    .map(|v| format!("{} on {}", v.version, output::time(v.accepted_at)))
                    .as_deref(),
            ),
        ),
    ])
}
