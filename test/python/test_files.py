"""Files through pachyderm_sdk: put (bytes, file-like, empty, append, URL), copy, delete, list,
walk, glob, diff, path_exists, get, get as tar, and a 50 MiB file in the SDK's 19 MiB chunks —
in the default project and another one, and what the SDK writes is what the CLI reads."""

import hashlib
import http.server
import io
import random
import threading
from functools import partial

import grpc
import pytest
from pachyderm_sdk.api import pfs
from sdkutil import is_set, new_repo

PROJECTS = ["default", "lab"]


@pytest.fixture(scope="module", autouse=True)
def lab_project(pach):
    pach.ok("create", "project", "lab")



def master(r: pfs.Repo) -> pfs.Branch:
    return pfs.Branch(repo=r, name="master")


def read(client, commit: pfs.Commit, path: str) -> bytes:
    return client.pfs.pfs_file(pfs.File(commit=commit, path=path)).read()


def paths(infos) -> list:
    return [i.file.path for i in infos]


@pytest.mark.parametrize("project", PROJECTS)
def test_put_bytes_filelike_empty_and_get(client, pach, project, tmp_path):
    r = new_repo(client, "put", project)
    local = tmp_path / "local.bin"
    local.write_bytes(b"from a file object\n" * 100)
    with client.pfs.commit(branch=master(r)) as c:
        c.put_file_from_bytes("/bytes.txt", b"hello bytes")
        c.put_file_from_file(path="/dir/obj.bin", file=io.BytesIO(b"\x00\x01binary\xff"))
        with open(local, "rb") as f:
            c.put_file_from_file(path="dir/local.bin", file=f)  # no leading /
        c.put_file_from_bytes("/empty", b"")
    c.wait()
    assert read(client, c, "/bytes.txt") == b"hello bytes"
    assert read(client, c, "/dir/obj.bin") == b"\x00\x01binary\xff"
    assert read(client, c, "/dir/local.bin") == local.read_bytes()
    assert read(client, c, "/empty") == b""
    empty = client.pfs.inspect_file(file=pfs.File(commit=c, path="/empty"))
    assert empty.file_type == pfs.FileType.FILE and empty.size_bytes == 0
    d = client.pfs.inspect_file(file=pfs.File(commit=c, path="/dir"))
    assert d.file_type == pfs.FileType.DIR and d.file.path == "/dir/"
    assert d.size_bytes == len(local.read_bytes()) + len(b"\x00\x01binary\xff")
    assert paths(client.pfs.list_file(file=pfs.File(commit=c, path="/"))) == ["/bytes.txt", "/dir/", "/empty"]
    # the CLI reads what the SDK wrote
    assert pach.ok("get", "file", f"put@master:/bytes.txt", "--project", project) == b"hello bytes"


def test_cli_writes_sdk_reads(client, pach):
    new_repo(client, "fromcli")
    pach.ok("put", "file", "fromcli@master:/c.txt", input=b"written by pach")
    head = pfs.Commit.from_uri("fromcli@master")
    assert read(client, head, "/c.txt") == b"written by pach"
    assert client.pfs.path_exists(pfs.File(commit=head, path="/c.txt"))


def test_overwrite_and_append(client):
    r = new_repo(client, "append")
    with client.pfs.commit(branch=master(r)) as c1:
        c1.put_file_from_bytes("/log", b"one,")
        c1.put_file_from_bytes("/log", b"two,", append=True)
    assert read(client, c1, "/log") == b"one,two,"
    with client.pfs.commit(branch=master(r)) as c2:
        c2.put_file_from_bytes("/log", b"three", append=True)
    assert read(client, c2, "/log") == b"one,two,three"
    with client.pfs.commit(branch=master(r)) as c3:
        c3.put_file_from_bytes("/log", b"fresh")
    assert read(client, c3, "/log") == b"fresh"
    # earlier commits keep their content
    assert read(client, c1, "/log") == b"one,two,"


@pytest.fixture(scope="module")
def http_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("www")
    (root / "page.txt").write_bytes(b"served over http\n")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_put_file_from_url(client, http_dir):
    r = new_repo(client, "url")
    with client.pfs.commit(branch=master(r)) as c:
        c.put_file_from_url(path="/fetched.txt", url=f"{http_dir}/page.txt")
    assert read(client, c, "/fetched.txt") == b"served over http\n"


