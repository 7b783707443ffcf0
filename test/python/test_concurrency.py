"""Four SDK clients writing at once alongside two CLI writers on the same repo: every write
lands as its own commit, nothing is lost, and `pach fsck` is clean afterwards. Each SDK
client commits on its own branch (as in pachd, a commit cannot start on a branch whose head
is still open); the CLI writers share master."""

import threading

from pachyderm_sdk import Client
from pachyderm_sdk.api import pfs

WRITES = 50
CLI_WRITES = 8


def test_four_sdk_clients_and_two_cli_writers(fresh_pach):
    fresh_pach.ok("create", "repo", "shared")
    errors = []

    def sdk_writer(i: int) -> None:
        try:
            c = Client.from_pachd_address("grpc://" + fresh_pach.address)
            branch = pfs.Branch.from_uri(f"shared@sdk{i}")
            for j in range(WRITES):
                with c.pfs.commit(branch=branch) as commit:
                    commit.put_file_from_bytes(path=f"/sdk{i}/f{j}", data=f"sdk {i} {j}".encode())
        except Exception as e:  # noqa: BLE001 - reported below with the writer's name
            errors.append(f"sdk writer {i}: {e!r}")

    def cli_writer(k: int) -> None:
        try:
            for j in range(CLI_WRITES):
                fresh_pach.ok("put", "file", f"shared@master:/cli{k}/f{j}", "-f", "-", input=f"cli {k} {j}".encode())
        except Exception as e:  # noqa: BLE001
            errors.append(f"cli writer {k}: {e!r}")

    threads = [threading.Thread(target=sdk_writer, args=(i,)) for i in range(4)] + [threading.Thread(target=cli_writer, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i in range(4):
        assert len(fresh_pach.json("glob", "file", f"shared@sdk{i}:/*/*")) == WRITES
        assert len(fresh_pach.json("list", "commit", f"shared@sdk{i}")) == WRITES
    assert fresh_pach.ok("get", "file", "shared@sdk3:/sdk3/f49") == b"sdk 3 49"
    assert len(fresh_pach.json("glob", "file", "shared@master:/*/*")) == 2 * CLI_WRITES
    assert len(fresh_pach.json("list", "commit", "shared@master")) == 2 * CLI_WRITES
    fresh_pach.ok("fsck")
