/**
 * E2E: the round trip a team makes — data written on the "cluster" by the official Python SDK,
 * pulled to a laptop (same ids), worked on there, pushed back as a fast-forward on top of what
 * the SDK wrote, read back with the SDK; and a second laptop pulling the result. The cluster
 * is a second .pach under the built `pach serve`; every step is the built CLI or the SDK.
 */
import {execa} from 'execa'
import {existsSync} from 'node:fs'
import {expect, it} from 'vitest'
import {tmpProject} from '../helpers/cli.js'
import {SDK_PYTHON} from '../helpers/sdk.js'
import {serve} from '../helpers/serve.js'
import {localFiles, localHistory, remoteFiles, remoteHistory} from './pull-util.js'

const WRITE = `
import sys
from pachyderm_sdk import Client
from pachyderm_sdk.api import pfs
c = Client.from_pachd_address(sys.argv[1])
repo = pfs.Repo(name="scans", type="user", project=pfs.Project(name="default"))
c.pfs.create_repo(repo=repo, description="from the scanners")
branch = pfs.Branch(repo=repo, name="master")
with c.pfs.commit(branch=branch, description="batch 1") as cm:
    cm.put_file_from_bytes(path="/s1.bin", data=bytes(range(256)) * 1024)
with c.pfs.commit(branch=branch, description="batch 2") as cm:
    cm.put_file_from_bytes(path="/s2.txt", data=b"second")
`
const READ = `
import sys
from pachyderm_sdk import Client
from pachyderm_sdk.api import pfs
c = Client.from_pachd_address(sys.argv[1])
info = c.pfs.inspect_commit(commit=pfs.Commit.from_uri("scans@master"))
with c.pfs.pfs_file(file=pfs.File.from_uri("scans@master:/labels/s1.json")) as f:
    print(info.description, "|", f.read().decode(), "|", info.parent_commit.id)
`

it('pulls what the SDK wrote, pushes local work on top as a fast-forward the SDK reads back, and a second laptop pulls it all', {timeout: 120_000}, async () => {
  expect(existsSync(SDK_PYTHON), `${SDK_PYTHON} (npm test makes it; by hand: node scripts/python-tests.mjs --venv-only)`).toBe(true)
  const s = await serve()
  const w = await execa(SDK_PYTHON, ['-c', WRITE, s.url], {reject: false})
  expect(w.exitCode, w.stderr).toBe(0)
  const before = await remoteHistory(s.client, 'scans')

  const laptop = await tmpProject()
  const pulled = await laptop.json<{commits: number}>(['pull', s.url, 'scans@master'])
  expect(pulled.commits).toBe(2)
  expect(localHistory(laptop, 'scans').map((c) => c.id)).toEqual(before.map((c) => c.id))

  // local work on top of the pulled head, then a push: a fast-forward of exactly that commit
  await laptop.ok(['start', 'commit', 'scans@master', '--description', 'labels for s1'])
  await laptop.ok(['put', 'file', 'scans@master:/labels/s1.json', '-f', '-'], {input: '{"label": "cat"}'})
  await laptop.ok(['finish', 'commit', 'scans@master'])
  const pushed = await laptop.json<{commits: number; branches: {repo: string; branch: string; status: string}[]}>(['push', s.url, 'scans@master'])
  expect(pushed.commits).toBe(1)
  expect(pushed.branches).toEqual([expect.objectContaining({repo: 'scans', branch: 'master', status: 'push'})])
  const after = await remoteHistory(s.client, 'scans')
  expect(after.length).toBe(3)
  expect(after[0]!.parent).toBe(before[0]!.id)
  expect(after.slice(1)).toEqual(before)

  // the SDK reads the pushed commit: its description, its file, its parent (what the SDK wrote)
  const r = await execa(SDK_PYTHON, ['-c', READ, s.url], {reject: false})
  expect(r.exitCode, r.stderr).toBe(0)
  expect(r.stdout.trim()).toBe(`labels for s1 | {"label": "cat"} | ${before[0]!.id}`)

  // nothing more to push or pull on this laptop
  expect((await laptop.json<{commits: number}>(['push', s.url, 'scans@master'])).commits).toBe(0)
  expect((await laptop.json<{commits: number}>(['pull', s.url, 'scans@master'])).commits).toBe(0)

  // a second laptop gets the whole history under the cluster's ids, with the same files
  const other = await tmpProject()
  expect((await other.json<{commits: number}>(['pull', s.url, 'scans@master'])).commits).toBe(3)
  expect(localHistory(other, 'scans').map((c) => c.id)).toEqual(after.map((c) => c.id))
  expect(localFiles(other, 'scans', after[0]!.id)).toEqual(await remoteFiles(s.client, 'scans', after[0]!.id))
  await s.stop()
})
