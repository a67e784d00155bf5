import { and, asc, eq, inArray, isNull, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { facilities, organisations, organisationSites, organisationUnits } from '../db/schema.ts'
import type {
  Organisation, OrganisationDetail, OrganisationListQuery, OrganisationSite, OrganisationUnit
} from '../schemas/organisations.ts'
import { createContactsRepository } from './contacts-repository.ts'
import { idOrSlugCondition, type EntityRef, type Page } from './shared.ts'

type OrganisationRow = typeof organisations.$inferSelect

export function createOrganisationsRepository (db: Db) {
  const contactsRepository = createContactsRepository(db)

  function facilityCounts (ids: string[]): Map<string, number> {
    if (ids.length === 0) return new Map()
    const rows = db.select({ operatorId: facilities.operatorId, n: sql<number>`count(*)` }).from(facilities)
      .where(and(inArray(facilities.operatorId, ids), isNull(facilities.deletedAt)))
      .groupBy(facilities.operatorId).all()
    return new Map(rows.map((r) => [r.operatorId!, r.n]))
  }

  function toOrganisations (rows: OrganisationRow[]): Organisation[] {
    const counts = facilityCounts(rows.map((r) => r.id))
    return rows.map((row) => ({
      id: row.id,
      slug: row.slug,
      kind: row.kind as Organisation['kind'],
      name: row.name,
      alternateNames: row.alternateNames,
      description: row.description,
      legalForm: row.legalForm,
      website: row.website,
      email: row.email,
      phone: row.phone,
      address: { street: row.street, postcode: row.postcode, city: row.city, ortsteil: row.ortsteil },
      notes: row.notes,
      facilityCount: counts.get(row.id) ?? 0,
      sources: row.sources,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt
    }))
  }

  function unitsOf (organisationId: string): OrganisationUnit[] {
    return db.select({
      id: organisationUnits.id,
      slug: organisationUnits.slug,
      kind: organisationUnits.kind,
      name: organisationUnits.name,
      description: organisationUnits.description,
      website: organisationUnits.website,
      phone: organisationUnits.phone,
      notes: organisationUnits.notes,
      sources: organisationUnits.sources
    }).from(organisationUnits)
      .where(and(eq(organisationUnits.organisationId, organisationId), isNull(organisationUnits.deletedAt)))
      .orderBy(asc(sql`${organisationUnits.name} collate nocase`), asc(organisationUnits.id))
      .all() as OrganisationUnit[]
  }

  function sitesOf (organisationId: string): OrganisationSite[] {
    const rows = db.select().from(organisationSites)
      .where(and(eq(organisationSites.organisationId, organisationId), isNull(organisationSites.deletedAt)))
      .orderBy(
        asc(sql`case ${organisationSites.status} when 'active' then 0 when 'unverified' then 1 else 2 end`),
        asc(sql`${organisationSites.name} collate nocase`),
        asc(organisationSites.id))
      .all()
    return rows.map((row) => ({
      id: row.id,
      slug: row.slug,
      name: row.name,
      status: row.status as OrganisationSite['status'],
      address: { street: row.street, postcode: row.postcode, city: row.city, ortsteil: row.ortsteil },
      geo: row.lat === null || row.lon === null ? null : { lat: row.lat, lon: row.lon },
      description: row.description,
      notes: row.notes,
      sources: row.sources
    }))
  }

  function facilitiesOf (organisationId: string): EntityRef[] {
    return db.select({ id: facilities.id, slug: facilities.slug, name: facilities.name }).from(facilities)
      .where(and(eq(facilities.operatorId, organisationId), isNull(facilities.deletedAt)))
      .orderBy(asc(sql`${facilities.name} collate nocase`), asc(facilities.id))
      .all()
  }

  return {
    list (query: OrganisationListQuery): Page<Organisation> {
      const conditions: (SQL | undefined)[] = [isNull(organisations.deletedAt)]
      if (query.kind?.length) conditions.push(inArray(organisations.kind, query.kind))
      const where = and(...conditions)
      const total = db.select({ n: sql<number>`count(*)` }).from(organisations).where(where).get()?.n ?? 0
      const rows = db.select().from(organisations).where(where)
        .orderBy(asc(sql`${organisations.name} collate nocase`), asc(organisations.id))
        .limit(query.limit).offset(query.offset).all()
      return { total, limit: query.limit, offset: query.offset, items: toOrganisations(rows) }
    },

    find (idOrSlug: string): OrganisationDetail | undefined {
      // idOrSlugCondition in shared.ts is typed for facility columns only.
      const match = idOrSlugCondition(organisations.id, organisations.slug, idOrSlug)
      const row = db.select().from(organisations).where(and(match, isNull(organisations.deletedAt))).get()
      if (row === undefined) return undefined
      return {
        ...toOrganisations([row])[0]!,
        units: unitsOf(row.id),
        sites: sitesOf(row.id),
        contacts: contactsRepository.ofOrganisation(row.id),
        facilities: facilitiesOf(row.id)
      }
    }
  }
}

export type OrganisationsRepository = ReturnType<typeof createOrganisationsRepository>