def test_put_file_from_a_missing_url_fails(client, http_dir):
    r = new_repo(client, "badurl")
    c = client.pfs.start_commit(branch=master(r))
    with pytest.raises(grpc.RpcError):
        client.pfs.put_file_from_url(commit=c, path="/x", url=f"{http_dir}/nope.txt")
    client.pfs.finish_commit(commit=c)
    assert not client.pfs.path_exists(pfs.File(commit=c, path="/x"))


def test_copy_and_delete(client, pach):
    r = new_repo(client, "copy")
    with client.pfs.commit(branch=master(r)) as c1:
        c1.put_file_from_bytes("/a.txt", b"A")
        c1.put_file_from_bytes("/dir/x", b"X")
        c1.put_file_from_bytes("/dir/y", b"Y")
        c1.put_file_from_bytes("/gone/z", b"Z")
    with client.pfs.commit(branch=master(r)) as c2:
        c2.copy_file(src=pfs.File(commit=c1, path="/a.txt"), dst="/b.txt")
        c2.copy_file(src=pfs.File(commit=c1, path="/dir"), dst="/dir2")
        c2.copy_file(src=pfs.File(commit=c1, path="/a.txt"), dst="/dir/x", append=True)
        c2.delete_file(path="/gone")
        c2.delete_file(path="/a.txt")
    got = paths(client.pfs.walk_file(file=pfs.File(commit=c2, path="/")))
    assert got == ["/", "/b.txt", "/dir/", "/dir/x", "/dir/y", "/dir2/", "/dir2/x", "/dir2/y"]
    assert read(client, c2, "/b.txt") == b"A"
    assert read(client, c2, "/dir/x") == b"XA"
    assert read(client, c2, "/dir2/y") == b"Y"
    assert not client.pfs.path_exists(pfs.File(commit=c2, path="/gone"))
    assert client.pfs.path_exists(pfs.File(commit=c1, path="/gone/z"))
    assert pach.ok("get", "file", "copy@master:/dir2/x") == b"X"


def test_walk_glob_list(client):
    r = new_repo(client, "walk", "lab")
    with client.pfs.commit(branch=master(r)) as c:
        for p in ["/a.txt", "/b.csv", "/sub/c.txt", "/sub/deep/d.txt"]:
            c.put_file_from_bytes(p, p.encode())
    assert paths(client.pfs.walk_file(file=pfs.File(commit=c, path="/sub"))) == ["/sub/", "/sub/c.txt", "/sub/deep/", "/sub/deep/d.txt"]
    assert paths(client.pfs.glob_file(commit=c, pattern="/*.txt")) == ["/a.txt"]
    assert paths(client.pfs.glob_file(commit=c, pattern="/**.txt")) == ["/a.txt", "/sub/c.txt", "/sub/deep/d.txt"]
    assert paths(client.pfs.glob_file(commit=c, pattern="/*")) == ["/a.txt", "/b.csv", "/sub/"]
    assert paths(client.pfs.list_file(file=pfs.File(commit=c, path="/sub"))) == ["/sub/c.txt", "/sub/deep/"]
    infos = {i.file.path: i for i in client.pfs.glob_file(commit=c, pattern="/sub/*")}
    assert infos["/sub/c.txt"].file_type == pfs.FileType.FILE and infos["/sub/c.txt"].size_bytes == len(b"/sub/c.txt")
    assert infos["/sub/deep/"].file_type == pfs.FileType.DIR


def test_diff_file(client):
    r = new_repo(client, "diff")
    with client.pfs.commit(branch=master(r)) as c1:
        c1.put_file_from_bytes("/same", b"s")
        c1.put_file_from_bytes("/changed", b"v1")
        c1.put_file_from_bytes("/removed", b"r")
    with client.pfs.commit(branch=master(r)) as c2:
        c2.put_file_from_bytes("/changed", b"v2")
        c2.put_file_from_bytes("/added", b"a")
        c2.delete_file(path="/removed")

    def summary(responses):
        out = []
        for d in responses:
            new = d.new_file.file.path if d.new_file.file_type == pfs.FileType.FILE else None
            old = d.old_file.file.path if d.old_file.file_type == pfs.FileType.FILE else None
            if new or old:
                out.append((new, old))
        return sorted(out, key=lambda x: x[0] or x[1])

    explicit = summary(client.pfs.diff_file(new_file=pfs.File(commit=c2, path="/"), old_file=pfs.File(commit=c1, path="/")))
    assert explicit == [("/added", None), ("/changed", "/changed"), (None, "/removed")]
    # no old file: against the new commit's parent
    assert summary(client.pfs.diff_file(new_file=pfs.File(commit=c2, path="/"))) == explicit


