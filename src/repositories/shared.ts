import { eq, gte, isNull, or, sql, type SQL } from 'drizzle-orm'
import type { AnySQLiteColumn } from 'drizzle-orm/sqlite-core'
import type { Statement } from 'better-sqlite3'
import type { Db } from '../db/client.ts'
import { isUuid } from '../lib/uuid.ts'
import { InvalidQueryError } from '../lib/problem.ts'
import type { CursorKey } from '../lib/cursor.ts'
import type { Tombstone } from '../schemas/common.ts'

export interface Page<T> {
  total: number
  limit: number
  offset: number
  items: T[]
}

export interface TargetGroupLink {
  id: string
  slug: string
  labelDe: string
  labelEn: string
  originalWording: string
}

export interface EntityRef { id: string, slug: string, name: string }
export interface OrganisationRef extends EntityRef { kind: string }

// Matches a record by UUID or by slug, so people can type readable keys.
export function idOrSlugCondition (idColumn: AnySQLiteColumn, slugColumn: AnySQLiteColumn, value: string): SQL {
  return isUuid(value) ? or(eq(idColumn, value), eq(slugColumn, value))! : eq(slugColumn, value)
}

interface PreparedGet<R> { get: (values: { idOrSlug: string }) => R | undefined }

// The same match as idOrSlugCondition for lookups that run on every item request: the query is
// built and prepared once for each of its two shapes (a UUID may also be a slug; anything else can
// only be a slug), not per call.
export function idOrSlugLookup<R> (idColumn: AnySQLiteColumn, slugColumn: AnySQLiteColumn,
  build: (condition: SQL) => { prepare: () => PreparedGet<R> }): (value: string) => R | undefined {
  const value = sql.placeholder('idOrSlug')
  const byIdOrSlug = build(or(eq(idColumn, value), eq(slugColumn, value))!).prepare()
  const bySlug = build(eq(slugColumn, value)).prepare()
  return (idOrSlug) => (isUuid(idOrSlug) ? byIdOrSlug : bySlug).get({ idOrSlug })
}

export function groupBy<T, K> (rows: T[], key: (row: T) => K): Map<K, T[]> {
  const map = new Map<K, T[]>()
  for (const row of rows) {
    const k = key(row)
    const list = map.get(k)
    if (list === undefined) map.set(k, [row])
    else list.push(row)
  }
  return map
}

// Statements that lists run for every page, prepared once per connection. An id list is one
// JSON parameter (json_each), so the text does not change with the page size.
const statementCache = new WeakMap<Db['$client'], Map<string, Statement>>()

export function cachedStatement (db: Db, text: string): Statement {
  let statements = statementCache.get(db.$client)
  if (statements === undefined) statementCache.set(db.$client, statements = new Map())
  let statement = statements.get(text)
  if (statement === undefined) statements.set(text, statement = db.$client.prepare(text))
  return statement
}

const TARGET_GROUP_LINKS = {
  facility: 'facility_target_groups l WHERE l.facility_id',
  service: 'service_target_groups l WHERE l.service_id'
} as const

export function targetGroupLinksOf (db: Db, owner: 'facility' | 'service', ownerIds: string[]): Map<string, TargetGroupLink[]> {
  if (ownerIds.length === 0) return new Map()
  const [from, ownerColumn] = TARGET_GROUP_LINKS[owner].split(' WHERE ') as [string, string]
  const rows = cachedStatement(db, `SELECT ${ownerColumn} AS ownerId, tg.id, tg.slug, tg.label_de AS labelDe, tg.label_en AS labelEn,
    l.original_wording AS originalWording FROM ${from} JOIN target_groups tg ON tg.id = l.target_group_id
    WHERE ${ownerColumn} IN (SELECT value FROM json_each(?)) AND tg.deleted_at IS NULL ORDER BY tg.slug`)
    .all(JSON.stringify(ownerIds)) as (TargetGroupLink & { ownerId: string })[]
  const grouped = groupBy(rows, (r) => r.ownerId)
  return new Map([...grouped].map(([k, list]) => [k, list.map(({ ownerId, ...rest }) => rest)]))
}

export function organisationRefsOf (db: Db, ids: (string | null)[]): Map<string, OrganisationRef> {
  const wanted = [...new Set(ids.filter((id): id is string => id !== null))]
  if (wanted.length === 0) return new Map()
  const rows = cachedStatement(db, 'SELECT id, slug, name, kind FROM organisations WHERE id IN (SELECT value FROM json_each(?)) AND deleted_at IS NULL')
    .all(JSON.stringify(wanted)) as OrganisationRef[]
  return new Map(rows.map((r) => [r.id, r]))
}

export function facilityRefsOf (db: Db, ids: (string | null)[]): Map<string, EntityRef> {
  const wanted = [...new Set(ids.filter((id): id is string => id !== null))]
  if (wanted.length === 0) return new Map()
  const rows = cachedStatement(db, 'SELECT id, slug, name FROM facilities WHERE id IN (SELECT value FROM json_each(?)) AND deleted_at IS NULL')
    .all(JSON.stringify(wanted)) as EntityRef[]
  return new Map(rows.map((r) => [r.id, r]))
}

// --- Paging and sync, shared by every list ---------------------------------------------------

