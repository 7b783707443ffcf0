"""User metadata (pachd 2.10+) through pachyderm_sdk's metadata stub (client.metadata):
EditMetadata on a finished commit, a branch, a repo and a project, read back through the SDK's
inspect calls and the CLI; all edits or none; pachd's refusal of an add_key that exists."""

import grpc
import pytest
from pachyderm_sdk.api import metadata, pfs
from sdkutil import new_repo


def repo_picker(name: str, project: str = "default") -> pfs.RepoPicker:
    return pfs.RepoPicker(name=pfs.RepoPickerRepoName(project=pfs.ProjectPicker(name=project), name=name))


def commit_picker(name: str, commit_id: str) -> pfs.CommitPicker:
    return pfs.CommitPicker(id=pfs.CommitPickerCommitByGlobalId(repo=repo_picker(name), id=commit_id))


def test_commit_metadata_round_trip(client, pach):
    r = new_repo(client, "stamped")
    with client.pfs.commit(branch=pfs.Branch(repo=r, name="master")) as c:
        c.put_file_from_bytes("/a", b"a")
    # the commit is finished: its metadata may still change (as push stamps a remote commit)
    client.metadata.edit_metadata(
        edits=[
            metadata.Edit(commit=commit_picker("stamped", c.id), add_key=metadata.EditAddKey(key="pach.local_commit_id", value="0" * 32)),
            metadata.Edit(
                branch=pfs.BranchPicker(name=pfs.BranchPickerBranchName(repo=repo_picker("stamped"), name="master")),
                edit_key=metadata.EditEditKey(key="tracked", value="yes"),
            ),
            metadata.Edit(repo=repo_picker("stamped"), replace=metadata.EditReplace(replacement={"owner": "me"})),
            metadata.Edit(project=pfs.ProjectPicker(name="default"), edit_key=metadata.EditEditKey(key="team", value="vision")),
        ]
    )
    info = client.pfs.inspect_commit(commit=pfs.Commit(repo=r, id=c.id))
    assert info.metadata == {"pach.local_commit_id": "0" * 32}
    assert client.pfs.inspect_branch(branch=pfs.Branch(repo=r, name="master")).metadata == {"tracked": "yes"}
    assert client.pfs.inspect_repo(repo=r).metadata == {"owner": "me"}
    assert client.pfs.inspect_project(project=pfs.Project(name="default")).metadata["team"] == "vision"
    # the CLI shows it in inspect commit's JSON, as pachctl --raw does
    assert pach.json("inspect", "commit", f"stamped@{c.id}")["metadata"] == {"pach.local_commit_id": "0" * 32}

    # edit_key changes, delete_key removes
    client.metadata.edit_metadata(
        edits=[
            metadata.Edit(commit=commit_picker("stamped", c.id), edit_key=metadata.EditEditKey(key="note", value="n")),
            metadata.Edit(commit=commit_picker("stamped", c.id), delete_key=metadata.EditDeleteKey(key="pach.local_commit_id")),
        ]
    )
    assert client.pfs.inspect_commit(commit=pfs.Commit(repo=r, id=c.id)).metadata == {"note": "n"}


def test_edits_apply_all_or_none(client):
    r = new_repo(client, "atomic")
    with client.pfs.commit(branch=pfs.Branch(repo=r, name="master")) as c:
        c.put_file_from_bytes("/a", b"a")
    with pytest.raises(grpc.RpcError) as e:
        client.metadata.edit_metadata(
            edits=[
                metadata.Edit(commit=commit_picker("atomic", c.id), edit_key=metadata.EditEditKey(key="k", value="v")),
                metadata.Edit(commit=commit_picker("atomic", c.id), add_key=metadata.EditAddKey(key="k", value="again")),
            ]
        )
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert e.value.details() == (
        f'apply edits: edit #1: edit commit "default/atomic.user@{c.id}": add_key target key "k" already exists; use edit_key instead'
    )
    assert client.pfs.inspect_commit(commit=pfs.Commit(repo=r, id=c.id)).metadata == {}
