//! `latchkey audit`.

use latchkey_api::PageQuery;

use super::{Ctx, PageArgs, fetch_pages, print_next_hint};
use crate::output::{self, Table};

#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    #[arg(long)]
    pub tenant: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
}

/// Shows the tenant's audit log.
pub async fn run(ctx: &Ctx, args: AuditArgs) -> anyhow::Result<()> {
    let tenant = ctx.tenant(args.tenant.as_deref());
    let (events, next) = fetch_pages(&args.page, async |after| {
        let query = PageQuery {
            limit: args.page.limit,
            after,
        };
        ctx.client.list_audit(&tenant, &query).await
    })
    .await?;
    if ctx.json {
        output::json(&events)?;
    } else {
        let mut table = Table::new(&["AT", "ACTION", "OUTCOME", "ACTOR", "TARGET"]);
        for e in &events {
            table.row(vec![
                output::time(e.at),
                e.action.clone(),
                e.outcome.clone(),
                output::opt(e.actor.as_deref()),
                output::opt(e.target.as_deref()),
            ]);
        }
        table.print("No audit events.")?;
    }
    print_next_hint(ctx, next.as_deref())
}
