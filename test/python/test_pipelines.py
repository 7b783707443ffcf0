"""Pipelines through pachyderm_sdk on the local runner (`pach serve --runner local`): create
with the SDK's own CreatePipeline message, inspect/list/stop/start/delete, the jobs that the
server's daemon runs when data lands (inspect_job with wait, list_job), their datums
(list_datum, inspect_datum) and logs (get_logs) — in the default project and another one."""

import time

import grpc
import pytest
from pachyderm_sdk.api import pfs, pps
from sdkutil import is_set

PROJECTS = ["default", "lab"]

# user code: copy every datum's files to /pfs/out with a suffix, and say so on stdout
COPY = ["sh", "-c", 'for f in /pfs/in/*; do echo "copying $(basename $f)"; cp "$f" "/pfs/out/$(basename $f).out"; done']


@pytest.fixture(scope="module")
def pach(start_pach):
    # the CLI leaves the jobs its commits trigger to the server's daemon
    with start_pach("--runner", "local", cli_env={"PACH_DETACH": "1"}) as p:
        p.ok("create", "project", "lab")
        yield p


def setup_pipeline(client, pach, project: str, name: str, cmd=COPY, glob="/*") -> tuple:
    """An input repo `<name>-in` (made by the CLI, so PPS is tested apart from PFS) and a
    pipeline `<name>` reading it as `in`, made with the SDK's CreatePipeline message."""
    pach.ok("create", "repo", f"{name}-in", "--project", project)
    inp = pfs.Repo(name=f"{name}-in", type="user", project=pfs.Project(name=project))
    pipeline = pps.Pipeline(name=name, project=pfs.Project(name=project))
    client.pps.create_pipeline(
        pipeline=pipeline,
        description=f"copies {name}-in",
        transform=pps.Transform(cmd=cmd),
        input=pps.Input(pfs=pps.PfsInput(project=project, repo=inp.name, name="in", glob=glob)),
    )
    return inp, pipeline


def put(pach, repo: pfs.Repo, files: dict) -> str:
    """One commit of `files` made by the CLI (its jobs left to the server); returns its id."""
    project = repo.project.name
    pach.ok("start", "commit", f"{repo.name}@master", "--project", project)
    for path, data in files.items():
        pach.ok("put", "file", f"{repo.name}@master:{path}", "--project", project, input=data)
    pach.ok("finish", "commit", f"{repo.name}@master", "--project", project)
    return pach.json("inspect", "commit", f"{repo.name}@master", "--project", project)["commit"]["id"]


def cli_get(pach, project: str, uri: str) -> bytes:
    return pach.ok("get", "file", uri, "--project", project)


@pytest.mark.parametrize("project", PROJECTS)
def test_create_inspect_list_and_a_job_runs_when_data_lands(client, pach, project):
    inp, pipeline = setup_pipeline(client, pach, project, "copy")
    assert client.pps.pipeline_exists(pipeline)
    info = client.pps.inspect_pipeline(pipeline=pipeline, details=True)
    assert info.pipeline.name == "copy" and info.pipeline.project.name == project
    assert info.version == 1 and not info.stopped
    assert info.details.transform.cmd == COPY
    assert info.details.input.pfs.repo == "copy-in"
    assert info.details.description == "copies copy-in"
    assert "copy" in {pi.pipeline.name for pi in client.pps.list_pipeline(projects=[pfs.Project(name=project)])}
    # the output repo exists, and the CLI sees the pipeline
    assert "copy" in {r["repo"]["name"] for r in pach.json("list", "repo", "--project", project)}
    assert pach.json("inspect", "pipeline", "copy", "--project", project)["pipeline"]["name"] == "copy"

    c = put(pach, inp, {"/a.txt": b"alpha", "/b.txt": b"beta"})
    job = client.pps.inspect_job(job=pps.Job(pipeline=pipeline, id=c), wait=True)
    assert job.state == pps.JobState.JOB_SUCCESS, job.reason
    assert (job.data_processed, job.data_total, job.data_failed) == (2, 2, 0)
    assert job.output_commit.id == c
    assert is_set(job.finished)
    files = sorted(f["file"]["path"] for f in pach.json("list", "file", f"copy@{c}:/", "--project", project))
    assert files == ["/a.txt.out", "/b.txt.out"]
    assert cli_get(pach, project, f"copy@{c}:/b.txt.out") == b"beta"
    # the commit set holds the input and the output commit, both finished (the SDK's wait_all)
    waited = client.pfs.wait_commit_set(pfs.CommitSet(id=c))
    assert {(ci.commit.repo.name, ci.commit.repo.type) for ci in waited} >= {("copy-in", "user"), ("copy", "user")}
    assert all(is_set(ci.finished) for ci in waited)
    jobs = list(client.pps.inspect_job_set(job_set=pps.JobSet(id=c), wait=True))
    assert [(j.job.pipeline.name, j.state) for j in jobs] == [("copy", pps.JobState.JOB_SUCCESS)]
    assert c in {js.job_set.id for js in client.pps.list_job_set(projects=[pfs.Project(name=project)])}


