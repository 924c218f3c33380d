"""squirroclient 3.17.3 against Latchkey's Squirro dialect: groups (`UserApiMixin`'s
group methods), project members, the user object's `groups`/`projects`, and the topic
API's project methods (`new_project`, `get_projects`, `get_project`,
`delete_project`) under `/api/topic`.

The client is used unmodified: `SquirroClient(None, None, cluster=LATCHKEY_URL)`.
"""

from __future__ import annotations

import secrets

import pytest
from squirro_client import SquirroClient
from squirro_client.exceptions import (
    AuthorizationError,
    ClientError,
    ConflictError,
    NotFoundError,
)

from conftest import Member, Settings

UNKNOWN_ID = "A" * 22


def signed_in(settings: Settings, login: str, password: str, **kwargs: object) -> SquirroClient:
    client = SquirroClient(None, None, cluster=settings.url, **kwargs)
    client.authenticate(username=login, password=password)
    return client


def unique(prefix: str) -> str:
    return f"{prefix} {secrets.token_hex(4)}"


@pytest.fixture(scope="module")
def admin(settings: Settings) -> SquirroClient:
    return signed_in(
        settings, settings.admin_email, settings.admin_password, tenant=settings.tenant
    )


def as_member(settings: Settings, member: Member) -> SquirroClient:
    return signed_in(settings, member.email, member.password)


# ---- groups --------------------------------------------------------------------------


def test_group_lifecycle(admin: SquirroClient, make_member) -> None:
    first, second = make_member(), make_member()
    name = unique("Analysts")
    group = admin.create_group(name, members=[{"id": first.id}])
    assert group["name"] == name
    assert [m["id"] for m in group["members"]] == [first.id]
    assert set(group["members"][0]) >= {
        "id",
        "email",
        "full_name",
        "role",
        "role_permissions",
        "tenant",
    }
    gid = group["id"]

    groups = admin.get_groups()
    assert isinstance(groups, list)
    assert gid in {g["id"] for g in groups}

    fetched = admin.get_group(gid)
    assert fetched["id"] == gid and "projects" not in fetched
    assert admin.get_group(gid, include_projects=True)["projects"] == []

    added = admin.add_group_member(gid, second.id)
    assert added["id"] == second.id and added["email"] == second.email
    assert {m["id"] for m in admin.get_group(gid)["members"]} == {first.id, second.id}

    renamed = unique("Researchers")
    updated = admin.update_group(gid, renamed, members=[{"id": second.id}])
    assert updated["name"] == renamed
    assert [m["id"] for m in updated["members"]] == [second.id]

    admin.delete_group_member(gid, second.id)
    assert admin.get_group(gid)["members"] == []

    admin.delete_group(gid)
    assert gid not in {g["id"] for g in admin.get_groups()}


def test_group_failures(settings: Settings, admin: SquirroClient, make_member) -> None:
    name = unique("Taken")
    gid = admin.create_group(name)["id"]
    with pytest.raises(ConflictError):
        admin.create_group(name)
    with pytest.raises(ClientError) as bad:
        admin.create_group("")
    assert bad.value.status_code == 400
    with pytest.raises(NotFoundError):
        admin.create_group(unique("Ghosts"), members=[{"id": UNKNOWN_ID}])
    with pytest.raises(NotFoundError):
        admin.get_group(UNKNOWN_ID)
    with pytest.raises(NotFoundError):
        admin.update_group(UNKNOWN_ID, unique("Nobody"))
    with pytest.raises(NotFoundError):
        admin.delete_group(UNKNOWN_ID)
    with pytest.raises(NotFoundError):
        admin.add_group_member(gid, UNKNOWN_ID)
    with pytest.raises(NotFoundError):
        admin.delete_group_member(gid, UNKNOWN_ID)
    person = make_member()
    admin.add_group_member(gid, person.id)
    with pytest.raises(ConflictError):
        admin.add_group_member(gid, person.id)

    # A plain member may neither read nor change groups.
    plain = as_member(settings, person)
    with pytest.raises(AuthorizationError) as refused:
        plain.get_groups()
    assert refused.value.status_code == 403
    with pytest.raises(AuthorizationError):
        plain.create_group(unique("Mine"))
    with pytest.raises(AuthorizationError):
        plain.get_group(gid)
    with pytest.raises(AuthorizationError):
        plain.update_group(gid, unique("Mine"))
    with pytest.raises(AuthorizationError):
        plain.add_group_member(gid, person.id)
    with pytest.raises(AuthorizationError):
        plain.delete_group_member(gid, person.id)
    with pytest.raises(AuthorizationError):
        plain.delete_group(gid)
    admin.delete_group(gid)


