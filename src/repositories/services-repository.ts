import { and, asc, eq, exists, inArray, isNull, or, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { categories, facilities, services, serviceTargetGroups, targetGroups } from '../db/schema.ts'
import type { Service } from '../schemas/services.ts'
import { groupBy, targetGroupLinksOf, type Page } from './shared.ts'

export interface ServiceListFilters {
  facility?: string[]
  category?: string[]
  targetGroup?: string[]
  limit: number
  offset: number
}

// A service is visible while it, its facility and its category are all live. The vocabulary counts
// use the same rule (on the same joins) so they agree with the totals of GET /v1/services.
export const liveServiceCondition = (): SQL => and(isNull(services.deletedAt), isNull(facilities.deletedAt), isNull(categories.deletedAt))!

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
    updatedAt: services.updatedAt,
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

  function filterCondition (filters: Omit<ServiceListFilters, 'limit' | 'offset'>): SQL {
    const conditions: (SQL | undefined)[] = [liveServiceCondition()]
    if (filters.facility?.length) {
      conditions.push(or(inArray(facilities.id, filters.facility), inArray(facilities.slug, filters.facility)))
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
    return and(...conditions)!
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
      updatedAt: row.updatedAt
    }))
  }

  return {
    list (query: ServiceListFilters): Page<Service> {
      const where = filterCondition(query)
      const total = db.select({ n: sql<number>`count(*)` }).from(services)
        .innerJoin(facilities, eq(facilities.id, services.facilityId))
        .innerJoin(categories, eq(categories.id, services.categoryId))
        .where(where).get()?.n ?? 0
      const rows = selectServices().where(where)
        .orderBy(asc(sql`${facilities.name} collate nocase`), asc(categories.slug), asc(sql`${services.name} collate nocase`), asc(services.id))
        .limit(query.limit).offset(query.offset).all()
      return { total, limit: query.limit, offset: query.offset, items: toServices(rows) }
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
