//! Projects of a tenant and their members. A project member is an account or a group,
//! with one [`ProjectRole`]. The permissions a member holds in a project are derived
//! here, never stored: see [`effective_project_role`] and `docs/permissions.md`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::group::{InvalidText, checked_text};
use crate::id::{AccountId, ProjectId, TenantId};
use crate::role::RoleName;

pub const MAX_PROJECT_TITLE: usize = 200;
pub const MAX_PROJECT_DESCRIPTION: usize = 2000;

/// Project permission strings. `*` stands for any object of that kind.
pub mod permissions {
    pub const PROJECTS_READ: &str = "projects.read.*";
    pub const ITEMS_READ: &str = "items.read.*";
    pub const DASHBOARDS_READ: &str = "dashboards.read.*";
    pub const MEMBERS_READ: &str = "members.read.*";
    pub const ITEMS_WRITE: &str = "items.write.*";
    pub const DASHBOARDS_WRITE: &str = "dashboards.write.*";
    pub const PROJECTS_WRITE: &str = "projects.write.*";
    /// Add, change and remove the project's members.
    pub const MEMBERS_WRITE: &str = "members.write.*";
}

/// A role in a project; ordered `Reader < Member < Admin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectRole {
    Reader,
    Member,
    Admin,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("project role must be one of reader, member, admin")]
pub struct InvalidProjectRole;

impl ProjectRole {
    pub const ALL: [Self; 3] = [Self::Reader, Self::Member, Self::Admin];

    pub fn parse(raw: &str) -> Result<Self, InvalidProjectRole> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == raw)
            .ok_or(InvalidProjectRole)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "reader",
            Self::Member => "member",
            Self::Admin => "admin",
        }
    }

    /// The permissions the role holds; each role holds those of the roles below it.
    pub fn permissions(self) -> Vec<String> {
        use permissions::*;
        let reader = [PROJECTS_READ, ITEMS_READ, DASHBOARDS_READ, MEMBERS_READ];
        let member = [ITEMS_WRITE, DASHBOARDS_WRITE];
        let admin = [PROJECTS_WRITE, MEMBERS_WRITE];
        let sets: &[&[&str]] = match self {
            Self::Reader => &[&reader],
            Self::Member => &[&reader, &member],
            Self::Admin => &[&reader, &member, &admin],
        };
        sets.iter()
            .flat_map(|set| set.iter().map(|p| (*p).to_owned()))
            .collect()
    }

    /// May the role manage the project's members?
    pub fn manages_members(self) -> bool {
        self == Self::Admin
    }
}

impl std::fmt::Display for ProjectRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The most a tenant role allows in any project: `demo` and `reader` accounts read only.
pub fn project_role_cap(tenant_role: &RoleName) -> ProjectRole {
    match tenant_role.as_str() {
        RoleName::DEMO | RoleName::READER => ProjectRole::Reader,
        _ => ProjectRole::Admin,
    }
}

/// The role an account acts with in a project:
/// 1. a tenant administrator is a project administrator in every project of its tenant,
///    member or not;
/// 2. otherwise the highest of its direct role and the roles of its groups in the
///    project (`None`: no access);
/// 3. capped by its tenant role: `demo` and `reader` get at most `reader`.
pub fn effective_project_role(
    tenant_role: &RoleName,
    direct: Option<ProjectRole>,
    via_groups: &[ProjectRole],
) -> Option<ProjectRole> {
    if tenant_role.is_admin() {
        return Some(ProjectRole::Admin);
    }
    let highest = direct.into_iter().chain(via_groups.iter().copied()).max()?;
    Some(highest.min(project_role_cap(tenant_role)))
}

/// What a project member is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberType {
    User,
    Group,
}

impl MemberType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectTitle(String);

