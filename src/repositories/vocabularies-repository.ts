import { and, asc, desc, eq, exists, inArray, isNotNull, isNull, or, sql, type SQL } from 'drizzle-orm'
import { union } from 'drizzle-orm/sqlite-core'
import type { Db } from '../db/client.ts'
import { categories, facilities, facilityTargetGroups, services, serviceTargetGroups, targetGroups } from '../db/schema.ts'
import { decodeCursor, encodeCursor, type CursorKey } from '../lib/cursor.ts'
import { InvalidRecordError, StillInUseError } from '../lib/problem.ts'
import { newId } from '../lib/uuid.ts'
import type { Tombstone } from '../schemas/common.ts'
import type {
  Category, CategoryInput, TargetGroup, TargetGroupDetail, TargetGroupInput, VocabularyListQuery, VocabularyTerm
} from '../schemas/vocabularies.ts'
import { reindexFacilities } from './search-index.ts'
import { liveServiceCondition } from './services-repository.ts'
import { cachedStatement, groupBy, idOrSlugCondition, keysetCondition, syncCondition, tombstoneOf } from './shared.ts'
import { diff, type WriteContext, type Writer } from './writer.ts'

type Column = typeof targetGroups.id
type VocabularyTable = typeof targetGroups | typeof categories
export type VocabularySort = NonNullable<VocabularyListQuery['sort']>
export type VocabularyListOptions = Omit<VocabularyListQuery, 'format'>

export interface VocabularyPage<T> {
  total: number
  limit: number
  offset: number
  sort: VocabularySort
  items: (T | Tombstone)[]
  nextCursor: string | null
}

interface Entry { id: string, slug: string, updatedAt: string, deletedAt: string | null }

const idOrSlugOf = (table: VocabularyTable, value: string): SQL =>
  idOrSlugCondition(table.id, table.slug, value)

const sortKeys = (table: VocabularyTable, sort: VocabularySort) =>
  sort === 'slug' || sort === '-slug' ? [table.slug, table.id] : [table.updatedAt, table.id]

const keyOf = (row: Entry, sort: VocabularySort): CursorKey =>
  sort === 'slug' || sort === '-slug' ? [row.slug, row.id] : [row.updatedAt, row.id]

function withoutDeletedAt<T extends Entry> ({ deletedAt, ...entry }: T): Omit<T, 'deletedAt'> {
  return entry
}

// Target groups and categories are written alike: an entry of the vocabulary.
export type VocabularyInput = TargetGroupInput & CategoryInput
type VocabularyRecord = VocabularyInput & { id: string }

// What clients write: the entry minus what the directory derives (id, counts, links).
export function writableOf (entry: VocabularyRecord): VocabularyInput {
  return { slug: entry.slug, labelDe: entry.labelDe, labelEn: entry.labelEn, description: entry.description }
}

const record = (value: VocabularyInput) => value as unknown as Record<string, unknown>

interface VocabularyKind<T extends VocabularyRecord> {
  table: 'target_groups' | 'categories'
  entityType: 'target_group' | 'category'
  what: string
  find: (idOrSlug: string) => T | undefined
  // Why the entry may not be deleted now, or null.
  inUse: (current: T) => string | null
}

// The records that show a vocabulary entry (its slug and labels): facilities, whose search
// documents also contain its labels (their own links or their services'), and services.
const SHOWN_BY = {
  target_group: {
    facilities: `SELECT facility_id FROM facility_target_groups WHERE target_group_id = :id
      UNION SELECT s.facility_id FROM service_target_groups l JOIN services s ON s.id = l.service_id WHERE l.target_group_id = :id`,
    services: 'SELECT service_id FROM service_target_groups WHERE target_group_id = :id'
  },
  category: {
    facilities: 'SELECT DISTINCT facility_id FROM services WHERE category_id = :id',
    services: 'SELECT id FROM services WHERE category_id = :id'
  }
}

// When an entry's slug or labels change (through the API, or set back by the seed), each
// facility and service that shows it gets a change of its own (feed entry, updatedSince).
// Returns the facilities, whose search documents the caller rebuilds if the labels changed.
export function touchShowing (db: Db, writer: Writer, context: WriteContext, kind: keyof typeof SHOWN_BY, id: string): string[] {
  const facilityIds = cachedStatement(db, SHOWN_BY[kind].facilities).pluck().all({ id }) as string[]
  writer.touchFacilities(context, facilityIds)
  writer.touchServices(context, cachedStatement(db, SHOWN_BY[kind].services).pluck().all({ id }) as string[])
  return facilityIds
}

