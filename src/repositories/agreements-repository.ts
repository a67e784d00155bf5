import {
  and, asc, desc, eq, getTableColumns, gte, inArray, isNotNull, isNull, lte, or, sql, type SQL, type SQLWrapper
} from 'drizzle-orm'
import type { AnySQLiteColumn } from 'drizzle-orm/sqlite-core'
import type { Db } from '../db/client.ts'
import {
  agreementParties, agreements, eventParticipants, events, facilities, organisationSites, organisations, type SourceRef
} from '../db/schema.ts'
import { PARTY_CONFIRMATIONS, PARTY_ROLES } from '../domain/vocabulary.ts'
import { decodeCursor, encodeCursor, type CursorKey } from '../lib/cursor.ts'
import { isUuid, newId } from '../lib/uuid.ts'
import { InvalidRecordError, type FieldError } from '../lib/problem.ts'
import type { Tombstone } from '../schemas/common.ts'
import type {
  Agreement, AgreementInput, AgreementListQuery, AgreementParty, AgreementPartyInput, AgreementPartyRecord, Event,
  EventInput, EventListQuery, PartnerCount
} from '../schemas/agreements.ts'
import { facilityRefsKey, groupBy, keysetCondition, syncCondition, tombstoneOf } from './shared.ts'
import { diff, type WriteContext, type Writer } from './writer.ts'

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

// --- Writable forms ----------------------------------------------------------------------------
// Objects are rebuilt in the order of their schema, so stored JSON, history and ETags do not
// depend on the order in which a client wrote the members.

const asRecord = (value: object | null) => value as Record<string, unknown> | null
const sourcesIn = (sources: SourceRef[]): SourceRef[] => sources.map(({ url, title, facts }) => ({ url, title, facts }))

function canonicalAgreement (input: AgreementInput): AgreementInput {
  return {
    slug: input.slug,
    title: input.title,
    titleNote: input.titleNote,
    summary: input.summary,
    announced: { date: input.announced.date, note: input.announced.note },
    signed: { date: input.signed.date, time: input.signed.time, place: input.signed.place, note: input.signed.note },
    declaredPartnerCounts: input.declaredPartnerCounts.map((d) => ({ value: d.value, note: d.note, sources: sourcesIn(d.sources) })),
    partnerCountNote: input.partnerCountNote,
    aims: input.aims,
    commitments: input.commitments,
    rationale: input.rationale,
    outcome: input.outcome === null ? null : { date: input.outcome.date, summary: input.outcome.summary, sources: sourcesIn(input.outcome.sources) },
    statusNotes: input.statusNotes,
    documentTextFound: input.documentTextFound,
    signatoryListFound: input.signatoryListFound,
    sources: sourcesIn(input.sources)
  }
}

// What clients write: the agreement's own facts, not the parties, events and counts derived from them.
export function agreementWritableOf (a: Agreement): AgreementInput {
  return canonicalAgreement({
    slug: a.slug,
    title: a.title,
    titleNote: a.titleNote,
    summary: a.summary,
    announced: a.announced,
    signed: a.signed,
    declaredPartnerCounts: a.partnerCount.declared,
    partnerCountNote: a.partnerCount.note,
    aims: a.aims,
    commitments: a.commitments,
    rationale: a.rationale,
    outcome: a.outcome,
    statusNotes: a.statusNotes,
    documentTextFound: a.documentTextFound,
    signatoryListFound: a.signatoryListFound,
    sources: a.sources
  })
}

export function partyWritableOf (p: AgreementParty): AgreementPartyInput {
  return {
    role: p.role,
    organisation: p.organisation?.slug ?? null,
    facility: p.facility?.slug ?? null,
    name: p.name,
    confirmation: p.confirmation,
    evidence: p.evidence,
    sources: sourcesIn(p.sources)
  }
}

export function eventWritableOf (e: Event): EventInput {
  return {
    agreement: e.agreement?.slug ?? null,
    slug: e.slug,
    title: e.title,
    description: e.description,
    startsAt: e.startsAt,
    endsAt: e.endsAt,
    timeZone: e.timeZone as EventInput['timeZone'],
    location: { name: e.location.name, street: e.location.street, postcode: e.location.postcode, city: e.location.city, site: e.location.site?.slug ?? null },
    participants: e.participants.map((p) => ({ name: p.name, organisation: p.organisation?.slug ?? null, facility: p.facility?.slug ?? null })),
    sources: sourcesIn(e.sources)
  }
}

