import {
  and, asc, desc, eq, getTableColumns, gte, inArray, isNotNull, isNull, lte, or, sql, type SQL, type SQLWrapper
} from 'drizzle-orm'
import type { AnySQLiteColumn } from 'drizzle-orm/sqlite-core'
import type { Db } from '../db/client.ts'
import {
  agreementParties, agreements, eventParticipants, events, facilities, organisationSites, organisations
} from '../db/schema.ts'
import { PARTY_CONFIRMATIONS, PARTY_ROLES } from '../domain/vocabulary.ts'
import { decodeCursor, encodeCursor, type CursorKey } from '../lib/cursor.ts'
import { isUuid } from '../lib/uuid.ts'
import type { Tombstone } from '../schemas/common.ts'
import type {
  Agreement, AgreementListQuery, AgreementParty, Event, EventListQuery, PartnerCount
} from '../schemas/agreements.ts'
import { groupBy, keysetCondition, syncCondition, tombstoneOf } from './shared.ts'

type AgreementRow = typeof agreements.$inferSelect
type EventRow = typeof events.$inferSelect
type Confirmation = AgreementParty['confirmation']
export type AgreementSort = NonNullable<AgreementListQuery['sort']>
export type EventSort = NonNullable<EventListQuery['sort']>
export type AgreementListEntry = Agreement | Tombstone
export type EventListEntry = Event | Tombstone
export type AgreementListOptions = Omit<AgreementListQuery, 'format'>
export type EventListOptions = Omit<EventListQuery, 'format'>

export interface KeysetPage<T, S> {
  total: number
  limit: number
  offset: number
  sort: S
  items: T[]
  nextCursor: string | null
}

interface SortSpec<R> {
  keys: (AnySQLiteColumn | SQL)[]
  descending: boolean
  keyOf: (row: R) => CursorKey
}

interface Paging {
  cursor?: string | undefined
  limit: number
  offset: number
}

const byIdOrSlug = (idColumn: typeof agreements.id | typeof events.id, slugColumn: typeof agreements.slug | typeof events.slug, value: string): SQL =>
  isUuid(value) ? or(eq(idColumn, value), eq(slugColumn, value))! : eq(slugColumn, value)

// Vocabularies list their values in the order readers expect (district office before JobCenter,
// signatories before probable partners), which the alphabet would not give.
const vocabularyOrder = (column: SQLWrapper, values: readonly string[]): SQL =>
  sql`case ${column} ${sql.join(values.map((v, i) => sql`when ${v} then ${i}`), sql` `)} else ${values.length} end`

// Stored times carry their local offset; julianday() compares them as instants.
const startsAtInstant = sql<number>`julianday(${events.startsAt})`

// Agreements without a signing date come last; row values cannot compare NULL, hence the coalesce.
const bySigning = [sql`${agreements.signedOn} is null`, sql`coalesce(${agreements.signedOn}, '')`, agreements.id]
const signingKey = (row: AgreementRow): CursorKey => [row.signedOn === null ? 1 : 0, row.signedOn ?? '', row.id]
const agreementChangeKey = (row: AgreementRow): CursorKey => [row.updatedAt, row.id]

const AGREEMENT_SORTS: Record<AgreementSort, SortSpec<AgreementRow>> = {
  signedOn: { keys: bySigning, descending: false, keyOf: signingKey },
  '-signedOn': { keys: bySigning, descending: true, keyOf: signingKey },
  updatedAt: { keys: [agreements.updatedAt, agreements.id], descending: false, keyOf: agreementChangeKey },
  '-updatedAt': { keys: [agreements.updatedAt, agreements.id], descending: true, keyOf: agreementChangeKey }
}

// The cursor keeps the instant that julianday() computed, so the next page compares like for like.
type EventRowWithInstant = EventRow & { instant: number }
const byStart = [startsAtInstant, events.id]
const startKey = (row: EventRowWithInstant): CursorKey => [row.instant, row.id]
const eventChangeKey = (row: EventRowWithInstant): CursorKey => [row.updatedAt, row.id]

