//! `latchkey users …`.

use anyhow::bail;
use latchkey_api::{
    AccountView, AddMembersRequest, CreateUserRequest, ListUsersQuery, UpdateUserRequest,
};
use serde_json::json;

use super::{Ctx, PageArgs, fetch_pages, parse_instant, print_next_hint, read_password_stdin};
use crate::output::{self, Table};

#[derive(clap::Subcommand, Debug)]
pub enum UsersCommand {
    /// List a tenant's users.
    List {
        #[arg(long)]
        tenant: Option<String>,
        /// Only users without a sign-in since then: YYYY-MM-DD (UTC) or RFC 3339.
        #[arg(long, value_name = "DATE")]
        inactive_since: Option<String>,
        /// Case-insensitive email prefix.
        #[arg(long, value_name = "PREFIX")]
        email: Option<String>,
        /// Only users with this role.
        #[arg(long)]
        role: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show a user.
    Get {
        /// Account id (base64url; it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Create a user.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// Role in the tenant (the server's default is `user`).
        #[arg(long)]
        role: Option<String>,
        /// Read an initial password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Add accounts to the tenant by email with a role, or set the role of those already
    /// members. An address without an account gets a new account without a password,
    /// which cannot sign in until one is set (an invitation).
    Add {
        /// An email address; repeat for several.
        #[arg(long = "email", value_name = "EMAIL", required = true)]
        emails: Vec<String>,
        /// Role in the tenant, e.g. `user` or `admin`.
        #[arg(long)]
        role: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Change a user's fields, role or status.
    Update {
        /// Account id (base64url; it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        id: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long, conflicts_with = "clear_username")]
        username: Option<String>,
        /// Remove the username.
        #[arg(long)]
        clear_username: bool,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        role: Option<String>,
        /// Disable the account (it can no longer sign in).
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        /// Re-enable a disabled account.
        #[arg(long)]
        enable: bool,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Delete a user.
    Delete {
        /// Account id (base64url; it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Mint a single-use token that signs in as the user for the next 120 seconds
    /// (exchange it at the Cloudspot dialect's `impersonation-validation/`). Needs
    /// users.write; administrators only by a platform administrator.
    Impersonate {
        /// Account id (base64url; it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Import users from NDJSON: one JSON object per line (`email`, optional `username`,
    /// `display_name`, `role`, `password_hash` (argon2id), `disabled`, `custom_data`),
    /// sent in batches that are each imported all or nothing.
    Import {
        /// The NDJSON file, or `-` for stdin.
        file: String,
        #[arg(long)]
        tenant: Option<String>,
        /// Lines per request (1-10000).
        #[arg(long, value_name = "N", default_value_t = 5000,
              value_parser = clap::value_parser!(u32).range(1..=10_000))]
        batch_size: u32,
        /// Skip the first N lines of the input (to resume after a failed batch).
        #[arg(long, value_name = "N", default_value_t = 0)]
        skip: u64,
    },
    /// Remove dormant users: no sign-in since DATE (never signed in and created before
    /// it). The caller and platform administrators are never pruned, tenant
    /// administrators only with --include-admins. Runs in batches; an interrupted run
    /// continues when started again. Pruned users can be restored during the server's
    /// retention period (`prune_retention_days`, default 30).
    Prune {
        #[arg(long)]
        tenant: Option<String>,
        /// YYYY, YYYY-MM or YYYY-MM-DD: the start of that period, UTC.
        #[arg(long, value_name = "DATE")]
        inactive_since: String,
        /// Only list the users a real run would remove.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
        /// Prune tenant administrators (role `admin`) too.
        #[arg(long)]
        include_admins: bool,
        /// Users per request (1-1000).
        #[arg(long, value_name = "N", default_value_t = 1000,
              value_parser = clap::value_parser!(u32).range(1..=1000))]
        batch_size: u32,
    },
    /// Bring pruned users back, with their role, during the retention period.
    Restore {
        /// Account ids (base64url). Ids that start with `-` go after `--`
        /// (`users restore --tenant T -- -abc…`): a list that took hyphen values would
        /// swallow the options after it.
        #[arg(required = true)]
        ids: Vec<String>,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Set a user's password, read from the first line of stdin.
    SetPassword {
        /// Account id (base64url; it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// Read the password from stdin (the only way to pass it).
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        tenant: Option<String>,
    },
}

pub async fn run(ctx: &Ctx, command: UsersCommand) -> anyhow::Result<()> {
    let client = &ctx.client;
    match command {
        UsersCommand::List {
            tenant,
            inactive_since,
            email,
            role,
            page,
        } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let inactive_since = inactive_since.as_deref().map(parse_instant).transpose()?;
            let (users, next) = fetch_pages(&page, async |after| {
                let query = ListUsersQuery {
                    limit: page.limit,
                    after,
                    email: email.clone(),
                    role: role.clone(),
                    inactive_since: inactive_since.clone(),
                };
                client.list_users(&tenant, &query).await
            })
            .await?;
            if ctx.json {
                output::json(&users)?;
            } else {
                let mut table = Table::new(&[
                    "ID",
                    "EMAIL",
                    "USERNAME",
                    "ROLE",
                    "DISABLED",
                    "LAST LOGIN",
                    "CREATED",
                ]);
                for u in &users {
                    table.row(vec![
                        u.id.clone(),
                        u.email.clone(),
                        output::opt(u.username.as_deref()),
                        output::opt(u.role.as_deref()),
                        output::yes_no(u.disabled),
                        output::opt_time(u.last_login_at),
                        output::time(u.created_at),
                    ]);
                }
                table.print("No users.")?;
            }
            print_next_hint(ctx, next.as_deref())
        }
        UsersCommand::Get { id, tenant } => {
            let tenant = ctx.tenant(tenant.as_deref());
            show(ctx, &client.get_user(&tenant, &id).await?)
        }
        UsersCommand::Create {
            email,
            username,
            display_name,
            role,
            password_stdin,
            tenant,
        } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let password = if password_stdin {
                Some(read_password_stdin()?)
            } else {
                None
            };
            let request = CreateUserRequest {
                email,
                username,
                display_name,
                role,
                password,
                custom_data: None,
            };
            show(ctx, &client.create_user(&tenant, &request).await?)
        }
        UsersCommand::Add {
            emails,
            role,
            tenant,
        } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let request = AddMembersRequest { emails, role };
            let added = client.add_members(&tenant, &request).await?;
            if ctx.json {
                return output::json(&added);
            }
            let mut table = Table::new(&["ID", "EMAIL", "ROLE"]);
            for member in &added {
                table.row(vec![
                    member.id.clone(),
                    member.email.clone(),
                    member.role.clone(),
                ]);
            }
            table.print("No users added.")
        }
        UsersCommand::Update {
            id,
            email,
            username,
            clear_username,
            display_name,
            role,
            disable,
            enable,
            tenant,
        } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let request = UpdateUserRequest {
                email,
                username: if clear_username {
                    Some(None)
                } else {
                    username.map(Some)
                },
                display_name: display_name.map(Some),
                custom_data: None,
                disabled: match (disable, enable) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
                role,
            };
            if changes_nothing(&request) {
                bail!("nothing to change: pass at least one of the options (see --help)");
            }
            show(ctx, &client.update_user(&tenant, &id, &request).await?)
        }
        UsersCommand::Delete { id, tenant } => {
            let tenant = ctx.tenant(tenant.as_deref());
            client.delete_user(&tenant, &id).await?;
            if ctx.json {
                output::json(&json!({ "deleted": id }))
            } else {
                output::line(format_args!("Deleted user {id}."))
            }
        }
        UsersCommand::Impersonate { id, tenant } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let minted = client.impersonate_user(&tenant, &id).await?;
            if ctx.json {
                output::json(&minted)
            } else {
                output::fields(&[
                    ("token", minted.token.clone()),
                    ("expires", output::time(minted.expires_at)),
                ])
            }
        }
        UsersCommand::Import {
            file,
            tenant,
            batch_size,
            skip,
        } => {
            let args = super::import::ImportArgs {
                file,
                tenant,
                batch_size: usize::try_from(batch_size)?,
                skip,
            };
            super::import::run(ctx, args).await
        }
        UsersCommand::Prune {
            tenant,
            inactive_since,
            dry_run,
            yes,
            include_admins,
            batch_size,
        } => {
            let args = super::prune::PruneArgs {
                tenant,
                inactive_since,
                dry_run,
                yes,
                include_admins,
                batch_size,
            };
            super::prune::prune(ctx, args).await
        }
        UsersCommand::Restore { ids, tenant } => super::prune::restore(ctx, tenant, ids).await,
        UsersCommand::SetPassword {
            id,
            password_stdin,
            tenant,
        } => {
            if !password_stdin {
                bail!("pass the password on stdin with --password-stdin");
            }
            let password = read_password_stdin()?;
            let tenant = ctx.tenant(tenant.as_deref());
            client.set_user_password(&tenant, &id, &password).await?;
            if ctx.json {
                output::json(&json!({ "password_set": id }))
            } else {
                output::line(format_args!("Password set for user {id}."))
            }
        }
    }
}

fn changes_nothing(request: &UpdateUserRequest) -> bool {
    let UpdateUserRequest {
        email,
        username,
        display_name,
        custom_data,
        disabled,
        role,
    } = request;
    email.is_none()
        && username.is_none()
        && display_name.is_none()
        && custom_data.is_none()
        && disabled.is_none()
        && role.is_none()
}

fn show(ctx: &Ctx, user: &AccountView) -> anyhow::Result<()> {
    if ctx.json {
        return output::json(user);
    }
    let mut fields = vec![
        ("id", user.id.clone()),
        ("email", user.email.clone()),
        ("username", output::opt(user.username.as_deref())),
        ("display name", output::opt(user.display_name.as_deref())),
        ("role", output::opt(user.role.as_deref())),
        ("platform admin", output::yes_no(user.platform_admin)),
        ("disabled", output::yes_no(user.disabled)),
        ("created", output::time(user.created_at)),
        ("last login", output::opt_time(user.last_login_at)),
    ];
    if !user.custom_data.is_empty() {
        fields.push((
            "custom data",
            serde_json::Value::Object(user.custom_data.clone()).to_string(),
        ));
    }
    output::fields(&fields)
}
