import type Database from 'better-sqlite3'

// Helpers of test/crash.test.ts: a seeded PRNG and the invariants a database file must satisfy
// after the server process was killed, read straight from the file.

// mulberry32: a small seeded PRNG, so a failing run can be replayed with CRASH_SEED.
export function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

// The change feed's entity types and their tables (migrations/0002).
export const ENTITY_TABLES: Record<string, string> = {
  facility: 'facilities',
  service: 'services',
  organisation: 'organisations',
  organisation_unit: 'organisation_units',
  organisation_site: 'organisation_sites',
  contact: 'contacts',
  category: 'categories',
  target_group: 'target_groups',
  agreement: 'agreements',
  agreement_party: 'agreement_parties',
  event: 'events'
}

export const DELETED = 'deleted'

// The kinds of record the crash test writes (named by their entity type) and their collections.
export type Kind = 'service' | 'facility' | 'target_group' | 'organisation' | 'contact' | 'event'

export const KIND_PATHS: Record<Kind, string> = {
  service: '/v1/services',
  facility: '/v1/facilities',
  target_group: '/v1/target-groups',
  organisation: '/v1/organisations',
  contact: '/v1/contacts',
  event: '/v1/events'
}

// The fields the crash test writes of each kind (flat, as in the API but openingHours.note and
// location.name as openingHoursNote and locationName), and the same read from the table.
const STATE_FIELDS: Record<Kind, string[]> = {
  service: ['description', 'scheduleNote', 'feeNote', 'status'],
  facility: ['description', 'phone', 'openingHoursNote'],
  target_group: ['labelDe', 'description'],
  organisation: ['description', 'phone'],
  contact: ['role', 'phone', 'email'],
  event: ['title', 'description', 'locationName']
}
const STATE_SQL: Record<Kind, string> = {
  service: 'SELECT description, schedule_note AS scheduleNote, fee_note AS feeNote, status, deleted_at AS deletedAt FROM services WHERE id = ?',
  facility: 'SELECT description, phone, opening_hours_note AS openingHoursNote, deleted_at AS deletedAt FROM facilities WHERE id = ?',
  target_group: 'SELECT label_de AS labelDe, description, deleted_at AS deletedAt FROM target_groups WHERE id = ?',
  organisation: 'SELECT description, phone, deleted_at AS deletedAt FROM organisations WHERE id = ?',
  contact: 'SELECT role, phone, email, deleted_at AS deletedAt FROM contacts WHERE id = ?',
  event: 'SELECT title, description, location_name AS locationName, deleted_at AS deletedAt FROM events WHERE id = ?'
}

// The fields the crash test writes, as one comparable string (or DELETED).
export const recordState = (kind: Kind, fields: Record<string, unknown>): string =>
  JSON.stringify(STATE_FIELDS[kind].map((name) => fields[name] ?? null))

// The state of a record as the API serves it (an item, or a line of format=ndjson).
export function servedState (kind: Kind, item: Record<string, any>): string {
  if (item.deleted === true) return DELETED
  return recordState(kind, { ...item, openingHoursNote: item.openingHours?.note, locationName: item.location?.name })
}

export function storedState (db: Database.Database, kind: Kind, id: string): string | undefined {
  const row = db.prepare(STATE_SQL[kind]).get(id) as Record<string, unknown> & { deletedAt: string | null } | undefined
  if (row === undefined) return undefined
  return row.deletedAt === null ? recordState(kind, row) : DELETED
}

// Ids of the records a create in flight at the kill may have left: services and contacts by
// their (unique) name, the others by slug.
export function idsCreatedAs (db: Database.Database, kind: Kind, name: string): string[] {
  const column = kind === 'service' || kind === 'contact' ? 'name' : 'slug'
  return db.prepare(`SELECT id FROM ${ENTITY_TABLES[kind]} WHERE ${column} = ?`).pluck().all(name) as string[]
}

// What the writes through the API left of one record: its history entries (the number and the
// last action) and the action of its last change in the feed. A write commits all three with
// the record or none of them.
export interface Trail {
  history: number
  lastHistory: string | undefined
  lastChange: string | undefined
}

export function writeTrail (db: Database.Database, kind: Kind, id: string): Trail {
  const history = db.prepare('SELECT count(*) AS count, (SELECT action FROM history WHERE entity_type = @kind AND entity_id = @id ORDER BY seq DESC LIMIT 1) AS last FROM history WHERE entity_type = @kind AND entity_id = @id')
    .get({ kind, id }) as { count: number, last: string | null }
  const lastChange = db.prepare('SELECT action FROM changes WHERE entity_type = ? AND entity_id = ? ORDER BY seq DESC LIMIT 1').pluck().get(kind, id) as string | undefined
  return { history: history.count, lastHistory: history.last ?? undefined, lastChange }
}

