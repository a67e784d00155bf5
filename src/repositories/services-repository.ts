import { and, asc, desc, eq, exists, gte, inArray, isNull, or, sql, type SQL } from 'drizzle-orm'
import type { AnySQLiteColumn, SQLiteSelect } from 'drizzle-orm/sqlite-core'
import type { Statement } from 'better-sqlite3'
import type { Db } from '../db/client.ts'
import { categories, facilities, services, serviceTargetGroups, targetGroups } from '../db/schema.ts'
import { decodeCursor, encodeCursor, type CursorKey } from '../lib/cursor.ts'
import { explainMatch, matchExpression, queryTokens } from '../lib/search-text.ts'
import { InvalidRecordError, type FieldError } from '../lib/problem.ts'
import { newId } from '../lib/uuid.ts'
import type { Tombstone } from '../schemas/common.ts'
import type { Service, ServiceInput, ServiceListQuery } from '../schemas/services.ts'
import { reindexFacilities } from './search-index.ts'
import { groupBy, invalidParameter, keyOfPage, keysetCondition, targetGroupLinksOf, timestampParameter, type EntityRef } from './shared.ts'
import { diff, type Writer } from './writer.ts'

export type ServiceSort = NonNullable<ServiceListQuery['sort']>

export type ServiceListEntry = Service | Tombstone

export type ServiceListOptions = Omit<ServiceListQuery, 'format'>

// What selects and orders the records, without paging (the whole result, e.g. for ndjson).
export type ServiceQuery = Omit<ServiceListOptions, 'limit' | 'offset' | 'cursor'>

export interface ServicePage {
  total: number
  limit: number
  offset: number
  sort: ServiceSort
  items: ServiceListEntry[]
  nextCursor: string | null
  // Which rows, in which order, with the total (see pageKey): equal keys and unchanged records
  // make an equal page.
  key: string
}

// A service is visible while it, its facility and its category are all live. The vocabulary counts
// use the same rule (on the same joins) so they agree with the totals of GET /v1/services.
export const liveServiceCondition = (): SQL => and(isNull(services.deletedAt), isNull(facilities.deletedAt), isNull(categories.deletedAt))!

// A service embeds the names and labels of its facility, category and target groups and is
// visible only while its facility and category are, so it changes whenever one of them does.
// A copy kept in sync with updatedSince therefore sees renames, deletions and restorations.
const changedAt = sql<string>`max(${services.updatedAt}, ${facilities.updatedAt}, ${categories.updatedAt}, coalesce((
  select max(${targetGroups.updatedAt}) from ${serviceTargetGroups}
  join ${targetGroups} on ${targetGroups.id} = ${serviceTargetGroups.targetGroupId}
  where ${serviceTargetGroups.serviceId} = ${services.id}), ''))`

// The service's own deletion, else that of the facility or category that took it down with it.
const deletedAt = sql<string | null>`coalesce(${services.deletedAt}, ${facilities.deletedAt}, ${categories.deletedAt})`

// Column weights for bm25 (service_id, name, description, category, target_groups, facility,
// variants): the service's own name counts most.
const RANK = sql.raw('bm25(service_search, 0, 10, 2, 3, 3, 4, 1)')
const rank = sql<number>`hits.rank`

interface SortSpec {
  keys: (AnySQLiteColumn | SQL)[]
  descending: boolean
}

const byName = [sql`${services.name} collate nocase`, services.id]
const byChange = [changedAt, services.id]

const SORTS: Record<ServiceSort, SortSpec> = {
  facility: { keys: [sql`${facilities.name} collate nocase`, categories.slug, sql`${services.name} collate nocase`, services.id], descending: false },
  name: { keys: byName, descending: false },
  '-name': { keys: byName, descending: true },
  updatedAt: { keys: byChange, descending: false },
  '-updatedAt': { keys: byChange, descending: true },
  relevance: { keys: [rank, services.id], descending: false }
}

interface Plan {
  where: SQL
  sort: ServiceSort
  tokens: string[]
}

function defaultSort (query: ServiceQuery, tokens: string[]): ServiceSort {
  if (tokens.length > 0) return 'relevance'
  if (query.updatedSince !== undefined) return 'updatedAt'
  return 'facility'
}