impl ProjectTitle {
    pub fn parse(raw: &str) -> Result<Self, InvalidText> {
        checked_text(raw, "project title", MAX_PROJECT_TITLE, false).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a project description (may be empty; line breaks allowed).
pub fn checked_description(raw: &str) -> Result<String, InvalidText> {
    let text = raw.trim();
    if text.chars().count() > MAX_PROJECT_DESCRIPTION
        || text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(InvalidText::Length(
            "project description",
            MAX_PROJECT_DESCRIPTION,
        ));
    }
    Ok(text.to_owned())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub id: ProjectId,
    pub tenant_id: TenantId,
    pub title: String,
    pub description: String,
    /// The account that created the project (kept as a record when it leaves).
    pub owner_id: Option<AccountId>,
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProjectRole::*;

    fn tenant(name: &str) -> RoleName {
        RoleName::parse(name).unwrap()
    }

    #[test]
    fn roles_parse_and_order() {
        assert_eq!(ProjectRole::parse("member"), Ok(Member));
        assert!(ProjectRole::parse("owner").is_err());
        assert!(ProjectRole::parse("Admin").is_err());
        assert!(Reader < Member && Member < Admin);
    }

    #[test]
    fn each_role_holds_the_permissions_of_the_roles_below() {
        let reader = Reader.permissions();
        let member = Member.permissions();
        let admin = Admin.permissions();
        assert!(reader.iter().all(|p| member.contains(p)));
        assert!(member.iter().all(|p| admin.contains(p)));
        assert!(reader.contains(&permissions::ITEMS_READ.to_owned()));
        assert!(reader.contains(&permissions::PROJECTS_READ.to_owned()));
        assert!(!reader.contains(&permissions::ITEMS_WRITE.to_owned()));
        assert!(member.contains(&permissions::ITEMS_WRITE.to_owned()));
        assert!(!member.contains(&permissions::PROJECTS_WRITE.to_owned()));
        assert!(!member.contains(&permissions::MEMBERS_WRITE.to_owned()));
        assert!(admin.contains(&permissions::PROJECTS_WRITE.to_owned()));
        assert!(admin.contains(&permissions::MEMBERS_WRITE.to_owned()));
        assert!(Admin.manages_members() && !Member.manages_members());
    }

    #[test]
    fn a_tenant_admin_is_project_admin_everywhere() {
        assert_eq!(
            effective_project_role(&tenant("admin"), None, &[]),
            Some(Admin)
        );
        assert_eq!(
            effective_project_role(&tenant("admin"), Some(Reader), &[]),
            Some(Admin)
        );
    }

    #[test]
    fn no_direct_or_group_role_means_no_access() {
        assert_eq!(effective_project_role(&tenant("user"), None, &[]), None);
        assert_eq!(effective_project_role(&tenant("reader"), None, &[]), None);
    }

    #[test]
    fn the_highest_of_direct_and_group_roles_wins() {
        let user = tenant("user");
        assert_eq!(
            effective_project_role(&user, Some(Reader), &[Admin]),
            Some(Admin)
        );
        assert_eq!(
            effective_project_role(&user, Some(Member), &[Reader]),
            Some(Member)
        );
        assert_eq!(
            effective_project_role(&user, None, &[Reader, Member]),
            Some(Member)
        );
        assert_eq!(
            effective_project_role(&user, Some(Reader), &[]),
            Some(Reader)
        );
    }

    #[test]
    fn demo_and_reader_tenant_roles_are_capped_at_reader() {
        for name in ["demo", "reader"] {
            let role = tenant(name);
            assert_eq!(
                effective_project_role(&role, Some(Admin), &[]),
                Some(Reader)
            );
            assert_eq!(effective_project_role(&role, None, &[Member]), Some(Reader));
            assert_eq!(
                effective_project_role(&role, Some(Reader), &[]),
                Some(Reader)
            );
        }
    }

    #[test]
    fn custom_tenant_roles_are_not_capped() {
        let custom = tenant("analyst");
        assert_eq!(
            effective_project_role(&custom, Some(Admin), &[]),
            Some(Admin)
        );
    }

    #[test]
    fn titles_and_descriptions_are_checked() {
        assert_eq!(ProjectTitle::parse(" P ").unwrap().as_str(), "P");
        assert!(ProjectTitle::parse("").is_err());
        assert_eq!(checked_description("").unwrap(), "");
        assert!(checked_description("a\nb").is_ok());
        assert!(checked_description("a\u{0}b").is_err());
        assert!(checked_description(&"x".repeat(MAX_PROJECT_DESCRIPTION + 1)).is_err());
    }
}