export interface FeedFacts {
  count: number
  lastSeq: number
}

// Everything that must hold in the file whatever moment the writer died at; each violation as a
// readable line (empty: all good).
// - SQLite: integrity_check is ok, foreign_key_check finds nothing.
// - Change feed: seq runs 1, 2, …, n without a gap, and sqlite_sequence agrees.
// - Every change names an existing record (deletes are soft), every record has a change, and a
//   record's last change is a delete exactly when it is deleted.
// - The writer: every write through the API (changes with an actor) has its history entry and
//   vice versa, entity by entity and in the same order (a verify is an update in the feed); no
//   actor is left in write_context.
// - Idempotency-Key: every stored response names an existing record created through the API,
//   and (in this workload, where every POST carries a key) every create has a stored response.
// - Search index (written in the same transaction): exactly the live facilities and the live
//   services of live facilities are indexed, with their current name and description.
export function invariantViolations (db: Database.Database): { problems: string[], feed: FeedFacts } {
  const problems: string[] = []
  const sample = (rows: unknown[]) => JSON.stringify(rows.slice(0, 5)) + (rows.length > 5 ? ` … (${rows.length})` : '')

  const integrity = db.pragma('integrity_check', { simple: true })
  if (integrity !== 'ok') problems.push(`integrity_check: ${String(integrity)}`)
  const foreignKeys = db.pragma('foreign_key_check') as unknown[]
  if (foreignKeys.length > 0) problems.push(`foreign_key_check: ${sample(foreignKeys)}`)

  const feed = db.prepare('SELECT count(*) AS count, coalesce(min(seq), 0) AS firstSeq, coalesce(max(seq), 0) AS lastSeq FROM changes').get() as FeedFacts & { firstSeq: number }
  if (feed.count > 0 && (feed.firstSeq !== 1 || feed.lastSeq !== feed.count)) {
    const gaps = db.prepare('SELECT seq FROM changes c WHERE seq > 1 AND NOT EXISTS (SELECT 1 FROM changes p WHERE p.seq = c.seq - 1)').pluck().all()
    problems.push(`change feed: ${feed.count} rows from seq ${feed.firstSeq} to ${feed.lastSeq}; a gap before ${sample(gaps)}`)
  }
  const sequence = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").pluck().get() as number | undefined
  if ((sequence ?? 0) !== feed.lastSeq) problems.push(`sqlite_sequence of changes is ${sequence}, max(seq) is ${feed.lastSeq}`)

  const unknownTypes = db.prepare('SELECT DISTINCT entity_type FROM changes WHERE entity_type NOT IN (SELECT value FROM json_each(?))').pluck()
    .all(JSON.stringify(Object.keys(ENTITY_TABLES)))
  if (unknownTypes.length > 0) problems.push(`changes of unknown entity types ${sample(unknownTypes)}`)
  for (const [type, table] of Object.entries(ENTITY_TABLES)) {
    const dangling = db.prepare(`SELECT seq, entity_id AS id, action FROM changes c WHERE entity_type = ? AND NOT EXISTS (SELECT 1 FROM ${table} r WHERE r.id = c.entity_id)`).all(type)
    if (dangling.length > 0) problems.push(`changes of ${type} records that do not exist: ${sample(dangling)}`)
    const rows = db.prepare(`SELECT id, deleted_at AS deletedAt, (SELECT action FROM changes c WHERE c.entity_type = ? AND c.entity_id = r.id ORDER BY seq DESC LIMIT 1) AS lastAction FROM ${table} r`)
      .all(type) as Array<{ id: string, deletedAt: string | null, lastAction: string | null }>
    const unfed = rows.filter((r) => r.lastAction === null)
    if (unfed.length > 0) problems.push(`${type} records without a change: ${sample(unfed.map((r) => r.id))}`)
    const contradicting = rows.filter((r) => r.lastAction !== null && (r.deletedAt !== null) !== (r.lastAction === 'delete'))
    if (contradicting.length > 0) problems.push(`${type} records whose last change contradicts deleted_at: ${sample(contradicting)}`)
  }

  const group = (rows: Array<{ type: string, id: string, action: string, actor: string }>) => {
    const byEntity = new Map<string, string[]>()
    for (const r of rows) {
      const key = `${r.type}/${r.id}`
      byEntity.set(key, [...(byEntity.get(key) ?? []), `${r.action === 'verify' ? 'update' : r.action} by ${r.actor}`])
    }
    return byEntity
  }
  const history = group(db.prepare('SELECT entity_type AS type, entity_id AS id, action, actor FROM history ORDER BY seq').all() as never)
  const written = group(db.prepare('SELECT entity_type AS type, entity_id AS id, action, actor FROM changes WHERE actor IS NOT NULL ORDER BY seq').all() as never)
  const mismatched = [...new Set([...history.keys(), ...written.keys()])]
    .filter((key) => JSON.stringify(history.get(key) ?? []) !== JSON.stringify(written.get(key) ?? []))
    .map((key) => ({ record: key, history: history.get(key) ?? [], changes: written.get(key) ?? [] }))
  if (mismatched.length > 0) problems.push(`history and change feed disagree: ${sample(mismatched)}`)
  const actors = db.prepare('SELECT count(*) FROM write_context').pluck().get() as number
  if (actors !== 0) problems.push(`write_context holds ${actors} row(s) outside a transaction`)

  const stored = db.prepare('SELECT key, path, body FROM idempotency_keys').all() as Array<{ key: string, path: string, body: string }>
  const createdByKey = new Set<string>()
  for (const row of stored) {
    const id = (JSON.parse(row.body) as { id?: string }).id
    const type = (Object.keys(KIND_PATHS) as Kind[]).find((kind) => KIND_PATHS[kind] === row.path)
    if (id === undefined || type === undefined) {
      problems.push(`stored response of ${row.key} for ${row.path} names no record of a kind the crash test writes`)
      continue
    }
    createdByKey.add(`${type}/${id}`)
    if (storedState(db, type, id) === undefined) problems.push(`stored response of ${row.key} names ${type} ${id}, which does not exist`)
  }
  const created = db.prepare("SELECT entity_type || '/' || entity_id FROM history WHERE action = 'create'").pluck().all() as string[]
  const createdWithoutResponse = created.filter((key) => !createdByKey.has(key))
  if (createdWithoutResponse.length > 0) problems.push(`created without a stored Idempotency-Key response: ${sample(createdWithoutResponse)}`)
  const responseWithoutCreate = [...createdByKey].filter((key) => !created.includes(key))
  if (responseWithoutCreate.length > 0) problems.push(`stored responses without a create in the history: ${sample(responseWithoutCreate)}`)

  const indexProblems = db.prepare(`
    SELECT 'facility' AS kind, f.id, 'not indexed' AS problem FROM facilities f WHERE f.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM facility_search s WHERE s.facility_id = f.id)
    UNION ALL SELECT 'facility', s.facility_id, 'indexed but deleted or missing' FROM facility_search s WHERE NOT EXISTS (SELECT 1 FROM facilities f WHERE f.id = s.facility_id AND f.deleted_at IS NULL)
    UNION ALL SELECT 'facility', s.facility_id, 'indexed more than once' FROM facility_search s GROUP BY s.facility_id HAVING count(*) > 1
    UNION ALL SELECT 'facility', f.id, 'indexed with stale text' FROM facility_search s JOIN facilities f ON f.id = s.facility_id WHERE s.name IS NOT f.name OR s.description IS NOT f.description
    UNION ALL SELECT 'service', v.id, 'not indexed' FROM services v JOIN facilities f ON f.id = v.facility_id WHERE v.deleted_at IS NULL AND f.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM service_search s WHERE s.service_id = v.id)
    UNION ALL SELECT 'service', s.service_id, 'indexed but deleted or missing' FROM service_search s WHERE NOT EXISTS (SELECT 1 FROM services v JOIN facilities f ON f.id = v.facility_id WHERE v.id = s.service_id AND v.deleted_at IS NULL AND f.deleted_at IS NULL)
    UNION ALL SELECT 'service', s.service_id, 'indexed more than once' FROM service_search s GROUP BY s.service_id HAVING count(*) > 1
    UNION ALL SELECT 'service', v.id, 'indexed with stale text' FROM service_search s JOIN services v ON v.id = s.service_id WHERE s.name IS NOT v.name OR s.description IS NOT v.description`).all()
  if (indexProblems.length > 0) problems.push(`search index out of step: ${sample(indexProblems)}`)

  return { problems, feed: { count: feed.count, lastSeq: feed.lastSeq } }
}