export function invalidParameter (field: string, message: string): InvalidQueryError {
  return new InvalidQueryError(field, message)
}

// ISO 8601 in, the stored form (UTC with milliseconds) out, so text comparison is time order.
export function timestampParameter (field: string, value: string): string {
  const time = Date.parse(value)
  if (Number.isNaN(time)) throw invalidParameter(field, 'must be an ISO 8601 date-time')
  return new Date(time).toISOString()
}

// Without updatedSince a list shows live records; with it, everything written since, deletes
// included (as tombstones), so a copy can follow.
export function syncCondition (table: { updatedAt: AnySQLiteColumn, deletedAt: AnySQLiteColumn }, updatedSince: string | undefined): SQL {
  return updatedSince === undefined
    ? isNull(table.deletedAt)
    : gte(table.updatedAt, timestampParameter('query.updatedSince', updatedSince))
}

// Rows after the cursor's key in the sort order (SQLite row values; id is the last key).
export function keysetCondition (keys: (AnySQLiteColumn | SQL)[], values: CursorKey, descending = false): SQL {
  return sql`(${sql.join(keys, sql`, `)}) ${sql.raw(descending ? '<' : '>')} (${sql.join(values.map((v) => sql`${v}`), sql`, `)})`
}

export function tombstoneOf (row: { id: string, deletedAt: string | null }): Tombstone | null {
  return row.deletedAt === null ? null : { id: row.id, deleted: true, deletedAt: row.deletedAt }
}

// What a page of a list is made of, short of its records: the ids in order (deleted ones
// marked), the total and the next cursor (which holds the sort keys of the last row: a rank or a
// distance that moved moves it). Equal keys and unchanged records make an equal page.
export function keyOfPage (total: number, rows: Array<{ id: string, deletedAt: string | null }>, nextCursor: string | null): string {
  return `${total}|${nextCursor ?? ''}|${rows.map((r) => r.deletedAt === null ? r.id : `-${r.id}`).join(',')}`
}

// What answers of other records show of the facilities those records point to (id, slug, name;
// live or deleted), for every facility that rows of `referencing` name: contacts and event
// participants show a facility's name and slug, and the contacts' facility filter matches its
// slug. The response cache asks for it again after writes to facilities (reply.cacheRecheck): an
// equal key means those answers show the same facilities, so a write to any other facility keeps
// them.
const FACILITY_REFERENCES = { contacts: 'contacts', event_participants: 'event_participants' } as const

export function facilityRefsKey (db: Db, referencing: keyof typeof FACILITY_REFERENCES): string {
  return cachedStatement(db, `SELECT coalesce(group_concat(id || char(31) || slug || char(31) || name || char(31) || coalesce(deleted_at, ''), char(30)), '')
    FROM (SELECT id, slug, name, deleted_at FROM facilities
      WHERE id IN (SELECT facility_id FROM ${FACILITY_REFERENCES[referencing]} WHERE facility_id IS NOT NULL) ORDER BY id)`).pluck().get() as string
}

// What still names a facility or an organisation, as phrases for a 409: contacts, the
// agreement's parties, events (participants; for an organisation also the site an event takes
// place at). These records show it; a delete would change them without a change of their own
// (no feed entry, no new updatedAt), and a party or event participant is a fact about the past
// that a delete must not erase. So deletes are refused while any is left. Contacts are given by
// id, never by name: internal ones among them, which a key that may delete the record may also
// write (directory:write, or the facility's own key for its contacts), so it can resolve them.
export function referencesTo (db: Db, kind: 'facility' | 'organisation', id: string): string[] {
  const column = kind === 'facility' ? 'facility_id' : 'organisation_id'
  const found: string[] = []
  const contacts = cachedStatement(db, `SELECT id FROM contacts WHERE ${column} = ? AND deleted_at IS NULL ORDER BY id`).pluck().all(id) as string[]
  if (contacts.length > 0) found.push(`the ${contacts.length === 1 ? 'contact' : 'contacts'} ${contacts.join(', ')}`)
  const parties = cachedStatement(db, `SELECT id, name FROM agreement_parties WHERE ${column} = ? AND deleted_at IS NULL ORDER BY id`).all(id) as { id: string, name: string }[]
  if (parties.length > 0) found.push(`the agreement ${parties.length === 1 ? 'party' : 'parties'} ${parties.map((p) => `'${p.name}' (${p.id})`).join(', ')}`)
  const events = cachedStatement(db, `SELECT slug FROM events e WHERE e.deleted_at IS NULL AND (
      EXISTS (SELECT 1 FROM event_participants p WHERE p.event_id = e.id AND p.${column} = ?)
      ${kind === 'organisation' ? 'OR e.organisation_site_id IN (SELECT s.id FROM organisation_sites s WHERE s.organisation_id = ?)' : 'OR ? IS NULL'})
    ORDER BY slug`).pluck().all(id, id) as string[]
  if (events.length > 0) found.push(`the ${events.length === 1 ? 'event' : 'events'} ${events.join(', ')}`)
  return found
}

export const listed = (phrases: string[]): string =>
  phrases.length <= 1 ? phrases.join('') : `${phrases.slice(0, -1).join(', ')} and ${phrases.at(-1)!}`
