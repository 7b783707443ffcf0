"""
The official-client suite: `pach serve` driven by Pachyderm's own Python SDK (pachyderm_sdk,
pinned in requirements.txt), with only its public API, as a notebook user would.

Each server is started the way a user starts it: the built CLI (`node bin/run.js`, which
`npm test`'s pretest builds; nothing is built here) runs `pach init` in a fresh temp dir, then
`pach serve --address localhost:0 --json` there, whose first stdout line is a JSON object
with the `address` the OS picked. The SDK connects with
`Client.from_pachd_address("grpc://" + address)`. The server is stopped with SIGTERM (SIGKILL
after 5 s) when its fixture ends, and the temp dir is removed.

Fixtures:
- `pach`: one server per test module (tests in a module use distinct repo/project names so
  they do not interfere); `fresh_pach`: one server for a single test.
- `client` / `fresh_client`: the SDK client of the above.
- `Pach.cli(...)` / `Pach.ok(...)` / `Pach.json(...)`: the pach CLI in the same project, to
  check that what the SDK writes is visible to the CLI and the other way round.
- `start_pach(*args, cli_env=...)`: a context manager for a server with extra serve args
  (`--runner local`), environment for its CLI runs (`PACH_DETACH=1`: leave jobs to the
  server's daemon) and for the server (`PACH_CONFIG` for `--set-context`).

A failed test's report shows the tail of its server's stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Iterator, List, Optional

import pytest
from pachyderm_sdk import Client

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = REPO_ROOT / "bin" / "run.js"
NODE = shutil.which("node") or "node"


def _env() -> dict:
    env = dict(os.environ)
    # jobs run in the server's daemon (or are left for it); never inherit a user's choice
    env["PACH_DETACH"] = ""
    for k in ("PACH_DIR", "PACH_PROJECT", "PACH_RUNNER", "PACH_SERVE_ADDRESS", "PACH_SERVE_TOKEN"):
        env.pop(k, None)
    return env


def _die_with_parent(argv: List[str]) -> List[str]:
    """argv wrapped so the process gets SIGTERM when pytest dies (even by SIGKILL) and a killed
    run leaves no `pach serve` behind: util-linux's `setpriv --pdeathsig` where it has it. (Not
    a preexec_fn: that forces a fork in which grpcio's fork handlers break the child.)"""
    setpriv = shutil.which("setpriv")
    if setpriv and b"--pdeathsig" in subprocess.run([setpriv, "--help"], capture_output=True).stdout:
        return [setpriv, "--pdeathsig", "TERM", *argv]
    return argv


class CliError(AssertionError):
    pass


class Pach:
    """A temp project with `pach serve` running on it, its SDK client and its CLI."""

    def __init__(self, serve_args: List[str], cli_env: Optional[dict] = None, serve_env: Optional[dict] = None):
        self.cli_env = cli_env or {}
        self.serve_env = serve_env or {}
        self.dir = Path(tempfile.mkdtemp(prefix="pach-py-"))
        self.serve_args = serve_args
        self.proc: Optional[subprocess.Popen] = None
        self.address = ""
        self.client: Optional[Client] = None
        self._stderr_path = self.dir.parent / (self.dir.name + ".serve.log")

    # --- the CLI in the same project -------------------------------------------------------
    def cli(self, *args: str, input: Optional[bytes] = None, env: Optional[dict] = None, timeout: float = 120) -> subprocess.CompletedProcess:
        e = _env()
        e.update(self.cli_env)
        if env:
            e.update(env)
        return subprocess.run([NODE, str(BIN), *args], cwd=self.dir, input=input, env=e, capture_output=True, timeout=timeout)

    def ok(self, *args: str, input: Optional[bytes] = None, env: Optional[dict] = None) -> bytes:
        """Run pach and expect exit 0; returns stdout (bytes)."""
        r = self.cli(*args, input=input, env=env)
        if r.returncode != 0:
            raise CliError(f"pach {' '.join(args)} exited {r.returncode}\nstdout: {r.stdout.decode(errors='replace')}\nstderr: {r.stderr.decode(errors='replace')}")
        return r.stdout

    def json(self, *args: str):
        return json.loads(self.ok(*args, "--json"))

    # --- the server ------------------------------------------------------------------------
    def start(self) -> "Pach":
        self.ok("init")
        self._stderr = open(self._stderr_path, "wb")
        self.proc = subprocess.Popen(
            _die_with_parent([NODE, str(BIN), "serve", "--address", "localhost:0", "--json", *self.serve_args]),
            cwd=self.dir, env={**_env(), **self.serve_env}, stdout=subprocess.PIPE, stderr=self._stderr,
        )
        lines: "queue.Queue[bytes]" = queue.Queue()

        def drain(out):
            # first line to the queue, the rest read and dropped so the pipe never fills
            for line in iter(out.readline, b""):
                lines.put(line)
            lines.put(b"")

        threading.Thread(target=drain, args=(self.proc.stdout,), daemon=True).start()
        try:
            first = lines.get(timeout=60)
        except queue.Empty:
            first = b""
        if not first:
            self.stop()
            raise RuntimeError(f"pach serve did not start: {self.stderr()}")
        self.address = json.loads(first)["address"]
        self.client = Client.from_pachd_address("grpc://" + self.address)
        return self

    def stderr(self) -> str:
        try:
            return self._stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> Optional[int]:
        code = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            code = self.proc.returncode
            self._stderr.close()
        return code

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            self._stderr_path.unlink()


@contextlib.contextmanager
def start_pach(*serve_args: str, cli_env: Optional[dict] = None, serve_env: Optional[dict] = None) -> Iterator[Pach]:
    p = Pach(list(serve_args), cli_env, serve_env)
    try:
        yield p.start()
    finally:
        p.close()


@pytest.fixture(scope="module")
def pach() -> Iterator[Pach]:
    with start_pach() as p:
        yield p


@pytest.fixture(scope="module")
def client(pach: Pach) -> Client:
    return pach.client


@pytest.fixture
def fresh_pach() -> Iterator[Pach]:
    with start_pach() as p:
        yield p


@pytest.fixture
def fresh_client(fresh_pach: Pach) -> Client:
    return fresh_pach.client


@pytest.fixture(name="start_pach", scope="session")
def start_pach_fixture():
    return start_pach


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report carries the tail of its server's stderr (job lines, internal errors)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for name in ("fresh_pach", "pach"):
            p = item.funcargs.get(name)
            if isinstance(p, Pach):
                report.sections.append((f"pach serve stderr ({name})", p.stderr()[-4000:]))
