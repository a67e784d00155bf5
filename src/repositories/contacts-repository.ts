import { and, asc, desc, eq, gte, inArray, isNull, ne, or, sql, type SQL } from 'drizzle-orm'
import type { AnySQLiteColumn } from 'drizzle-orm/sqlite-core'
import type { Db } from '../db/client.ts'
import { contacts, facilities, organisations } from '../db/schema.ts'
import { decodeCursor, encodeCursor, type CursorKey } from '../lib/cursor.ts'
import type { Tombstone } from '../schemas/common.ts'
import type { Contact, ContactListQuery } from '../schemas/contacts.ts'
import { facilityRefsOf, groupBy, keysetCondition, organisationRefsOf, timestampParameter } from './shared.ts'

type ContactRow = typeof contacts.$inferSelect
export type ContactSort = NonNullable<ContactListQuery['sort']>
export type ContactListEntry = Contact | Tombstone
export type ContactListOptions = Omit<ContactListQuery, 'format'>

export interface ContactPage<T = ContactListEntry> {
  total: number
  limit: number
  offset: number
  sort: ContactSort
  items: T[]
  nextCursor: string | null
}

interface SortSpec {
  keys: (AnySQLiteColumn | SQL)[]
  descending: boolean
}

// Internal contacts are for the administration only. A reader sees a contact while it is live and
// public; every other one is, for the reader, deleted.
const isServed = (row: ContactRow) => row.deletedAt === null && row.visibility === 'public'
const servedCondition = and(isNull(contacts.deletedAt), eq(contacts.visibility, 'public'))!

// Tombstones sort by an empty name: ordering (or a cursor) by the real name would disclose the
// names of internal contacts.
const servedName = sql`coalesce(case when ${servedCondition} then ${contacts.name} end, '') collate nocase`
const byName = [servedName, contacts.id]
const byChange = [contacts.updatedAt, contacts.id]

const SORTS: Record<ContactSort, SortSpec> = {
  name: { keys: byName, descending: false },
  '-name': { keys: byName, descending: true },
  updatedAt: { keys: byChange, descending: false },
  '-updatedAt': { keys: byChange, descending: true }
}

function keyOf (row: ContactRow, sort: ContactSort): CursorKey {
  switch (sort) {
    case 'name': case '-name': return [isServed(row) ? row.name : '', row.id]
    case 'updatedAt': case '-updatedAt': return [row.updatedAt, row.id]
  }
}

function tombstoneOf (row: ContactRow): Tombstone {
  return { id: row.id, deleted: true, deletedAt: row.deletedAt ?? row.updatedAt }
}

export function createContactsRepository (db: Db) {
  function filterCondition (query: ContactListOptions): SQL {
    const conditions: SQL[] = []
    if (query.updatedSince === undefined) {
      conditions.push(servedCondition)
    } else {
      conditions.push(gte(contacts.updatedAt, timestampParameter('query.updatedSince', query.updatedSince)))
      // A contact unchanged since it was created internal was never public, so no copy holds it;
      // leaving it out keeps the ids of internal contacts (derived from their names) undisclosed.
      // Every other contact that is no longer served may be in a copy and is reported as deleted.
      conditions.push(or(eq(contacts.visibility, 'public'), ne(contacts.updatedAt, contacts.createdAt))!)
    }
    if (query.facility?.length) {
      conditions.push(inArray(contacts.facilityId, db.select({ id: facilities.id }).from(facilities).where(and(
        isNull(facilities.deletedAt), or(inArray(facilities.id, query.facility), inArray(facilities.slug, query.facility))))))
    }
    if (query.organisation?.length) {
      conditions.push(inArray(contacts.organisationId, db.select({ id: organisations.id }).from(organisations).where(and(
        isNull(organisations.deletedAt), or(inArray(organisations.id, query.organisation), inArray(organisations.slug, query.organisation))))))
    }
    return and(...conditions)!
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

  // Only served contacts become full records; the fields of any other one never leave this place.
  function toEntries (rows: ContactRow[]): ContactListEntry[] {
    const full = new Map(toContacts(rows.filter(isServed)).map((c) => [c.id, c]))
    return rows.map((row) => full.get(row.id) ?? tombstoneOf(row))
  }

  function selectPage (where: SQL, sort: ContactSort, cursor: CursorKey | null, limit: number, offset: number): ContactRow[] {
    const spec = SORTS[sort]
    return db.select().from(contacts)
      .where(cursor === null ? where : and(where, keysetCondition(spec.keys, cursor, spec.descending)))
      .orderBy(...spec.keys.map((key) => spec.descending ? desc(key) : asc(key)))
      .limit(limit).offset(offset).all()
  }

  function select (where: SQL): Contact[] {
    return toContacts(db.select().from(contacts).where(and(servedCondition, where))
      .orderBy(asc(sql`${contacts.name} collate nocase`), asc(contacts.id)).all())
  }

  function plan (query: ContactListOptions): { where: SQL, sort: ContactSort } {
    return { where: filterCondition(query), sort: query.sort ?? (query.updatedSince === undefined ? 'name' : 'updatedAt') }
  }

  // Without updatedSince every item is a served contact, which the facility's contact list relies on.
  function list (query: ContactListOptions & { updatedSince?: undefined }): ContactPage<Contact>
  function list (query: ContactListOptions): ContactPage
  function list (query: ContactListOptions): ContactPage {
    const { where, sort } = plan(query)
    const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor, sort, SORTS[sort].keys.length)
    const total = db.select({ n: sql<number>`count(*)` }).from(contacts).where(where).get()?.n ?? 0
    // One row more than the page tells whether there is a next page.
    let rows = selectPage(where, sort, cursor, query.limit + 1, query.offset)
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
  }

  return {
    list,

    // Every matching record, in batches, for streaming full copies (format=ndjson).
    * iterate (query: ContactListOptions, batchSize = 500): Generator<ContactListEntry[]> {
      const { where, sort } = plan(query)
      let cursor: CursorKey | null = null
      for (;;) {
        const rows = selectPage(where, sort, cursor, batchSize, 0)
        if (rows.length === 0) return
        yield toEntries(rows)
        if (rows.length < batchSize) return
        cursor = keyOf(rows.at(-1)!, sort)
      }
    },

    find (id: string): Contact | undefined {
      return select(eq(contacts.id, id))[0]
    },

    // Unpaged: an organisation's detail embeds all of its public contacts.
    ofOrganisation (organisationId: string): Contact[] {
      return select(eq(contacts.organisationId, organisationId))
    },

    // The public contacts of many facilities in one query, keyed by facility id, for embedding
    // into facility lists.
    listForFacilities (facilityIds: string[]): Map<string, Contact[]> {
      if (facilityIds.length === 0) return new Map()
      return groupBy(select(inArray(contacts.facilityId, facilityIds)), (c) => c.facility?.id ?? '')
    }
  }
}

export type ContactsRepository = ReturnType<typeof createContactsRepository>
