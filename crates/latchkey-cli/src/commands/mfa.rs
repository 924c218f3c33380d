//! `latchkey mfa …`: the signed-in account's authenticator app, and administrators'
//! resets.

use anyhow::bail;
use serde_json::json;

use super::{Ctx, read_line_stdin, read_password_stdin};
use crate::output;

#[derive(clap::Subcommand, Debug)]
pub enum MfaCommand {
    /// Show whether your account has an authenticator and whether the tenant requires one.
    Status,
    /// Start enrolling an authenticator app: prints the secret, the otpauth URI and ten
    /// recovery codes, once. Confirm with `latchkey mfa confirm CODE`.
    Enroll,
    /// Activate the enrolled authenticator with its current code.
    Confirm { code: String },
    /// Turn the authenticator off. The password comes from the first line of stdin, the
    /// code from --code or the next line of stdin.
    Disable {
        /// Read the password from stdin (the only way to pass it).
        #[arg(long)]
        password_stdin: bool,
        /// A current code of the authenticator app, or a recovery code.
        #[arg(long)]
        code: Option<String>,
    },
    /// Remove a member's authenticator (administrators; e.g. a lost phone).
    Reset {
        /// The member's account id (base64url; it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        user_id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
}

pub async fn run(ctx: &Ctx, command: MfaCommand) -> anyhow::Result<()> {
    let client = &ctx.client;
    match command {
        MfaCommand::Status => {
            let status = client.mfa_status().await?;
            if ctx.json {
                return output::json(&status);
            }
            output::fields(&[
                ("totp", status.totp.clone()),
                (
                    "recovery codes left",
                    status.recovery_codes_remaining.to_string(),
                ),
                (
                    "required by tenant",
                    output::yes_no(status.required_by_tenant),
                ),
            ])
        }
        MfaCommand::Enroll => {
            let enrolment = client.enrol_totp().await?;
            if ctx.json {
                return output::json(&enrolment);
            }
            let mut lines = vec![
                "Add this account to your authenticator app, then run `latchkey mfa confirm CODE`."
                    .to_owned(),
                format!("secret:      {}", output::clean(&enrolment.secret)),
                format!("otpauth URI: {}", output::clean(&enrolment.otpauth_uri)),
                String::new(),
                "Recovery codes (each works once in place of a code; store them safely, they are not shown again):"
                    .to_owned(),
            ];
            lines.extend(
                enrolment
                    .recovery_codes
                    .iter()
                    .map(|code| format!("  {}", output::clean(code))),
            );
            output::lines(&lines)
        }
        MfaCommand::Confirm { code } => {
            client.confirm_totp(&code).await?;
            if ctx.json {
                output::json(&json!({ "totp": "active" }))
            } else {
                output::line("Multi-factor authentication is active: sign-ins now need a code.")
            }
        }
        MfaCommand::Disable {
            password_stdin,
            code,
        } => {
            if !password_stdin {
                bail!("pass the password on stdin with --password-stdin");
            }
            let password = read_password_stdin()?;
            let code = match code {
                Some(code) => code,
                None => {
                    output::stderr("One-time code (authenticator app or recovery code):");
                    read_line_stdin("the one-time code")?
                }
            };
            client.disable_totp(&password, &code).await?;
            if ctx.json {
                output::json(&json!({ "totp": "none" }))
            } else {
                output::line("Multi-factor authentication is off.")
            }
        }
        MfaCommand::Reset { user_id, tenant } => {
            let tenant = ctx.tenant(tenant.as_deref());
            client.reset_user_mfa(&tenant, &user_id).await?;
            if ctx.json {
                output::json(&json!({ "mfa_reset": user_id }))
            } else {
                output::line(format_args!(
                    "Removed the authenticator of user {}.",
                    output::clean(&user_id)
                ))
            }
        }
    }
}
