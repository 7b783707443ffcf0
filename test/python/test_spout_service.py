"""Pipelines whose code runs continuously while `pach serve` runs, on the local runner: a spout
whose own code commits through pachyderm_sdk (`Client.new_in_cluster()`, as Pachyderm's spout
code does), and a service whose code answers on its published port over its latest input."""

import socket
import sys
import time
import urllib.request

import pytest
from pachyderm_sdk.api import pfs, pps
from sdkutil import is_set


@pytest.fixture(scope="module")
def pach(start_pach):
    with start_pach("--runner", "local", cli_env={"PACH_DETACH": "1"}) as p:
        yield p


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def eventually(fn, timeout=30.0, every=0.1):
    """fn()'s first truthy result within timeout seconds (the last exception otherwise)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        time.sleep(every)
    raise AssertionError(f"not within {timeout}s: {last!r}")


# the spout's code: three commits to its own output branch through the SDK, then it idles
SPOUT = r"""
import os, time
from pachyderm_sdk import Client
from pachyderm_sdk.api import pfs
client = Client.new_in_cluster()
branch = pfs.Branch.from_uri(os.environ["PPS_PIPELINE_NAME"] + "@master")
for i in range(3):
    with client.pfs.commit(branch=branch) as c:
        c.put_file_from_bytes(f"/tick-{i}", f"tick {i}".encode())
    print(f"committed tick {i}", flush=True)
time.sleep(3600)
"""


def test_a_spout_commits_through_the_sdk(client, pach):
    pipeline = pps.Pipeline(name="ticker")
    # `spout=pps.Spout()` would not reach the server: betterproto leaves an empty message off
    # the wire (the SDK's own guard, Spout(service=Service()), only runs when a
    # CreatePipelineRequest is constructed with it); the SDK's guard's form sends `spout {}`
    client.pps.create_pipeline(pipeline=pipeline, spout=pps.Spout(service=pps.Service()), transform=pps.Transform(cmd=[sys.executable, "-c", SPOUT]))
    out = pfs.Repo(name="ticker", type="user")

    def three_commits():
        commits = list(client.pfs.list_commit(repo=out))
        done = [c for c in commits if c.origin.kind == pfs.OriginKind.USER and is_set(c.finished)]
        return len(done) >= 3 and commits

    eventually(three_commits)
    head = pfs.Commit(repo=out, branch=pfs.Branch(repo=out, name="master"))
    files = sorted(f.file.path for f in client.pfs.list_file(file=pfs.File(commit=head, path="/")))
    assert files == ["/tick-0", "/tick-1", "/tick-2"]
    assert client.pfs.pfs_file(pfs.File(commit=head, path="/tick-2")).read() == b"tick 2"
    info = client.pps.inspect_pipeline(pipeline=pipeline)
    assert info.state == pps.PipelineState.PIPELINE_RUNNING
    assert info.type == pps.PipelineInfoPipelineType.PIPELINE_TYPE_SPOUT
    logs = {m.message.strip() for m in client.pps.get_logs(pipeline=pipeline)}
    assert "committed tick 2" in logs
    client.pps.delete_pipeline(pipeline=pipeline)
    assert not client.pps.pipeline_exists(pipeline)


def test_a_service_answers_on_its_port(client, pach):
    pach.ok("create", "repo", "site")
    pach.ok("put", "file", "site@master:/index.txt", input=b"version one")
    # the local runner runs code on the host network: the service's two ports are one
    # (test_pipelines_docker.py maps an external port to another internal one)
    port = free_port()
    pipeline = pps.Pipeline(name="web")
    client.pps.create_pipeline(
        pipeline=pipeline,
        transform=pps.Transform(cmd=[sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", "/pfs/site"]),
        input=pps.Input(pfs=pps.PfsInput(repo="site", glob="/")),
        service=pps.Service(internal_port=port, external_port=port),
    )

    def get():
        with urllib.request.urlopen(f"http://localhost:{port}/index.txt", timeout=2) as r:
            return r.read()

    assert eventually(get) == b"version one"
    info = client.pps.inspect_pipeline(pipeline=pipeline)
    assert info.state == pps.PipelineState.PIPELINE_RUNNING
    assert info.type == pps.PipelineInfoPipelineType.PIPELINE_TYPE_SERVICE
    # a new input commit restarts the service over the new data
    pach.ok("put", "file", "site@master:/index.txt", input=b"version two")
    eventually(lambda: get() == b"version two")
    client.pps.delete_pipeline(pipeline=pipeline)
