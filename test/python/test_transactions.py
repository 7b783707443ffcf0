"""Transactions through pachyderm_sdk: commits started in several repos inside
`client.transaction.transaction()` share one id (the transaction's), a failed body deletes the
transaction, and the empty `pach-transaction` header the SDK sends after a bare
finish_transaction() means "no transaction"."""

import grpc
import pytest
from pachyderm_sdk.api import pfs, transaction
from sdkutil import is_set, new_repo



@pytest.fixture(scope="module", autouse=True)
def lab_project(pach):
    pach.ok("create", "project", "lab")


def test_commits_in_several_repos_share_one_id(client, pach):
    a = new_repo(client, "ta")
    b = new_repo(client, "tb", "lab")
    with client.transaction.transaction() as t:
        assert client.transaction.transaction_exists(t)
        ca = client.pfs.start_commit(branch=pfs.Branch(repo=a, name="master"))
        cb = client.pfs.start_commit(branch=pfs.Branch(repo=b, name="master"))
        # inside the transaction the commits are queued: their id is the transaction's
        assert ca.id == t.id and cb.id == t.id
        client.pfs.finish_commit(commit=ca)
        client.pfs.finish_commit(commit=cb)
        assert not client.pfs.branch_exists(pfs.Branch(repo=a, name="master"))
    assert not client.transaction.transaction_exists(t)
    ia = client.pfs.wait_commit(pfs.Commit(repo=a, id=t.id))
    ib = client.pfs.wait_commit(pfs.Commit(repo=b, id=t.id))
    assert is_set(ia.finished) and is_set(ib.finished)
    assert client.pfs.inspect_branch(branch=pfs.Branch(repo=a, name="master")).head.id == t.id
    in_set = sorted(ci.commit.repo.name for ci in client.pfs.inspect_commit_set(commit_set=pfs.CommitSet(id=t.id)))
    assert in_set == ["ta", "tb"]
    # the CLI sees one commit set across both repos
    assert pach.json("inspect", "commit", f"ta@{t.id}")["commit"]["id"] == t.id


def test_repos_and_branches_in_a_transaction(client):
    with client.transaction.transaction() as t:
        client.pfs.create_repo(repo=pfs.Repo(name="txrepo", type="user"))
        client.pfs.create_branch(branch=pfs.Branch.from_uri("txrepo@master"))
        info = client.transaction.inspect_transaction(transaction=t)
        assert len(info.requests) == 2
        assert not client.pfs.repo_exists(pfs.Repo(name="txrepo"))
    assert client.pfs.branch_exists(pfs.Branch.from_uri("txrepo@master"))


def test_a_failed_body_deletes_the_transaction(client):
    with pytest.raises(RuntimeError):
        with client.transaction.transaction() as t:
            client.pfs.create_repo(repo=pfs.Repo(name="never", type="user"))
            raise RuntimeError("changed my mind")
    assert not client.transaction.transaction_exists(t)
    assert not client.pfs.repo_exists(pfs.Repo(name="never"))


def test_a_request_that_cannot_apply_is_refused_at_once(client):
    new_repo(client, "exists")
    with client.transaction.transaction():
        with pytest.raises(grpc.RpcError) as e:
            client.pfs.create_repo(repo=pfs.Repo(name="exists", type="user"))
        assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_file_writes_are_refused_by_the_sdk_inside_a_transaction(client):
    from pachyderm_sdk.errors import InvalidTransactionOperation

    r = new_repo(client, "nofiles")
    c = client.pfs.start_commit(branch=pfs.Branch(repo=r, name="master"))
    with client.transaction.transaction():
        with pytest.raises(InvalidTransactionOperation):
            client.pfs.put_file_from_bytes(commit=c, path="/a", data=b"a")
    client.pfs.finish_commit(commit=c)


def test_empty_header_after_finish_means_no_transaction(client):
    t = client.transaction.start_transaction()
    assert client.transaction_id == t.id
    client.pfs.create_repo(repo=pfs.Repo(name="queued", type="user"))
    queued = client.pfs.start_commit(branch=pfs.Branch.from_uri("queued@master"))
    client.pfs.finish_commit(commit=queued)
    info = client.transaction.finish_transaction(transaction=t)
    assert isinstance(info, transaction.TransactionInfo)
    assert len(info.requests) == 3 and len(info.responses) == 3
    assert info.responses[1].commit.id == t.id and info.responses[1].commit.repo.name == "queued"
    assert client.transaction_id == ""  # the SDK now sends `pach-transaction: ""`
    assert client.pfs.repo_exists(pfs.Repo(name="queued"))
    # with the empty header every call applies at once
    client.pfs.create_repo(repo=pfs.Repo(name="after", type="user"))
    assert client.pfs.repo_exists(pfs.Repo(name="after"))
    c = client.pfs.start_commit(branch=pfs.Branch.from_uri("after@master"))
    assert c.id != t.id
    client.pfs.put_file_from_bytes(commit=c, path="/f", data=b"f")
    client.pfs.finish_commit(commit=c)
    assert client.pfs.wait_commit(c).commit.id == c.id
    client.transaction_id = None


