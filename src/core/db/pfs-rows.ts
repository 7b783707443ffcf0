/**
 * PFS rows in one namespace: the row modules of the PFS tables (Pachyderm's pfsdb), so a
 * service writes `rows.getCommit(db, …)` whatever table it touches. Each module is plain
 * synchronous functions that take the handle first, never await, and return plain row
 * objects; callers group them in `withTx` when several must apply together. The SQL of the
 * PFS services lives in these modules and nowhere else.
 */
export * from './projects.js'
export * from './repos.js'
export * from './commits.js'
export * from './branches.js'
export * from './meta.js'
export * from './metadata.js'
