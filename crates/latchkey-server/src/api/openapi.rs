//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    applications, grants, groups, import, me, mfa, mfa_enrolment, ops, prune, roles, session,
    tenants, terms, users, workspaces,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Latchkey native API", description = "Identity and user management. Errors are RFC 9457 problem details with a stable `code`."),
    paths(
        session::sign_in, session::refresh, session::sign_out,
        mfa_enrolment::begin, mfa_enrolment::confirm,
        me::me, me::change_password,
        mfa::status, mfa::enrol, mfa::confirm, mfa::disable, mfa::reset,
        tenants::list, tenants::create, tenants::get, tenants::update, tenants::delete,
        tenants::rotate_keys, tenants::audit, tenants::jwks,
        terms::publish, terms::list, terms::own, terms::accept,
        users::list, users::create, users::get, users::update, users::delete,
        users::set_password, users::sessions, users::revoke_session, import::import,
        prune::prune, prune::restore,
        roles::list, roles::put, roles::delete, roles::impersonate,
        applications::list, applications::create, applications::get, applications::delete,
        applications::rotate_secret,
        groups::list_groups, groups::create_group, groups::get_group, groups::update_group,
        groups::delete_group, groups::add_group_member, groups::remove_group_member,
        groups::set_group_roles, groups::group_projects,
        groups::list_projects, groups::create_project, groups::get_project,
        groups::delete_project, groups::project_members, groups::add_project_member,
        groups::set_project_member_role, groups::remove_project_member, groups::user_projects,
        grants::create, grants::list, grants::revoke,
        grants::list_authentications, grants::get_authentication, grants::put_authentication,
        grants::delete_authentication,
        ops::healthz, ops::readyz, ops::metrics,
        workspaces::signup, workspaces::mine, workspaces::create_mine, workspaces::delete_mine,
        workspaces::add_members, workspaces::password_policy,
    ),
    // A dry run's answer, which the prune path can only describe in words.
    components(schemas(latchkey_api::PrunePreview, latchkey_api::DormantUserView)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
