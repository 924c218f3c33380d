//! `login`, `logout` and `whoami`.

use anyhow::bail;
use latchkey_client::Client;
use serde_json::json;

use super::{Ctx, read_password_stdin};
use crate::output;
use crate::session_file::{self, StoredSession};

#[derive(clap::Args, Debug)]
pub struct LoginArgs {
    /// Server root URL, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "LATCHKEY_SERVER")]
    pub server: String,
    /// Domain of the tenant to sign in to.
    #[arg(long, default_value = "default")]
    pub tenant: String,
    /// Email address or username.
    #[arg(long)]
    pub user: String,
    /// Read the password from the first line of stdin (the only way to pass it).
    #[arg(long)]
    pub password_stdin: bool,
}

pub async fn login(args: LoginArgs, json: bool) -> anyhow::Result<()> {
    if !args.password_stdin {
        bail!("pass the password on stdin with --password-stdin");
    }
    let password = read_password_stdin()?;
    let client = Client::new(&args.server)?;
    let signed_in = client.sign_in(&args.tenant, &args.user, &password).await?;
    let Some(session) = client.session().await else {
        bail!("the sign-in returned no session");
    };
    let path = session_file::path()?;
    let stored = StoredSession {
        server: client.base_url().to_owned(),
        session,
    };
    session_file::save(&path, &stored)?;
    if json {
        output::json(&json!({
            "server": stored.server,
            "account": signed_in.account,
            "tenant": signed_in.tenant,
        }))
    } else {
        output::line(format_args!(
            "Signed in to {} as {} (tenant {}).",
            stored.server, signed_in.account.email, signed_in.tenant.domain
        ))
    }
}

/// Signs out on the server (best effort) and deletes the stored session.
pub async fn logout(json: bool) -> anyhow::Result<()> {
    let path = session_file::path()?;
    let signed_out = match session_file::load(&path) {
        Ok(Some(stored)) => {
            match Client::with_session(&stored.server, stored.session) {
                Ok(client) => {
                    if let Err(err) = client.sign_out().await {
                        eprintln!("warning: could not sign out on the server: {err}");
                    }
                }
                Err(err) => eprintln!("warning: could not sign out on the server: {err}"),
            }
            session_file::delete(&path)?
        }
        Ok(None) => false,
        // An unreadable file is still deleted: that is what logging out asks for.
        Err(_) => session_file::delete(&path)?,
    };
    if json {
        output::json(&json!({ "signed_out": signed_out }))
    } else if signed_out {
        output::line("Signed out.")
    } else {
        output::line("Not logged in.")
    }
}

/// Shows the signed-in account.
pub async fn whoami(ctx: &Ctx) -> anyhow::Result<()> {
    let me = ctx.client.me().await?;
    if ctx.json {
        return output::json(&me);
    }
    output::fields(&[
        ("email", me.account.email.clone()),
        ("id", me.account.id.clone()),
        ("username", output::opt(me.account.username.as_deref())),
        ("tenant", me.membership.tenant.clone()),
        ("role", me.membership.role.clone()),
        ("platform admin", output::yes_no(me.account.platform_admin)),
        ("permissions", me.permissions.join(", ")),
        ("session", me.session_id.clone()),
    ])
}
