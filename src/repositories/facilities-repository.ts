import { and, asc, eq, exists, inArray, isNull, or, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { categories, facilities, facilityTargetGroups, facilityTypes, organisations, services, serviceTargetGroups } from '../db/schema.ts'
import type { Facility, FacilityListQuery } from '../schemas/facilities.ts'
import {
  categorySlugIds, groupBy, idOrSlugCondition, organisationRefsOf, targetGroupLinksOf, targetGroupSlugIds,
  type Page
} from './shared.ts'

type FacilityRow = typeof facilities.$inferSelect
export type FacilityFilters = Omit<FacilityListQuery, 'limit' | 'offset'>

export function createFacilitiesRepository (db: Db) {
  function filterCondition (filters: FacilityFilters): SQL | undefined {
    const conditions: (SQL | undefined)[] = [isNull(facilities.deletedAt)]
    if (filters.type?.length) {
      conditions.push(exists(db.select({ one: sql`1` }).from(facilityTypes)
        .where(and(eq(facilityTypes.facilityId, facilities.id), inArray(facilityTypes.type, filters.type)))))
    }
    if (filters.ortsteil?.length) {
      conditions.push(inArray(sql`lower(${facilities.ortsteil})`, filters.ortsteil.map((o) => o.toLowerCase())))
    }
    if (filters.partnershipStatus?.length) {
      conditions.push(inArray(facilities.partnershipStatus, filters.partnershipStatus))
    }
    if (filters.operator?.length) {
      conditions.push(inArray(facilities.operatorId, db.select({ id: organisations.id }).from(organisations)
        .where(or(inArray(organisations.id, filters.operator), inArray(organisations.slug, filters.operator)))))
    }
    if (filters.category?.length) {
      conditions.push(exists(db.select({ one: sql`1` }).from(services).where(and(
        eq(services.facilityId, facilities.id),
        isNull(services.deletedAt),
        inArray(services.categoryId, categorySlugIds(db, filters.category))
      ))))
    }
    if (filters.targetGroup?.length) {
      // A facility serves a target group when it names it itself or one of its services does.
      const groupIds = targetGroupSlugIds(db, filters.targetGroup)
      conditions.push(or(
        exists(db.select({ one: sql`1` }).from(facilityTargetGroups).where(and(
          eq(facilityTargetGroups.facilityId, facilities.id), inArray(facilityTargetGroups.targetGroupId, groupIds)))),
        exists(db.select({ one: sql`1` }).from(serviceTargetGroups)
          .innerJoin(services, eq(services.id, serviceTargetGroups.serviceId))
          .where(and(eq(services.facilityId, facilities.id), isNull(services.deletedAt),
            inArray(serviceTargetGroups.targetGroupId, groupIds))))
      ))
    }
    return and(...conditions)
  }

  function toFacilities (rows: FacilityRow[]): Facility[] {
    const ids = rows.map((r) => r.id)
    if (ids.length === 0) return []
    const typesById = groupBy(
      db.select().from(facilityTypes).where(inArray(facilityTypes.facilityId, ids)).orderBy(facilityTypes.type).all(),
      (r) => r.facilityId)
    const serviceStats = groupBy(
      db.select({ facilityId: services.facilityId, category: categories.slug, n: sql<number>`count(*)` })
        .from(services).innerJoin(categories, eq(categories.id, services.categoryId))
        .where(and(inArray(services.facilityId, ids), isNull(services.deletedAt)))
        .groupBy(services.facilityId, categories.slug).orderBy(categories.slug).all(),
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
        openingHours: { note: row.openingHoursNote },
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

  return {
    list (query: FacilityListQuery): Page<Facility> {
      const where = filterCondition(query)
      const total = db.select({ n: sql<number>`count(*)` }).from(facilities).where(where).get()?.n ?? 0
      const rows = db.select().from(facilities).where(where)
        .orderBy(asc(sql`${facilities.name} collate nocase`), asc(facilities.id))
        .limit(query.limit).offset(query.offset).all()
      return { total, limit: query.limit, offset: query.offset, items: toFacilities(rows) }
    },

    find (idOrSlug: string): Facility | undefined {
      const row = db.select().from(facilities)
        .where(and(idOrSlugCondition(facilities.id, facilities.slug, idOrSlug), isNull(facilities.deletedAt))).get()
      return row === undefined ? undefined : toFacilities([row])[0]
    },

    // The id of a live facility, for routes that list its dependants.
    resolveId (idOrSlug: string): string | undefined {
      return db.select({ id: facilities.id }).from(facilities)
        .where(and(idOrSlugCondition(facilities.id, facilities.slug, idOrSlug), isNull(facilities.deletedAt))).get()?.id
    }
  }
}

export type FacilitiesRepository = ReturnType<typeof createFacilitiesRepository>