def test_user_object_lists_groups_and_projects(
    settings: Settings, admin: SquirroClient, make_member
) -> None:
    person = make_member()
    gid = admin.create_group(unique("Readers"), members=[{"id": person.id}])["id"]
    user = admin.get_user_data(person.id, api_version="v0")
    assert user["groups"] == [{"id": gid, "name": user["groups"][0]["name"]}]
    assert "projects" not in user

    project = admin.new_project(unique("Reading room"))
    admin.add_project_member(project["id"], "reader", group_id=gid)
    with_projects = admin.get_user_data(person.id, include_projects=True)
    assert [(p["id"], p["role"]) for p in with_projects["projects"]] == [
        (project["id"], "reader")
    ]
    # The user sees itself the same way.
    own = as_member(settings, person).get_user_data(person.id, include_projects=True)
    assert [p["id"] for p in own["projects"]] == [project["id"]]
    admin.delete_project(project["id"])
    admin.delete_group(gid)


def test_delete_workspace_user_leaves_groups_first(
    settings: Settings, admin: SquirroClient, make_member
) -> None:
    person = make_member()
    first = admin.create_group(unique("One"), members=[{"id": person.id}])["id"]
    second = admin.create_group(unique("Two"), members=[{"id": person.id}])["id"]
    assert {g["id"] for g in admin.get_user_data(person.id, api_version="v0")["groups"]} == {
        first,
        second,
    }
    admin.delete_workspace_user(settings.tenant, person.id)
    assert admin.get_group(first)["members"] == []
    assert admin.get_group(second)["members"] == []
    with pytest.raises(NotFoundError):
        admin.get_user_data(person.id)
    admin.delete_group(first)
    admin.delete_group(second)


# ---- topic projects and project members ----------------------------------------------


def test_topic_projects(settings: Settings, admin: SquirroClient, make_member) -> None:
    title = unique("Market watch")
    project = admin.new_project(title, description="Prices")
    assert project["title"] == title and project["description"] == "Prices"
    pid = project["id"]
    assert admin.get_project(pid)["title"] == title
    assert pid in {p["id"] for p in admin.get_projects()}

    # A plain member does not see a project it holds no role in.
    outsider = as_member(settings, make_member())
    assert pid not in {p["id"] for p in outsider.get_projects()}
    with pytest.raises(NotFoundError):
        outsider.get_project(pid)
    with pytest.raises(NotFoundError):
        outsider.delete_project(pid)

    admin.delete_project(pid)
    with pytest.raises(NotFoundError):
        admin.get_project(pid)
    with pytest.raises(NotFoundError):
        admin.delete_project(pid)
    with pytest.raises(ClientError):
        admin.new_project("")


