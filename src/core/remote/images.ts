/**
 * Pipeline images on their way to a cluster (promote.md §2.2–2.4).
 *
 * Concept: a cluster's kubelet pulls `transform.image` from a registry; an image that exists
 * only in the laptop's engine is invisible to it, and one built for another CPU architecture
 * fails on its nodes. So before a pipeline is promoted its image is resolved to a registry
 * digest, by a pure plan (planImage) over what the engine knows (an ImagePublisher's
 * `inspect`), then applied (`push`, only for images that exist only locally):
 * - the reference already names a digest (`name@sha256:…`): sent as written;
 * - the engine has it with a registry digest in the image's own repository (pulled, or pushed
 *   before): pinned to that digest, `repo@sha256:…`;
 * - the engine has it and no registry does (built or tagged locally): it goes to the registry
 *   its name names, else to `--registry`; tagged `<registry>/<path>:pach-<first 12 hex of the
 *   image id>` (deterministic: pushing the same image again is a no-op), pushed, and pinned
 *   `<registry>/<path>@sha256:<digest of the push>`. Refused first (IMAGE_NOT_PUBLISHABLE) when
 *   no registry is named, or when the image's platform is not the cluster's (`linux/<arch>`);
 * - the engine lacks it, or no engine answers (pach also runs pipelines without Docker): sent
 *   as written (the cluster pulls it from wherever it names).
 * Architecture is checked only for images that exist only locally: a registry image may be a
 * multi-platform index whose local copy is the laptop's platform.
 *
 * The ImagePublisher is implemented outside the core (src/runner/image-publish.ts, Docker).
 */
import {InvalidArgumentError} from '../errors.js'

/** What the engine knows of a local image (dockerode `image.inspect`). */
export interface LocalImage {
  /** `sha256:<64 hex>` */
  id: string
  /** `repo@sha256:…` for each registry the image was pulled from or pushed to */
  repoDigests: string[]
  /** `amd64`, `arm64`, … */
  architecture: string
  /** `linux`, … */
  os: string
}

/** The effects a promotion needs from an image engine and its registries. */
export interface ImagePublisher {
  /**
   * Whether an image engine answers: undefined when one does, else why not (one line). With
   * no engine there is no local-only image: every image is sent as written (a notice says so).
   */
  unavailable(): Promise<string | undefined>
  /** The local image `ref` names, or undefined when the engine does not have it. */
  inspect(ref: string): Promise<LocalImage | undefined>
  /**
   * Whether the user can push to `registry` (a host[:port]): undefined when so, else one line
   * saying why not and what to do (not answering, no credentials for a registry that needs them).
   */
  checkPush(registry: string): Promise<string | undefined>
  /**
   * Tag local image `source` as `target` (`registry/path:tag`) and push it; resolves to the
   * digest the registry holds it under (`sha256:…`).
   * @throws PachError IMAGE_PUSH_FAILED with one line saying what to do
   */
  push(source: string, target: string): Promise<string>
}

/** An image reference split as Docker reads it. */
export interface ImageRef {
  /** the registry host[:port] the name names, or undefined (Docker Hub) */
  registry?: string
  /** the repository path without the registry: `team/tool`, `busybox` */
  path: string
  tag?: string
  digest?: string
}

/** Split `[registry/]path[:tag][@digest]` (the registry part is a host when it has a `.` or `:` or is `localhost`). */
export function parseImageRef(ref: string): ImageRef {
  let rest = ref
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
  }
  let tag: string | undefined
  const lastSlash = rest.lastIndexOf('/')
  const colon = rest.lastIndexOf(':')
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
  }
  const slash = rest.indexOf('/')
  const first = slash < 0 ? '' : rest.slice(0, slash)
  const isHost = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost')
  const hub = ['docker.io', 'index.docker.io', 'registry-1.docker.io'].includes(first)
  const registry = isHost && !hub ? first : undefined
  let path = isHost ? rest.slice(slash + 1) : rest
  if (hub && path.startsWith('library/')) path = path.slice('library/'.length)
  return {...(registry !== undefined && {registry}), path, ...(tag !== undefined && {tag}), ...(digest !== undefined && {digest})}
}