const berlinOffsets = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', timeZoneName: 'longOffset' })

// The UTC offset in force in Europe/Berlin at an instant, as ±HH:MM.
function berlinOffsetAt (instant: Date): string {
  const name = berlinOffsets.formatToParts(instant).find((part) => part.type === 'timeZoneName')?.value ?? 'GMT'
  return name === 'GMT' ? '+00:00' : name.slice(3)
}

// A local time must exist in Berlin and carry the offset in force then, so that its text gives
// the local date and time (times skipped when the clocks go forward never match).
function checkBerlinTime (field: string, value: string, errors: FieldError[]): number | null {
  const instant = Date.parse(value)
  if (Number.isNaN(instant)) {
    errors.push({ field, message: 'is not a valid ISO 8601 date-time' })
    return null
  }
  const expected = berlinOffsetAt(new Date(instant))
  if (!value.endsWith(expected)) {
    errors.push({ field, message: `is not a local time of Europe/Berlin: at that instant the offset is ${expected}, not ${value.slice(-6)}` })
  }
  return instant
}

interface ResolvedEvent {
  input: EventInput
  agreementId: string | null
  siteId: string | null
  participants: { name: string, organisationId: string | null, facilityId: string | null }[]
}

interface ResolvedParty {
  input: AgreementPartyInput
  organisationId: string | null
  facilityId: string | null
}

