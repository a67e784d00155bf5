import { and, asc, desc, eq, inArray, isNull, sql, type SQL } from 'drizzle-orm'
import type { AnySQLiteColumn } from 'drizzle-orm/sqlite-core'
import type { Db } from '../db/client.ts'
import { facilities, organisations, organisationSites, organisationUnits } from '../db/schema.ts'
import { decodeCursor, encodeCursor, type CursorKey } from '../lib/cursor.ts'
import { InvalidRecordError, StillInUseError } from '../lib/problem.ts'
import { newId } from '../lib/uuid.ts'
import type { Tombstone } from '../schemas/common.ts'
import type {
  Organisation, OrganisationDetail, OrganisationInput, OrganisationListQuery, OrganisationSite, OrganisationUnit
} from '../schemas/organisations.ts'
import { createContactsRepository, type ContactAccess } from './contacts-repository.ts'
import { cachedStatement, idOrSlugCondition, keysetCondition, listed, referencesTo, syncCondition, tombstoneOf, type EntityRef } from './shared.ts'
import { diff, type Writer } from './writer.ts'

type OrganisationRow = typeof organisations.$inferSelect
export type OrganisationSort = NonNullable<OrganisationListQuery['sort']>
export type OrganisationListEntry = Organisation | Tombstone
export type OrganisationListOptions = Omit<OrganisationListQuery, 'format'>

export interface OrganisationPage {
  total: number
  limit: number
  offset: number
  sort: OrganisationSort
  items: OrganisationListEntry[]
  nextCursor: string | null
}

interface SortSpec {
  keys: (AnySQLiteColumn | SQL)[]
  descending: boolean
}

const byName = [sql`${organisations.name} collate nocase`, organisations.id]
const byChange = [organisations.updatedAt, organisations.id]

const SORTS: Record<OrganisationSort, SortSpec> = {
  name: { keys: byName, descending: false },
  '-name': { keys: byName, descending: true },
  updatedAt: { keys: byChange, descending: false },
  '-updatedAt': { keys: byChange, descending: true }
}

function keyOf (row: OrganisationRow, sort: OrganisationSort): CursorKey {
  switch (sort) {
    case 'name': case '-name': return [row.name, row.id]
    case 'updatedAt': case '-updatedAt': return [row.updatedAt, row.id]
  }
}

// What clients write: the organisation minus what the directory derives (ids, counts, embedded
// records). Units and sites are read-only through the API, so they are not part of it.
export function writableOf (o: Organisation): OrganisationInput {
  return {
    slug: o.slug,
    kind: o.kind,
    name: o.name,
    alternateNames: o.alternateNames,
    description: o.description,
    legalForm: o.legalForm,
    website: o.website,
    email: o.email,
    phone: o.phone,
    address: { street: o.address.street, postcode: o.address.postcode, city: o.address.city, ortsteil: o.address.ortsteil },
    notes: o.notes,
    sources: o.sources
  }
}

function columnsOf (input: OrganisationInput) {
  return {
    slug: input.slug,
    kind: input.kind,
    name: input.name,
    alternateNames: input.alternateNames,
    description: input.description,
    legalForm: input.legalForm,
    website: input.website,
    email: input.email,
    phone: input.phone,
    street: input.address.street,
    postcode: input.address.postcode,
    city: input.address.city,
    ortsteil: input.address.ortsteil,
    notes: input.notes,
    sources: input.sources
  }
}

const record = (value: OrganisationInput) => value as unknown as Record<string, unknown>

