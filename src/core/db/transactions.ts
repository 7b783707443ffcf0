/**
 * Transaction rows (`transactions` table): one row per started pachctl transaction, holding
 * its queued requests as a JSON array (`TransactionRequest[]`, applied in order by
 * `finish transaction`). Which one is active is a key in the `meta` table (pfs-rows.ts
 * getMeta/setMeta), so every shell in the project sees it.
 */
import {st} from './statements.js'
import type {DB} from './types.js'

export interface TxRow {
  id: string
  started: string
  /** JSON array of TransactionRequest */
  requests: string
}

export const getTransaction = (db: DB, id: string) => st(db, 'SELECT * FROM transactions WHERE id = ?').get(id) as TxRow | undefined
export const listTransactions = (db: DB) => st(db, 'SELECT * FROM transactions ORDER BY started').all() as TxRow[]
export const insertTransaction = (db: DB, t: TxRow) => st(db, 'INSERT INTO transactions(id, started, requests) VALUES (@id, @started, @requests)').run(t)
export const setTransactionRequests = (db: DB, id: string, requests: string) => st(db, 'UPDATE transactions SET requests = ? WHERE id = ?').run(requests, id)
export const deleteTransaction = (db: DB, id: string) => st(db, 'DELETE FROM transactions WHERE id = ?').run(id)
