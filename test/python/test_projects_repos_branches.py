"""Projects, repos and branches through pachyderm_sdk, in the default project and in another one,
and what the SDK writes is what the CLI sees (and the other way round)."""

import grpc
import pytest
from pachyderm_sdk.api import pfs
from sdkutil import is_set

PROJECTS = ["default", "lab"]


@pytest.fixture(scope="module", autouse=True)
def lab_project(pach):
    pach.ok("create", "project", "lab")


def repo(name: str, project: str = "default") -> pfs.Repo:
    return pfs.Repo(name=name, type="user", project=pfs.Project(name=project))


def code(e: pytest.ExceptionInfo) -> grpc.StatusCode:
    return e.value.code()


# --- projects ----------------------------------------------------------------------------------

def test_project_create_inspect_list_delete(client, pach):
    p = pfs.Project(name="proj1")
    assert not client.pfs.project_exists(p)
    client.pfs.create_project(project=p, description="first")
    assert client.pfs.project_exists(p)
    info = client.pfs.inspect_project(project=p)
    assert info.project.name == "proj1"
    assert info.description == "first"
    assert is_set(info.created_at) and info.created_at.year >= 2024
    names = [pi.project.name for pi in client.pfs.list_project()]
    assert {"default", "lab", "proj1"} <= set(names)
    # the CLI sees it
    assert "proj1" in {x["project"]["name"] for x in pach.json("list", "project")}
    # update the description
    client.pfs.create_project(project=p, description="second", update=True)
    assert client.pfs.inspect_project(project=p).description == "second"
    client.pfs.delete_project(project=p)
    assert not client.pfs.project_exists(p)
    assert "proj1" not in {pi.project.name for pi in client.pfs.list_project()}


def test_project_errors(client):
    with pytest.raises(grpc.RpcError) as e:
        client.pfs.create_project(project=pfs.Project(name="lab"))
    assert code(e) == grpc.StatusCode.ALREADY_EXISTS
    assert "already exists" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        client.pfs.inspect_project(project=pfs.Project(name="ghost"))
    assert code(e) == grpc.StatusCode.NOT_FOUND
    assert e.value.details() == 'project "ghost" not found'


def test_a_project_with_repos_is_not_deleted(client):
    p = pfs.Project(name="full")
    client.pfs.create_project(project=p)
    client.pfs.create_repo(repo=repo("keep", "full"))
    with pytest.raises(grpc.RpcError) as e:
        client.pfs.delete_project(project=p)
    assert code(e) == grpc.StatusCode.FAILED_PRECONDITION
    assert e.value.details().startswith("cannot delete project full: repo full/keep still exists")
    assert client.pfs.project_exists(p)
    client.pfs.delete_repo(repo=repo("keep", "full"))
    client.pfs.delete_project(project=p)
    assert not client.pfs.project_exists(p)


def test_delete_repos_of_a_project(client):
    client.pfs.create_project(project=pfs.Project(name="bulk"))
    for n in ("r1", "r2"):
        client.pfs.create_repo(repo=repo(n, "bulk"))
    client.pfs.create_repo(repo=repo("bulk-survivor"))
    deleted = client.pfs.delete_repos(projects=[pfs.Project(name="bulk")])
    assert sorted(r.name for r in deleted.repos) == ["r1", "r2"]
    assert list(client.pfs.list_repo(projects=[pfs.Project(name="bulk")])) == []
    assert client.pfs.repo_exists(repo("bulk-survivor"))


def test_project_made_by_cli_is_seen_by_sdk(client, pach):
    pach.ok("create", "project", "fromcli")
    assert client.pfs.project_exists(pfs.Project(name="fromcli"))


# --- repos -------------------------------------------------------------------------------------