def test_jobs_datums_and_logs(client, pach):
    inp, pipeline = setup_pipeline(client, pach, "default", "dat")
    c1 = put(pach, inp, {"/one": b"1", "/two": b"2"})
    j1 = client.pps.inspect_job(job=pps.Job(pipeline=pipeline, id=c1), wait=True)
    assert j1.state == pps.JobState.JOB_SUCCESS, j1.reason
    c2 = put(pach, inp, {"/three": b"3"})
    j2 = client.pps.inspect_job(job=pps.Job(pipeline=pipeline, id=c2), wait=True)
    assert j2.state == pps.JobState.JOB_SUCCESS, j2.reason
    # the second job skips the two datums the first processed
    assert (j2.data_processed, j2.data_skipped, j2.data_total) == (1, 2, 3)

    # newest first (creating the pipeline may have run a job over the empty head before them)
    jobs = [ji.job.id for ji in client.pps.list_job(pipeline=pipeline)]
    assert jobs[:2] == [c2, c1]
    assert {ji.job.id for ji in client.pps.list_job(projects=[pfs.Project(name="default")])} >= {c1, c2}

    datums = list(client.pps.list_datum(job=pps.Job(pipeline=pipeline, id=c1)))
    assert len(datums) == 2
    assert {d.state for d in datums} == {pps.DatumState.SUCCESS}
    one = next(d for d in datums if any(fi.file.path == "/one" for fi in d.data))
    again = client.pps.inspect_datum(datum=pps.Datum(job=pps.Job(pipeline=pipeline, id=c1), id=one.datum.id))
    assert again.datum.id == one.datum.id and again.state == pps.DatumState.SUCCESS
    assert [fi.file.path for fi in again.data] == ["/one"]
    skipped = list(client.pps.list_datum(job=pps.Job(pipeline=pipeline, id=c2)))
    assert sorted(d.state for d in skipped) == sorted([pps.DatumState.SUCCESS, pps.DatumState.SKIPPED, pps.DatumState.SKIPPED])

    logs = [m for m in client.pps.get_logs(pipeline=pipeline) if m.user]
    assert {m.message.strip() for m in logs} >= {"copying one", "copying two", "copying three"}
    assert all(m.pipeline_name == "dat" for m in logs)
    job_logs = {m.message.strip() for m in client.pps.get_logs(job=pps.Job(pipeline=pipeline, id=c2)) if m.user}
    assert job_logs == {"copying three"}
    # the CLI sees the same jobs
    assert {j["job"]["id"] for j in pach.json("list", "job", "-p", "dat")} == set(jobs)
    # details carry the spec the job ran
    detailed = client.pps.inspect_job(job=pps.Job(pipeline=pipeline, id=c1), details=True)
    assert detailed.details.transform.cmd == COPY
    assert detailed.details.input.pfs.glob == "/*"
    # datums planned for an input without a job (pachctl list datum -f)
    planned = list(client.pps.list_datum(input=pps.Input(pfs=pps.PfsInput(repo="dat-in", name="in", glob="/*"))))
    assert sorted(fi.file.path for d in planned for fi in d.data) == ["/one", "/three", "/two"]