def test_list_and_delete_transactions(client):
    t1 = client.transaction.start_transaction()
    client.transaction_id = None
    t2 = client.transaction.start_transaction()
    client.transaction_id = None
    ids = {ti.transaction.id for ti in client.transaction.list_transaction().transaction_info}
    assert {t1.id, t2.id} <= ids
    client.transaction.delete_transaction(transaction=t1)
    assert not client.transaction.transaction_exists(t1)
    with pytest.raises(grpc.RpcError) as e:
        client.transaction.delete_transaction(transaction=t1)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    client.transaction.delete_transaction(transaction=t2)


def test_a_cli_transaction_does_not_capture_sdk_calls(client, pach):
    # a transaction the CLI user has active is theirs: SDK calls without the header apply at once
    pach.ok("start", "transaction")
    try:
        client.pfs.create_repo(repo=pfs.Repo(name="direct", type="user"))
        assert client.pfs.repo_exists(pfs.Repo(name="direct"))
        pach.ok("create", "repo", "queuedbycli")
        assert not client.pfs.repo_exists(pfs.Repo(name="queuedbycli"))
    finally:
        pach.ok("finish", "transaction")
    assert client.pfs.repo_exists(pfs.Repo(name="queuedbycli"))


def test_batch_transaction(client):
    r = pfs.Repo(name="batched", type="user")
    master = pfs.Branch(repo=r, name="master")
    info = client.transaction.batch_transaction(requests=[
        transaction.TransactionRequest(create_repo=pfs.CreateRepoRequest(repo=r, description="in one batch")),
        transaction.TransactionRequest(start_commit=pfs.StartCommitRequest(branch=master)),
        transaction.TransactionRequest(finish_commit=pfs.FinishCommitRequest(commit=pfs.Commit(repo=r, branch=master))),
    ])
    assert len(info.responses) == 3
    commit = info.responses[1].commit
    assert commit.repo.name == "batched" and len(commit.id) == 32
    assert client.pfs.inspect_repo(repo=r).description == "in one batch"
    assert is_set(client.pfs.wait_commit(commit).finished)
    assert client.pfs.inspect_branch(branch=master).head.id == commit.id


def test_a_failing_batch_applies_nothing(client):
    new_repo(client, "taken")
    with pytest.raises(grpc.RpcError):
        client.transaction.batch_transaction(requests=[
            transaction.TransactionRequest(create_repo=pfs.CreateRepoRequest(repo=pfs.Repo(name="fresh", type="user"))),
            transaction.TransactionRequest(create_repo=pfs.CreateRepoRequest(repo=pfs.Repo(name="taken", type="user"))),
        ])
    assert not client.pfs.repo_exists(pfs.Repo(name="fresh"))


def test_a_pipeline_and_its_input_repo_in_one_transaction(client, pach):
    from pachyderm_sdk.api import pps

    # Pachyderm's transactable CreatePipeline: the repo and the pipeline appear together
    with client.transaction.transaction() as t:
        client.pfs.create_repo(repo=pfs.Repo(name="txin", type="user"))
        client.pps.create_pipeline(
            pipeline=pps.Pipeline(name="txpipe"),
            transform=pps.Transform(cmd=["true"], image="pach-test/busybox:1"),
            input=pps.Input(pfs=pps.PfsInput(repo="txin", glob="/*")),
        )
        assert not client.pps.pipeline_exists(pps.Pipeline(name="txpipe"))
    assert not client.transaction.transaction_exists(t)
    assert client.pps.pipeline_exists(pps.Pipeline(name="txpipe"))
    assert client.pfs.repo_exists(pfs.Repo(name="txpipe", type="user"))
    client.pps.delete_pipeline(pipeline=pps.Pipeline(name="txpipe"))


def test_a_branch_at_a_commit_started_in_the_same_transaction(client):
    r = new_repo(client, "txbranch")
    with client.transaction.transaction() as t:
        c = client.pfs.start_commit(branch=pfs.Branch(repo=r, name="master"))
        client.pfs.finish_commit(commit=c)
        client.pfs.create_branch(branch=pfs.Branch(repo=r, name="release"), head=pfs.Commit(repo=r, id=c.id))
    assert client.pfs.inspect_branch(branch=pfs.Branch(repo=r, name="release")).head.id == t.id
    assert client.pfs.inspect_branch(branch=pfs.Branch(repo=r, name="master")).head.id == t.id
