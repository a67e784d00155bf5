import { and, asc, eq, inArray, isNull, or, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { contacts, facilities, organisations } from '../db/schema.ts'
import type { Contact, ContactListQuery } from '../schemas/contacts.ts'
import { facilityRefsOf, groupBy, organisationRefsOf, type Page } from './shared.ts'

type ContactRow = typeof contacts.$inferSelect

export function createContactsRepository (db: Db) {
  // Internal contacts are for the administration only; every read path starts from this condition
  // so that they cannot leak into a list, a detail or a count.
  const publicContact = and(isNull(contacts.deletedAt), eq(contacts.visibility, 'public'))

  function filterCondition (query: Omit<ContactListQuery, 'limit' | 'offset'>): SQL | undefined {
    const conditions: (SQL | undefined)[] = [publicContact]
    if (query.facility?.length) {
      conditions.push(inArray(contacts.facilityId, db.select({ id: facilities.id }).from(facilities).where(and(
        isNull(facilities.deletedAt), or(inArray(facilities.id, query.facility), inArray(facilities.slug, query.facility))))))
    }
    if (query.organisation?.length) {
      conditions.push(inArray(contacts.organisationId, db.select({ id: organisations.id }).from(organisations).where(and(
        isNull(organisations.deletedAt), or(inArray(organisations.id, query.organisation), inArray(organisations.slug, query.organisation))))))
    }
    return and(...conditions)
  }

  function toContacts (rows: ContactRow[]): Contact[] {
    const organisationRefs = organisationRefsOf(db, rows.map((r) => r.organisationId))
    const facilityRefs = facilityRefsOf(db, rows.map((r) => r.facilityId))
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      role: row.role,
      organisation: row.organisationId === null ? null : organisationRefs.get(row.organisationId) ?? null,
      facility: row.facilityId === null ? null : facilityRefs.get(row.facilityId) ?? null,
      phone: row.phone,
      email: row.email,
      visibility: row.visibility as Contact['visibility'],
      asOf: row.asOf,
      sources: row.sources,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt
    }))
  }

  function select (where: SQL | undefined, page?: { limit: number, offset: number }): Contact[] {
    const ordered = db.select().from(contacts).where(where)
      .orderBy(asc(sql`${contacts.name} collate nocase`), asc(contacts.id))
    return toContacts(page === undefined ? ordered.all() : ordered.limit(page.limit).offset(page.offset).all())
  }

  return {
    list (query: ContactListQuery): Page<Contact> {
      const where = filterCondition(query)
      const total = db.select({ n: sql<number>`count(*)` }).from(contacts).where(where).get()?.n ?? 0
      return { total, limit: query.limit, offset: query.offset, items: select(where, query) }
    },

    find (id: string): Contact | undefined {
      return select(and(publicContact, eq(contacts.id, id)))[0]
    },

    // Unpaged: an organisation's detail embeds all of its public contacts.
    ofOrganisation (organisationId: string): Contact[] {
      return select(and(publicContact, eq(contacts.organisationId, organisationId)))
    },

    // The public contacts of many facilities in one query, keyed by facility id, for embedding
    // into facility lists.
    listForFacilities (facilityIds: string[]): Map<string, Contact[]> {
      if (facilityIds.length === 0) return new Map()
      return groupBy(select(and(publicContact, inArray(contacts.facilityId, facilityIds))), (c) => c.facility?.id ?? '')
    }
  }
}

export type ContactsRepository = ReturnType<typeof createContactsRepository>
