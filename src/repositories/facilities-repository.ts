import type { Statement } from 'better-sqlite3'
import { and, eq, isNull, type SQL } from 'drizzle-orm'
import { dataGeneration, type Db } from '../db/client.ts'
import { facilities, facilityTargetGroups, facilityTypes, type SourceRef } from '../db/schema.ts'
import { decodeCursor, encodeCursor, type CursorKey } from '../lib/cursor.ts'
import { isOpenAt, validateOpeningHours } from '../lib/opening-hours.ts'
import { newId } from '../lib/uuid.ts'
import { InvalidRecordError, StillInUseError, type FieldError } from '../lib/problem.ts'
import { createServicesRepository, writableOf as serviceInputOf, type ServicesRepository } from './services-repository.ts'
import { reindexFacilities } from './search-index.ts'
import { diff, type WriteContext, type Writer } from './writer.ts'
import { explainMatch, matchExpression, queryTokens } from '../lib/search-text.ts'
import type { Facility, FacilityInput, FacilityListQuery } from '../schemas/facilities.ts'
import type { Tombstone } from '../schemas/common.ts'
import {
  cachedStatement, groupBy, idOrSlugLookup, invalidParameter, keyOfPage, listed, organisationRefsOf, referencesTo, targetGroupLinksOf, timestampParameter
} from './shared.ts'

type FacilityRow = typeof facilities.$inferSelect
export type FacilitySort = NonNullable<FacilityListQuery['sort']>

export type FacilityListEntry = Facility | Tombstone

export interface FacilityPage {
  total: number
  limit: number
  offset: number
  sort: FacilitySort
  items: FacilityListEntry[]
  nextCursor: string | null
  // Which rows, in which order, with the total (see pageKey): equal keys and unchanged records
  // make an equal page.
  key: string
}

export type FacilityListOptions = Omit<FacilityListQuery, 'include' | 'fields' | 'format'> & { now?: Date }

interface SortSpec {
  keys: string[]
  descending: boolean
}

const SORTS: Record<FacilitySort, SortSpec> = {
  name: { keys: ['f.name COLLATE NOCASE', 'f.id'], descending: false },
  '-name': { keys: ['f.name COLLATE NOCASE', 'f.id'], descending: true },
  updatedAt: { keys: ['f.updated_at', 'f.id'], descending: false },
  '-updatedAt': { keys: ['f.updated_at', 'f.id'], descending: true },
  distance: { keys: ['distance', 'f.id'], descending: false },
  relevance: { keys: ['hits.rank', 'f.id'], descending: false }
}

// Column weights for bm25: name and alternate names count most.
const RANK = 'bm25(facility_search, 0, 10, 6, 2, 3, 3, 2, 1)'

const COLUMNS = `f.id, f.slug, f.name, f.alternate_names AS alternateNames, f.operator_id AS operatorId,
  f.operator_note AS operatorNote, f.street, f.postcode, f.city, f.ortsteil, f.bezirksregion, f.address_note AS addressNote,
  f.lat, f.lon, f.phone, f.fax, f.email, f.website, f.opening_hours_note AS openingHoursNote, f.opening_hours AS openingHours,
  f.description, f.partnership_status AS partnershipStatus, f.partnership_evidence AS partnershipEvidence, f.status,
  f.notes, f.verified_at AS verifiedAt, f.verified_by AS verifiedBy, f.sources, f.created_at AS createdAt,
  f.updated_at AS updatedAt, f.deleted_at AS deletedAt`

// What pageKey needs: the key of the page and of its next cursor, and for openAt the hours.
const KEY_COLUMNS = 'f.id, f.name, f.updated_at AS updatedAt, f.deleted_at AS deletedAt, f.opening_hours AS openingHours'

type RawRow = Omit<FacilityRow, 'alternateNames' | 'notes' | 'sources'> & {
  alternateNames: string
  notes: string
  sources: string
  rank?: number
  distance?: number
}

interface Plan {
  // Columns computed for the query (rank, distance), after the row's own.
  select: string
  selectParams: unknown[]
  from: string
  fromParams: unknown[]
  where: string[]
  params: unknown[]
  sort: FacilitySort
  tokens: string[]
  openAt: Date | null
}