@pytest.mark.parametrize("project", PROJECTS)
def test_repo_create_inspect_list_delete(client, pach, project):
    r = repo("images", project)
    assert not client.pfs.repo_exists(r)
    client.pfs.create_repo(repo=r, description="pictures")
    assert client.pfs.repo_exists(r)
    info = client.pfs.inspect_repo(repo=r)
    assert (info.repo.name, info.repo.type, info.repo.project.name) == ("images", "user", project)
    assert info.description == "pictures"
    assert is_set(info.created)
    # a repo starts with no branch (the SDK's users create master themselves)
    assert info.branches == []
    listed = [ri for ri in client.pfs.list_repo(projects=[pfs.Project(name=project)]) if ri.repo.name == "images"]
    assert len(listed) == 1 and listed[0].repo.project.name == project
    cli_repos = pach.json("list", "repo", "--project", project)
    assert "images" in {x["repo"]["name"] for x in cli_repos}
    client.pfs.create_repo(repo=r, description="photos", update=True)
    assert client.pfs.inspect_repo(repo=r).description == "photos"
    client.pfs.delete_repo(repo=r)
    assert not client.pfs.repo_exists(r)


def test_repo_with_empty_project_is_in_the_default_project(client):
    r = pfs.Repo(name="noproj", type="user")
    # Repo() fills in "default" on the client; send an empty project name so the server defaults it
    r.project = pfs.Project(name="")
    client.pfs.create_repo(repo=r)
    info = client.pfs.inspect_repo(repo=r)
    assert info.repo.project.name == "default"
    assert client.pfs.repo_exists(repo("noproj", "default"))
    assert client.pfs.repo_exists(r)
    # branches and commits of such a repo are the default project's too
    client.pfs.create_branch(branch=pfs.Branch(repo=r, name="master"))
    c = client.pfs.start_commit(branch=pfs.Branch(repo=r, name="master"))
    assert c.repo.project.name == "default"
    client.pfs.finish_commit(commit=c)
    head = client.pfs.inspect_branch(branch=pfs.Branch.from_uri("noproj@master")).head
    assert head.id == c.id
    client.pfs.delete_repo(repo=r)
    assert not client.pfs.repo_exists(repo("noproj", "default"))


def test_repo_errors(client):
    client.pfs.create_repo(repo=repo("dup"))
    with pytest.raises(grpc.RpcError) as e:
        client.pfs.create_repo(repo=repo("dup"))
    assert code(e) == grpc.StatusCode.ALREADY_EXISTS
    assert e.value.details() == "repo default/dup already exists"
    with pytest.raises(grpc.RpcError) as e:
        client.pfs.inspect_repo(repo=repo("ghost", "lab"))
    assert code(e) == grpc.StatusCode.NOT_FOUND
    assert e.value.details() == "repo lab/ghost not found"
    with pytest.raises(grpc.RpcError) as e:
        client.pfs.create_repo(repo=repo("bad name!"))
    assert code(e) != grpc.StatusCode.OK
    assert not client.pfs.repo_exists(repo("bad name!"))


def test_list_repo_with_and_without_type(client, pach):
    client.pfs.create_repo(repo=repo("typed", "lab"))
    pach.ok("create", "repo", "clityped", "--project", "lab")
    lab = [pfs.Project(name="lab")]
    every = {(ri.repo.name, ri.repo.type) for ri in client.pfs.list_repo(projects=lab)}
    users = {(ri.repo.name, ri.repo.type) for ri in client.pfs.list_repo(type="user", projects=lab)}
    assert {("typed", "user"), ("clityped", "user")} <= users
    assert users <= every
    assert all(t == "user" for _, t in users)
    assert list(client.pfs.list_repo(type="spec", projects=lab)) == []
    # no projects: every project's repos
    all_names = {(ri.repo.project.name, ri.repo.name) for ri in client.pfs.list_repo()}
    assert ("lab", "typed") in all_names and ("lab", "clityped") in all_names