// What clients write: the service minus what the directory derives (id, labels, names).
export function writableOf (s: Service): ServiceInput {
  return {
    facility: s.facility.slug,
    name: s.name,
    description: s.description,
    category: s.category.slug,
    scheduleNote: s.scheduleNote,
    feeNote: s.feeNote,
    asOf: s.asOf,
    status: s.status,
    targetGroups: s.targetGroups.map((g) => ({ targetGroup: g.slug, originalWording: g.originalWording })),
    sources: s.sources
  }
}

// A span of years must run forwards (`2022/2023`); the pattern cannot say so.
export function asOfError (asOf: string | null): string | null {
  if (asOf === null || !asOf.includes('/')) return null
  const [from, to] = asOf.split('/').map(Number) as [number, number]
  return from < to ? null : 'must be a year or a span of years whose second year follows the first'
}

// Sources are stored with their members in schema order, as the seed stores them: the ETag and the
// history compare records as JSON, in which the same source in another member order would differ.
export const canonicalSources = (sources: ServiceInput['sources']): ServiceInput['sources'] =>
  sources.map(({ url, title, facts }) => ({ url, title, facts }))

// The input as it will be served: the facility by slug however the client named it, target
// groups in slug order. So history shows real changes only, and naming the same facility by id
// or listing the same target groups in another order is no change.
function normalised (input: ServiceInput, facility: EntityRef): ServiceInput {
  return {
    ...input,
    facility: facility.slug,
    targetGroups: [...input.targetGroups].sort((a, b) => (a.targetGroup < b.targetGroup ? -1 : 1)),
    sources: canonicalSources(input.sources)
  }
}

// Called with the facility a service belongs to (before and after a change) before any other
// rule is checked; it throws when the writer may not write that facility's services.
export type AuthoriseFacility = (facility: EntityRef) => void

