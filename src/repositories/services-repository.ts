import { and, asc, desc, eq, exists, gte, inArray, isNull, or, sql, type SQL } from 'drizzle-orm'
import type { AnySQLiteColumn, SQLiteSelect } from 'drizzle-orm/sqlite-core'
import type { Db } from '../db/client.ts'
import { categories, facilities, services, serviceTargetGroups, targetGroups } from '../db/schema.ts'
import { decodeCursor, encodeCursor, type CursorKey } from '../lib/cursor.ts'
import { explainMatch, matchExpression, queryTokens } from '../lib/search-text.ts'
import type { Tombstone } from '../schemas/common.ts'
import type { Service, ServiceListQuery } from '../schemas/services.ts'
import { groupBy, invalidParameter, keysetCondition, targetGroupLinksOf, timestampParameter } from './shared.ts'

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

export function createServicesRepository (db: Db) {
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
    if (filters.targetGroup?.length) {
      conditions.push(exists(db.select({ one: sql`1` }).from(serviceTargetGroups)
        .innerJoin(targetGroups, eq(targetGroups.id, serviceTargetGroups.targetGroupId))
        .where(and(
          eq(serviceTargetGroups.serviceId, services.id),
          inArray(targetGroups.slug, filters.targetGroup),
          isNull(targetGroups.deletedAt)
        ))))
    }
    return conditions
  }

  function plan (query: ServiceQuery): Plan {
    const tokens = query.q === undefined ? [] : queryTokens(query.q)
    const sort = query.sort ?? defaultSort(query, tokens)
    if (sort === 'relevance' && tokens.length === 0) throw invalidParameter('query.sort', 'relevance needs a search text q')
    const conditions = filterCondition(query)
    if (query.updatedSince !== undefined) {
      conditions.push(gte(changedAt, timestampParameter('query.updatedSince', query.updatedSince)))
    }
    // Deleted services leave the search index, so a search lists live services only, with or
    // without updatedSince.
    if (query.updatedSince === undefined || tokens.length > 0) conditions.push(liveServiceCondition())
    return { where: and(...conditions)!, sort, tokens }
  }

  function keyOf (row: RankedRow, sort: ServiceSort): CursorKey {
    switch (sort) {
      case 'facility': return [row.facilityName, row.categorySlug, row.name, row.id]
      case 'name': case '-name': return [row.name, row.id]
      case 'updatedAt': case '-updatedAt': return [row.changedAt, row.id]
      case 'relevance': return [row.rank, row.id]
    }
  }

  function select (p: Plan, cursor: CursorKey | null, limit: number, offset: number): RankedRow[] {
    const spec = SORTS[p.sort]
    const where = cursor === null ? p.where : and(p.where, keysetCondition(spec.keys, cursor, spec.descending))
    const query = db.select({ ...fields, rank: p.tokens.length > 0 ? rank : sql<null>`null` }).from(services)
      .innerJoin(facilities, eq(facilities.id, services.facilityId))
      .innerJoin(categories, eq(categories.id, services.categoryId))
      .$dynamic()
    return withHits(query, p.tokens)
      .where(where)
      .orderBy(...spec.keys.map((key) => spec.descending ? desc(key) : asc(key)))
      .limit(limit).offset(offset)
      .all()
  }

  function count (p: Plan): number {
    const query = db.select({ n: sql<number>`count(*)` }).from(services)
      .innerJoin(facilities, eq(facilities.id, services.facilityId))
      .innerJoin(categories, eq(categories.id, services.categoryId))
      .$dynamic()
    return withHits(query, p.tokens).where(p.where).get()?.n ?? 0
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

  return {
    list (query: ServiceListOptions): ServicePage {
      const p = plan(query)
      const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor, p.sort, SORTS[p.sort].keys.length)
      const total = count(p)
      // One row more than the page tells whether there is a next page.
      let rows = select(p, cursor, query.limit + 1, query.offset)
      const hasNext = rows.length > query.limit
      if (hasNext) rows = rows.slice(0, query.limit)
      const last = rows.at(-1)
      return {
        total,
        limit: query.limit,
        offset: query.offset,
        sort: p.sort,
        items: toEntries(rows, p.tokens),
        nextCursor: hasNext && last !== undefined ? encodeCursor(p.sort, keyOf(last, p.sort)) : null
      }
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

    find (id: string): Service | undefined {
      const row = selectServices().where(and(eq(services.id, id), liveServiceCondition())).get()
      return row === undefined ? undefined : toServices([row])[0]
    }
  }
}

export type ServicesRepository = ReturnType<typeof createServicesRepository>