const parseCoordinates = (text: string): number[] => text.split(',').map(Number)

// Facilities built per data generation (see toFacilities): enough for the pages of the answers
// between two writes, bounded for directories of 100,000.
const BUILT_KEPT = 5000

// A map of values derived from the data, emptied whenever the data changes (dataGeneration:
// every write, and writes of other processes, start a new generation, as for the response
// cache). Inside a transaction (a write reading its own changes) there is none: a rollback does
// not start a new generation, so what the write saw must not outlive it.
function keptPerGeneration<V> (sqlite: Db['$client']): () => Map<string, V> | null {
  const kept = new Map<string, V>()
  let keptGeneration = -1
  return () => {
    if (sqlite.inTransaction) return null
    const generation = dataGeneration(sqlite)
    if (generation !== keptGeneration) {
      kept.clear()
      keptGeneration = generation
    }
    return kept
  }
}

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const member of Object.values(value)) deepFreeze(member)
  }
  return value
}

function defaultSort (query: FacilityListOptions): FacilitySort {
  if (query.q !== undefined && queryTokens(query.q).length > 0) return 'relevance'
  if (query.near !== undefined) return 'distance'
  if (query.updatedSince !== undefined) return 'updatedAt'
  return 'name'
}

// What clients write: the facility minus what the directory derives (ids, counts, labels).
export function writableOf (f: Facility): FacilityInput {
  return {
    slug: f.slug,
    name: f.name,
    alternateNames: f.alternateNames,
    types: f.types,
    operator: f.operator?.slug ?? null,
    operatorNote: f.operatorNote,
    address: f.address,
    geo: f.geo,
    phone: f.phone,
    fax: f.fax,
    email: f.email,
    website: f.website,
    openingHours: f.openingHours,
    description: f.description,
    partnership: f.partnership,
    status: f.status,
    notes: f.notes,
    targetGroups: f.targetGroups.map((g) => ({ targetGroup: g.slug, originalWording: g.originalWording })),
    sources: f.sources
  }
}

export interface FacilitiesRepositoryOptions {
  // How many built records are kept per data generation (see toFacilities).
  builtKept?: number
  // The services, whose records a facility's delete writes to their history.
  services?: Pick<ServicesRepository, 'listForFacilities'>
}

