//! `latchkey groups …` and `latchkey projects …`: a tenant's groups (administrators) and
//! projects.

use latchkey_api::{
    AddProjectMemberRequest, CreateGroupRequest, CreateProjectRequest, GroupView, PageQuery,
    ProjectMemberView, ProjectView, UpdateGroupRequest,
};

use super::{Ctx, PageArgs, fetch_pages, print_next_hint};
use crate::output::{self, Table};

#[derive(clap::Subcommand, Debug)]
pub enum GroupsCommand {
    /// List the tenant's groups by name.
    List {
        #[command(flatten)]
        page: PageArgs,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Create a group.
    Create {
        name: String,
        /// Account id of a first member (repeatable).
        #[arg(long = "member", value_name = "USER_ID")]
        members: Vec<String>,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Show a group with its members, granted roles and projects.
    Show {
        id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Rename a group.
    Rename {
        id: String,
        name: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Delete a group.
    Delete {
        id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Add a member of the tenant to a group.
    AddMember {
        id: String,
        user_id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Remove an account from a group.
    RemoveMember {
        id: String,
        user_id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Set the roles the group grants its members (replaces them; none clears them).
    GrantRoles {
        id: String,
        roles: Vec<String>,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Set the projects the group is in (replaces them; none clears them): it leaves
    /// the others, joins new ones with `--role`, keeps its role in the rest.
    SetProjects {
        id: String,
        projects: Vec<String>,
        /// The role in projects it joins: reader, member or admin.
        #[arg(long, default_value = "member")]
        role: String,
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum ProjectsCommand {
    /// List the projects you can see.
    List {
        #[command(flatten)]
        page: PageArgs,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Create a project; you become its owner and administrator.
    Create {
        title: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Show a project.
    Show {
        id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Delete a project.
    Delete {
        id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// List a project's members with their derived permissions.
    Members {
        id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Add an account (`--user`) or a group (`--group`) with a role.
    AddMember {
        id: String,
        #[arg(
            long,
            value_name = "USER_ID",
            conflicts_with = "group",
            required_unless_present = "group"
        )]
        user: Option<String>,
        #[arg(long, value_name = "GROUP_ID")]
        group: Option<String>,
        /// reader, member or admin.
        #[arg(long)]
        role: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Change a member's role.
    SetRole {
        id: String,
        member_id: String,
        /// reader, member or admin.
        role: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Remove an account or a group from a project.
    RemoveMember {
        id: String,
        member_id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
}

fn show_group(ctx: &Ctx, group: &GroupView) -> anyhow::Result<()> {
    if ctx.json {
        return output::json(group);
    }
    output::fields(&[
        ("id", group.id.clone()),
        ("name", group.name.clone()),
        ("roles", group.roles.join(", ")),
        ("created", output::time(group.created_at)),
    ])?;
    let mut table = Table::new(&["MEMBER", "EMAIL", "ROLE"]);
    for m in &group.members {
        table.row(vec![
            m.id.clone(),
            m.email.clone(),
            output::opt(m.role.as_deref()),
        ]);
    }
    table.print("No members.")?;
    if let Some(projects) = &group.projects {
        project_table(projects).print("In no project.")?;
    }
    Ok(())
}

fn project_table(projects: &[ProjectView]) -> Table {
    let mut table = Table::new(&["PROJECT", "TITLE", "ROLE", "CREATED"]);
    for p in projects {
        table.row(vec![
            p.id.clone(),
            p.title.clone(),
            output::opt(p.role.as_deref()),
            output::time(p.created_at),
        ]);
    }
    table
}

fn show_project(ctx: &Ctx, project: &ProjectView) -> anyhow::Result<()> {
    if ctx.json {
        return output::json(project);
    }
    output::fields(&[
        ("id", project.id.clone()),
        ("title", project.title.clone()),
        ("description", project.description.clone()),
        ("owner", output::opt(project.owner_id.as_deref())),
        ("your role", output::opt(project.role.as_deref())),
        ("created", output::time(project.created_at)),
    ])
}

fn show_member(ctx: &Ctx, member: &ProjectMemberView) -> anyhow::Result<()> {
    if ctx.json {
        return output::json(member);
    }
    output::fields(&[
        ("member", member.member_id.clone()),
        ("type", member.member_type.clone()),
        ("role", member.project_role.clone()),
        ("permissions", member.permissions.join(" ")),
    ])
}

pub async fn run_groups(ctx: &Ctx, command: GroupsCommand) -> anyhow::Result<()> {
    let client = &ctx.client;
    match command {
        GroupsCommand::List { page, tenant } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let (groups, next) = fetch_pages(&page, async |after| {
                let query = PageQuery {
                    limit: page.limit,
                    after,
                };
                client.list_groups(&tenant, &query).await
            })
            .await?;
            if ctx.json {
                output::json(&groups)?;
            } else {
                let mut table = Table::new(&["NAME", "ID", "MEMBERS", "ROLES"]);
                for g in &groups {
                    table.row(vec![
                        g.name.clone(),
                        g.id.clone(),
                        g.members.len().to_string(),
                        g.roles.join(", "),
                    ]);
                }
                table.print("No groups.")?;
            }
            print_next_hint(ctx, next.as_deref())
        }
        GroupsCommand::Create {
            name,
            members,
            tenant,
        } => {
            let request = CreateGroupRequest { name, members };
            let group = client
                .create_group(&ctx.tenant(tenant.as_deref()), &request)
                .await?;
            show_group(ctx, &group)
        }
        GroupsCommand::Show { id, tenant } => {
            let group = client
                .get_group(&ctx.tenant(tenant.as_deref()), &id, true)
                .await?;
            show_group(ctx, &group)
        }
        GroupsCommand::Rename { id, name, tenant } => {
            let request = UpdateGroupRequest {
                name: Some(name),
                members: None,
                projects: None,
                project_role: None,
            };
            let group = client
                .update_group(&ctx.tenant(tenant.as_deref()), &id, &request)
                .await?;
            show_group(ctx, &group)
        }
        GroupsCommand::Delete { id, tenant } => {
            client
                .delete_group(&ctx.tenant(tenant.as_deref()), &id)
                .await?;
            output::line(format_args!("Deleted group {id}."))
        }
        GroupsCommand::AddMember {
            id,
            user_id,
            tenant,
        } => {
            let account = client
                .add_group_member(&ctx.tenant(tenant.as_deref()), &id, &user_id)
                .await?;
            if ctx.json {
                return output::json(&account);
            }
            output::line(format_args!(
                "Added {} to group {id}.",
                output::clean(&account.email)
            ))
        }
        GroupsCommand::RemoveMember {
            id,
            user_id,
            tenant,
        } => {
            client
                .remove_group_member(&ctx.tenant(tenant.as_deref()), &id, &user_id)
                .await?;
            output::line(format_args!("Removed {user_id} from group {id}."))
        }
        GroupsCommand::GrantRoles { id, roles, tenant } => {
            let group = client
                .set_group_roles(&ctx.tenant(tenant.as_deref()), &id, &roles)
                .await?;
            show_group(ctx, &group)
        }
        GroupsCommand::SetProjects {
            id,
            projects,
            role,
            tenant,
        } => {
            let request = UpdateGroupRequest {
                name: None,
                members: None,
                projects: Some(projects),
                project_role: Some(role),
            };
            let group = client
                .update_group(&ctx.tenant(tenant.as_deref()), &id, &request)
                .await?;
            show_group(ctx, &group)
        }
    }
}

pub async fn run_projects(ctx: &Ctx, command: ProjectsCommand) -> anyhow::Result<()> {
    let client = &ctx.client;
    match command {
        ProjectsCommand::List { page, tenant } => {
            let tenant = ctx.tenant(tenant.as_deref());
            let (projects, next) = fetch_pages(&page, async |after| {
                let query = PageQuery {
                    limit: page.limit,
                    after,
                };
                client.list_projects(&tenant, &query).await
            })
            .await?;
            if ctx.json {
                output::json(&projects)?;
            } else {
                project_table(&projects).print("No projects.")?;
            }
            print_next_hint(ctx, next.as_deref())
        }
        ProjectsCommand::Create {
            title,
            description,
            tenant,
        } => {
            let request = CreateProjectRequest { title, description };
            let project = client
                .create_project(&ctx.tenant(tenant.as_deref()), &request)
                .await?;
            show_project(ctx, &project)
        }
        ProjectsCommand::Show { id, tenant } => {
            let project = client
                .get_project(&ctx.tenant(tenant.as_deref()), &id)
                .await?;
            show_project(ctx, &project)
        }
        ProjectsCommand::Delete { id, tenant } => {
            client
                .delete_project(&ctx.tenant(tenant.as_deref()), &id)
                .await?;
            output::line(format_args!("Deleted project {id}."))
        }
        ProjectsCommand::Members { id, tenant } => {
            let members = client
                .project_members(&ctx.tenant(tenant.as_deref()), &id)
                .await?;
            if ctx.json {
                return output::json(&members);
            }
            let mut table = Table::new(&[
                "MEMBER",
                "TYPE",
                "NAME",
                "ROLE",
                "TENANT ROLE",
                "PERMISSIONS",
            ]);
            for m in &members {
                table.row(vec![
                    m.member_id.clone(),
                    m.member_type.clone(),
                    output::opt(m.email.as_deref().or(m.full_name.as_deref())),
                    m.project_role.clone(),
                    output::opt(m.server_role.as_deref()),
                    m.permissions.join(" "),
                ]);
            }
            table.print("No members.")
        }
        ProjectsCommand::AddMember {
            id,
            user,
            group,
            role,
            tenant,
        } => {
            let request = AddProjectMemberRequest {
                user_id: user,
                group_id: group,
                role,
            };
            let member = client
                .add_project_member(&ctx.tenant(tenant.as_deref()), &id, &request)
                .await?;
            show_member(ctx, &member)
        }
        ProjectsCommand::SetRole {
            id,
            member_id,
            role,
            tenant,
        } => {
            let member = client
                .set_project_member_role(&ctx.tenant(tenant.as_deref()), &id, &member_id, &role)
                .await?;
            show_member(ctx, &member)
        }
        ProjectsCommand::RemoveMember {
            id,
            member_id,
            tenant,
        } => {
            client
                .remove_project_member(&ctx.tenant(tenant.as_deref()), &id, &member_id)
                .await?;
            output::line(format_args!("Removed {member_id} from project {id}."))
        }
    }
}