export function createAgreementsRepository (db: Db, writer: Writer) {
  const sqlite = db.$client
  const revisions = sqlite.prepare("SELECT entity_id AS id, count(*) AS n FROM changes WHERE entity_type = 'event' AND action = 'update' AND entity_id IN (SELECT value FROM json_each(?)) GROUP BY entity_id")
  // Links to soft-deleted records are hidden, so joins only match live rows.
  const liveFacility = (column: typeof agreementParties.facilityId | typeof eventParticipants.facilityId) =>
    and(eq(facilities.id, column), isNull(facilities.deletedAt))
  const liveOrganisation = (column: typeof agreementParties.organisationId | typeof eventParticipants.organisationId | typeof organisationSites.organisationId) =>
    and(eq(organisations.id, column), isNull(organisations.deletedAt))

  // Live parties matching `where`, in reading order.
  function selectParties (where: SQL) {
    return db.select({
      agreementId: agreementParties.agreementId,
      id: agreementParties.id,
      role: agreementParties.role,
      name: agreementParties.name,
      confirmation: agreementParties.confirmation,
      evidence: agreementParties.evidence,
      sources: agreementParties.sources,
      org: { id: organisations.id, slug: organisations.slug, name: organisations.name, kind: organisations.kind },
      facility: { id: facilities.id, slug: facilities.slug, name: facilities.name },
      createdAt: agreementParties.createdAt,
      updatedAt: agreementParties.updatedAt
    })
      .from(agreementParties)
      .leftJoin(organisations, liveOrganisation(agreementParties.organisationId))
      .leftJoin(facilities, liveFacility(agreementParties.facilityId))
      .where(and(
        where,
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
  }

  const toParty = (r: ReturnType<typeof selectParties>[number]): AgreementParty => ({
    id: r.id,
    role: r.role as AgreementParty['role'],
    name: r.name,
    confirmation: r.confirmation as Confirmation,
    evidence: r.evidence,
    organisation: r.org,
    facility: r.facility,
    sources: r.sources
  })

  function partiesOf (agreementIds: string[]): Map<string, AgreementParty[]> {
    if (agreementIds.length === 0) return new Map()
    const grouped = groupBy(selectParties(inArray(agreementParties.agreementId, agreementIds)), (r) => r.agreementId)
    return new Map([...grouped].map(([agreementId, list]) => [agreementId, list.map(toParty)]))
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

  // --- Writes ----------------------------------------------------------------------------------

  interface Ref { id: string, slug: string }
  const refLookup = <T extends Ref = Ref>(table: string, extra = '') => {
    const statement = sqlite.prepare(`SELECT id, slug${extra} FROM ${table} WHERE (id = ? OR slug = ?) AND deleted_at IS NULL`)
    return (idOrSlug: string) => statement.get(idOrSlug, idOrSlug) as T | undefined
  }
  const agreementRef = refLookup('agreements')
  const organisationRef = refLookup<Ref & { kind: string }>('organisations', ', kind')
  const facilityRef = refLookup('facilities')
  const siteRef = refLookup('organisation_sites')
  // Slugs are unique over deleted records too (the index covers every row).
  const agreementSlugOwner = sqlite.prepare('SELECT id FROM agreements WHERE slug = ?').pluck()
  const eventSlugOwner = sqlite.prepare('SELECT id FROM events WHERE slug = ?').pluck()
  const otherParty = sqlite.prepare(`SELECT id FROM agreement_parties
    WHERE agreement_id = ? AND deleted_at IS NULL AND (facility_id = ? OR organisation_id = ?) AND id IS NOT ?`).pluck()
  const eventAgreement = sqlite.prepare('SELECT agreement_id FROM events WHERE id = ?').pluck()

  function findAgreement (idOrSlug: string): Agreement | undefined {
    const row = db.select().from(agreements).where(liveAgreement(idOrSlug)).get()
    return row === undefined ? undefined : toAgreements([row])[0]
  }

  function findEventLive (idOrSlug: string): Event | undefined {
    const row = db.select().from(events)
      .where(and(byIdOrSlug(events.id, events.slug, idOrSlug), isNull(events.deletedAt))).get()
    return row === undefined ? undefined : toEvents([row])[0]
  }

  // A party on its own: live, of a live agreement, standing for a live facility or organisation.
  function findParty (id: string): AgreementPartyRecord | undefined {
    const row = selectParties(eq(agreementParties.id, id))[0]
    if (row === undefined) return undefined
    const agreement = db.select({ id: agreements.id, slug: agreements.slug, title: agreements.title }).from(agreements)
      .where(and(eq(agreements.id, row.agreementId), isNull(agreements.deletedAt))).get()
    return agreement === undefined ? undefined : { ...toParty(row), agreement, createdAt: row.createdAt, updatedAt: row.updatedAt }
  }

  // Parties and events are part of an agreement's representation: writing them changes it.
  function touchAgreements (ids: (string | null | undefined)[], context: WriteContext): void {
    const wanted = [...new Set(ids.filter((id): id is string => typeof id === 'string'))]
    if (wanted.length === 0) return
    db.update(agreements).set({ updatedAt: context.now }).where(and(inArray(agreements.id, wanted), isNull(agreements.deletedAt))).run()
  }

  function resolveAgreement (input: AgreementInput, selfId: string): AgreementInput {
    const owner = agreementSlugOwner.get(input.slug) as string | undefined
    if (owner !== undefined && owner !== selfId) throw new InvalidRecordError([{ field: 'body.slug', message: `is already used by agreement ${owner}` }])
    return canonicalAgreement(input)
  }

  // Exactly one of organisation and facility, as the role says; each at most once per agreement.
  function resolveParty (agreementId: string, input: AgreementPartyInput, selfId: string | null): ResolvedParty {
    const errors: FieldError[] = []
    const wantsFacility = input.role === 'facility'
    let organisation: (Ref & { kind: string }) | undefined
    let facility: Ref | undefined
    if (wantsFacility) {
      if (input.organisation !== null) errors.push({ field: 'body.organisation', message: 'must be null for the role facility (the party is the facility)' })
      if (input.facility === null) errors.push({ field: 'body.facility', message: 'is required for the role facility' })
      else if ((facility = facilityRef(input.facility)) === undefined) errors.push({ field: 'body.facility', message: `no facility '${input.facility}'` })
    } else {
      if (input.facility !== null) errors.push({ field: 'body.facility', message: `must be null for the role ${input.role}` })
      if (input.organisation === null) {
        errors.push({ field: 'body.organisation', message: `is required for the role ${input.role}` })
      } else if ((organisation = organisationRef(input.organisation)) === undefined) {
        errors.push({ field: 'body.organisation', message: `no organisation '${input.organisation}'` })
      } else if (organisation.kind !== input.role) {
        errors.push({ field: 'body.organisation', message: `is of kind ${organisation.kind}, not ${input.role} as the role says` })
      }
    }
    if (errors.length === 0) {
      const other = otherParty.get(agreementId, facility?.id ?? null, organisation?.id ?? null, selfId) as string | undefined
      if (other !== undefined) errors.push({ field: wantsFacility ? 'body.facility' : 'body.organisation', message: `is already a party of this agreement (party ${other})` })
    }
    if (errors.length > 0) throw new InvalidRecordError(errors)
    return {
      input: {
        role: input.role,
        organisation: organisation?.slug ?? null,
        facility: facility?.slug ?? null,
        name: input.name,
        confirmation: input.confirmation,
        evidence: input.evidence,
        sources: sourcesIn(input.sources)
      },
      organisationId: organisation?.id ?? null,
      facilityId: facility?.id ?? null
    }
  }

  function resolveEvent (input: EventInput, selfId: string | null): ResolvedEvent {
    const errors: FieldError[] = []
    const owner = eventSlugOwner.get(input.slug) as string | undefined
    if (owner !== undefined && owner !== selfId) errors.push({ field: 'body.slug', message: `is already used by event ${owner}` })
    const agreement = input.agreement === null ? undefined : agreementRef(input.agreement)
    if (input.agreement !== null && agreement === undefined) errors.push({ field: 'body.agreement', message: `no agreement '${input.agreement}'` })
    const startsAt = checkBerlinTime('body.startsAt', input.startsAt, errors)
    if (input.endsAt !== null) {
      const endsAt = checkBerlinTime('body.endsAt', input.endsAt, errors)
      if (startsAt !== null && endsAt !== null && endsAt < startsAt) errors.push({ field: 'body.endsAt', message: 'must not be before startsAt' })
    }
    const site = input.location.site === null ? undefined : siteRef(input.location.site)
    if (input.location.site !== null && site === undefined) errors.push({ field: 'body.location.site', message: `no organisation site '${input.location.site}'` })
    const participants = input.participants.map((p, i) => {
      const field = `body.participants.${i}`
      if (p.organisation !== null && p.facility !== null) errors.push({ field, message: 'names both an organisation and a facility; a participant is one of them' })
      const organisation = p.organisation === null ? undefined : organisationRef(p.organisation)
      if (p.organisation !== null && organisation === undefined) errors.push({ field: `${field}.organisation`, message: `no organisation '${p.organisation}'` })
      const facility = p.facility === null ? undefined : facilityRef(p.facility)
      if (p.facility !== null && facility === undefined) errors.push({ field: `${field}.facility`, message: `no facility '${p.facility}'` })
      return { name: p.name, organisation, facility }
    })
    if (errors.length > 0) throw new InvalidRecordError(errors)
    return {
      input: {
        agreement: agreement?.slug ?? null,
        slug: input.slug,
        title: input.title,
        description: input.description,
        startsAt: input.startsAt,
        endsAt: input.endsAt,
        timeZone: input.timeZone,
        location: { name: input.location.name, street: input.location.street, postcode: input.location.postcode, city: input.location.city, site: site?.slug ?? null },
        participants: participants.map((p) => ({ name: p.name, organisation: p.organisation?.slug ?? null, facility: p.facility?.slug ?? null })),
        sources: sourcesIn(input.sources)
      },
      agreementId: agreement?.id ?? null,
      siteId: site?.id ?? null,
      participants: participants.map((p) => ({ name: p.name, organisationId: p.organisation?.id ?? null, facilityId: p.facility?.id ?? null }))
    }
  }

  function eventColumns (event: ResolvedEvent) {
    const { input } = event
    return {
      agreementId: event.agreementId,
      slug: input.slug,
      title: input.title,
      description: input.description,
      startsAt: input.startsAt,
      endsAt: input.endsAt,
      timeZone: input.timeZone,
      locationName: input.location.name,
      street: input.location.street,
      postcode: input.location.postcode,
      city: input.location.city,
      organisationSiteId: event.siteId,
      sources: input.sources
    }
  }

  function writeParticipants (eventId: string, event: ResolvedEvent): void {
    db.delete(eventParticipants).where(eq(eventParticipants.eventId, eventId)).run()
    if (event.participants.length === 0) return
    db.insert(eventParticipants).values(event.participants.map((p, position) => ({ eventId, position, ...p }))).run()
  }

  function partyColumns (party: ResolvedParty) {
    const { input } = party
    return {
      role: input.role,
      organisationId: party.organisationId,
      facilityId: party.facilityId,
      name: input.name,
      confirmation: input.confirmation,
      evidence: input.evidence,
      sources: input.sources
    }
  }

  return {
    // What events show of facilities (their participants), to compare after writes to
    // facilities (shared.ts).
    eventFacilityRefsKey: (): string => facilityRefsKey(db, 'event_participants'),

    list (query: AgreementListOptions): KeysetPage<AgreementListEntry, AgreementSort> {
      const { sort, spec, select, count } = agreementPlan(query)
      const { rows, nextCursor } = pageOf(spec, sort, query, select)
      return { total: count(), limit: query.limit, offset: query.offset, sort, items: agreementEntries(rows), nextCursor }
    },

    * iterate (query: AgreementListOptions, batchSize = 500): Generator<AgreementListEntry[]> {
      const { spec, select } = agreementPlan(query)
      for (const rows of batchesOf(spec, select, batchSize)) yield agreementEntries(rows)
    },

    find: findAgreement,

    // Id of an agreement by id or slug, deleted ones included (their history stays readable).
    resolveAnyId (idOrSlug: string): string | undefined {
      return db.select({ id: agreements.id }).from(agreements).where(byIdOrSlug(agreements.id, agreements.slug, idOrSlug)).get()?.id
    },

    // Runs `change` on the current record inside the write transaction, so preconditions
    // (scope, If-Match) are checked against exactly what is replaced.
    update (idOrSlug: string, actor: string, change: (current: Agreement) => AgreementInput): Agreement | undefined {
      return writer.write(actor, (context) => {
        const current = findAgreement(idOrSlug)
        if (current === undefined) return undefined
        const input = resolveAgreement(change(current), current.id)
        const changes = diff(asRecord(agreementWritableOf(current)), asRecord(input))
        if (Object.keys(changes).length === 0) return current
        db.update(agreements).set({
          slug: input.slug,
          title: input.title,
          titleNote: input.titleNote,
          summary: input.summary,
          announcedOn: input.announced.date,
          announcementNote: input.announced.note,
          signedOn: input.signed.date,
          signedTime: input.signed.time,
          signedPlace: input.signed.place,
          signedNote: input.signed.note,
          declaredPartnerCounts: input.declaredPartnerCounts,
          partnerCountNote: input.partnerCountNote,
          aims: input.aims,
          commitments: input.commitments,
          rationale: input.rationale,
          outcome: input.outcome,
          statusNotes: input.statusNotes,
          documentTextFound: input.documentTextFound,
          signatoryListFound: input.signatoryListFound,
          sources: input.sources,
          updatedAt: context.now
        }).where(eq(agreements.id, current.id)).run()
        writer.recordHistory(context, 'agreement', current.id, 'update', changes)
        return findAgreement(current.id)!
      })
    },

    findParty,

    // Id of a party, deleted ones included (their history stays readable).
    resolveAnyPartyId (id: string): string | undefined {
      return db.select({ id: agreementParties.id }).from(agreementParties).where(eq(agreementParties.id, id)).get()?.id
    },

    // undefined when there is no such live agreement.
    createParty (agreementIdOrSlug: string, input: AgreementPartyInput, actor: string): AgreementPartyRecord | undefined {
      return writer.write(actor, (context) => {
        const agreementId = db.select({ id: agreements.id }).from(agreements).where(liveAgreement(agreementIdOrSlug)).get()?.id
        if (agreementId === undefined) return undefined
        const party = resolveParty(agreementId, input, null)
        const id = newId()
        db.insert(agreementParties).values({ id, agreementId, ...partyColumns(party), createdAt: context.now, updatedAt: context.now }).run()
        touchAgreements([agreementId], context)
        writer.recordHistory(context, 'agreement_party', id, 'create', diff(null, asRecord(party.input)))
        return findParty(id)!
      })
    },

    updateParty (id: string, actor: string, change: (current: AgreementPartyRecord) => AgreementPartyInput): AgreementPartyRecord | undefined {
      return writer.write(actor, (context) => {
        const current = findParty(id)
        if (current === undefined) return undefined
        const party = resolveParty(current.agreement.id, change(current), current.id)
        const changes = diff(asRecord(partyWritableOf(current)), asRecord(party.input))
        if (Object.keys(changes).length === 0) return current
        db.update(agreementParties).set({ ...partyColumns(party), updatedAt: context.now }).where(eq(agreementParties.id, current.id)).run()
        touchAgreements([current.agreement.id], context)
        writer.recordHistory(context, 'agreement_party', current.id, 'update', changes)
        return findParty(current.id)!
      })
    },

    softDeleteParty (id: string, actor: string, check: (current: AgreementPartyRecord) => void): AgreementPartyRecord | undefined {
      return writer.write(actor, (context) => {
        const current = findParty(id)
        if (current === undefined) return undefined
        check(current)
        db.update(agreementParties).set({ deletedAt: context.now, updatedAt: context.now }).where(eq(agreementParties.id, current.id)).run()
        touchAgreements([current.agreement.id], context)
        writer.recordHistory(context, 'agreement_party', current.id, 'delete', diff(asRecord(partyWritableOf(current)), null))
        return current
      })
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

    findEvent: findEventLive,

    // How often each event was revised (its updates in the change feed): the iCalendar SEQUENCE
    // (RFC 5545 §3.8.7.4), so that a calendar takes a re-exported event as the newer version.
    eventRevisions (ids: string[]): Map<string, number> {
      const rows = revisions.all(JSON.stringify(ids)) as { id: string, n: number }[]
      return new Map(rows.map((r) => [r.id, r.n]))
    },

    // Id of an event by id or slug, deleted ones included (their history stays readable).
    resolveAnyEventId (idOrSlug: string): string | undefined {
      return db.select({ id: events.id }).from(events).where(byIdOrSlug(events.id, events.slug, idOrSlug)).get()?.id
    },

    createEvent (input: EventInput, actor: string): Event {
      return writer.write(actor, (context) => {
        const event = resolveEvent(input, null)
        const id = newId()
        db.insert(events).values({ id, ...eventColumns(event), createdAt: context.now, updatedAt: context.now }).run()
        writeParticipants(id, event)
        touchAgreements([event.agreementId], context)
        writer.recordHistory(context, 'event', id, 'create', diff(null, asRecord(event.input)))
        return findEventLive(id)!
      })
    },

    updateEvent (idOrSlug: string, actor: string, change: (current: Event) => EventInput): Event | undefined {
      return writer.write(actor, (context) => {
        const current = findEventLive(idOrSlug)
        if (current === undefined) return undefined
        const event = resolveEvent(change(current), current.id)
        const changes = diff(asRecord(eventWritableOf(current)), asRecord(event.input))
        if (Object.keys(changes).length === 0) return current
        const previousAgreementId = eventAgreement.get(current.id) as string | null
        db.update(events).set({ ...eventColumns(event), updatedAt: context.now }).where(eq(events.id, current.id)).run()
        // Unchanged participants keep their stored links, also those hidden while a record is deleted.
        if ('participants' in changes) writeParticipants(current.id, event)
        // The agreements list their events by slug, title and start.
        const listed = previousAgreementId !== event.agreementId || 'slug' in changes || 'title' in changes || 'startsAt' in changes
        if (listed) touchAgreements([previousAgreementId, event.agreementId], context)
        writer.recordHistory(context, 'event', current.id, 'update', changes)
        return findEventLive(current.id)!
      })
    },

    softDeleteEvent (idOrSlug: string, actor: string, check: (current: Event) => void): Event | undefined {
      return writer.write(actor, (context) => {
        const current = findEventLive(idOrSlug)
        if (current === undefined) return undefined
        check(current)
        db.update(events).set({ deletedAt: context.now, updatedAt: context.now }).where(eq(events.id, current.id)).run()
        touchAgreements([eventAgreement.get(current.id) as string | null], context)
        writer.recordHistory(context, 'event', current.id, 'delete', diff(asRecord(eventWritableOf(current)), null))
        return current
      })
    }
  }
}

export type AgreementsRepository = ReturnType<typeof createAgreementsRepository>