export function createFacilitiesRepository (db: Db, writer: Writer, options: FacilitiesRepositoryOptions = {}) {
  const builtKept = options.builtKept ?? BUILT_KEPT
  const serviceRecords = options.services ?? createServicesRepository(db, writer)
  const sqlite = db.$client
  // Filter combinations repeat, so their statements are prepared once and kept.
  const statements = new Map<string, Statement>()
  const prepare = (text: string): Statement => {
    let statement = statements.get(text)
    if (statement === undefined) {
      statement = sqlite.prepare(text)
      if (statements.size < 500) statements.set(text, statement)
    }
    return statement
  }

  function plan (query: FacilityListOptions): Plan {
    const where: string[] = []
    const params: unknown[] = []
    const selectParams: unknown[] = []
    const fromParams: unknown[] = []
    let from = 'facilities f'
    let select = ''
    const tokens = query.q === undefined ? [] : queryTokens(query.q)
    const sort = query.sort ?? defaultSort(query)

    if (tokens.length > 0) {
      from += ` JOIN (SELECT facility_id, ${RANK} AS rank FROM facility_search WHERE facility_search MATCH ?) hits ON hits.facility_id = f.id`
      fromParams.push(matchExpression(tokens))
      select += ', hits.rank AS rank'
    } else if (sort === 'relevance') {
      throw invalidParameter('query.sort', 'relevance needs a search text q')
    }

    if (query.near !== undefined) {
      const [lat, lon] = parseCoordinates(query.near) as [number, number]
      if (Math.abs(lat) > 90 || Math.abs(lon) > 180) throw invalidParameter('query.near', 'must be lat,lon within -90..90 and -180..180')
      select += ', distance_m(f.lat, f.lon, ?, ?) AS distance'
      selectParams.push(lat, lon)
      where.push('f.lat IS NOT NULL AND f.lon IS NOT NULL')
      if (query.radius !== undefined) {
        // A box around the circle lets the (lat, lon) index prune before the exact distance.
        const dLat = query.radius / 111_000
        const dLon = query.radius / (111_000 * Math.max(Math.cos(lat * Math.PI / 180), 0.01))
        where.push('f.lat BETWEEN ? AND ? AND f.lon BETWEEN ? AND ?', 'distance_m(f.lat, f.lon, ?, ?) <= ?')
        params.push(lat - dLat, lat + dLat, lon - dLon, lon + dLon, lat, lon, query.radius)
      }
    } else if (sort === 'distance') {
      throw invalidParameter('query.sort', 'distance needs near=lat,lon')
    } else if (query.radius !== undefined) {
      throw invalidParameter('query.radius', 'needs near=lat,lon')
    }

    if (query.bbox !== undefined) {
      const [minLon, minLat, maxLon, maxLat] = parseCoordinates(query.bbox) as [number, number, number, number]
      if (minLon > maxLon || minLat > maxLat || Math.abs(minLat) > 90 || Math.abs(maxLat) > 90 || Math.abs(minLon) > 180 || Math.abs(maxLon) > 180) {
        throw invalidParameter('query.bbox', 'must be minLon,minLat,maxLon,maxLat with min <= max')
      }
      where.push('f.lat BETWEEN ? AND ? AND f.lon BETWEEN ? AND ?')
      params.push(minLat, maxLat, minLon, maxLon)
    }

    if (query.updatedSince !== undefined) {
      where.push('f.updated_at >= ?')
      params.push(timestampParameter('query.updatedSince', query.updatedSince))
    } else {
      where.push('f.deleted_at IS NULL')
    }

    const list = (values: string[] | undefined, clause: string) => {
      if (values === undefined || values.length === 0) return
      where.push(clause)
      params.push(JSON.stringify(values))
    }
    if (query.match === 'all' && !(query.type?.length || query.targetGroup?.length || query.category?.length)) {
      throw invalidParameter('query.match', 'all needs type, targetGroup or category to apply to')
    }
    // Taxonomy filters: any of the values (the default; `any` is the clause as the indexes serve
    // it best), or with match=all every one of them (`has`: the facility has the value v.value).
    const taxonomy = (values: string[] | undefined, any: string, has: string) =>
      list(values, query.match === 'all' ? `NOT EXISTS (SELECT 1 FROM json_each(?) v WHERE NOT ${has})` : any)
    taxonomy(query.type, 'EXISTS (SELECT 1 FROM facility_types ft WHERE ft.facility_id = f.id AND ft.type IN (SELECT value FROM json_each(?)))',
      'EXISTS (SELECT 1 FROM facility_types ft WHERE ft.facility_id = f.id AND ft.type = v.value)')
    list(query.ortsteil, 'f.ortsteil COLLATE NOCASE IN (SELECT value FROM json_each(?))')
    list(query.bezirksregion, 'f.bezirksregion COLLATE NOCASE IN (SELECT value FROM json_each(?))')
    list(query.partnershipStatus, 'f.partnership_status IN (SELECT value FROM json_each(?))')
    list(query.operator, 'f.operator_id IN (SELECT o.id FROM organisations o, json_each(?) v WHERE (o.id = v.value OR o.slug = v.value) AND o.deleted_at IS NULL)')
    // Services first (CROSS JOIN fixes the order): the facility's few services by its index,
    // then their categories. With `c.slug = ?` SQLite would start from the category and visit
    // every service of it for every facility (80 s at 20,000 facilities).
    const offers = (category: string) => `EXISTS (SELECT 1 FROM services s CROSS JOIN categories c ON c.id = s.category_id
      WHERE s.facility_id = f.id AND s.deleted_at IS NULL AND ${category})`
    taxonomy(query.category, offers('c.slug IN (SELECT value FROM json_each(?))'), offers('c.slug = v.value'))
    // A facility serves a target group when it names it itself or one of its services does.
    const serves = (group: string) => `(EXISTS (SELECT 1 FROM facility_target_groups l WHERE l.facility_id = f.id AND l.target_group_id = ${group}) OR
        EXISTS (SELECT 1 FROM service_target_groups l JOIN services s ON s.id = l.service_id
          WHERE s.facility_id = f.id AND s.deleted_at IS NULL AND l.target_group_id = ${group}))`
    taxonomy(query.targetGroup, `EXISTS (SELECT 1 FROM target_groups tg, json_each(?) v WHERE tg.slug = v.value AND ${serves('tg.id')})`,
      `EXISTS (SELECT 1 FROM target_groups tg WHERE tg.slug = v.value AND ${serves('tg.id')})`)

    let openAt: Date | null = null
    if (query.openAt !== undefined) openAt = new Date(timestampParameter('query.openAt', query.openAt))
    if (query.openNow === true) {
      if (openAt !== null) throw invalidParameter('query.openNow', 'cannot be combined with openAt')
      openAt = query.now ?? new Date()
    }
    if (openAt !== null) where.push('f.opening_hours IS NOT NULL')

    return { select, selectParams, from, fromParams, where, params, sort, tokens, openAt }
  }

  function keyOf (row: RawRow, sort: FacilitySort): CursorKey {
    switch (sort) {
      case 'name': case '-name': return [row.name, row.id]
      case 'updatedAt': case '-updatedAt': return [row.updatedAt, row.id]
      case 'distance': return [row.distance ?? null, row.id]
      case 'relevance': return [row.rank ?? null, row.id]
    }
  }

  // Full rows, or (keysOnly) what identifies and orders them: id, sort keys, deletion, hours.
  function select (p: Plan, cursor: CursorKey | null, limit: number | null, offset: number, keysOnly = false): RawRow[] {
    const spec = SORTS[p.sort]
    const where = [...p.where]
    const params = [...p.selectParams, ...p.fromParams, ...p.params]
    if (cursor !== null) {
      where.push(`(${spec.keys.join(', ')}) ${spec.descending ? '<' : '>'} (${spec.keys.map(() => '?').join(', ')})`)
      params.push(...cursor)
    }
    const direction = spec.descending ? 'DESC' : 'ASC'
    let text = `SELECT ${keysOnly ? KEY_COLUMNS : COLUMNS}${p.select} FROM ${p.from} WHERE ${where.join(' AND ')} ORDER BY ${spec.keys.map((k) => `${k} ${direction}`).join(', ')}`
    if (limit !== null) {
      text += ' LIMIT ? OFFSET ?'
      params.push(limit, offset)
    }
    let rows = prepare(text).all(...params) as RawRow[]
    if (p.openAt !== null) {
      const at = p.openAt
      rows = rows.filter((row) => row.openingHours !== null && isOpenAt(row.openingHours, at))
    }
    return rows
  }

  // Totals are the costly part of a large filtered list (every match is visited), and a client
  // paging through a result asks for the same total again: totals are kept per query until the
  // data changes.
  const totals = new Map<string, { generation: number, n: number }>()

  function count (p: Plan): number {
    if (p.openAt !== null) return select(p, null, null, 0).length
    // Only a search and the live filter: the search index holds exactly the live facilities,
    // so the matches can be counted in the index alone.
    const searchOnly = p.tokens.length > 0 && p.where.length === 1 && p.where[0] === 'f.deleted_at IS NULL'
    const text = searchOnly
      ? 'SELECT count(*) FROM facility_search WHERE facility_search MATCH ?'
      : `SELECT count(*) FROM ${p.from} WHERE ${p.where.join(' AND ')}`
    const params = searchOnly ? p.fromParams : [...p.fromParams, ...p.params]
    const key = `${text}\u0000${JSON.stringify(params)}`
    const now = dataGeneration(sqlite)
    const known = totals.get(key)
    if (known !== undefined && known.generation === now) return known.n
    const n = prepare(text).pluck().get(...params) as number
    if (totals.size >= 1000) totals.delete(totals.keys().next().value!)
    totals.set(key, { generation: now, n })
    return n
  }

  function toRow (raw: RawRow): FacilityRow {
    return {
      ...raw,
      alternateNames: JSON.parse(raw.alternateNames) as string[],
      notes: JSON.parse(raw.notes) as string[],
      sources: JSON.parse(raw.sources) as SourceRef[]
    }
  }

  // Records built from the current data, by id: after a write every answer is built again, and
  // the same facilities appear in most of them (by id, lists, searches, exports), so each is built
  // once per data generation. Kept frozen, so a caller that changed one would fail loudly;
  // callers get a shallow copy to add their own members (match, distance, embeds).
  const builtRecords = keptPerGeneration<Readonly<Facility>>(sqlite)

  function toFacilities (rows: FacilityRow[]): Facility[] {
    const built = builtRecords()
    if (built === null) return buildFacilities(rows)
    // A kept record whose row has changed since is built again: another process's write is
    // noticed up to 250 ms late (dataGeneration), and an answer's records must agree with its
    // rows (the cursor and updatedSince come from the rows).
    const found = new Map<string, Readonly<Facility>>()
    const missing: FacilityRow[] = []
    for (const row of rows) {
      const kept = built.get(row.id)
      if (kept !== undefined && kept.updatedAt === row.updatedAt) found.set(row.id, kept)
      else missing.push(row)
    }
    if (missing.length > 0) {
      if (built.size + missing.length > builtKept) built.clear()
      for (const facility of buildFacilities(missing)) {
        const frozen = deepFreeze(facility)
        found.set(facility.id, frozen)
        if (built.size < builtKept) built.set(facility.id, frozen)
      }
    }
    return rows.map((r) => ({ ...found.get(r.id)! }))
  }

  function buildFacilities (rows: FacilityRow[]): Facility[] {
    const ids = rows.map((r) => r.id)
    if (ids.length === 0) return []
    const json = JSON.stringify(ids)
    const typesById = groupBy(
      cachedStatement(db, 'SELECT facility_id AS facilityId, type FROM facility_types WHERE facility_id IN (SELECT value FROM json_each(?)) ORDER BY type')
        .all(json) as { facilityId: string, type: string }[],
      (r) => r.facilityId)
    const serviceStats = groupBy(
      cachedStatement(db, `SELECT s.facility_id AS facilityId, c.slug AS category, count(*) AS n FROM services s JOIN categories c ON c.id = s.category_id
        WHERE s.facility_id IN (SELECT value FROM json_each(?)) AND s.deleted_at IS NULL GROUP BY s.facility_id, c.slug ORDER BY c.slug`)
        .all(json) as { facilityId: string, category: string, n: number }[],
      (r) => r.facilityId)
    const groups = targetGroupLinksOf(db, 'facility', ids)
    const operators = organisationRefsOf(db, rows.map((r) => r.operatorId))
    return rows.map((row) => {
      const stats = serviceStats.get(row.id) ?? []
      return {
        id: row.id,
        slug: row.slug,
        name: row.name,
        alternateNames: row.alternateNames,
        types: (typesById.get(row.id) ?? []).map((t) => t.type) as Facility['types'],
        operator: row.operatorId === null ? null : operators.get(row.operatorId) ?? null,
        operatorNote: row.operatorNote,
        address: {
          street: row.street,
          postcode: row.postcode,
          city: row.city,
          ortsteil: row.ortsteil,
          bezirksregion: row.bezirksregion,
          note: row.addressNote
        },
        geo: row.lat === null || row.lon === null ? null : { lat: row.lat, lon: row.lon },
        phone: row.phone,
        fax: row.fax,
        email: row.email,
        website: row.website,
        openingHours: { osm: row.openingHours, note: row.openingHoursNote },
        description: row.description,
        partnership: { status: row.partnershipStatus as Facility['partnership']['status'], evidence: row.partnershipEvidence },
        status: row.status as Facility['status'],
        notes: row.notes,
        targetGroups: groups.get(row.id) ?? [],
        categories: stats.map((s) => s.category),
        serviceCount: stats.reduce((sum, s) => sum + s.n, 0),
        verifiedAt: row.verifiedAt,
        verifiedBy: row.verifiedBy,
        sources: row.sources,
        createdAt: row.createdAt,
        updatedAt: row.updatedAt
      }
    })
  }

  // Full records for live rows, tombstones for deleted ones, search and distance details added.
  function toEntries (rows: RawRow[], p: Plan): FacilityListEntry[] {
    const live = rows.filter((r) => r.deletedAt === null)
    const full = new Map(toFacilities(live.map(toRow)).map((f) => [f.id, f]))
    return rows.map((raw): FacilityListEntry => {
      if (raw.deletedAt !== null) return { id: raw.id, deleted: true, deletedAt: raw.deletedAt }
      const facility = full.get(raw.id)!
      if (raw.distance !== undefined) facility.distance = Math.round(raw.distance * 10) / 10
      if (p.tokens.length > 0) {
        facility.match = explainMatch(p.tokens, [
          { field: 'name', text: facility.name },
          ...facility.alternateNames.map((text) => ({ field: 'alternateNames', text })),
          { field: 'description', text: facility.description },
          { field: 'targetGroups', text: facility.targetGroups.map((g) => `${g.labelDe} ${g.labelEn} ${g.originalWording}`).join(' · ') },
          { field: 'categories', text: facility.categories.join(' ') },
          { field: 'services', text: searchableServiceText(facility.id) }
        ])
      }
      return facility
    })
  }

  const live = (condition: SQL) => and(condition, isNull(facilities.deletedAt))
  const liveRow = idOrSlugLookup(facilities.id, facilities.slug, (condition) => db.select().from(facilities).where(live(condition)))
  const liveId = idOrSlugLookup(facilities.id, facilities.slug, (condition) => db.select({ id: facilities.id }).from(facilities).where(live(condition)))
  const anyId = idOrSlugLookup(facilities.id, facilities.slug, (condition) => db.select({ id: facilities.id }).from(facilities).where(condition))

  function findLive (value: string): Facility | undefined {
    const row = liveRow(value)
    return row === undefined ? undefined : toFacilities([row])[0]
  }

  const operatorByIdOrSlug = sqlite.prepare('SELECT id FROM organisations WHERE (id = ? OR slug = ?) AND deleted_at IS NULL').pluck()
  const targetGroupBySlug = sqlite.prepare('SELECT id FROM target_groups WHERE slug = ? AND deleted_at IS NULL').pluck()
  const slugOwner = sqlite.prepare('SELECT id FROM facilities WHERE slug = ?').pluck()
  const liveServiceIds = sqlite.prepare('SELECT id FROM services WHERE facility_id = ? AND deleted_at IS NULL').pluck()
  const deleteServicesOf = sqlite.prepare('UPDATE services SET deleted_at = ?, updated_at = ? WHERE facility_id = ? AND deleted_at IS NULL')

  // References and rules a schema cannot express; violations are 422 field errors.
  function resolveReferences (input: FacilityInput, selfId: string | null): { operatorId: string | null, targetGroupIds: string[] } {
    const errors: FieldError[] = []
    const owner = slugOwner.get(input.slug) as string | undefined
    if (owner !== undefined && owner !== selfId) errors.push({ field: 'body.slug', message: `is already used by facility ${owner}` })
    let operatorId: string | null = null
    if (input.operator !== null) {
      operatorId = (operatorByIdOrSlug.get(input.operator, input.operator) as string | undefined) ?? null
      if (operatorId === null) errors.push({ field: 'body.operator', message: `no organisation '${input.operator}'` })
    }
    const targetGroupIds = input.targetGroups.map((link, i) => {
      const id = targetGroupBySlug.get(link.targetGroup) as string | undefined
      if (id === undefined) errors.push({ field: `body.targetGroups.${i}.targetGroup`, message: `no target group '${link.targetGroup}'` })
      return id ?? ''
    })
    if (new Set(targetGroupIds).size !== targetGroupIds.length) errors.push({ field: 'body.targetGroups', message: 'names a target group twice' })
    if (input.openingHours.osm !== null) {
      const hours = validateOpeningHours(input.openingHours.osm)
      if (!hours.ok) errors.push({ field: 'body.openingHours.osm', message: hours.message })
    }
    if (errors.length > 0) throw new InvalidRecordError(errors)
    return { operatorId, targetGroupIds }
  }

  function columnsOf (input: FacilityInput, operatorId: string | null) {
    return {
      slug: input.slug,
      name: input.name,
      alternateNames: input.alternateNames,
      operatorId,
      operatorNote: input.operatorNote,
      street: input.address.street,
      postcode: input.address.postcode,
      city: input.address.city,
      ortsteil: input.address.ortsteil,
      bezirksregion: input.address.bezirksregion,
      addressNote: input.address.note,
      lat: input.geo?.lat ?? null,
      lon: input.geo?.lon ?? null,
      phone: input.phone,
      fax: input.fax,
      email: input.email,
      website: input.website,
      openingHours: input.openingHours.osm,
      openingHoursNote: input.openingHours.note,
      description: input.description,
      partnershipStatus: input.partnership.status,
      partnershipEvidence: input.partnership.evidence,
      status: input.status,
      notes: input.notes,
      sources: input.sources
    }
  }

  function writeLinks (facilityId: string, input: FacilityInput, targetGroupIds: string[]): void {
    db.delete(facilityTypes).where(eq(facilityTypes.facilityId, facilityId)).run()
    db.insert(facilityTypes).values(input.types.map((type) => ({ facilityId, type }))).run()
    db.delete(facilityTargetGroups).where(eq(facilityTargetGroups.facilityId, facilityId)).run()
    if (input.targetGroups.length > 0) {
      db.insert(facilityTargetGroups).values(input.targetGroups.map((link, i) => ({
        facilityId, targetGroupId: targetGroupIds[i]!, originalWording: link.originalWording
      }))).run()
    }
  }

  const serviceNames = sqlite.prepare("SELECT group_concat(name || coalesce(' – ' || description, ''), ' · ') FROM services WHERE facility_id = ? AND deleted_at IS NULL").pluck()
  // Per facility and data generation, like the records.
  const keptServiceTexts = keptPerGeneration<string | null>(sqlite)
  const searchableServiceText = (facilityId: string): string | null => {
    const texts = keptServiceTexts()
    let text = texts?.get(facilityId)
    if (text === undefined) {
      text = serviceNames.get(facilityId) as string | null
      if (texts !== null) {
        if (texts.size >= builtKept) texts.clear()
        texts.set(facilityId, text)
      }
    }
    return text
  }

  function pageRows (query: FacilityListOptions, keysOnly = false): { p: Plan, total: number, rows: RawRow[], nextCursor: string | null } {
    const p = plan(query)
    const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor, p.sort, SORTS[p.sort].keys.length)
    const total = count(p)
    let rows: RawRow[]
    if (p.openAt === null) {
      rows = select(p, cursor, query.limit + 1, query.offset, keysOnly)
    } else {
      rows = select(p, cursor, null, 0, keysOnly).slice(query.offset, query.offset + query.limit + 1)
    }
    const hasNext = rows.length > query.limit
    if (hasNext) rows = rows.slice(0, query.limit)
    const last = rows.at(-1)
    return { p, total, rows, nextCursor: hasNext && last !== undefined ? encodeCursor(p.sort, keyOf(last, p.sort)) : null }
  }

  return {
    list (query: FacilityListOptions): FacilityPage {
      const { p, total, rows, nextCursor } = pageRows(query)
      return {
        total,
        limit: query.limit,
        offset: query.offset,
        sort: p.sort,
        items: toEntries(rows, p),
        nextCursor,
        key: keyOfPage(total, rows, nextCursor)
      }
    },

    // The key of the page list() would answer now, without building its records: the response
    // cache compares it with the key of a kept page after writes to facilities not on that page
    // (one of them may have come in).
    pageKey (query: FacilityListOptions): string {
      const { total, rows, nextCursor } = pageRows(query, true)
      return keyOfPage(total, rows, nextCursor)
    },

    // Every matching record, in pages, for streaming full copies (format=ndjson).
    * iterate (query: FacilityListOptions, batchSize = 500): Generator<FacilityListEntry[]> {
      const p = plan(query)
      let cursor: CursorKey | null = null
      for (;;) {
        const rows = select(p, cursor, p.openAt === null ? batchSize : null, 0)
        const batch = p.openAt === null ? rows : rows.slice(0, batchSize)
        if (batch.length === 0) return
        yield toEntries(batch, p)
        if (batch.length < batchSize) return
        cursor = keyOf(batch.at(-1)!, p.sort)
      }
    },

    create (input: FacilityInput, actor: string): Facility {
      return writer.write(actor, (context) => {
        const id = newId()
        const references = resolveReferences(input, null)
        db.insert(facilities).values({ id, ...columnsOf(input, references.operatorId), createdAt: context.now, updatedAt: context.now }).run()
        writeLinks(id, input, references.targetGroupIds)
        writer.recordHistory(context, 'facility', id, 'create', diff(null, input as unknown as Record<string, unknown>))
        reindexFacilities(db, [id])
        return findLive(id)!
      })
    },

    // Runs `change` on the current record inside the write transaction, so preconditions
    // (scope, If-Match) are checked against exactly what is replaced.
    update (idOrSlug: string, actor: string, change: (current: Facility) => FacilityInput): Facility | undefined {
      return writer.write(actor, (context) => {
        const current = findLive(idOrSlug)
        if (current === undefined) return undefined
        const input = change(current)
        const before = writableOf(current)
        const changes = diff(before as unknown as Record<string, unknown>, input as unknown as Record<string, unknown>)
        if (Object.keys(changes).length === 0) return current
        const references = resolveReferences(input, current.id)
        db.update(facilities).set({ ...columnsOf(input, references.operatorId), updatedAt: context.now }).where(eq(facilities.id, current.id)).run()
        writeLinks(current.id, input, references.targetGroupIds)
        writer.recordHistory(context, 'facility', current.id, 'update', changes)
        // Its services show its slug and name: each gets a change of its own (feed entry).
        if ('slug' in changes || 'name' in changes) writer.touchServices(context, liveServiceIds.all(current.id) as string[])
        reindexFacilities(db, [current.id])
        return findLive(current.id)!
      })
    },

    // Its services go with it (tombstones in updatedSince, deletes in the feed). Refused while
    // contacts, the agreement's parties or events name it (referencesTo).
    softDelete (idOrSlug: string, actor: string, check: (current: Facility) => void): Facility | undefined {
      return writer.write(actor, (context) => {
        const current = findLive(idOrSlug)
        if (current === undefined) return undefined
        check(current)
        const references = referencesTo(db, 'facility', current.id)
        if (references.length > 0) {
          throw new StillInUseError(`The facility '${current.slug}' is still named by ${listed(references)}; deleting it would change them unseen. Delete them or point them elsewhere first, or keep the facility with status closed.`)
        }
        // Its services go with it, each with a delete of its own in the feed and its history
        // (read while they and the facility are live).
        const services = serviceRecords.listForFacilities([current.id]).get(current.id) ?? []
        db.update(facilities).set({ deletedAt: context.now, updatedAt: context.now }).where(eq(facilities.id, current.id)).run()
        deleteServicesOf.run(context.now, context.now, current.id)
        for (const service of services) {
          writer.recordHistory(context, 'service', service.id, 'delete', diff(serviceInputOf(service) as unknown as Record<string, unknown>, null))
        }
        writer.recordHistory(context, 'facility', current.id, 'delete', diff(writableOf(current) as unknown as Record<string, unknown>, null))
        reindexFacilities(db, [current.id])
        return current
      })
    },

    // A person confirmed the record; this is not an edit, so updatedAt stays as it is.
    verify (idOrSlug: string, actor: string, verifiedBy: string, check: (current: Facility) => void): Facility | undefined {
      return writer.write(actor, (context: WriteContext) => {
        const current = findLive(idOrSlug)
        if (current === undefined) return undefined
        check(current)
        db.update(facilities).set({ verifiedAt: context.now, verifiedBy }).where(eq(facilities.id, current.id)).run()
        writer.recordHistory(context, 'facility', current.id, 'verify', {
          verifiedAt: { old: current.verifiedAt, new: context.now },
          verifiedBy: { old: current.verifiedBy, new: verifiedBy }
        })
        return findLive(current.id)!
      })
    },

    // Id of a facility by id or slug, deleted ones included (their history stays readable).
    resolveAnyId (value: string): string | undefined {
      return anyId(value)?.id
    },

    find: findLive,

    // The id of a live facility, for routes that list its dependants.
    resolveId (value: string): string | undefined {
      return liveId(value)?.id
    }
  }
}

export type FacilitiesRepository = ReturnType<typeof createFacilitiesRepository>
