"""DeleteAll through pachyderm_sdk (pfs and pps), on a server of its own: everything goes, the
server keeps serving, and the CLI sees an empty project."""

from pachyderm_sdk.api import pfs, pps


def test_delete_all(fresh_client, fresh_pach):
    c, pach = fresh_client, fresh_pach
    pach.ok("create", "project", "lab")
    c.pfs.create_repo(repo=pfs.Repo(name="in", type="user"))
    c.pfs.create_repo(repo=pfs.Repo(name="other", type="user", project=pfs.Project(name="lab")))
    c.pps.create_pipeline(
        pipeline=pps.Pipeline(name="p"),
        transform=pps.Transform(cmd=["true"], image="pach-test/busybox:1"),
        input=pps.Input(pfs=pps.PfsInput(repo="in", glob="/")),
    )
    c.pps.delete_all()
    assert list(c.pps.list_pipeline()) == []
    c.pfs.delete_all()
    assert list(c.pfs.list_repo()) == []
    assert pach.json("list", "repo") == []
    c.pfs.create_repo(repo=pfs.Repo(name="again", type="user"))
    assert c.pfs.repo_exists(pfs.Repo(name="again"))