def test_project_members(settings: Settings, admin: SquirroClient, make_member) -> None:
    person = make_member()
    pid = admin.new_project(unique("Members"))["id"]

    added = admin.add_project_member(pid, "reader", user_id=person.id)
    assert added["member_id"] == person.id
    assert added["member_type"] == "user"
    assert added["email"] == person.email
    assert added["server_role"] == "user"
    assert added["project_role"] == "reader"
    assert added["project_id"] == pid
    reader_permissions = set(added["permissions"])
    assert reader_permissions

    members = admin.get_project_members(pid)["members"]
    assert person.id in {m["member_id"] for m in members}

    updated = admin.update_project_member(pid, person.id, "member")
    assert updated["project_role"] == "member"
    assert set(updated["permissions"]) > reader_permissions

    # The member sees the project now, but may not manage its members.
    plain = as_member(settings, person)
    assert plain.get_project(pid)["id"] == pid
    with pytest.raises(AuthorizationError):
        plain.update_project_member(pid, person.id, "admin")
    with pytest.raises(AuthorizationError):
        plain.add_project_member(pid, "admin", user_id=person.id)
    with pytest.raises(AuthorizationError):
        plain.delete_project_member(pid, person.id)

    with pytest.raises(ConflictError):
        admin.add_project_member(pid, "reader", user_id=person.id)
    with pytest.raises(ClientError):
        admin.add_project_member(pid, "owner", user_id=person.id)
    with pytest.raises(ClientError):
        admin.add_project_member(pid, "reader")
    with pytest.raises(NotFoundError):
        admin.add_project_member(pid, "reader", user_id=UNKNOWN_ID)
    with pytest.raises(NotFoundError):
        admin.get_project_members(UNKNOWN_ID)
    with pytest.raises(NotFoundError):
        admin.update_project_member(pid, UNKNOWN_ID, "reader")
    with pytest.raises(ClientError):
        admin.update_project_member(pid, person.id, "owner")

    admin.delete_project_member(pid, person.id)
    assert person.id not in {m["member_id"] for m in admin.get_project_members(pid)["members"]}
    with pytest.raises(NotFoundError):
        admin.delete_project_member(pid, person.id)
    with pytest.raises(NotFoundError):
        plain.get_project(pid)
    admin.delete_project(pid)


def test_project_access_through_a_group(
    settings: Settings, admin: SquirroClient, make_member
) -> None:
    person = make_member()
    gid = admin.create_group(unique("Editors"), members=[{"id": person.id}])["id"]
    pid = admin.new_project(unique("Shared"))["id"]
    plain = as_member(settings, person)
    with pytest.raises(NotFoundError):
        plain.get_project(pid)

    # The group is a member; its members gain access.
    group_member = admin.add_project_member(pid, "member", group_id=gid)
    assert group_member["member_type"] == "group"
    assert group_member["member_id"] == gid
    assert plain.get_project(pid)["id"] == pid
    assert pid in {p["id"] for p in plain.get_projects()}

    # A direct reader role is raised by the group's role: permissions reflect it.
    direct = admin.add_project_member(pid, "reader", user_id=person.id)
    assert direct["project_role"] == "member"
    assert set(direct["permissions"]) == set(group_member["permissions"])

    # update_group(projects=…) sets the group's projects.
    assert [p["id"] for p in admin.get_group(gid, include_projects=True)["projects"]] == [pid]
    admin.update_group(gid, admin.get_group(gid)["name"], projects=[])
    assert admin.get_group(gid, include_projects=True)["projects"] == []
    reduced = {m["member_id"]: m for m in admin.get_project_members(pid)["members"]}
    assert reduced[person.id]["project_role"] == "reader"
    admin.update_group(gid, admin.get_group(gid)["name"], projects=[pid])
    assert [p["id"] for p in admin.get_group(gid, include_projects=True)["projects"]] == [pid]

    admin.delete_project(pid)
    admin.delete_group(gid)


def test_update_group_sets_its_projects_as_a_whole(admin: SquirroClient, make_member) -> None:
    name = unique("Curators")
    gid = admin.create_group(name, members=[{"id": make_member().id}])["id"]
    first, second, third = (admin.new_project(unique(t))["id"] for t in ("A", "B", "C"))
    admin.add_project_member(first, "admin", group_id=gid)

    def roles(group: dict) -> dict[str, str]:
        return {p["id"]: p["role"] for p in group["projects"]}

    # New projects join as `member`; the group keeps its role where it is already.
    updated = admin.update_group(gid, name, projects=[first, second])
    assert roles(updated) == {first: "admin", second: "member"}
    # One unknown project refuses the whole set.
    with pytest.raises(NotFoundError):
        admin.update_group(gid, name, projects=[third, UNKNOWN_ID])
    assert roles(admin.get_group(gid, include_projects=True)) == {
        first: "admin",
        second: "member",
    }
    # Projects not listed lose the group.
    updated = admin.update_group(gid, name, projects=[third, second])
    assert roles(updated) == {second: "member", third: "member"}
    assert gid not in {m["member_id"] for m in admin.get_project_members(first)["members"]}

    for project in (first, second, third):
        admin.delete_project(project)
    admin.delete_group(gid)
