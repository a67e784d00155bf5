import { and, asc, desc, eq, getTableColumns, gte, inArray, isNull, or, sql, type SQL } from 'drizzle-orm'
import type { AnySQLiteColumn } from 'drizzle-orm/sqlite-core'
import type { Db } from '../db/client.ts'
import { contacts, facilities, organisations } from '../db/schema.ts'
import { decodeCursor, encodeCursor, type CursorKey } from '../lib/cursor.ts'
import { InvalidRecordError, type FieldError } from '../lib/problem.ts'
import { newId } from '../lib/uuid.ts'
import type { Tombstone } from '../schemas/common.ts'
import type { Contact, ContactInput, ContactListQuery } from '../schemas/contacts.ts'
import { asOfError, canonicalSources } from './services-repository.ts'
import { cachedStatement, facilityRefsKey, facilityRefsOf, groupBy, keysetCondition, organisationRefsOf, timestampParameter, type EntityRef } from './shared.ts'
import { createWriter, diff, type Writer } from './writer.ts'

type StoredContact = typeof contacts.$inferSelect
// A row with its change time as this reader sees it (changedFor).
type ContactRow = StoredContact & { changedAt: string }
export type ContactSort = NonNullable<ContactListQuery['sort']>
export type ContactListEntry = Contact | Tombstone
export type ContactListOptions = Omit<ContactListQuery, 'format'>

// Who reads: internal contacts are served only to readers that may see them (API keys with
// contacts:read-internal). Without it a reader sees public contacts only.
export interface ContactAccess {
  includeInternal?: boolean
}

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
// public (or live at all, if it may see internal ones); every other one is, for the reader, deleted.
const isServed = (row: StoredContact, access: ContactAccess) => row.deletedAt === null && (access.includeInternal === true || row.visibility === 'public')
const servedCondition = (access: ContactAccess): SQL => access.includeInternal === true
  ? isNull(contacts.deletedAt)
  : and(isNull(contacts.deletedAt), eq(contacts.visibility, 'public'))!

// When a contact last changed, for this reader. For the public, one that is no longer served
// changed when it stopped being public (contacts_ever_public.hidden_at): its later edits as an
// internal contact neither move its tombstone nor bring it back into updatedSince.
function changedFor (access: ContactAccess): SQL<string> {
  if (access.includeInternal === true) return sql<string>`${contacts.updatedAt}`
  return sql<string>`case when ${servedCondition(access)} then ${contacts.updatedAt}
    else coalesce((select p.hidden_at from contacts_ever_public p where p.contact_id = ${contacts.id}), ${contacts.deletedAt}, ${contacts.updatedAt}) end`
}

// Tombstones sort by an empty name: ordering (or a cursor) by the real name would disclose the
// names of internal contacts.
function sortsFor (access: ContactAccess): Record<ContactSort, SortSpec> {
  const servedName = sql`coalesce(case when ${servedCondition(access)} then ${contacts.name} end, '') collate nocase`
  const byName = [servedName, contacts.id]
  const byChange = [changedFor(access), contacts.id]
  return {
    name: { keys: byName, descending: false },
    '-name': { keys: byName, descending: true },
    updatedAt: { keys: byChange, descending: false },
    '-updatedAt': { keys: byChange, descending: true }
  }
}
const PUBLIC_SORTS = sortsFor({})
const ALL_SORTS = sortsFor({ includeInternal: true })
const sorts = (access: ContactAccess) => (access.includeInternal === true ? ALL_SORTS : PUBLIC_SORTS)

function keyOf (row: ContactRow, sort: ContactSort, access: ContactAccess): CursorKey {
  switch (sort) {
    case 'name': case '-name': return [isServed(row, access) ? row.name : '', row.id]
    case 'updatedAt': case '-updatedAt': return [row.changedAt, row.id]
  }
}

function tombstoneOf (row: ContactRow): Tombstone {
  return { id: row.id, deleted: true, deletedAt: row.changedAt }
}

// What clients write: the contact minus what the directory derives (id, names of references).
export function writableOf (c: Contact): ContactInput {
  return {
    name: c.name,
    role: c.role,
    organisation: c.organisation?.slug ?? null,
    facility: c.facility?.slug ?? null,
    phone: c.phone,
    email: c.email,
    visibility: c.visibility,
    asOf: c.asOf,
    sources: c.sources
  }
}

// Called with the facility a contact belongs to (null: none), before and after a change, before
// any other rule is checked; it throws when the writer may not write that contact.
export type AuthoriseContact = (facility: EntityRef | null) => void

interface References {
  organisation: { id: string, slug: string } | null
  facility: EntityRef | null
}

// organisations-repository.ts builds its own instance for reading; only the directory's own
// instance (repositories/index.ts) is given the shared writer.
// Public at some time (contacts_ever_public, kept by triggers on contacts).
export const EVER_PUBLIC_CONTACT = (idColumn: string): string =>
  `EXISTS (SELECT 1 FROM contacts_ever_public p WHERE p.contact_id = ${idColumn})`

