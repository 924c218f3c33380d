//! `signup`, `login`, `logout` and `whoami`.

use anyhow::bail;
use latchkey_client::{Client, Secret, SignedIn};
use serde_json::json;

use latchkey_api::{SignUpRequest, codes};

use super::{Ctx, read_line_stdin, read_password_stdin};
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
    /// The current code of your authenticator app (or a recovery code). Without it, an
    /// account with MFA is asked for one, read from the next line of stdin. In a tenant
    /// that requires MFA, an account without it enrols an authenticator first: login
    /// shows its secret and recovery codes and reads its first code from stdin.
    #[arg(long, value_name = "CODE")]
    pub totp: Option<String>,
}

pub async fn login(args: LoginArgs, json: bool) -> anyhow::Result<()> {
    if !args.password_stdin {
        bail!("pass the password on stdin with --password-stdin");
    }
    let password = read_password_stdin()?;
    let client = Client::new(&args.server)?;
    if let Some(warning) = cleartext_warning(&client) {
        output::stderr(warning);
    }
    let path = session_file::path()?;
    // Held until the new session is stored, so that a command still running on the old
    // session cannot write that back over it.
    let lock = session_file::lock(&path).await?;
    let first = client
        .sign_in_with_totp(&args.tenant, &args.user, &password, args.totp.as_deref())
        .await;
    let signed_in = match first {
        Err(err) if err.code() == Some(codes::MFA_REQUIRED) && args.totp.is_none() => {
            // The password was right; the account wants its second factor.
            output::stderr("One-time code (authenticator app or recovery code):");
            let code = read_line_stdin("the one-time code")?;
            client
                .sign_in_with_totp(&args.tenant, &args.user, &password, Some(&code))
                .await?
        }
        // The password was right; the tenant requires a second factor and the account
        // has none yet: enrol one now, as Keycloak's CONFIGURE_TOTP action does.
        Err(err) => match err.enrolment_token().cloned() {
            Some(token) => enrol_and_sign_in(&client, &args.tenant, &token).await?,
            None => return Err(err.into()),
        },
        Ok(signed_in) => signed_in,
    };
    let Some(session) = client.session().await else {
        bail!("the sign-in returned no session");
    };
    let stored = StoredSession {
        server: client.base_url().to_owned(),
        session,
    };
    session_file::save(&path, &stored)?;
    drop(lock);
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

/// Enrols an authenticator with the enrolment token of a refused sign-in: shows the
/// secret, the otpauth URI and the recovery codes (on stderr, so stdout stays the
/// command's one result, JSON or not), reads the app's first code from the next line of
/// stdin, confirms it and signs in.
async fn enrol_and_sign_in(
    client: &Client,
    tenant: &str,
    token: &Secret,
) -> anyhow::Result<SignedIn> {
    let enrolment = client.begin_mfa_enrolment(tenant, token).await?;
    output::stderr(
        "This tenant requires multi-factor authentication. Add this account to your authenticator app:",
    );
    output::stderr(format_args!(
        "secret:      {}",
        output::clean(&enrolment.secret)
    ));
    output::stderr(format_args!(
        "otpauth URI: {}",
        output::clean(&enrolment.otpauth_uri)
    ));
    output::stderr(
        "Recovery codes (each works once in place of a code; store them safely, they are not shown again):",
    );
    for code in &enrolment.recovery_codes {
        output::stderr(format_args!("  {}", output::clean(code)));
    }
    output::stderr("One-time code (authenticator app):");
    let code = read_line_stdin("the one-time code")?;
    Ok(client.confirm_mfa_enrolment(tenant, token, &code).await?)
}

#[derive(clap::Args, Debug)]
pub struct SignupArgs {
    /// Server root URL, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "LATCHKEY_SERVER")]
    pub server: String,
    /// Email address of the new account.
    #[arg(long)]
    pub email: String,
    /// Display name; also the new tenant's title (else the email's local part).
    #[arg(long)]
    pub display_name: Option<String>,
    /// Read the password from the first line of stdin (the only way to pass it).
    #[arg(long)]
    pub password_stdin: bool,
}

/// Creates an account and the tenant it administers, on a server with signup enabled.
/// Does not sign in (nor touch the stored session): the output says how to.
pub async fn signup(args: SignupArgs, json: bool) -> anyhow::Result<()> {
    if !args.password_stdin {
        bail!("pass the password on stdin with --password-stdin");
    }
    let password = read_password_stdin()?;
    let client = Client::new(&args.server)?;
    if let Some(warning) = cleartext_warning(&client) {
        output::stderr(warning);
    }
    let request = SignUpRequest {
        email: args.email.clone(),
        password,
        display_name: args.display_name,
    };
    let created = client.sign_up(&request).await?;
    if json {
        return output::json(&created);
    }
    output::fields(&[
        ("account", created.account_id.clone()),
        ("email", args.email.clone()),
        ("tenant", created.tenant.domain.clone()),
        ("title", created.tenant.title.clone()),
    ])?;
    output::line(format_args!(
        "Sign in with: latchkey login --server {} --tenant {} --user {} --password-stdin",
        output::clean(client.base_url()),
        output::clean(&created.tenant.domain),
        output::clean(&args.email)
    ))
}

/// The one-line warning for a server reached over plain http on another machine: the
/// password and the tokens would cross the network unencrypted. Only a warning: a
/// TLS-terminating proxy on a trusted network is a legitimate setup.
fn cleartext_warning(client: &Client) -> Option<String> {
    client.is_cleartext_remote().then(|| {
        format!(
            "warning: {} is not on this machine and uses plain http: the password and tokens \
             are sent unencrypted; use https://",
            output::clean(client.base_url())
        )
    })
}

/// Signs out on the server (best effort) and deletes the stored session.
pub async fn logout(json: bool) -> anyhow::Result<()> {
    let path = session_file::path()?;
    let lock = session_file::lock(&path).await?;
    let warn = |err: &dyn std::fmt::Display| {
        output::stderr(format_args!(
            "warning: could not sign out on the server: {}",
            output::clean(&err.to_string())
        ));
    };
    let signed_out = match session_file::load(&path) {
        Ok(Some(stored)) => {
            match Client::with_session(&stored.server, stored.session) {
                Ok(client) => {
                    if let Err(err) = client.sign_out().await {
                        warn(&err);
                    }
                }
                Err(err) => warn(&err),
            }
            session_file::delete(&path)?
        }
        Ok(None) => false,
        // An unreadable file (corrupt, or readable by others) is still deleted: that is
        // what logging out asks for.
        Err(_) => session_file::delete(&path)?,
    };
    drop(lock);
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn warns_about_plain_http_to_other_machines_only() {
        let warning = |url: &str| cleartext_warning(&Client::new(url).unwrap());
        for quiet in [
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
            "https://idp.example.com",
        ] {
            assert_eq!(warning(quiet), None, "{quiet}");
        }
        let said = warning("http://idp.example.com:8080").unwrap();
        assert!(
            said.starts_with("warning: http://idp.example.com:8080/ "),
            "{said}"
        );
        assert!(
            said.contains("unencrypted") && !said.contains('\n'),
            "{said}"
        );
    }
}