const EVENT_SORTS: Record<EventSort, SortSpec<EventRowWithInstant>> = {
  startsAt: { keys: byStart, descending: false, keyOf: startKey },
  '-startsAt': { keys: byStart, descending: true, keyOf: startKey },
  updatedAt: { keys: [events.updatedAt, events.id], descending: false, keyOf: eventChangeKey },
  '-updatedAt': { keys: [events.updatedAt, events.id], descending: true, keyOf: eventChangeKey }
}

const orderOf = <R>(spec: SortSpec<R>): SQL[] => spec.keys.map((key) => spec.descending ? desc(key) : asc(key))

const afterCursor = <R>(where: SQL | undefined, spec: SortSpec<R>, cursor: CursorKey | null): SQL | undefined =>
  cursor === null ? where : and(where, keysetCondition(spec.keys, cursor, spec.descending))

// A keyset page: one row more than asked for tells whether there is a next page.
function pageOf<R, S extends string> (
  spec: SortSpec<R>, sort: S, paging: Paging, select: (cursor: CursorKey | null, limit: number, offset: number) => R[]
): { rows: R[], nextCursor: string | null } {
  const cursor = paging.cursor === undefined ? null : decodeCursor(paging.cursor, sort, spec.keys.length)
  const rows = select(cursor, paging.limit + 1, paging.offset)
  if (rows.length <= paging.limit) return { rows, nextCursor: null }
  const page = rows.slice(0, paging.limit)
  return { rows: page, nextCursor: encodeCursor(sort, spec.keyOf(page.at(-1)!)) }
}

// Every row in batches along the keyset, for streaming full copies (format=ndjson).
function * batchesOf<R> (spec: SortSpec<R>, select: (cursor: CursorKey | null, limit: number, offset: number) => R[], batchSize: number): Generator<R[]> {
  let cursor: CursorKey | null = null
  for (;;) {
    const rows = select(cursor, batchSize, 0)
    if (rows.length === 0) return
    yield rows
    if (rows.length < batchSize) return
    cursor = spec.keyOf(rows.at(-1)!)
  }
}