export function createServicesRepository (db: Db, writer: Writer) {
  const fields = {
    id: services.id,
    name: services.name,
    description: services.description,
    scheduleNote: services.scheduleNote,
    feeNote: services.feeNote,
    asOf: services.asOf,
    status: services.status,
    sources: services.sources,
    createdAt: services.createdAt,
    changedAt,
    deletedAt,
    facilityId: facilities.id,
    facilitySlug: facilities.slug,
    facilityName: facilities.name,
    categoryId: categories.id,
    categorySlug: categories.slug,
    categoryLabelDe: categories.labelDe,
    categoryLabelEn: categories.labelEn
  }
  const selectServices = () => db.select(fields).from(services)
    .innerJoin(facilities, eq(facilities.id, services.facilityId))
    .innerJoin(categories, eq(categories.id, services.categoryId))
  type ServiceRow = ReturnType<ReturnType<typeof selectServices>['all']>[number]
  type RankedRow = ServiceRow & { rank: number | null }

  // With a search, only the hits, each with its bm25 rank (lower is better). The join selects
  // nothing by itself (`rank` is in the selection), so the rows keep the query's type.
  function withHits<Q extends SQLiteSelect> (query: Q, tokens: string[]): Q {
    if (tokens.length === 0) return query
    return query.innerJoin(
      sql`(select service_id, ${RANK} as rank from service_search where service_search match ${matchExpression(tokens)}) hits`,
      sql`hits.service_id = ${services.id}`) as unknown as Q
  }

  function filterCondition (filters: ServiceQuery): SQL[] {
    const conditions: SQL[] = []
    if (filters.facility?.length) {
      conditions.push(or(inArray(facilities.id, filters.facility), inArray(facilities.slug, filters.facility))!)
    }
    if (filters.category?.length) {
      conditions.push(inArray(categories.slug, filters.category))
    }
    // Where: the facility's named areas, compared as GET /v1/facilities compares them.
    if (filters.ortsteil?.length) {
      conditions.push(sql`${facilities.ortsteil} COLLATE NOCASE IN (SELECT value FROM json_each(${JSON.stringify(filters.ortsteil)}))`)
    }
    if (filters.bezirksregion?.length) {
      conditions.push(sql`${facilities.bezirksregion} COLLATE NOCASE IN (SELECT value FROM json_each(${JSON.stringify(filters.bezirksregion)}))`)
    }
    if (filters.targetGroup?.length) {
      const naming = (slugs: string[]) => exists(db.select({ one: sql`1` }).from(serviceTargetGroups)
        .innerJoin(targetGroups, eq(targetGroups.id, serviceTargetGroups.targetGroupId))
        .where(and(
          eq(serviceTargetGroups.serviceId, services.id),
          inArray(targetGroups.slug, slugs),
          isNull(targetGroups.deletedAt)
        )))
      // Any of them (the default), or with match=all every one.
      if (filters.match === 'all') conditions.push(...filters.targetGroup.map((slug) => naming([slug])))
      else conditions.push(naming(filters.targetGroup))
    }
    return conditions
  }

  function plan (query: ServiceQuery): Plan {
    const tokens = query.q === undefined ? [] : queryTokens(query.q)
    const sort = query.sort ?? defaultSort(query, tokens)
    if (sort === 'relevance' && tokens.length === 0) throw invalidParameter('query.sort', 'relevance needs a search text q')
    if (query.match === 'all') {
      if (!query.targetGroup?.length) throw invalidParameter('query.match', 'all needs targetGroup to apply to')
      if ((query.category?.length ?? 0) > 1) throw invalidParameter('query.match', 'all cannot apply to category: a service has one category')
    }
    const conditions = filterCondition(query)
    if (query.updatedSince !== undefined) {
      conditions.push(gte(changedAt, timestampParameter('query.updatedSince', query.updatedSince)))
    }
    // Deleted services leave the search index, so a search lists live services only, with or
    // without updatedSince.
    if (query.updatedSince === undefined || tokens.length > 0) conditions.push(liveServiceCondition())
    return { where: and(...conditions)!, sort, tokens }
  }

  // What orders and identifies a row: its cursor key (keyOf) and its deletion (keyOfPage).
  type KeyRow = Pick<RankedRow, 'id' | 'name' | 'changedAt' | 'deletedAt' | 'facilityName' | 'categorySlug' | 'rank'>
  const keyFields = { id: fields.id, name: fields.name, changedAt, deletedAt, facilityName: fields.facilityName, categorySlug: fields.categorySlug }

  function keyOf (row: KeyRow, sort: ServiceSort): CursorKey {
    switch (sort) {
      case 'facility': return [row.facilityName, row.categorySlug, row.name, row.id]
      case 'name': case '-name': return [row.name, row.id]
      case 'updatedAt': case '-updatedAt': return [row.changedAt, row.id]
      case 'relevance': return [row.rank, row.id]
    }
  }

  function selectQuery<F extends typeof keyFields> (p: Plan, cursor: CursorKey | null, limit: number, offset: number, columns: F) {
    const spec = SORTS[p.sort]
    const where = cursor === null ? p.where : and(p.where, keysetCondition(spec.keys, cursor, spec.descending))
    const query = db.select({ ...columns, rank: p.tokens.length > 0 ? rank : sql<null>`null` }).from(services)
      .innerJoin(facilities, eq(facilities.id, services.facilityId))
      .innerJoin(categories, eq(categories.id, services.categoryId))
      .$dynamic()
    return withHits(query, p.tokens)
      .where(where)
      .orderBy(...spec.keys.map((key) => spec.descending ? desc(key) : asc(key)))
      .limit(limit).offset(offset)
  }

  // Rows as plain objects straight from SQLite: drizzle's mapping of each value (decoders,
  // entity checks) cost more than the query itself for a list of a hundred services. The
  // statement is drizzle's SQL, prepared once per text; the columns come in the order of the
  // selection's keys (drizzle selects them in that order, `rank` last).
  const rawStatements = new Map<string, Statement>()
  function rawQuery<R> (query: { toSQL: () => { sql: string, params: unknown[] } }, columns: object): { all: () => R[] } {
    const { sql: text, params } = query.toSQL()
    let statement = rawStatements.get(text)
    if (statement === undefined) {
      statement = db.$client.prepare(text).raw(true)
      if (rawStatements.size >= 1000) rawStatements.delete(rawStatements.keys().next().value!)
      rawStatements.set(text, statement)
    }
    const prepared = statement
    const names = [...Object.keys(columns), 'rank']
    const sourcesAt = names.indexOf('sources')
    return {
      all: () => (prepared.all(...params) as unknown[][]).map((values) => {
        const row: Record<string, unknown> = {}
        for (let i = 0; i < names.length; i++) row[names[i]!] = values[i]
        if (sourcesAt >= 0) row.sources = JSON.parse(values[sourcesAt] as string)
        return row as R
      })
    }
  }

  function select (p: Plan, cursor: CursorKey | null, limit: number, offset: number): RankedRow[] {
    return rawQuery<RankedRow>(selectQuery(p, cursor, limit, offset, fields), fields).all()
  }

  function countQuery (p: Plan) {
    const query = db.select({ n: sql<number>`count(*)` }).from(services)
      .innerJoin(facilities, eq(facilities.id, services.facilityId))
      .innerJoin(categories, eq(categories.id, services.categoryId))
      .$dynamic()
    return withHits(query, p.tokens).where(p.where)
  }

  // A page's queries (its total, its rows, and the same rows' keys alone), built and prepared once
  // per query string: building them (drizzle) costs more than running them, and the response
  // cache asks a kept page's query again after writes (pageKey). Their SQL and parameters follow
  // from the query alone.
  const PAGE_QUERIES_KEPT = 500
  interface PreparedPage {
    p: Plan
    count: { get: () => { n: number } | undefined }
    select: { all: () => RankedRow[] }
    // The same rows with the columns of their keys alone.
    keys: { all: () => KeyRow[] }
  }
  const pageQueries = new Map<string, PreparedPage>()
  function preparedPage (query: ServiceListOptions): PreparedPage {
    const key = JSON.stringify(query)
    let prepared = pageQueries.get(key)
    if (prepared === undefined) {
      const p = plan(query)
      const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor, p.sort, SORTS[p.sort].keys.length)
      // One row more than the page tells whether there is a next page.
      prepared = {
        p,
        count: countQuery(p).prepare(),
        select: rawQuery<RankedRow>(selectQuery(p, cursor, query.limit + 1, query.offset, fields), fields),
        keys: rawQuery<KeyRow>(selectQuery(p, cursor, query.limit + 1, query.offset, keyFields), keyFields)
      }
      if (pageQueries.size >= PAGE_QUERIES_KEPT) pageQueries.delete(pageQueries.keys().next().value!)
      pageQueries.set(key, prepared)
    }
    return prepared
  }

  function toServices (rows: ServiceRow[]): Service[] {
    const groups = targetGroupLinksOf(db, 'service', rows.map((r) => r.id))
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      description: row.description,
      category: { id: row.categoryId, slug: row.categorySlug, labelDe: row.categoryLabelDe, labelEn: row.categoryLabelEn },
      facility: { id: row.facilityId, slug: row.facilitySlug, name: row.facilityName },
      scheduleNote: row.scheduleNote,
      feeNote: row.feeNote,
      asOf: row.asOf,
      status: row.status as Service['status'],
      targetGroups: groups.get(row.id) ?? [],
      sources: row.sources,
      createdAt: row.createdAt,
      updatedAt: row.changedAt
    }))
  }

  // Full records for live rows, tombstones for deleted ones, with why each search hit matched.
  function toEntries (rows: ServiceRow[], tokens: string[]): ServiceListEntry[] {
    const full = new Map(toServices(rows.filter((r) => r.deletedAt === null)).map((s) => [s.id, s]))
    return rows.map((row): ServiceListEntry => {
      if (row.deletedAt !== null) return { id: row.id, deleted: true, deletedAt: row.deletedAt }
      const service = full.get(row.id)!
      if (tokens.length > 0) {
        service.match = explainMatch(tokens, [
          { field: 'name', text: service.name },
          { field: 'description', text: service.description },
          { field: 'category', text: `${service.category.labelDe} · ${service.category.labelEn}` },
          { field: 'targetGroups', text: service.targetGroups.map((g) => `${g.labelDe} ${g.labelEn} ${g.originalWording}`).join(' · ') },
          { field: 'facility', text: service.facility.name }
        ])
      }
      return service
    })
  }

  function find (id: string): Service | undefined {
    const row = selectServices().where(and(eq(services.id, id), liveServiceCondition())).get()
    return row === undefined ? undefined : toServices([row])[0]
  }

  const sqlite = db.$client
  const facilityByIdOrSlug = sqlite.prepare('SELECT id, slug, name FROM facilities WHERE (id = ? OR slug = ?) AND deleted_at IS NULL')
  const categoryBySlug = sqlite.prepare('SELECT id FROM categories WHERE slug = ? AND deleted_at IS NULL').pluck()
  const targetGroupBySlug = sqlite.prepare('SELECT id FROM target_groups WHERE slug = ? AND deleted_at IS NULL').pluck()

  // References and rules a schema cannot express; violations are 422 field errors. The scope
  // is checked first, so a key that may not write the facility gets 403 whatever else is wrong.
  function resolveReferences (input: ServiceInput, authorise: AuthoriseFacility): { facility: EntityRef, categoryId: string, targetGroupIds: Map<string, string> } {
    const facility = facilityByIdOrSlug.get(input.facility, input.facility) as EntityRef | undefined
    if (facility !== undefined) authorise(facility)
    const errors: FieldError[] = []
    if (facility === undefined) errors.push({ field: 'body.facility', message: `no facility '${input.facility}'` })
    const categoryId = categoryBySlug.get(input.category) as string | undefined
    if (categoryId === undefined) errors.push({ field: 'body.category', message: `no category '${input.category}'` })
    const asOf = asOfError(input.asOf)
    if (asOf !== null) errors.push({ field: 'body.asOf', message: asOf })
    const targetGroupIds = new Map<string, string>()
    input.targetGroups.forEach((link, i) => {
      const id = targetGroupBySlug.get(link.targetGroup) as string | undefined
      if (id === undefined) errors.push({ field: `body.targetGroups.${i}.targetGroup`, message: `no target group '${link.targetGroup}'` })
      else targetGroupIds.set(link.targetGroup, id)
    })
    if (new Set(input.targetGroups.map((link) => link.targetGroup)).size !== input.targetGroups.length) {
      errors.push({ field: 'body.targetGroups', message: 'names a target group twice' })
    }
    if (errors.length > 0) throw new InvalidRecordError(errors)
    return { facility: facility!, categoryId: categoryId!, targetGroupIds }
  }

  function columnsOf (input: ServiceInput, facilityId: string, categoryId: string) {
    return {
      facilityId,
      name: input.name,
      description: input.description,
      categoryId,
      scheduleNote: input.scheduleNote,
      feeNote: input.feeNote,
      asOf: input.asOf,
      status: input.status,
      sources: input.sources
    }
  }

  // Links to deleted target groups are not served, so no client can have seen them; they stay
  // stored for when the target group comes back.
  const deleteLiveLinks = sqlite.prepare(`DELETE FROM service_target_groups WHERE service_id = ?
    AND target_group_id IN (SELECT id FROM target_groups WHERE deleted_at IS NULL)`)

  function writeLinks (serviceId: string, input: ServiceInput, targetGroupIds: Map<string, string>): void {
    deleteLiveLinks.run(serviceId)
    if (input.targetGroups.length > 0) {
      db.insert(serviceTargetGroups).values(input.targetGroups.map((link) => ({
        serviceId, targetGroupId: targetGroupIds.get(link.targetGroup)!, originalWording: link.originalWording
      }))).run()
    }
  }

  function pageRows<R extends KeyRow> (query: ServiceListOptions, which: (prepared: PreparedPage) => { all: () => R[] }): { p: Plan, total: number, rows: R[], nextCursor: string | null } {
    const prepared = preparedPage(query)
    const p = prepared.p
    const total = prepared.count.get()?.n ?? 0
    let rows = which(prepared).all()
    const hasNext = rows.length > query.limit
    if (hasNext) rows = rows.slice(0, query.limit)
    const last = rows.at(-1)
    return { p, total, rows, nextCursor: hasNext && last !== undefined ? encodeCursor(p.sort, keyOf(last, p.sort)) : null }
  }

  return {
    list (query: ServiceListOptions): ServicePage {
      const { p, total, rows, nextCursor } = pageRows(query, (prepared) => prepared.select)
      return {
        total,
        limit: query.limit,
        offset: query.offset,
        sort: p.sort,
        items: toEntries(rows, p.tokens),
        nextCursor,
        key: keyOfPage(total, rows, nextCursor)
      }
    },

    // The key of the page list() would answer now, without building its records (see the
    // facilities' pageKey): the ids and sort keys of its rows, from its prepared queries.
    pageKey (query: ServiceListOptions): string {
      const { total, rows, nextCursor } = pageRows(query, (prepared) => prepared.keys)
      return keyOfPage(total, rows, nextCursor)
    },

    // Every matching record, in batches, for streaming full copies (format=ndjson).
    * iterate (query: ServiceQuery, batchSize = 500): Generator<ServiceListEntry[]> {
      const p = plan(query)
      let cursor: CursorKey | null = null
      for (;;) {
        const rows = select(p, cursor, batchSize, 0)
        if (rows.length === 0) return
        yield toEntries(rows, p.tokens)
        if (rows.length < batchSize) return
        cursor = keyOf(rows.at(-1)!, p.sort)
      }
    },

    // Live services of many facilities at once (for embedding), each list in the order of list().
    listForFacilities (facilityIds: string[]): Map<string, Service[]> {
      if (facilityIds.length === 0) return new Map()
      const rows = selectServices().where(and(inArray(services.facilityId, facilityIds), liveServiceCondition()))
        .orderBy(asc(categories.slug), asc(sql`${services.name} collate nocase`), asc(services.id))
        .all()
      return groupBy(toServices(rows), (s) => s.facility.id)
    },

    find,

    create (input: ServiceInput, actor: string, authorise: AuthoriseFacility): Service {
      return writer.write(actor, (context) => {
        const id = newId()
        const { facility, categoryId, targetGroupIds } = resolveReferences(input, authorise)
        const stored = normalised(input, facility)
        db.insert(services).values({ id, ...columnsOf(stored, facility.id, categoryId), createdAt: context.now, updatedAt: context.now }).run()
        writeLinks(id, stored, targetGroupIds)
        writer.recordHistory(context, 'service', id, 'create', diff(null, stored as unknown as Record<string, unknown>))
        reindexFacilities(db, [facility.id])
        return find(id)!
      })
    },

    // Runs `change` on the current record inside the write transaction, so preconditions
    // (scope, If-Match) are checked against exactly what is replaced. A service that moves to
    // another facility needs the scope of that facility too.
    update (id: string, actor: string, change: (current: Service) => ServiceInput, authorise: AuthoriseFacility): Service | undefined {
      return writer.write(actor, (context) => {
        const current = find(id)
        if (current === undefined) return undefined
        const input = change(current)
        const { facility, categoryId, targetGroupIds } = resolveReferences(input, authorise)
        const stored = normalised(input, facility)
        const changes = diff(writableOf(current) as unknown as Record<string, unknown>, stored as unknown as Record<string, unknown>)
        if (Object.keys(changes).length === 0) return current
        db.update(services).set({ ...columnsOf(stored, facility.id, categoryId), updatedAt: context.now }).where(eq(services.id, current.id)).run()
        writeLinks(current.id, stored, targetGroupIds)
        writer.recordHistory(context, 'service', current.id, 'update', changes)
        reindexFacilities(db, [...new Set([current.facility.id, facility.id])])
        return find(current.id)!
      })
    },

    softDelete (id: string, actor: string, check: (current: Service) => void): Service | undefined {
      return writer.write(actor, (context) => {
        const current = find(id)
        if (current === undefined) return undefined
        check(current)
        db.update(services).set({ deletedAt: context.now, updatedAt: context.now }).where(eq(services.id, current.id)).run()
        writer.recordHistory(context, 'service', current.id, 'delete', diff(writableOf(current) as unknown as Record<string, unknown>, null))
        reindexFacilities(db, [current.facility.id])
        return current
      })
    },

    // Id of any service ever stored, deleted ones included (their history stays readable).
    resolveAnyId (id: string): string | undefined {
      return db.select({ id: services.id }).from(services).where(eq(services.id, id)).get()?.id
    }
  }
}

export type ServicesRepository = ReturnType<typeof createServicesRepository>