export function createOrganisationsRepository (db: Db, writer: Writer) {
  const contactsRepository = createContactsRepository(db)
  // Deleted organisations keep their slug (the unique index covers them), so they are asked too.
  const slugOwner = db.$client.prepare('SELECT id FROM organisations WHERE slug = ?').pluck()

  function checkSlug (input: OrganisationInput, selfId: string | null): void {
    const owner = slugOwner.get(input.slug) as string | undefined
    if (owner !== undefined && owner !== selfId) {
      throw new InvalidRecordError([{ field: 'body.slug', message: `is already used by organisation ${owner}` }])
    }
  }

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

  function plan (query: OrganisationListOptions): { where: SQL | undefined, sort: OrganisationSort } {
    const conditions: SQL[] = [syncCondition(organisations, query.updatedSince)]
    if (query.kind?.length) conditions.push(inArray(organisations.kind, query.kind))
    return { where: and(...conditions), sort: query.sort ?? (query.updatedSince === undefined ? 'name' : 'updatedAt') }
  }

  function select (where: SQL | undefined, sort: OrganisationSort, cursor: CursorKey | null, limit: number, offset: number): OrganisationRow[] {
    const spec = SORTS[sort]
    return db.select().from(organisations)
      .where(cursor === null ? where : and(where, keysetCondition(spec.keys, cursor, spec.descending)))
      .orderBy(...spec.keys.map((key) => spec.descending ? desc(key) : asc(key)))
      .limit(limit).offset(offset).all()
  }

  // access: whether the caller may see internal contacts (they are part of the representation,
  // so If-Match compares against the same view the caller read).
  function find (idOrSlug: string, access: ContactAccess = {}): OrganisationDetail | undefined {
    const match = idOrSlugCondition(organisations.id, organisations.slug, idOrSlug)
    const row = db.select().from(organisations).where(and(match, isNull(organisations.deletedAt))).get()
    if (row === undefined) return undefined
    return {
      ...toOrganisations([row])[0]!,
      units: unitsOf(row.id),
      sites: sitesOf(row.id),
      contacts: contactsRepository.ofOrganisation(row.id, access),
      facilities: facilitiesOf(row.id)
    }
  }

  function toEntries (rows: OrganisationRow[]): OrganisationListEntry[] {
    const full = new Map(toOrganisations(rows.filter((r) => r.deletedAt === null)).map((o) => [o.id, o]))
    return rows.map((row) => tombstoneOf(row) ?? full.get(row.id)!)
  }

  return {
    // Of facilities, lists of organisations show only how many each operates (facilityCount):
    // the response cache compares this after writes to facilities (reply.cacheRecheck).
    facilityCountsKey (): string {
      return cachedStatement(db, `SELECT coalesce(group_concat(operator_id || ':' || n, ','), '') FROM (SELECT operator_id, count(*) AS n
        FROM facilities WHERE deleted_at IS NULL AND operator_id IS NOT NULL GROUP BY operator_id ORDER BY operator_id)`).pluck().get() as string
    },

    list (query: OrganisationListOptions): OrganisationPage {
      const { where, sort } = plan(query)
      const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor, sort, SORTS[sort].keys.length)
      const total = db.select({ n: sql<number>`count(*)` }).from(organisations).where(where).get()?.n ?? 0
      // One row more than the page tells whether there is a next page.
      let rows = select(where, sort, cursor, query.limit + 1, query.offset)
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

    // Every matching record, in batches, for streaming full copies (format=ndjson).
    * iterate (query: OrganisationListOptions, batchSize = 500): Generator<OrganisationListEntry[]> {
      const { where, sort } = plan(query)
      let cursor: CursorKey | null = null
      for (;;) {
        const rows = select(where, sort, cursor, batchSize, 0)
        if (rows.length === 0) return
        yield toEntries(rows)
        if (rows.length < batchSize) return
        cursor = keyOf(rows.at(-1)!, sort)
      }
    },

    find,

    // The search index holds no operator names (see search-index.ts), so a rename or a new slug
    // needs no reindex of the facilities it operates.
    create (input: OrganisationInput, actor: string): OrganisationDetail {
      return writer.write(actor, (context) => {
        checkSlug(input, null)
        const id = newId()
        db.insert(organisations).values({ id, ...columnsOf(input), createdAt: context.now, updatedAt: context.now }).run()
        writer.recordHistory(context, 'organisation', id, 'create', diff(null, record(input)))
        return find(id)!
      })
    },

    // Runs `change` on the current record inside the write transaction, so preconditions
    // (If-Match) are checked against exactly what is replaced.
    update (idOrSlug: string, actor: string, change: (current: OrganisationDetail) => OrganisationInput, access: ContactAccess = {}): OrganisationDetail | undefined {
      return writer.write(actor, (context) => {
        const current = find(idOrSlug, access)
        if (current === undefined) return undefined
        const input = change(current)
        const changes = diff(record(writableOf(current)), record(input))
        if (Object.keys(changes).length === 0) return current
        checkSlug(input, current.id)
        db.update(organisations).set({ ...columnsOf(input), updatedAt: context.now }).where(eq(organisations.id, current.id)).run()
        writer.recordHistory(context, 'organisation', current.id, 'update', changes)
        // Facilities show their operator's id, slug, name and kind.
        if ('slug' in changes || 'name' in changes || 'kind' in changes) writer.touchFacilities(context, current.facilities.map((f) => f.id))
        return find(current.id, access)!
      })
    },

    // Refused while live records name it (facilities as operator, contacts, the agreement's
    // parties, events): none may point at a deleted one (referencesTo).
    softDelete (idOrSlug: string, actor: string, check: (current: OrganisationDetail) => void, access: ContactAccess = {}): OrganisationDetail | undefined {
      return writer.write(actor, (context) => {
        const current = find(idOrSlug, access)
        if (current === undefined) return undefined
        check(current)
        if (current.facilities.length > 0) {
          const slugs = current.facilities.map((f) => f.slug).join(', ')
          throw new StillInUseError(`The organisation '${current.slug}' still operates ${current.facilities.length} ${current.facilities.length === 1 ? 'facility' : 'facilities'} (${slugs}). Give them another operator (or none) first.`)
        }
        const references = referencesTo(db, 'organisation', current.id)
        if (references.length > 0) {
          throw new StillInUseError(`The organisation '${current.slug}' is still named by ${listed(references)}; deleting it would change them unseen. Delete them or point them elsewhere first.`)
        }
        db.update(organisations).set({ deletedAt: context.now, updatedAt: context.now }).where(eq(organisations.id, current.id)).run()
        writer.recordHistory(context, 'organisation', current.id, 'delete', diff(record(writableOf(current)), null))
        return current
      })
    },

    // Id of an organisation by id or slug, deleted ones included (their history stays readable).
    resolveAnyId (idOrSlug: string): string | undefined {
      return db.select({ id: organisations.id }).from(organisations)
        .where(idOrSlugCondition(organisations.id, organisations.slug, idOrSlug)).get()?.id
    }
  }
}

export type OrganisationsRepository = ReturnType<typeof createOrganisationsRepository>
