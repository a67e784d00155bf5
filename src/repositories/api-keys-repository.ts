import { eq, sql } from 'drizzle-orm'
import { classifySqliteError } from '../lib/sqlite-errors.ts'
import type { Db } from '../db/client.ts'
import { apiKeys } from '../db/schema.ts'
import { generateKey, parseKey, secretMatches, type Principal } from '../lib/api-keys.ts'
import { newId } from '../lib/uuid.ts'

export interface ApiKeyInfo {
  id: string
  name: string
  prefix: string
  scopes: string[]
  createdAt: string
  revokedAt: string | null
  lastUsedAt: string | null
}

export type Authentication = { ok: true, principal: Principal } | { ok: false, reason: 'malformed' | 'unknown' | 'revoked' }

const LAST_USED_RESOLUTION_MS = 60_000

export function createApiKeysRepository (db: Db) {
  const lastUsedWritten = new Map<string, number>()
  const columns = {
    id: apiKeys.id,
    name: apiKeys.name,
    prefix: apiKeys.prefix,
    scopes: apiKeys.scopes,
    createdAt: apiKeys.createdAt,
    revokedAt: apiKeys.revokedAt,
    lastUsedAt: apiKeys.lastUsedAt
  }
  // Every request with a key looks it up: built and prepared once, not per request.
  const byPrefix = db.select().from(apiKeys).where(eq(apiKeys.prefix, sql.placeholder('prefix'))).prepare()
  return {
    create (name: string, scopes: string[], now = new Date().toISOString()): { key: string, info: ApiKeyInfo } {
      const generated = generateKey()
      const info: ApiKeyInfo = { id: newId(), name, prefix: generated.prefix, scopes, createdAt: now, revokedAt: null, lastUsedAt: null }
      db.insert(apiKeys).values({ ...info, secretHash: generated.secretHash }).run()
      return { key: generated.key, info }
    },

    list (): ApiKeyInfo[] {
      return db.select(columns).from(apiKeys).orderBy(apiKeys.createdAt, apiKeys.id).all()
    },

    revoke (idOrPrefix: string, now = new Date().toISOString()): ApiKeyInfo | undefined {
      const row = db.select(columns).from(apiKeys).where(eq(apiKeys.id, idOrPrefix)).get() ??
        db.select(columns).from(apiKeys).where(eq(apiKeys.prefix, idOrPrefix)).get()
      if (row === undefined) return undefined
      if (row.revokedAt === null) db.update(apiKeys).set({ revokedAt: now }).where(eq(apiKeys.id, row.id)).run()
      return { ...row, revokedAt: row.revokedAt ?? now }
    },

    authenticate (key: string): Authentication {
      const parsed = parseKey(key)
      if (parsed === null) return { ok: false, reason: 'malformed' }
      const row = byPrefix.get({ prefix: parsed.prefix })
      if (row === undefined || !secretMatches(parsed.secret, row.secretHash)) return { ok: false, reason: 'unknown' }
      if (row.revokedAt !== null) return { ok: false, reason: 'revoked' }
      // Recording every use would turn each read into a write; a minute's resolution is enough.
      const now = Date.now()
      if ((lastUsedWritten.get(row.id) ?? 0) + LAST_USED_RESOLUTION_MS < now) {
        lastUsedWritten.set(row.id, now)
        try {
          db.update(apiKeys).set({ lastUsedAt: new Date(now).toISOString() }).where(eq(apiKeys.id, row.id)).run()
        } catch (error) {
          // The usage stamp is best effort: a full or read-only disk must not turn a read with a
          // key into a 503.
          if (classifySqliteError(error) === undefined) throw error
        }
      }
      return { ok: true, principal: { keyId: row.id, name: row.name, scopes: row.scopes } }
    }
  }
}

export type ApiKeysRepository = ReturnType<typeof createApiKeysRepository>
