import { and, asc, eq, exists, isNotNull, isNull, or, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { categories, facilities, facilityTargetGroups, services, serviceTargetGroups, targetGroups } from '../db/schema.ts'
import type { Category, TargetGroup, TargetGroupDetail } from '../schemas/vocabularies.ts'
import { liveServiceCondition } from './services-repository.ts'
import { groupBy, idOrSlugCondition } from './shared.ts'

type Column = typeof targetGroups.id

const idOrSlugOf = (table: typeof targetGroups | typeof categories, value: string): SQL =>
  idOrSlugCondition(table.id, table.slug, value)

export function createVocabulariesRepository (db: Db) {
  // Whether the facility of the enclosing query has a live service naming the target group.
  const serviceLinkExists = (groupId: Column | string): SQL => exists(db.select({ one: sql`1` }).from(serviceTargetGroups)
    .innerJoin(services, eq(services.id, serviceTargetGroups.serviceId))
    .innerJoin(categories, eq(categories.id, services.categoryId))
    .where(and(
      eq(services.facilityId, facilities.id),
      eq(serviceTargetGroups.targetGroupId, groupId),
      isNull(services.deletedAt),
      isNull(categories.deletedAt)
    )))

  const directLinkExists = (groupId: Column): SQL => exists(db.select({ one: sql`1` }).from(facilityTargetGroups)
    .where(and(eq(facilityTargetGroups.facilityId, facilities.id), eq(facilityTargetGroups.targetGroupId, groupId))))

  // Counted the same way GET /v1/facilities?targetGroup= and GET /v1/services?targetGroup= filter,
  // so the numbers match the totals a user gets when following them.
  const selectTargetGroups = () => db.select({
    id: targetGroups.id,
    slug: targetGroups.slug,
    labelDe: targetGroups.labelDe,
    labelEn: targetGroups.labelEn,
    description: targetGroups.description,
    facilityCount: sql<number>`${db.select({ n: sql`count(*)` }).from(facilities).where(and(
      isNull(facilities.deletedAt),
      or(directLinkExists(targetGroups.id), serviceLinkExists(targetGroups.id))
    ))}`,
    serviceCount: sql<number>`${db.select({ n: sql`count(*)` }).from(serviceTargetGroups)
      .innerJoin(services, eq(services.id, serviceTargetGroups.serviceId))
      .innerJoin(facilities, eq(facilities.id, services.facilityId))
      .innerJoin(categories, eq(categories.id, services.categoryId))
      .where(and(eq(serviceTargetGroups.targetGroupId, targetGroups.id), liveServiceCondition()))}`,
    createdAt: targetGroups.createdAt,
    updatedAt: targetGroups.updatedAt
  }).from(targetGroups)

  // The enclosing category is live already, so the subqueries need not join categories again.
  const liveCategoryServices = () => and(eq(services.categoryId, categories.id), isNull(services.deletedAt), isNull(facilities.deletedAt))
  const selectCategories = () => db.select({
    id: categories.id,
    slug: categories.slug,
    labelDe: categories.labelDe,
    labelEn: categories.labelEn,
    description: categories.description,
    serviceCount: sql<number>`${db.select({ n: sql`count(*)` }).from(services)
      .innerJoin(facilities, eq(facilities.id, services.facilityId)).where(liveCategoryServices())}`,
    facilityCount: sql<number>`${db.select({ n: sql`count(distinct ${services.facilityId})` }).from(services)
      .innerJoin(facilities, eq(facilities.id, services.facilityId)).where(liveCategoryServices())}`,
    createdAt: categories.createdAt,
    updatedAt: categories.updatedAt
  }).from(categories)

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

  return {
    listTargetGroups (): { total: number, items: TargetGroup[] } {
      const items = selectTargetGroups().where(isNull(targetGroups.deletedAt)).orderBy(asc(targetGroups.slug)).all()
      return { total: items.length, items }
    },

    findTargetGroup (idOrSlug: string): TargetGroupDetail | undefined {
      const group = selectTargetGroups()
        .where(and(idOrSlugOf(targetGroups, idOrSlug), isNull(targetGroups.deletedAt))).get()
      if (group === undefined) return undefined
      const linkedServices = servicesOf(group.id)
      const servicesByFacility = groupBy(linkedServices, (s) => s.facility.id)
      const linkedFacilities = facilitiesOf(group.id).map((entry) => {
        const serviceCount = servicesByFacility.get(entry.facility.id)?.length ?? 0
        return { ...entry, via: serviceCount > 0 ? [...entry.via, 'service' as const] : entry.via, serviceCount }
      })
      return { ...group, facilities: linkedFacilities, services: linkedServices }
    },

    // Descriptions of the live target groups by id, for embedding into target-group links.
    targetGroupDescriptions (): Map<string, string> {
      const rows = db.select({ id: targetGroups.id, description: targetGroups.description }).from(targetGroups)
        .where(isNull(targetGroups.deletedAt)).all()
      return new Map(rows.map((r) => [r.id, r.description]))
    },

    listCategories (): { total: number, items: Category[] } {
      const items = selectCategories().where(isNull(categories.deletedAt)).orderBy(asc(categories.slug)).all()
      return { total: items.length, items }
    },

    findCategory (idOrSlug: string): Category | undefined {
      return selectCategories()
        .where(and(idOrSlugOf(categories, idOrSlug), isNull(categories.deletedAt))).get()
    }
  }
}

export type VocabulariesRepository = ReturnType<typeof createVocabulariesRepository>
