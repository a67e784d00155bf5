import { and, eq } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { idempotencyKeys } from '../db/schema.ts'

// The first answer to a create with an Idempotency-Key, replayed for retries.
export interface StoredResponse {
  status: number
  headers: Record<string, string>
  body: string
}

export interface IdempotencyStore {
  find: (actor: string, key: string) => (StoredResponse & { requestHash: string, method: string, path: string }) | undefined
  save: (actor: string, key: string, method: string, path: string, requestHash: string, response: StoredResponse) => void
  atomically: <T>(fn: () => T) => T
}

export function createIdempotencyRepository (db: Db): IdempotencyStore {
  return {
    find (actor: string, key: string) {
      const row = db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.actor, actor), eq(idempotencyKeys.key, key))).get()
      return row === undefined
        ? undefined
        : { status: row.status, headers: row.headers, body: row.body, requestHash: row.requestHash, method: row.method, path: row.path }
    },
    save (actor: string, key: string, method: string, path: string, requestHash: string, response: StoredResponse) {
      db.insert(idempotencyKeys).values({
        key, actor, method, path, requestHash, status: response.status, headers: response.headers, body: response.body, createdAt: new Date().toISOString()
      }).run()
    },
    atomically<T> (fn: () => T): T {
      return db.$client.transaction(fn).immediate()
    }
  }
}