export function createContactsRepository (db: Db, writer: Writer = createWriter(db)) {
  const sqlite = db.$client

  function filterCondition (query: ContactListOptions, access: ContactAccess): SQL {
    const conditions: SQL[] = []
    if (query.updatedSince === undefined) {
      conditions.push(servedCondition(access))
    } else {
      conditions.push(gte(changedFor(access), timestampParameter('query.updatedSince', query.updatedSince)))
      // A contact that was never public is in no public copy; leaving it out keeps the ids of
      // internal contacts (derived from their names) undisclosed. Every other contact that is no
      // longer served may be in a copy and is reported as deleted.
      if (access.includeInternal !== true) {
        conditions.push(or(eq(contacts.visibility, 'public'), sql.raw(EVER_PUBLIC_CONTACT('"contacts"."id"')))!)
      }
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

  function toContacts (rows: StoredContact[]): Contact[] {
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
  function toEntries (rows: ContactRow[], access: ContactAccess): ContactListEntry[] {
    const full = new Map(toContacts(rows.filter((row) => isServed(row, access))).map((c) => [c.id, c]))
    return rows.map((row) => full.get(row.id) ?? tombstoneOf(row))
  }

  function selectPage (where: SQL, spec: SortSpec, cursor: CursorKey | null, limit: number, offset: number, access: ContactAccess): ContactRow[] {
    return db.select({ ...getTableColumns(contacts), changedAt: changedFor(access) }).from(contacts)
      .where(cursor === null ? where : and(where, keysetCondition(spec.keys, cursor, spec.descending)))
      .orderBy(...spec.keys.map((key) => spec.descending ? desc(key) : asc(key)))
      .limit(limit).offset(offset).all()
  }

  function select (where: SQL, access: ContactAccess): Contact[] {
    return toContacts(db.select().from(contacts).where(and(servedCondition(access), where))
      .orderBy(asc(sql`${contacts.name} collate nocase`), asc(contacts.id)).all())
  }

  function plan (query: ContactListOptions, access: ContactAccess): { where: SQL, sort: ContactSort } {
    return { where: filterCondition(query, access), sort: query.sort ?? (query.updatedSince === undefined ? 'name' : 'updatedAt') }
  }

  // Without updatedSince every item is a served contact, which the facility's contact list relies on.
  function list (query: ContactListOptions & { updatedSince?: undefined }, access?: ContactAccess): ContactPage<Contact>
  function list (query: ContactListOptions, access?: ContactAccess): ContactPage
  function list (query: ContactListOptions, access: ContactAccess = {}): ContactPage {
    const { where, sort } = plan(query, access)
    const spec = sorts(access)[sort]
    const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor, sort, spec.keys.length)
    const total = db.select({ n: sql<number>`count(*)` }).from(contacts).where(where).get()?.n ?? 0
    // One row more than the page tells whether there is a next page.
    let rows = selectPage(where, spec, cursor, query.limit + 1, query.offset, access)
    const hasNext = rows.length > query.limit
    if (hasNext) rows = rows.slice(0, query.limit)
    const last = rows.at(-1)
    return {
      total,
      limit: query.limit,
      offset: query.offset,
      sort,
      items: toEntries(rows, access),
      nextCursor: hasNext && last !== undefined ? encodeCursor(sort, keyOf(last, sort, access)) : null
    }
  }

  // Any live contact, internal ones included: writes address contacts whatever their visibility.
  function findLive (id: string): Contact | undefined {
    return select(eq(contacts.id, id), { includeInternal: true })[0]
  }

  const organisationByIdOrSlug = sqlite.prepare('SELECT id, slug FROM organisations WHERE (id = ? OR slug = ?) AND deleted_at IS NULL')
  const facilityByIdOrSlug = sqlite.prepare('SELECT id, slug, name FROM facilities WHERE (id = ? OR slug = ?) AND deleted_at IS NULL')

  // References and rules a schema cannot express; violations are 422 field errors. The scope
  // is checked first, so a key that may not write the contact gets 403 whatever else is wrong.
  function resolveReferences (input: ContactInput, authorise: AuthoriseContact): References {
    const facility = input.facility === null ? null : (facilityByIdOrSlug.get(input.facility, input.facility) as EntityRef | undefined)
    if (facility !== undefined) authorise(facility)
    const errors: FieldError[] = []
    if (facility === undefined) errors.push({ field: 'body.facility', message: `no facility '${input.facility}'` })
    const organisation = input.organisation === null ? null : (organisationByIdOrSlug.get(input.organisation, input.organisation) as References['organisation'] | undefined)
    if (organisation === undefined) errors.push({ field: 'body.organisation', message: `no organisation '${input.organisation}'` })
    if (input.organisation === null && input.facility === null) {
      errors.push({ field: 'body.organisation', message: 'a contact belongs to an organisation, a facility or both; both are null' })
    }
    const asOf = asOfError(input.asOf)
    if (asOf !== null) errors.push({ field: 'body.asOf', message: asOf })
    if (errors.length > 0) throw new InvalidRecordError(errors)
    return { organisation: organisation ?? null, facility: facility ?? null }
  }

  // The input as it will be served (references by slug, however the client named them), so
  // history shows real changes only.
  function normalised (input: ContactInput, references: References): ContactInput {
    return { ...input, organisation: references.organisation?.slug ?? null, facility: references.facility?.slug ?? null, sources: canonicalSources(input.sources) }
  }

  function columnsOf (input: ContactInput, references: References) {
    return {
      name: input.name,
      role: input.role,
      organisationId: references.organisation?.id ?? null,
      facilityId: references.facility?.id ?? null,
      phone: input.phone,
      email: input.email,
      visibility: input.visibility,
      asOf: input.asOf,
      sources: input.sources
    }
  }

  return {
    list,

    // What contacts show of facilities, to compare after writes to facilities (shared.ts).
    facilityRefsKey: (): string => facilityRefsKey(db, 'contacts'),

    // Facility id → when a public contact there last stopped being served (deleted, made internal,
    // moved): kept by triggers (facility_contact_removals), a time only, never who.
    publicRemovalsByFacility (): Map<string, string> {
      const rows = cachedStatement(db, 'SELECT facility_id AS facilityId, removed_at AS at FROM facility_contact_removals').all() as Array<{ facilityId: string, at: string }>
      return new Map(rows.map((r) => [r.facilityId, r.at]))
    },

    // Every matching record, in batches, for streaming full copies (format=ndjson).
    * iterate (query: ContactListOptions, access: ContactAccess = {}, batchSize = 500): Generator<ContactListEntry[]> {
      const { where, sort } = plan(query, access)
      const spec = sorts(access)[sort]
      let cursor: CursorKey | null = null
      for (;;) {
        const rows = selectPage(where, spec, cursor, batchSize, 0, access)
        if (rows.length === 0) return
        yield toEntries(rows, access)
        if (rows.length < batchSize) return
        cursor = keyOf(rows.at(-1)!, sort, access)
      }
    },

    find (id: string, access: ContactAccess = {}): Contact | undefined {
      return select(eq(contacts.id, id), access)[0]
    },

    // Unpaged: an organisation's detail embeds all of its contacts the reader may see.
    ofOrganisation (organisationId: string, access: ContactAccess = {}): Contact[] {
      return select(eq(contacts.organisationId, organisationId), access)
    },

    // The contacts of many facilities in one query, keyed by facility id, for embedding into
    // facility lists.
    listForFacilities (facilityIds: string[], access: ContactAccess = {}): Map<string, Contact[]> {
      if (facilityIds.length === 0) return new Map()
      return groupBy(select(inArray(contacts.facilityId, facilityIds), access), (c) => c.facility?.id ?? '')
    },

    findLive,

    create (input: ContactInput, actor: string, authorise: AuthoriseContact): Contact {
      return writer.write(actor, (context) => {
        const id = newId()
        const references = resolveReferences(input, authorise)
        const stored = normalised(input, references)
        db.insert(contacts).values({ id, ...columnsOf(stored, references), createdAt: context.now, updatedAt: context.now }).run()
        writer.recordHistory(context, 'contact', id, 'create', diff(null, stored as unknown as Record<string, unknown>))
        return findLive(id)!
      })
    },

    // Runs `change` on the current record inside the write transaction, so preconditions
    // (visibility, scope, If-Match) are checked against exactly what is replaced. A contact that
    // moves to another facility needs the scope of that facility too.
    update (id: string, actor: string, change: (current: Contact) => ContactInput, authorise: AuthoriseContact): Contact | undefined {
      return writer.write(actor, (context) => {
        const current = findLive(id)
        if (current === undefined) return undefined
        const input = change(current)
        const references = resolveReferences(input, authorise)
        const stored = normalised(input, references)
        const changes = diff(writableOf(current) as unknown as Record<string, unknown>, stored as unknown as Record<string, unknown>)
        if (Object.keys(changes).length === 0) return current
        db.update(contacts).set({ ...columnsOf(stored, references), updatedAt: context.now }).where(eq(contacts.id, current.id)).run()
        writer.recordHistory(context, 'contact', current.id, 'update', changes)
        return findLive(current.id)!
      })
    },

    softDelete (id: string, actor: string, check: (current: Contact) => void): Contact | undefined {
      return writer.write(actor, (context) => {
        const current = findLive(id)
        if (current === undefined) return undefined
        check(current)
        db.update(contacts).set({ deletedAt: context.now, updatedAt: context.now }).where(eq(contacts.id, current.id)).run()
        writer.recordHistory(context, 'contact', current.id, 'delete', diff(writableOf(current) as unknown as Record<string, unknown>, null))
        return current
      })
    },

    // Id of any contact ever stored, deleted and internal ones included (their history stays
    // readable for keys that may read it).
    resolveAnyId (id: string): string | undefined {
      return db.select({ id: contacts.id }).from(contacts).where(eq(contacts.id, id)).get()?.id
    }
  }
}

export type ContactsRepository = ReturnType<typeof createContactsRepository>
