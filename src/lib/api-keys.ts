import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { isUuid } from './uuid.ts'

// Keys look like `mpd_<prefix>_<secret>`: the prefix finds the stored record, the secret is
// compared by hash in constant time. Secrets are 256 random bits, so a plain SHA-256 suffices.

const KEY_PATTERN = /^mpd_([A-Za-z0-9]{10})_([A-Za-z0-9_-]{43})$/

export interface GeneratedKey {
  key: string
  prefix: string
  secretHash: string
}

export function generateKey (): GeneratedKey {
  const prefix = randomBytes(8).toString('base64url').replace(/[-_]/g, '').padEnd(10, '0').slice(0, 10)
  const secret = randomBytes(32).toString('base64url')
  return { key: `mpd_${prefix}_${secret}`, prefix, secretHash: hashSecret(secret) }
}

export function hashSecret (secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}

export function parseKey (key: string): { prefix: string, secret: string } | null {
  const match = KEY_PATTERN.exec(key)
  return match === null ? null : { prefix: match[1]!, secret: match[2]! }
}

export function secretMatches (secret: string, storedHash: string): boolean {
  const given = Buffer.from(hashSecret(secret), 'hex')
  const stored = Buffer.from(storedHash, 'hex')
  return given.length === stored.length && timingSafeEqual(given, stored)
}

// directory:write (everything), facility:<uuid>:write (one facility's record, services and
// contacts), contacts:read-internal, admin (keys and the agreement).
export const GLOBAL_SCOPES = ['directory:write', 'contacts:read-internal', 'admin'] as const

export function isValidScope (scope: string): boolean {
  if ((GLOBAL_SCOPES as readonly string[]).includes(scope)) return true
  const match = /^facility:(.+):write$/.exec(scope)
  return match !== null && isUuid(match[1]!)
}

export interface Principal {
  keyId: string
  name: string
  scopes: string[]
}

export const canWriteDirectory = (p: Principal) => p.scopes.includes('directory:write')
export const canWriteFacility = (p: Principal, facilityId: string) =>
  canWriteDirectory(p) || p.scopes.includes(`facility:${facilityId}:write`)
// A directory-wide key, or one facility's: who may try to write services, contacts or facilities
// (which facility's records it may write, the routes check against the record).
export const canWriteSomeFacility = (p: Principal) => canWriteDirectory(p) || p.scopes.some((scope) => /^facility:.+:write$/.test(scope))
export const canReadInternalContacts = (p: Principal | null) => p !== null && p.scopes.includes('contacts:read-internal')
export const isAdmin = (p: Principal) => p.scopes.includes('admin')
// The agreement, its parties and its events are the district's record of the cooperation: admin
// and directory:write keys change them, a single facility's key never does. Organisations and
// the vocabularies are shared by every facility: directory:write only.
export const canWriteAgreement = (p: Principal) => isAdmin(p) || canWriteDirectory(p)
