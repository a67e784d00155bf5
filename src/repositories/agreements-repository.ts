import { and, asc, eq, gte, inArray, isNotNull, isNull, lte, or, sql, type SQL, type SQLWrapper } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import {
  agreementParties, agreements, eventParticipants, events, facilities, organisationSites, organisations
} from '../db/schema.ts'
import { PARTY_CONFIRMATIONS, PARTY_ROLES } from '../domain/vocabulary.ts'
import { isUuid } from '../lib/uuid.ts'
import type {
  Agreement, AgreementListQuery, AgreementParty, Event, EventListQuery, PartnerCount
} from '../schemas/agreements.ts'
import { groupBy, type Page } from './shared.ts'

type AgreementRow = typeof agreements.$inferSelect
type EventRow = typeof events.$inferSelect
type Confirmation = AgreementParty['confirmation']
export type EventFilters = Omit<EventListQuery, 'limit' | 'offset'>

const byIdOrSlug = (idColumn: typeof agreements.id | typeof events.id, slugColumn: typeof agreements.slug | typeof events.slug, value: string): SQL =>
  isUuid(value) ? or(eq(idColumn, value), eq(slugColumn, value))! : eq(slugColumn, value)

// Vocabularies list their values in the order readers expect (district office before JobCenter,
// signatories before probable partners), which the alphabet would not give.
const vocabularyOrder = (column: SQLWrapper, values: readonly string[]): SQL =>
  sql`case ${column} ${sql.join(values.map((v, i) => sql`when ${v} then ${i}`), sql` `)} else ${values.length} end`

// Stored times carry their local offset; julianday() compares them as instants.
const startsAtInstant = sql`julianday(${events.startsAt})`

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

  function eventCondition (filters: EventFilters): SQL | undefined {
    const conditions: (SQL | undefined)[] = [isNull(events.deletedAt)]
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

  return {
    list (query: AgreementListQuery): Page<Agreement> {
      const where = isNull(agreements.deletedAt)
      const total = db.select({ n: sql<number>`count(*)` }).from(agreements).where(where).get()?.n ?? 0
      const rows = db.select().from(agreements).where(where)
        .orderBy(sql`${agreements.signedOn} is null`, asc(agreements.signedOn), asc(agreements.id))
        .limit(query.limit).offset(query.offset).all()
      return { total, limit: query.limit, offset: query.offset, items: toAgreements(rows) }
    },

    find (idOrSlug: string): Agreement | undefined {
      const row = db.select().from(agreements).where(liveAgreement(idOrSlug)).get()
      return row === undefined ? undefined : toAgreements([row])[0]
    },

    // The id of a live agreement, for routes that list its events.
    resolveId (idOrSlug: string): string | undefined {
      return db.select({ id: agreements.id }).from(agreements).where(liveAgreement(idOrSlug)).get()?.id
    },

    listEvents (query: EventListQuery): Page<Event> {
      const where = eventCondition(query)
      const total = db.select({ n: sql<number>`count(*)` }).from(events).where(where).get()?.n ?? 0
      const rows = db.select().from(events).where(where)
        .orderBy(asc(startsAtInstant), asc(events.id))
        .limit(query.limit).offset(query.offset).all()
      return { total, limit: query.limit, offset: query.offset, items: toEvents(rows) }
    },

    findEvent (idOrSlug: string): Event | undefined {
      const row = db.select().from(events)
        .where(and(byIdOrSlug(events.id, events.slug, idOrSlug), isNull(events.deletedAt))).get()
      return row === undefined ? undefined : toEvents([row])[0]
    }
  }
}

export type AgreementsRepository = ReturnType<typeof createAgreementsRepository>