export function createAgreementsRepository (db: Db) {
  // Links to soft-deleted records are hidden, so joins only match live rows.
  const liveFacility = (column: typeof agreementParties.facilityId | typeof eventParticipants.facilityId) =>
    and(eq(facilities.id, column), isNull(facilities.deletedAt))
  const liveOrganisation = (column: typeof agreementParties.organisationId | typeof eventParticipants.organisationId | typeof organisationSites.organisationId) =>
    and(eq(organisations.id, column), isNull(organisations.deletedAt))

  function partiesOf (agreementIds: string[]): Map<string, AgreementParty[]> {
    if (agreementIds.length === 0) return new Map()
    const rows = db.select({
      agreementId: agreementParties.agreementId,
      id: agreementParties.id,
      role: agreementParties.role,
      name: agreementParties.name,
      confirmation: agreementParties.confirmation,
      evidence: agreementParties.evidence,
      sources: agreementParties.sources,
      org: { id: organisations.id, slug: organisations.slug, name: organisations.name, kind: organisations.kind },
      facility: { id: facilities.id, slug: facilities.slug, name: facilities.name }
    })
      .from(agreementParties)
      .leftJoin(organisations, liveOrganisation(agreementParties.organisationId))
      .leftJoin(facilities, liveFacility(agreementParties.facilityId))
      .where(and(
        inArray(agreementParties.agreementId, agreementIds),
        isNull(agreementParties.deletedAt),
        // A party stands for its facility or organisation: once that is deleted, so is the party.
        or(isNull(agreementParties.facilityId), isNotNull(facilities.id)),
        or(isNull(agreementParties.organisationId), isNotNull(organisations.id))))
      .orderBy(
        vocabularyOrder(agreementParties.role, PARTY_ROLES),
        vocabularyOrder(agreementParties.confirmation, PARTY_CONFIRMATIONS),
        asc(sql`${agreementParties.name} collate nocase`),
        asc(agreementParties.id))
      .all()
    const grouped = groupBy(rows, (r) => r.agreementId)
    return new Map([...grouped].map(([agreementId, list]) => [agreementId, list.map((r) => ({
      id: r.id,
      role: r.role as AgreementParty['role'],
      name: r.name,
      confirmation: r.confirmation as Confirmation,
      evidence: r.evidence,
      organisation: r.org,
      facility: r.facility,
      sources: r.sources
    }))]))
  }

  function eventRefsOf (agreementIds: string[]): Map<string, Agreement['events']> {
    if (agreementIds.length === 0) return new Map()
    const rows = db.select({ agreementId: events.agreementId, id: events.id, slug: events.slug, title: events.title, startsAt: events.startsAt })
      .from(events)
      .where(and(inArray(events.agreementId, agreementIds), isNull(events.deletedAt)))
      .orderBy(asc(startsAtInstant), asc(events.id))
      .all()
    const grouped = groupBy(rows, (r) => r.agreementId!)
    return new Map([...grouped].map(([k, list]) => [k, list.map(({ agreementId, ...ref }) => ref)]))
  }

  function partnerCount (row: AgreementRow, parties: AgreementParty[]): PartnerCount {
    const zero = (): Record<Confirmation, number> => ({ signatory: 0, named_participant: 0, probable: 0 })
    const byConfirmation = zero()
    const facilityCounts = zero()
    let facilityTotal = 0
    for (const party of parties) {
      byConfirmation[party.confirmation]++
      if (party.role === 'facility') {
        facilityCounts[party.confirmation]++
        facilityTotal++
      }
    }
    const declared = row.declaredPartnerCounts
    // Content is German like the rest of the directory's texts.
    const known = [
      facilityCounts.signatory > 0 ? `${facilityCounts.signatory} als Unterzeichner belegt` : null,
      `${facilityCounts.named_participant} als Teilnehmende genannt`,
      `${facilityCounts.probable} wahrscheinlich`
    ].filter((s) => s !== null).join(', ')
    const stated = declared.length === 0 ? 'Keine Quelle nennt eine Zahl' : `Laut Quellen ${declared.map((d) => d.value).join(' bzw. ')} Einrichtungen`
    return {
      declared,
      known: { total: parties.length, byConfirmation, facilities: { total: facilityTotal, ...facilityCounts } },
      summary: `${stated}; namentlich bekannt: ${known}.`,
      note: row.partnerCountNote
    }
  }

  function toAgreements (rows: AgreementRow[]): Agreement[] {
    const ids = rows.map((r) => r.id)
    const parties = partiesOf(ids)
    const eventRefs = eventRefsOf(ids)
    return rows.map((row) => {
      const list = parties.get(row.id) ?? []
      return {
        id: row.id,
        slug: row.slug,
        title: row.title,
        titleNote: row.titleNote,
        summary: row.summary,
        announced: { date: row.announcedOn, note: row.announcementNote },
        signed: { date: row.signedOn, time: row.signedTime, place: row.signedPlace, note: row.signedNote },
        aims: row.aims,
        commitments: row.commitments,
        rationale: row.rationale,
        outcome: row.outcome,
        statusNotes: row.statusNotes,
        documentTextFound: row.documentTextFound,
        signatoryListFound: row.signatoryListFound,
        partnerCount: partnerCount(row, list),
        parties: list,
        events: eventRefs.get(row.id) ?? [],
        sources: row.sources,
        createdAt: row.createdAt,
        updatedAt: row.updatedAt
      }
    })
  }

  function participantsOf (eventIds: string[]): Map<string, Event['participants']> {
    if (eventIds.length === 0) return new Map()
    const rows = db.select({
      eventId: eventParticipants.eventId,
      name: eventParticipants.name,
      org: { id: organisations.id, slug: organisations.slug, name: organisations.name, kind: organisations.kind },
      facility: { id: facilities.id, slug: facilities.slug, name: facilities.name }
    })
      .from(eventParticipants)
      .leftJoin(organisations, liveOrganisation(eventParticipants.organisationId))
      .leftJoin(facilities, liveFacility(eventParticipants.facilityId))
      .where(inArray(eventParticipants.eventId, eventIds))
      .orderBy(asc(eventParticipants.eventId), asc(eventParticipants.position))
      .all()
    const grouped = groupBy(rows, (r) => r.eventId)
    return new Map([...grouped].map(([k, list]) => [k, list.map((r) => ({
      name: r.name,
      organisation: r.org,
      facility: r.facility
    }))]))
  }

  function toEvents (rows: EventRow[]): Event[] {
    if (rows.length === 0) return []
    const ids = rows.map((r) => r.id)
    const participants = participantsOf(ids)
    const siteIds = [...new Set(rows.map((r) => r.organisationSiteId).filter((id): id is string => id !== null))]
    const sites = new Map(siteIds.length === 0
      ? []
      : db.select({
        id: organisationSites.id,
        slug: organisationSites.slug,
        name: organisationSites.name,
        org: { id: organisations.id, slug: organisations.slug, name: organisations.name, kind: organisations.kind }
      })
        .from(organisationSites)
        .leftJoin(organisations, liveOrganisation(organisationSites.organisationId))
        .where(and(inArray(organisationSites.id, siteIds), isNull(organisationSites.deletedAt)))
        .all()
        .map((s) => [s.id, s]))
    const agreementIds = [...new Set(rows.map((r) => r.agreementId).filter((id): id is string => id !== null))]
    const agreementRefs = new Map(agreementIds.length === 0
      ? []
      : db.select({ id: agreements.id, slug: agreements.slug, title: agreements.title }).from(agreements)
        .where(and(inArray(agreements.id, agreementIds), isNull(agreements.deletedAt))).all()
        .map((a) => [a.id, a]))
    return rows.map((row) => {
      const site = row.organisationSiteId === null ? undefined : sites.get(row.organisationSiteId)
      return {
        id: row.id,
        slug: row.slug,
        title: row.title,
        description: row.description,
        startsAt: row.startsAt,
        endsAt: row.endsAt,
        timeZone: row.timeZone,
        location: {
          name: row.locationName,
          street: row.street,
          postcode: row.postcode,
          city: row.city,
          site: site === undefined ? null : { id: site.id, slug: site.slug, name: site.name },
          organisation: site === undefined ? null : site.org
        },
        agreement: row.agreementId === null ? null : agreementRefs.get(row.agreementId) ?? null,
        participants: participants.get(row.id) ?? [],
        sources: row.sources,
        createdAt: row.createdAt,
        updatedAt: row.updatedAt
      }
    })
  }

  function eventCondition (filters: EventListOptions): SQL | undefined {
    const conditions: SQL[] = [syncCondition(events, filters.updatedSince)]
    if (filters.agreement?.length) {
      conditions.push(inArray(events.agreementId, db.select({ id: agreements.id }).from(agreements).where(and(
        or(inArray(agreements.id, filters.agreement), inArray(agreements.slug, filters.agreement)),
        isNull(agreements.deletedAt)))))
    }
    // The stored value starts with the local date, so dates compare in the event's own time zone.
    if (filters.from !== undefined) conditions.push(gte(sql`substr(${events.startsAt}, 1, 10)`, filters.from))
    if (filters.to !== undefined) conditions.push(lte(sql`substr(${events.startsAt}, 1, 10)`, filters.to))
    return and(...conditions)
  }

  const liveAgreement = (idOrSlug: string) =>
    and(byIdOrSlug(agreements.id, agreements.slug, idOrSlug), isNull(agreements.deletedAt))

  function agreementPlan (query: AgreementListOptions) {
    const sort = query.sort ?? (query.updatedSince === undefined ? 'signedOn' : 'updatedAt')
    const spec = AGREEMENT_SORTS[sort]
    const where = syncCondition(agreements, query.updatedSince)
    const select = (cursor: CursorKey | null, limit: number, offset: number): AgreementRow[] =>
      db.select().from(agreements).where(afterCursor(where, spec, cursor)).orderBy(...orderOf(spec)).limit(limit).offset(offset).all()
    const count = () => db.select({ n: sql<number>`count(*)` }).from(agreements).where(where).get()?.n ?? 0
    return { sort, spec, select, count }
  }

  function eventPlan (query: EventListOptions) {
    const sort = query.sort ?? (query.updatedSince === undefined ? 'startsAt' : 'updatedAt')
    const spec = EVENT_SORTS[sort]
    const where = eventCondition(query)
    const select = (cursor: CursorKey | null, limit: number, offset: number): EventRowWithInstant[] =>
      db.select({ ...getTableColumns(events), instant: startsAtInstant }).from(events)
        .where(afterCursor(where, spec, cursor)).orderBy(...orderOf(spec)).limit(limit).offset(offset).all()
    const count = () => db.select({ n: sql<number>`count(*)` }).from(events).where(where).get()?.n ?? 0
    return { sort, spec, select, count }
  }

  function agreementEntries (rows: AgreementRow[]): AgreementListEntry[] {
    const full = new Map(toAgreements(rows.filter((r) => r.deletedAt === null)).map((a) => [a.id, a]))
    return rows.map((row) => tombstoneOf(row) ?? full.get(row.id)!)
  }

  function eventEntries (rows: EventRow[]): EventListEntry[] {
    const full = new Map(toEvents(rows.filter((r) => r.deletedAt === null)).map((e) => [e.id, e]))
    return rows.map((row) => tombstoneOf(row) ?? full.get(row.id)!)
  }

  return {
    list (query: AgreementListOptions): KeysetPage<AgreementListEntry, AgreementSort> {
      const { sort, spec, select, count } = agreementPlan(query)
      const { rows, nextCursor } = pageOf(spec, sort, query, select)
      return { total: count(), limit: query.limit, offset: query.offset, sort, items: agreementEntries(rows), nextCursor }
    },

    * iterate (query: AgreementListOptions, batchSize = 500): Generator<AgreementListEntry[]> {
      const { spec, select } = agreementPlan(query)
      for (const rows of batchesOf(spec, select, batchSize)) yield agreementEntries(rows)
    },

    find (idOrSlug: string): Agreement | undefined {
      const row = db.select().from(agreements).where(liveAgreement(idOrSlug)).get()
      return row === undefined ? undefined : toAgreements([row])[0]
    },

    // The id of a live agreement, for routes that list its events.
    resolveId (idOrSlug: string): string | undefined {
      return db.select({ id: agreements.id }).from(agreements).where(liveAgreement(idOrSlug)).get()?.id
    },

    listEvents (query: EventListOptions): KeysetPage<EventListEntry, EventSort> {
      const { sort, spec, select, count } = eventPlan(query)
      const { rows, nextCursor } = pageOf(spec, sort, query, select)
      return { total: count(), limit: query.limit, offset: query.offset, sort, items: eventEntries(rows), nextCursor }
    },

    * iterateEvents (query: EventListOptions, batchSize = 500): Generator<EventListEntry[]> {
      const { spec, select } = eventPlan(query)
      for (const rows of batchesOf(spec, select, batchSize)) yield eventEntries(rows)
    },

    findEvent (idOrSlug: string): Event | undefined {
      const row = db.select().from(events)
        .where(and(byIdOrSlug(events.id, events.slug, idOrSlug), isNull(events.deletedAt))).get()
      return row === undefined ? undefined : toEvents([row])[0]
    }
  }
}

export type AgreementsRepository = ReturnType<typeof createAgreementsRepository>