def test_a_failing_job(client, pach):
    inp, pipeline = setup_pipeline(client, pach, "lab", "fails", cmd=["sh", "-c", "echo broken >&2; exit 3"])
    c = put(pach, inp, {"/x": b"x"})
    job = client.pps.inspect_job(job=pps.Job(pipeline=pipeline, id=c), wait=True)
    assert job.state == pps.JobState.JOB_FAILURE
    assert job.data_failed == 1
    datums = list(client.pps.list_datum(job=job.job))
    assert [d.state for d in datums] == [pps.DatumState.FAILED]


def test_stop_start_and_delete(client, pach):
    inp, pipeline = setup_pipeline(client, pach, "lab", "pause")
    client.pps.stop_pipeline(pipeline=pipeline)
    stopped = client.pps.inspect_pipeline(pipeline=pipeline)
    assert stopped.stopped and stopped.state == pps.PipelineState.PIPELINE_PAUSED
    client.pps.start_pipeline(pipeline=pipeline)
    started = client.pps.inspect_pipeline(pipeline=pipeline)
    assert not started.stopped and started.state != pps.PipelineState.PIPELINE_PAUSED
    c = put(pach, inp, {"/after": b"a"})
    job = client.pps.inspect_job(job=pps.Job(pipeline=pipeline, id=c), wait=True)
    assert job.state == pps.JobState.JOB_SUCCESS, job.reason

    client.pps.delete_pipeline(pipeline=pipeline)
    assert not client.pps.pipeline_exists(pipeline)
    assert "pause" not in {r["repo"]["name"] for r in pach.json("list", "repo", "--project", "lab")}
    assert "pause" not in {pi.pipeline.name for pi in client.pps.list_pipeline()}
    with pytest.raises(grpc.RpcError) as e:
        client.pps.inspect_pipeline(pipeline=pipeline)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert e.value.details() == 'pipeline "lab/pause" not found'
    # a missing pipeline is not an error unless must_exist
    client.pps.delete_pipeline(pipeline=pipeline)
    with pytest.raises(grpc.RpcError):
        client.pps.delete_pipeline(pipeline=pipeline, must_exist=True)


def test_update_a_pipeline(client, pach):
    inp, pipeline = setup_pipeline(client, pach, "default", "upd")
    client.pps.create_pipeline(
        pipeline=pipeline,
        transform=pps.Transform(cmd=["sh", "-c", "cp /pfs/in/* /pfs/out/"]),
        input=pps.Input(pfs=pps.PfsInput(repo=inp.name, name="in", glob="/")),
        update=True,
    )
    info = client.pps.inspect_pipeline(pipeline=pipeline, details=True)
    assert info.version == 2 and info.details.input.pfs.glob == "/"
    with pytest.raises(grpc.RpcError) as e:
        client.pps.create_pipeline(pipeline=pipeline, transform=pps.Transform(cmd=["true"]), input=pps.Input(pfs=pps.PfsInput(repo=inp.name, glob="/")))
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_a_pipeline_made_by_the_cli(client, pach, tmp_path):
    pach.ok("create", "repo", "clip-in")
    spec = tmp_path / "p.json"
    spec.write_text('{"pipeline": {"name": "clip"}, "transform": {"cmd": ["sh", "-c", "cp /pfs/clip-in/* /pfs/out/"]}, "input": {"pfs": {"repo": "clip-in", "glob": "/*"}}}')
    pach.ok("create", "pipeline", "-f", str(spec))
    assert client.pps.pipeline_exists(pps.Pipeline(name="clip"))
    pach.ok("put", "file", "clip-in@master:/f", input=b"via cli")
    head = pach.json("inspect", "commit", "clip-in@master")["commit"]["id"]
    done = client.pps.inspect_job(job=pps.Job(pipeline=pps.Pipeline(name="clip"), id=head), wait=True)
    assert done.state == pps.JobState.JOB_SUCCESS, done.reason
    assert cli_get(pach, "default", f"clip@{done.job.id}:/f") == b"via cli"


