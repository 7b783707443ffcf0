/**
 * ProjectService: create/update/inspect/list/delete project (pachctl's project verbs).
 * Projects are namespaces for repos and pipelines; every `.pach` starts with `default`, which
 * is refused to `delete` without --force. Each verb runs in one SQLite transaction; deleting a
 * project also drops its stored pipeline defaults (a project of that name created later starts
 * without them).
 */
import {AlreadyExistsError, ConflictError, NotFoundError} from '../errors.js'
import type {CoreContext} from '../context.js'
import {withTx} from '../db/open.js'
import * as rows from '../db/pfs-rows.js'
import {DEFAULT_PROJECT, repoLabel, type ProjectInfo} from '../types.js'
import {noHooks, type PfsHooks} from './hooks.js'
import {validateName} from './paths.js'
import {metadataField} from './resolve.js'

export class ProjectService {
  constructor(
    readonly ctx: CoreContext,
    private readonly hooks: () => PfsHooks = () => noHooks,
  ) {}

  private info(p: rows.ProjectRow): ProjectInfo {
    return {project: {name: p.name}, description: p.description, created_at: p.created, ...metadataField(p.metadata, 'project')}
  }

  create(name: string, description = ''): ProjectInfo {
    validateName('project', name)
    return withTx(this.ctx.db, () => {
      if (rows.getProject(this.ctx.db, name)) throw new AlreadyExistsError('PROJECT_EXISTS', `project ${name} already exists`)
      const row = {name, description, created: this.ctx.now()}
      rows.insertProject(this.ctx.db, row)
      return this.info(row)
    })
  }

  update(name: string, description: string): ProjectInfo {
    return withTx(this.ctx.db, () => {
      const p = this.get(name)
      rows.setProjectDescription(this.ctx.db, name, description)
      return this.info({...p, description})
    })
  }

  private get(name: string): rows.ProjectRow {
    const p = rows.getProject(this.ctx.db, name)
    if (!p) throw new NotFoundError('PROJECT_NOT_FOUND', `project ${name} not found`, {hint: 'list projects with `pach list project`', data: {project: name}})
    return p
  }

  /** Whether the project exists. */
  exists(name: string): boolean {
    return rows.getProject(this.ctx.db, name) !== undefined
  }

  inspect(name: string): ProjectInfo {
    return this.info(this.get(name))
  }

  list(): ProjectInfo[] {
    return rows.listProjects(this.ctx.db).map((p) => this.info(p))
  }

  delete(name: string, force: boolean): ProjectInfo {
    return withTx(this.ctx.db, () => {
      const p = this.get(name)
      const repos = rows.listRepos(this.ctx.db, name)
      if (repos.length > 0 && !force) {
        throw new ConflictError('PROJECT_NOT_EMPTY', `project ${name} still contains ${repos.length} repo(s)`, {
          hint: 'delete them first, or pass --force',
          data: {project: name, repos: repos.map((r) => repoLabel(r))},
        })
      }
      if (name === DEFAULT_PROJECT && !force) throw new ConflictError('DEFAULT_PROJECT', 'the default project cannot be deleted')
      for (const r of repos) rows.deleteRepoRow(this.ctx.db, r.id)
      rows.deleteProjectRow(this.ctx.db, name)
      this.hooks().onProjectDeleted(name)
      return this.info(p)
    })
  }
}
