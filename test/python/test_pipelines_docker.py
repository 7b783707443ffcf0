"""Pipelines through pachyderm_sdk on the Docker runner (`pach serve --runner docker`), with
the test image pach-test/busybox:1: the server's daemon runs the job when data lands, and a
service's container answers on its external port (published on localhost to internal_port)."""

import socket
import time
import urllib.request

import pytest
from pachyderm_sdk.api import pfs, pps


@pytest.fixture(scope="module")
def pach(start_pach):
    with start_pach("--runner", "docker", cli_env={"PACH_DETACH": "1"}) as p:
        yield p


def test_a_docker_pipeline(client, pach):
    inp = pfs.Repo(name="words", type="user")
    client.pfs.create_repo(repo=inp)
    pipeline = pps.Pipeline(name="upper")
    client.pps.create_pipeline(
        pipeline=pipeline,
        transform=pps.Transform(
            image="pach-test/busybox:1",
            cmd=["sh", "-c", 'for f in /pfs/words/*; do tr a-z A-Z < "$f" > "/pfs/out/$(basename $f)"; echo "did $(basename $f)"; done'],
        ),
        input=pps.Input(pfs=pps.PfsInput(repo="words", glob="/*")),
    )
    with client.pfs.commit(branch=pfs.Branch(repo=inp, name="master")) as c:
        c.put_file_from_bytes("/hello", b"hello docker")
        c.put_file_from_bytes("/bye", b"bye")
    job = client.pps.inspect_job(job=pps.Job(pipeline=pipeline, id=c.id), wait=True)
    assert job.state == pps.JobState.JOB_SUCCESS, job.reason
    assert job.data_processed == 2
    out = pfs.Commit(repo=pfs.Repo(name="upper", type="user"), id=c.id)
    assert client.pfs.pfs_file(pfs.File(commit=out, path="/hello")).read() == b"HELLO DOCKER"
    datums = list(client.pps.list_datum(job=job.job))
    assert len(datums) == 2 and {d.state for d in datums} == {pps.DatumState.SUCCESS}
    logs = {m.message.strip() for m in client.pps.get_logs(job=job.job) if m.user}
    assert logs == {"did hello", "did bye"}
    # a commit made by the CLI is picked up by the server's daemon
    pach.ok("put", "file", "words@master:/cli", input=b"from cli")
    head = client.pfs.inspect_branch(branch=pfs.Branch(repo=inp, name="master")).head
    job2 = client.pps.inspect_job(job=pps.Job(pipeline=pipeline, id=head.id), wait=True)
    assert job2.state == pps.JobState.JOB_SUCCESS, job2.reason
    assert pach.ok("get", "file", f"upper@{head.id}:/cli") == b"FROM CLI"
    client.pps.delete_pipeline(pipeline=pipeline)


def test_a_docker_service(client, pach):
    pach.ok("create", "repo", "pages")
    pach.ok("put", "file", "pages@master:/index.html", input=b"hello from a container")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    pipeline = pps.Pipeline(name="site")
    client.pps.create_pipeline(
        pipeline=pipeline,
        transform=pps.Transform(image="pach-test/busybox:1", cmd=["busybox", "httpd", "-f", "-p", "8080", "-h", "/pfs/pages"]),
        input=pps.Input(pfs=pps.PfsInput(repo="pages", glob="/")),
        service=pps.Service(internal_port=8080, external_port=port),
    )
    deadline = time.monotonic() + 60
    body, last = None, None
    while time.monotonic() < deadline and body is None:
        try:
            with urllib.request.urlopen(f"http://localhost:{port}/index.html", timeout=2) as r:
                body = r.read()
        except OSError as e:
            last = e
            time.sleep(0.2)
    assert body == b"hello from a container", last
    client.pps.delete_pipeline(pipeline=pipeline)