def test_wait_all_waits_for_the_downstream_job(client, pach):
    inp, pipeline = setup_pipeline(client, pach, "default", "slow", cmd=["sh", "-c", "sleep 1; cp /pfs/in/* /pfs/out/"])
    # the SDK's own flow: a commit, then wait_all() until every commit of its set is finished
    with client.pfs.commit(branch=pfs.Branch(repo=inp, name="master")) as c:
        c.put_file_from_bytes("/f", b"data")
    infos = c.wait_all()
    out = [ci for ci in infos if ci.commit.repo.name == "slow" and ci.commit.repo.type == "user"]
    assert len(out) == 1 and is_set(out[0].finished)
    assert client.pfs.pfs_file(pfs.File(commit=out[0].commit, path="/f")).read() == b"data"


def test_stop_a_running_job(client, pach):
    inp, pipeline = setup_pipeline(client, pach, "lab", "sleeper", cmd=["sh", "-c", "sleep 60"])
    c = put(pach, inp, {"/x": b"x"})
    job = pps.Job(pipeline=pipeline, id=c)
    deadline = time.monotonic() + 30
    while client.pps.inspect_job(job=job).state != pps.JobState.JOB_RUNNING and time.monotonic() < deadline:
        time.sleep(0.1)
    client.pps.stop_job(job=job, reason="enough")
    done = client.pps.inspect_job(job=job, wait=True)
    assert done.state == pps.JobState.JOB_KILLED
    assert "enough" in done.reason
    client.pps.delete_pipeline(pipeline=pipeline)


def test_run_cron(client, pach):
    pipeline = pps.Pipeline(name="tick")
    client.pps.create_pipeline(
        pipeline=pipeline,
        transform=pps.Transform(cmd=["sh", "-c", "ls /pfs/tick > /pfs/out/seen"]),
        input=pps.Input(cron=pps.CronInput(name="tick", spec="@every 1h")),
    )
    client.pps.run_cron(pipeline=pipeline)
    tick = pfs.Repo(name="tick_tick", type="user")
    head = client.pfs.inspect_branch(branch=pfs.Branch(repo=tick, name="master")).head
    job = client.pps.inspect_job(job=pps.Job(pipeline=pipeline, id=head.id), wait=True)
    assert job.state == pps.JobState.JOB_SUCCESS, job.reason
    assert len(list(client.pfs.list_file(file=pfs.File(commit=head, path="/")))) == 1


def test_an_input_in_another_project_and_the_pipeline_repos(client, pach):
    pach.ok("create", "repo", "xsrc", "--project", "lab")
    pipeline = pps.Pipeline(name="xproj", project=pfs.Project(name="default"))
    client.pps.create_pipeline(
        pipeline=pipeline,
        transform=pps.Transform(cmd=["sh", "-c", "cp /pfs/xsrc/* /pfs/out/"]),
        input=pps.Input(pfs=pps.PfsInput(project="lab", repo="xsrc", glob="/*")),
    )
    # a pipeline has an output repo, a spec repo and a meta repo, as in Pachyderm
    types = sorted(r.repo.type for r in client.pfs.list_repo(projects=[pfs.Project(name="default")]) if r.repo.name == "xproj")
    assert types == ["meta", "spec", "user"]
    assert "xproj" in {r.repo.name for r in client.pfs.list_repo(type="spec")}
    assert "xproj" not in {r.repo.name for r in client.pfs.list_repo(type="user", projects=[pfs.Project(name="lab")])}
    prov = client.pfs.inspect_branch(branch=pfs.Branch.from_uri("xproj@master")).direct_provenance
    assert ("lab", "xsrc", "user", "master") in [(b.repo.project.name, b.repo.name, b.repo.type, b.name) for b in prov]
    c = put(pach, pfs.Repo(name="xsrc", type="user", project=pfs.Project(name="lab")), {"/a": b"A"})
    job = client.pps.inspect_job(job=pps.Job(pipeline=pipeline, id=c), wait=True)
    assert job.state == pps.JobState.JOB_SUCCESS, job.reason
    assert cli_get(pach, "default", f"xproj@{c}:/a") == b"A"