def test_get_errors(client):
    r = new_repo(client, "errs")
    with client.pfs.commit(branch=master(r)) as c:
        c.put_file_from_bytes("/d/a", b"a")
        c.put_file_from_bytes("/d/b", b"b")
    # pfs_file reads the first message at once, and wraps a failure in a ValueError
    with pytest.raises(ValueError) as e:
        read(client, c, "/d")
    assert isinstance(e.value.__cause__, grpc.RpcError)
    assert e.value.__cause__.details() == "cannot get directory or non-regular file. Use GetFileTAR instead"
    with pytest.raises(grpc.RpcError) as e:
        client.pfs.inspect_file(file=pfs.File(commit=pfs.Commit(repo=r, id=c.id), path="/nope"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert e.value.details() == f"file /nope not found in repo default/errs at commit {c.id}"
    assert not client.pfs.path_exists(pfs.File(commit=c, path="/nope"))
    assert client.pfs.path_exists(pfs.File(commit=c, path="/d"))
    with pytest.raises(ValueError):
        client.pfs.path_exists(pfs.File(commit=pfs.Commit(repo=r, id="0123456789ab4def0123456789abcdef"), path="/d"))


def test_write_to_finished_commit_fails(client):
    r = new_repo(client, "closed")
    c = client.pfs.start_commit(branch=master(r))
    client.pfs.finish_commit(commit=c)
    client.pfs.wait_commit(c)
    with pytest.raises(grpc.RpcError) as e:
        client.pfs.put_file_from_bytes(commit=pfs.Commit(repo=r, id=c.id), path="/late", data=b"x")
    assert "finished" in e.value.details()


def test_get_as_tar(client, tmp_path):
    r = new_repo(client, "tar", "lab")
    with client.pfs.commit(branch=master(r)) as c:
        c.put_file_from_bytes("/top.txt", b"top")
        c.put_file_from_bytes("/dir/a.txt", b"aaa")
        c.put_file_from_bytes("/dir/sub/b.txt", b"bb")
    with client.pfs.pfs_tar_file(pfs.File(commit=c, path="/dir")) as tar:
        members = []
        for m in tar:
            members.append((m.name, m.type, m.size))
            if m.isfile():
                members[-1] = (m.name, m.type, tar.extractfile(m).read())
    assert members == [("dir", b"5", 0), ("dir/a.txt", b"0", b"aaa"), ("dir/sub", b"5", 0), ("dir/sub/b.txt", b"0", b"bb")]
    with client.pfs.pfs_tar_file(pfs.File(commit=c, path="/")) as tar:
        tar.extractall(tmp_path / "out")
    assert (tmp_path / "out" / "dir" / "sub" / "b.txt").read_bytes() == b"bb"
    assert (tmp_path / "out" / "top.txt").read_bytes() == b"top"


def test_50_mib_file_in_19_mib_chunks(client, pach):
    r = new_repo(client, "big")
    data = random.Random(13).randbytes(50 * 1024 * 1024)
    want = hashlib.sha256(data).hexdigest()
    with client.pfs.commit(branch=master(r)) as c:
        c.put_file_from_file(path="/big.bin", file=io.BytesIO(data))  # reads and sends 19 MiB at a time
    info = client.pfs.inspect_file(file=pfs.File(commit=c, path="/big.bin"))
    assert info.size_bytes == len(data)
    # read back through the CLI (another process) and through the SDK
    assert hashlib.sha256(pach.ok("get", "file", "big@master:/big.bin")).hexdigest() == want
    h = hashlib.sha256()
    with client.pfs.pfs_file(pfs.File(commit=c, path="/big.bin")) as f:
        for block in iter(lambda: f.read(4 << 20), b""):
            h.update(block)
    assert h.hexdigest() == want


def test_put_to_a_branch_makes_a_one_off_commit(client, pach):
    # no open commit: ModifyFile on a branch starts and finishes a commit of its own
    r = new_repo(client, "oneoff")
    client.pfs.put_file_from_bytes(commit=pfs.Commit.from_uri("oneoff@master"), path="/a", data=b"first")
    first = client.pfs.inspect_branch(branch=master(r)).head
    assert is_set(client.pfs.inspect_commit(commit=first).finished)
    client.pfs.put_file_from_bytes(commit=pfs.Commit.from_uri("oneoff@master"), path="/b", data=b"second")
    second = client.pfs.inspect_commit(commit=pfs.Commit.from_uri("oneoff@master"))
    assert second.parent_commit.id == first.id and is_set(second.finished)
    assert pach.ok("get", "file", "oneoff@master:/a") == b"first"
    assert len(list(client.pfs.list_commit(repo=r))) == 2


def test_list_file_of_a_file_is_the_file(client):
    r = new_repo(client, "single")
    with client.pfs.commit(branch=master(r)) as c:
        c.put_file_from_bytes("/only.txt", b"x")
    infos = list(client.pfs.list_file(file=pfs.File(commit=c, path="/only.txt")))
    assert [(i.file.path, i.file_type, i.size_bytes) for i in infos] == [("/only.txt", pfs.FileType.FILE, 1)]


def test_put_files_from_a_directory(client, pach, tmp_path):
    src = tmp_path / "tree"
    (src / "a" / "b").mkdir(parents=True)
    (src / "top.txt").write_bytes(b"top")
    (src / "a" / "mid.txt").write_bytes(b"mid")
    (src / "a" / "b" / "low.bin").write_bytes(bytes(range(256)))
    r = new_repo(client, "tree", "lab")
    with client.pfs.commit(branch=master(r)) as c:
        c.put_files(source=src, path="/data")
    got = [i.file.path for i in client.pfs.walk_file(file=pfs.File(commit=c, path="/data")) if i.file_type == pfs.FileType.FILE]
    assert got == ["/data/a/b/low.bin", "/data/a/mid.txt", "/data/top.txt"]
    assert pach.ok("get", "file", "tree@master:/data/a/b/low.bin", "--project", "lab") == bytes(range(256))


class _Breaks(io.RawIOBase):
    """A file-like object that gives 19 MiB (one SDK message), then fails: the client's stream
    ends with an error half-way."""

    def __init__(self):
        self.calls = 0

    def readable(self):
        return True

    def read(self, n=-1):
        self.calls += 1
        if self.calls == 1:
            return b"x" * n
        raise OSError("the disk went away")


def test_a_put_that_fails_half_way_leaves_nothing(client):
    r = new_repo(client, "halfway")
    c = client.pfs.start_commit(branch=master(r))
    client.pfs.put_file_from_bytes(commit=c, path="/kept", data=b"kept")
    with pytest.raises(Exception):
        client.pfs.put_file_from_file(commit=c, path="/partial", file=_Breaks())
    client.pfs.finish_commit(commit=c)
    client.pfs.wait_commit(c)
    assert [i.file.path for i in client.pfs.list_file(file=pfs.File(commit=c, path="/"))] == ["/kept"]


def test_paths_without_a_slash_offsets_and_single_file_tars(client):
    r = new_repo(client, "edges")
    with client.pfs.commit(branch=master(r)) as c:
        c.put_file_from_bytes("/d/file.txt", b"0123456789")
    assert read(client, c, "d/file.txt") == b"0123456789"
    assert client.pfs.path_exists(pfs.File(commit=c, path="d/file.txt"))
    rest = b"".join(bv.value for bv in client.pfs.get_file(file=pfs.File(commit=c, path="/d/file.txt"), offset=4))
    assert rest == b"456789"
    with client.pfs.pfs_tar_file(pfs.File(commit=c, path="/d/file.txt")) as tar:
        got = [(m.name, tar.extractfile(m).read()) for m in tar]
    assert got == [("d/file.txt", b"0123456789")]