/** `registry/path` (or `path` on Docker Hub): the repository a digest belongs to. */
export function repositoryOf(r: ImageRef): string {
  return r.registry ? `${r.registry}/${r.path}` : r.path
}

/** What happens to one image. */
export type ImagePlan =
  /** sent as `pinned` (already a digest, or the registry digest the engine knows) */
  | {kind: 'pinned'; image: string; pinned: string}
  /** exists only locally: tag `source` as `target`, push, then pin `repository@digest` */
  | {kind: 'push'; image: string; registry: string; host: string; target: string; repository: string; id: string}
  /** not in the local engine: sent as written */
  | {kind: 'absent'; image: string}

export interface ImagePlanOptions {
  /** `--registry`: where images whose name names no registry go (`host[:port]`, optionally with a path prefix: `ghcr.io/team`) */
  registry?: string
  /** the cluster's CPU architecture (default amd64) */
  clusterArch: string
  /** the pipeline, for messages */
  pipeline: string
}

/**
 * Decide what to do with `image` given what the engine knows of it (`local`, undefined when
 * absent). Pure.
 *
 * @throws InvalidArgumentError IMAGE_NOT_PUBLISHABLE: a local-only image whose name names no
 *   registry and no --registry; a local-only image built for another platform than linux/<clusterArch>
 * @example
 *   planImage('pachtest/tool:dev', {id: 'sha256:0123456789ab…', repoDigests: [], architecture: 'amd64', os: 'linux'}, {registry: '127.0.0.1:5000', clusterArch: 'amd64', pipeline: 'edges'})
 *   // → {kind: 'push', target: '127.0.0.1:5000/pachtest/tool:pach-0123456789ab', repository: '127.0.0.1:5000/pachtest/tool', …}
 */
export function planImage(image: string, local: LocalImage | undefined, opts: ImagePlanOptions): ImagePlan {
  const ref = parseImageRef(image)
  if (ref.digest) return {kind: 'pinned', image, pinned: image}
  if (!local) return {kind: 'absent', image}
  const repo = repositoryOf(ref)
  for (const rd of local.repoDigests) {
    const at = rd.indexOf('@')
    if (at < 0) continue
    if (repositoryOf(parseImageRef(rd.slice(0, at))) === repo) return {kind: 'pinned', image, pinned: `${repo}@${rd.slice(at + 1)}`}
  }
  const who = `pipeline "${opts.pipeline}": image ${image}`
  if (local.os !== 'linux' || local.architecture !== opts.clusterArch) {
    throw new InvalidArgumentError('IMAGE_NOT_PUBLISHABLE', `${who} is built for ${local.os}/${local.architecture}, but the cluster runs linux/${opts.clusterArch}`, {
      hint: `rebuild it with \`docker buildx build --platform linux/${opts.clusterArch} -t ${image} .\``,
      data: {pipeline: opts.pipeline, image, architecture: local.architecture, os: local.os, clusterArch: opts.clusterArch},
    })
  }
  const registry = ref.registry ?? opts.registry
  if (!registry) {
    throw new InvalidArgumentError('IMAGE_NOT_PUBLISHABLE', `${who} exists only on this machine and its name names no registry the cluster could pull it from`, {
      hint: `pass --registry HOST[:PORT] (e.g. --registry ghcr.io/you), or tag it with a registry in its name and update the pipeline`,
      data: {pipeline: opts.pipeline, image},
    })
  }
  const hex = local.id.replace(/^sha256:/, '').slice(0, 12)
  const repository = `${registry}/${ref.path}`
  return {kind: 'push', image, registry, host: registry.split('/')[0]!, target: `${repository}:pach-${hex}`, repository, id: local.id}
}