def test_repo_made_by_sdk_is_used_by_cli(client, pach):
    client.pfs.create_repo(repo=repo("shared"))
    pach.ok("put", "file", "shared@master:/a.txt", input=b"from the cli")
    info = client.pfs.inspect_repo(repo=repo("shared"))
    assert [b.name for b in info.branches] == ["master"]
    data = client.pfs.pfs_file(pfs.File.from_uri("shared@master:/a.txt")).read()
    assert data == b"from the cli"


# --- branches ----------------------------------------------------------------------------------

@pytest.mark.parametrize("project", PROJECTS)
def test_branch_create_inspect_list_delete(client, pach, project):
    r = repo("br", project)
    client.pfs.create_repo(repo=r)
    master = pfs.Branch(repo=r, name="master")
    assert not client.pfs.branch_exists(master)
    client.pfs.create_branch(branch=master)
    assert client.pfs.branch_exists(master)
    bi = client.pfs.inspect_branch(branch=master)
    assert bi.branch.name == "master" and bi.branch.repo.project.name == project
    assert bi.head.id  # a new branch gets a (finished, empty) head commit
    head = client.pfs.inspect_commit(commit=bi.head, wait=pfs.CommitState.FINISHED)
    assert is_set(head.finished)

    # a branch at master's head
    dev = pfs.Branch(repo=r, name="dev")
    client.pfs.create_branch(branch=dev, head=pfs.Commit(repo=r, branch=master))
    assert client.pfs.inspect_branch(branch=dev).head.id == bi.head.id
    names = sorted(b.branch.name for b in client.pfs.list_branch(repo=r))
    assert names == ["dev", "master"]
    cli = pach.json("list", "branch", f"{r.name}", "--project", project)
    assert sorted(x["branch"]["name"] for x in cli) == ["dev", "master"]

    client.pfs.delete_branch(branch=dev)
    assert not client.pfs.branch_exists(dev)
    assert [b.branch.name for b in client.pfs.list_branch(repo=r)] == ["master"]
    with pytest.raises(grpc.RpcError) as e:
        client.pfs.inspect_branch(branch=dev)
    assert code(e) == grpc.StatusCode.NOT_FOUND
    assert e.value.details() == f'branch "dev" not found in repo {project}/br'


def test_branch_in_missing_repo(client):
    with pytest.raises(grpc.RpcError) as e:
        client.pfs.inspect_branch(branch=pfs.Branch.from_uri("nowhere@master"))
    assert code(e) == grpc.StatusCode.NOT_FOUND
    assert not client.pfs.branch_exists(pfs.Branch.from_uri("nowhere@master"))


def test_branch_made_by_cli_is_seen_by_sdk(client, pach):
    client.pfs.create_repo(repo=repo("clibr"))
    pach.ok("create", "branch", "clibr@feature")
    assert client.pfs.branch_exists(pfs.Branch.from_uri("clibr@feature"))


def test_branch_provenance(client):
    up = repo("upstream")
    down = repo("downstream")
    client.pfs.create_repo(repo=up)
    client.pfs.create_repo(repo=down)
    up_master = pfs.Branch(repo=up, name="master")
    client.pfs.create_branch(branch=up_master)
    down_master = pfs.Branch(repo=down, name="master")
    client.pfs.create_branch(branch=down_master, provenance=[up_master])
    bi = client.pfs.inspect_branch(branch=down_master)
    assert [(b.repo.name, b.name) for b in bi.direct_provenance] == [("upstream", "master")]
    assert [(b.repo.name, b.name) for b in client.pfs.inspect_branch(branch=up_master).subvenance] == [("downstream", "master")]
    # a commit upstream makes one downstream, in the same commit set
    with client.pfs.commit(branch=up_master) as c:
        c.put_file_from_bytes("/x", b"x")
    assert client.pfs.inspect_branch(branch=down_master).head.id == c.id
    in_set = sorted(ci.commit.repo.name for ci in client.pfs.inspect_commit_set(commit_set=pfs.CommitSet(id=c.id)))
    assert in_set == ["downstream", "upstream"]