export function createVocabulariesRepository (db: Db, writer: Writer) {
  const sqlite = db.$client
  // The facilities (with repeats) of the live services in a live category naming the target
  // group; `more` narrows them.
  const liveServiceLinks = (groupId: Column | string, more?: SQL) => db.select({ id: services.facilityId }).from(serviceTargetGroups)
    .innerJoin(services, eq(services.id, serviceTargetGroups.serviceId))
    .innerJoin(categories, eq(categories.id, services.categoryId))
    .where(and(eq(serviceTargetGroups.targetGroupId, groupId), isNull(services.deletedAt), isNull(categories.deletedAt), more))

  // Whether the facility of the enclosing query has a live service naming the target group.
  const serviceLinkExists = (groupId: Column | string): SQL =>
    exists(liveServiceLinks(groupId, eq(services.facilityId, facilities.id)))

  // Counted the same way GET /v1/facilities?targetGroup= and GET /v1/services?targetGroup= filter,
  // so the numbers match the totals a user gets when following them.
  const targetGroupCounts = () => ({
    // The facilities linked directly or through a live service, found from the group's side (one
    // index search per link) instead of testing every facility against every group.
    facilityCount: sql<number>`${db.select({ n: sql`count(*)` }).from(facilities).where(and(
      isNull(facilities.deletedAt),
      inArray(facilities.id, union(
        db.select({ id: facilityTargetGroups.facilityId }).from(facilityTargetGroups).where(eq(facilityTargetGroups.targetGroupId, targetGroups.id)),
        liveServiceLinks(targetGroups.id)
      ))
    ))}`,
    serviceCount: sql<number>`${db.select({ n: sql`count(*)` }).from(serviceTargetGroups)
      .innerJoin(services, eq(services.id, serviceTargetGroups.serviceId))
      .innerJoin(facilities, eq(facilities.id, services.facilityId))
      .innerJoin(categories, eq(categories.id, services.categoryId))
      .where(and(eq(serviceTargetGroups.targetGroupId, targetGroups.id), liveServiceCondition()))}`
  })
  const selectTargetGroups = () => db.select({
    id: targetGroups.id,
    slug: targetGroups.slug,
    labelDe: targetGroups.labelDe,
    labelEn: targetGroups.labelEn,
    description: targetGroups.description,
    ...targetGroupCounts(),
    createdAt: targetGroups.createdAt,
    updatedAt: targetGroups.updatedAt,
    deletedAt: targetGroups.deletedAt
  }).from(targetGroups)

  // The enclosing category is live already, so the subqueries need not join categories again.
  const liveCategoryServices = () => and(eq(services.categoryId, categories.id), isNull(services.deletedAt), isNull(facilities.deletedAt))
  const categoryCounts = () => ({
    serviceCount: sql<number>`${db.select({ n: sql`count(*)` }).from(services)
      .innerJoin(facilities, eq(facilities.id, services.facilityId)).where(liveCategoryServices())}`,
    facilityCount: sql<number>`${db.select({ n: sql`count(distinct ${services.facilityId})` }).from(services)
      .innerJoin(facilities, eq(facilities.id, services.facilityId)).where(liveCategoryServices())}`
  })
  const selectCategories = () => db.select({
    id: categories.id,
    slug: categories.slug,
    labelDe: categories.labelDe,
    labelEn: categories.labelEn,
    description: categories.description,
    ...categoryCounts(),
    createdAt: categories.createdAt,
    updatedAt: categories.updatedAt,
    deletedAt: categories.deletedAt
  }).from(categories)

  // Both vocabularies page alike; `fetch` selects the entries of one, with their counts.
  function pager<T extends Entry> (table: VocabularyTable, fetch: (where: SQL | undefined, order: SQL[], limit: number, offset: number) => T[]) {
    function plan (query: VocabularyListOptions) {
      const sort = query.sort ?? (query.updatedSince === undefined ? 'slug' : 'updatedAt')
      const keys = sortKeys(table, sort)
      const descending = sort.startsWith('-')
      const where = syncCondition(table, query.updatedSince)
      const select = (cursor: CursorKey | null, limit: number, offset: number): T[] => fetch(
        cursor === null ? where : and(where, keysetCondition(keys, cursor, descending)),
        keys.map((key) => descending ? desc(key) : asc(key)), limit, offset)
      return { sort, keys, where, select }
    }

    const toEntries = (rows: T[]): (Omit<T, 'deletedAt'> | Tombstone)[] =>
      rows.map((row) => tombstoneOf(row) ?? withoutDeletedAt(row))

    return {
      list (query: VocabularyListOptions): VocabularyPage<Omit<T, 'deletedAt'>> {
        const { sort, keys, where, select } = plan(query)
        const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor, sort, keys.length)
        const total = db.select({ n: sql<number>`count(*)` }).from(table).where(where).get()?.n ?? 0
        // One row more than the page tells whether there is a next page.
        let rows = select(cursor, query.limit + 1, query.offset)
        const hasNext = rows.length > query.limit
        if (hasNext) rows = rows.slice(0, query.limit)
        const last = rows.at(-1)
        return {
          total,
          limit: query.limit,
          offset: query.offset,
          sort,
          items: toEntries(rows),
          nextCursor: hasNext && last !== undefined ? encodeCursor(sort, keyOf(last, sort)) : null
        }
      },

      // Every matching entry, in batches, for streaming full copies (format=ndjson).
      * iterate (query: VocabularyListOptions, batchSize = 500): Generator<(Omit<T, 'deletedAt'> | Tombstone)[]> {
        const { sort, select } = plan(query)
        let cursor: CursorKey | null = null
        for (;;) {
          const rows = select(cursor, batchSize, 0)
          if (rows.length === 0) return
          yield toEntries(rows)
          if (rows.length < batchSize) return
          cursor = keyOf(rows.at(-1)!, sort)
        }
      }
    }
  }

  const targetGroupPages = pager(targetGroups, (where, order, limit, offset) =>
    selectTargetGroups().where(where).orderBy(...order).limit(limit).offset(offset).all())
  const categoryPages = pager(categories, (where, order, limit, offset) =>
    selectCategories().where(where).orderBy(...order).limit(limit).offset(offset).all())

  function facilitiesOf (groupId: string): TargetGroupDetail['facilities'] {
    const rows = db.select({
      id: facilities.id,
      slug: facilities.slug,
      name: facilities.name,
      originalWording: facilityTargetGroups.originalWording
    })
      .from(facilities)
      .leftJoin(facilityTargetGroups, and(eq(facilityTargetGroups.facilityId, facilities.id), eq(facilityTargetGroups.targetGroupId, groupId)))
      .where(and(isNull(facilities.deletedAt), or(isNotNull(facilityTargetGroups.facilityId), serviceLinkExists(groupId))))
      .orderBy(asc(sql`${facilities.name} collate nocase`), asc(facilities.id))
      .all()
    return rows.map(({ originalWording, ...facility }) => ({
      facility,
      via: originalWording === null ? [] : ['facility' as const],
      originalWording,
      serviceCount: 0
    }))
  }

  function servicesOf (groupId: string): TargetGroupDetail['services'] {
    const rows = db.select({
      id: services.id,
      name: services.name,
      categoryId: categories.id,
      categorySlug: categories.slug,
      categoryLabelDe: categories.labelDe,
      categoryLabelEn: categories.labelEn,
      facilityId: facilities.id,
      facilitySlug: facilities.slug,
      facilityName: facilities.name,
      originalWording: serviceTargetGroups.originalWording
    })
      .from(serviceTargetGroups)
      .innerJoin(services, eq(services.id, serviceTargetGroups.serviceId))
      .innerJoin(facilities, eq(facilities.id, services.facilityId))
      .innerJoin(categories, eq(categories.id, services.categoryId))
      .where(and(eq(serviceTargetGroups.targetGroupId, groupId), liveServiceCondition()))
      .orderBy(asc(sql`${facilities.name} collate nocase`), asc(categories.slug), asc(sql`${services.name} collate nocase`), asc(services.id))
      .all()
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      category: { id: r.categoryId, slug: r.categorySlug, labelDe: r.categoryLabelDe, labelEn: r.categoryLabelEn },
      facility: { id: r.facilityId, slug: r.facilitySlug, name: r.facilityName },
      originalWording: r.originalWording
    }))
  }

  function findTargetGroup (idOrSlug: string): TargetGroupDetail | undefined {
    const row = selectTargetGroups()
      .where(and(idOrSlugOf(targetGroups, idOrSlug), isNull(targetGroups.deletedAt))).get()
    if (row === undefined) return undefined
    const group: TargetGroup = withoutDeletedAt(row)
    const linkedServices = servicesOf(group.id)
    const servicesByFacility = groupBy(linkedServices, (s) => s.facility.id)
    const linkedFacilities = facilitiesOf(group.id).map((entry) => {
      const serviceCount = servicesByFacility.get(entry.facility.id)?.length ?? 0
      return { ...entry, via: serviceCount > 0 ? [...entry.via, 'service' as const] : entry.via, serviceCount }
    })
    return { ...group, facilities: linkedFacilities, services: linkedServices }
  }

  function findCategory (idOrSlug: string): Category | undefined {
    const row = selectCategories()
      .where(and(idOrSlugOf(categories, idOrSlug), isNull(categories.deletedAt))).get()
    return row === undefined ? undefined : withoutDeletedAt(row)
  }

  // Create, change, delete and history lookup of one vocabulary, each write one transaction with
  // its history. The table name is one of two constants, never input.
  function writes<T extends VocabularyRecord> (kind: VocabularyKind<T>) {
    const slugOwner = sqlite.prepare(`SELECT id FROM ${kind.table} WHERE slug = ?`).pluck()
    const anyId = sqlite.prepare(`SELECT id FROM ${kind.table} WHERE id = ? OR slug = ?`).pluck()
    const insert = sqlite.prepare(`INSERT INTO ${kind.table} (id, slug, label_de, label_en, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
    const change = sqlite.prepare(`UPDATE ${kind.table} SET slug = ?, label_de = ?, label_en = ?, description = ?, updated_at = ? WHERE id = ?`)
    const remove = sqlite.prepare(`UPDATE ${kind.table} SET deleted_at = ?, updated_at = ? WHERE id = ?`)

    // Deleted entries keep their slug (the unique index covers them), so they are asked too.
    function checkSlug (input: VocabularyInput, selfId: string | null): void {
      const owner = slugOwner.get(input.slug) as string | undefined
      if (owner !== undefined && owner !== selfId) {
        throw new InvalidRecordError([{ field: 'body.slug', message: `is already used by ${kind.what} ${owner}` }])
      }
    }

    return {
      create (input: VocabularyInput, actor: string): T {
        return writer.write(actor, (context) => {
          checkSlug(input, null)
          const id = newId()
          insert.run(id, input.slug, input.labelDe, input.labelEn, input.description, context.now, context.now)
          writer.recordHistory(context, kind.entityType, id, 'create', diff(null, record(input)))
          return kind.find(id)!
        })
      },

      // Runs `check` on the current entry inside the write transaction, so preconditions
      // (If-Match) are checked against exactly what is replaced.
      update (idOrSlug: string, actor: string, check: (current: T) => VocabularyInput): T | undefined {
        return writer.write(actor, (context) => {
          const current = kind.find(idOrSlug)
          if (current === undefined) return undefined
          const input = check(current)
          const changes = diff(record(writableOf(current)), record(input))
          if (Object.keys(changes).length === 0) return current
          checkSlug(input, current.id)
          change.run(input.slug, input.labelDe, input.labelEn, input.description, context.now, current.id)
          writer.recordHistory(context, kind.entityType, current.id, 'update', changes)
          // The labels are part of the facilities' and services' search documents; slug and
          // description are not. Slug and labels are part of the facilities' representation.
          if ('labelDe' in changes || 'labelEn' in changes || 'slug' in changes) {
            const affected = touchShowing(db, writer, context, kind.entityType, current.id)
            if ('labelDe' in changes || 'labelEn' in changes) reindexFacilities(db, affected)
          }
          return kind.find(current.id)!
        })
      },

      softDelete (idOrSlug: string, actor: string, check: (current: T) => void): T | undefined {
        return writer.write(actor, (context) => {
          const current = kind.find(idOrSlug)
          if (current === undefined) return undefined
          check(current)
          const reason = kind.inUse(current)
          if (reason !== null) throw new StillInUseError(reason)
          remove.run(context.now, context.now, current.id)
          writer.recordHistory(context, kind.entityType, current.id, 'delete', diff(record(writableOf(current)), null))
          return current
        })
      },

      // Id of an entry by id or slug, deleted ones included (their history stays readable).
      resolveAnyId (idOrSlug: string): string | undefined {
        return anyId.get(idOrSlug, idOrSlug) as string | undefined
      }
    }
  }

  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

  const targetGroupWrites = writes<TargetGroupDetail>({
    table: 'target_groups',
    entityType: 'target_group',
    what: 'target group',
    find: findTargetGroup,
    // Counted like the detail shows them: live facilities naming it, live services naming it.
    inUse: (group) => group.facilityCount === 0 && group.serviceCount === 0
      ? null
      : `The target group '${group.slug}' is still linked by ${plural(group.facilityCount, 'facility', 'facilities')} (${group.facilities.map((f) => f.facility.slug).join(', ')}) and ${plural(group.serviceCount, 'service', 'services')}. Remove the links first.`,
  })

  const categoryWrites = writes<Category>({
    table: 'categories',
    entityType: 'category',
    what: 'category',
    find: findCategory,
    inUse: (category) => category.serviceCount === 0
      ? null
      : `The category '${category.slug}' is still used by ${plural(category.serviceCount, 'service', 'services')} of ${plural(category.facilityCount, 'facility', 'facilities')}. Move them to another category first.`
  })

  // What lists of a vocabulary show of other records: the counts of each entry. The response
  // cache compares this after writes to facilities and services (reply.cacheRecheck), so a list
  // is kept across edits that leave every count as it was. Prepared once: building the query
  // costs more than running it.
  const countsKey = (prepare: () => { all: () => { id: string, facilityCount: number, serviceCount: number }[] }) => {
    let prepared: ReturnType<typeof prepare> | undefined
    return (): string => {
      prepared ??= prepare()
      return prepared.all().map((r) => `${r.id}:${r.facilityCount}:${r.serviceCount}`).join(',')
    }
  }

  return {
    targetGroupCountsKey: countsKey(() => db.select({ id: targetGroups.id, ...targetGroupCounts() }).from(targetGroups).orderBy(targetGroups.id).prepare()),
    categoryCountsKey: countsKey(() => db.select({ id: categories.id, ...categoryCounts() }).from(categories).orderBy(categories.id).prepare()),

    listTargetGroups: targetGroupPages.list,
    iterateTargetGroups: targetGroupPages.iterate,

    findTargetGroup,
    createTargetGroup: targetGroupWrites.create,
    updateTargetGroup: targetGroupWrites.update,
    softDeleteTargetGroup: targetGroupWrites.softDelete,
    resolveAnyTargetGroupId: targetGroupWrites.resolveAnyId,

    // Descriptions of the live target groups by id, for embedding into target-group links.
    targetGroupDescriptions (): Map<string, string> {
      const rows = db.select({ id: targetGroups.id, description: targetGroups.description }).from(targetGroups)
        .where(isNull(targetGroups.deletedAt)).all()
      return new Map(rows.map((r) => [r.id, r.description]))
    },

    // The live entries of a vocabulary by slug, without counts (for HSDS taxonomy terms).
    liveTerms (vocabulary: 'target_groups' | 'categories'): VocabularyTerm[] {
      return cachedStatement(db, `SELECT id, slug, label_de AS labelDe, label_en AS labelEn, description FROM ${vocabulary}
        WHERE deleted_at IS NULL ORDER BY slug, id`).all() as VocabularyTerm[]
    },

    listCategories: categoryPages.list,
    iterateCategories: categoryPages.iterate,

    findCategory,
    createCategory: categoryWrites.create,
    updateCategory: categoryWrites.update,
    softDeleteCategory: categoryWrites.softDelete,
    resolveAnyCategoryId: categoryWrites.resolveAnyId
  }
}

export type VocabulariesRepository = ReturnType<typeof createVocabulariesRepository>
