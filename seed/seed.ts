import { readFileSync } from 'node:fs'
import { and, eq, isNull, sql } from 'drizzle-orm'
import type { SQLiteTable } from 'drizzle-orm/sqlite-core'
import type { TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { Type, type Static } from 'typebox'
import type { Db } from '../src/db/client.ts'
import * as t from '../src/db/schema.ts'
import { projectPath } from '../src/lib/paths.ts'
import { seedId } from '../src/lib/uuid.ts'
import { reindexFacilities } from '../src/repositories/search-index.ts'
import { cachedStatement } from '../src/repositories/shared.ts'
import { touchShowing } from '../src/repositories/vocabularies-repository.ts'
import { createWriter } from '../src/repositories/writer.ts'
import {
  SeedAgreement, SeedContact, SeedFacility, SeedOrganisation, SeedSourceCatalogue, SeedVocabularyEntry,
  type SeedSourceCatalogue as Catalogue, type SeedVocabularyEntry as VocabularyEntry
} from './seed-schema.ts'

export interface SeedData {
  sources: Catalogue
  categories: VocabularyEntry[]
  targetGroups: VocabularyEntry[]
  organisations: Static<typeof SeedOrganisation>[]
  facilities: Static<typeof SeedFacility>[]
  contacts: Static<typeof SeedContact>[]
  agreement: Static<typeof SeedAgreement>
}

function readSeedFile<T extends TSchema> (name: string, schema: T): unknown {
  const data: unknown = JSON.parse(readFileSync(projectPath('seed', 'data', name), 'utf8'))
  if (!Value.Check(schema, data)) {
    const errors = [...Value.Errors(schema, data)].slice(0, 10).map((e) => `${e.instancePath || '/'} ${e.message}`)
    throw new Error(`seed/data/${name} does not match its schema:\n  ${errors.join('\n  ')}`)
  }
  return data
}

export function loadSeedData (): SeedData {
  return {
    sources: readSeedFile('sources.json', SeedSourceCatalogue) as SeedData['sources'],
    categories: readSeedFile('categories.json', Type.Array(SeedVocabularyEntry)) as SeedData['categories'],
    targetGroups: readSeedFile('target-groups.json', Type.Array(SeedVocabularyEntry)) as SeedData['targetGroups'],
    organisations: readSeedFile('organisations.json', Type.Array(SeedOrganisation)) as SeedData['organisations'],
    facilities: readSeedFile('facilities.json', Type.Array(SeedFacility)) as SeedData['facilities'],
    contacts: readSeedFile('contacts.json', Type.Array(SeedContact)) as SeedData['contacts'],
    agreement: readSeedFile('agreement.json', SeedAgreement) as SeedData['agreement']
  }
}

// Offers of earlier versions of the seed that are none (facility slug / offer key), with why.
export const WITHDRAWN_SERVICES = [
  // Villa Lützow's motto "Bildung – Begegnung – Beratung" (mitteNdran 2019), not an offer; a note
  // of the facility now.
  'villa-luetzow/beratung-bildung-begegnung'
]

export interface SeedCounts { inserted: number, updated: number, unchanged: number }

type Row = Record<string, unknown> & { id: string }
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

// Applies the seed: inserts missing records, updates records whose seeded facts changed and leaves
// everything else alone, so running it twice changes nothing (not even updatedAt).
export function seedDatabase (db: Db, data: SeedData = loadSeedData(), now = new Date().toISOString(), withdrawn = WITHDRAWN_SERVICES): SeedCounts {
  const counts: SeedCounts = { inserted: 0, updated: 0, unchanged: 0 }

  const resolve = (refs: { source: string, facts: string[] }[]): t.SourceRef[] => refs.map((ref) => {
    const source = data.sources[ref.source]
    if (source === undefined) throw new Error(`seed: unknown source '${ref.source}'`)
    return { url: source.url, title: source.title, facts: ref.facts }
  })
  const need = (map: Map<string, string>, kind: string, slug: string | null): string | null => {
    if (slug === null) return null
    const id = map.get(slug)
    if (id === undefined) throw new Error(`seed: unknown ${kind} '${slug}'`)
    return id
  }

  // What facilities and services show of a vocabulary entry (slug and labels), null if it is new.
  // When the seed sets it back, they get a change of their own, as when the API changes it.
  const writer = createWriter(db)
  function shownOf (table: 'categories' | 'target_groups', id: string): string | null {
    const row = cachedStatement(db, `SELECT slug, label_de, label_en FROM ${table} WHERE id = ?`).get(id)
    return row === undefined ? null : JSON.stringify(row)
  }

  // Returns true when the record was inserted or changed, so link tables can mark their parent.
  function upsert (table: SQLiteTable & { id: any }, row: Row, linksChanged = false): boolean {
    const existing = db.select().from(table).where(eq(table.id, row.id)).get() as Row | undefined
    if (existing === undefined) {
      db.insert(table).values({ ...row, createdAt: now, updatedAt: now }).run()
      counts.inserted++
      return true
    }
    const changed = linksChanged || Object.keys(row).some((key) => !same(existing[key], row[key]))
    if (!changed) {
      counts.unchanged++
      return false
    }
    db.update(table).set({ ...row, updatedAt: now }).where(eq(table.id, row.id)).run()
    counts.updated++
    return true
  }

  // Replaces the link rows of one owner when they differ; reports whether they did.
  function syncLinks<L extends Record<string, unknown>> (table: SQLiteTable, ownerColumn: any, ownerId: string, wanted: L[]): boolean {
    const current = db.select().from(table).where(eq(ownerColumn, ownerId)).all() as L[]
    const key = (rows: L[]) => rows.map((r) => JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k]]))).sort()
    if (same(key(current), key(wanted))) return false
    db.delete(table).where(eq(ownerColumn, ownerId)).run()
    if (wanted.length > 0) db.insert(table).values(wanted).run()
    return true
  }

  // Immediate: the write lock is taken (waiting for another process as long as the busy timeout
  // allows) before the first read, which a deferred transaction could not turn into a write.
  db.transaction(() => {
    const categoryIds = new Map(data.categories.map((c) => [c.slug, seedId('category', c.slug)]))
    for (const c of data.categories) {
      const id = categoryIds.get(c.slug)!
      const shown = shownOf('categories', id)
      upsert(t.categories, { id, slug: c.slug, labelDe: c.labelDe, labelEn: c.labelEn, description: c.description })
      if (shown !== null && shown !== shownOf('categories', id)) touchShowing(db, writer, { actor: 'seed', now }, 'category', id)
    }
    const groupIds = new Map(data.targetGroups.map((g) => [g.slug, seedId('target-group', g.slug)]))
    for (const g of data.targetGroups) {
      const id = groupIds.get(g.slug)!
      const shown = shownOf('target_groups', id)
      upsert(t.targetGroups, { id, slug: g.slug, labelDe: g.labelDe, labelEn: g.labelEn, description: g.description })
      if (shown !== null && shown !== shownOf('target_groups', id)) touchShowing(db, writer, { actor: 'seed', now }, 'target_group', id)
    }

    const organisationIds = new Map(data.organisations.map((o) => [o.slug, seedId('organisation', o.slug)]))
    const siteIds = new Map<string, string>()
    for (const o of data.organisations) {
      const organisationId = organisationIds.get(o.slug)!
      upsert(t.organisations, {
        id: organisationId,
        slug: o.slug,
        kind: o.kind,
        name: o.name,
        alternateNames: o.alternateNames,
        description: o.description,
        legalForm: o.legalForm,
        website: o.website,
        email: o.email,
        phone: o.phone,
        street: o.street,
        postcode: o.postcode,
        city: o.city,
        ortsteil: o.ortsteil,
        notes: o.notes,
        sources: resolve(o.sources)
      })
      for (const u of o.units) {
        upsert(t.organisationUnits, {
          id: seedId('organisation-unit', u.slug),
          organisationId,
          slug: u.slug,
          kind: u.kind,
          name: u.name,
          description: u.description,
          website: u.website,
          phone: u.phone,
          notes: u.notes,
          sources: resolve(u.sources)
        })
      }
      for (const s of o.sites) {
        const id = seedId('organisation-site', s.slug)
        siteIds.set(s.slug, id)
        upsert(t.organisationSites, {
          id,
          organisationId,
          slug: s.slug,
          name: s.name,
          status: s.status,
          street: s.street,
          postcode: s.postcode,
          city: s.city,
          ortsteil: s.ortsteil,
          lat: null,
          lon: null,
          description: s.description,
          notes: s.notes,
          sources: resolve(s.sources)
        })
      }
    }

    const facilityIds = new Map(data.facilities.map((f) => [f.slug, seedId('facility', f.slug)]))
    for (const f of data.facilities) {
      const facilityId = facilityIds.get(f.slug)!
      const row: Row = {
        id: facilityId,
        slug: f.slug,
        name: f.name,
        alternateNames: f.alternateNames,
        operatorId: need(organisationIds, 'organisation', f.operator),
        operatorNote: f.operatorNote,
        street: f.address.street,
        postcode: f.address.postcode,
        city: f.address.city,
        ortsteil: f.address.ortsteil,
        bezirksregion: f.address.bezirksregion,
        addressNote: f.address.note,
        lat: null,
        lon: null,
        phone: f.phone,
        fax: f.fax,
        email: f.email,
        website: f.website,
        openingHoursNote: f.openingHoursNote,
        description: f.description,
        partnershipStatus: f.partnership.status,
        partnershipEvidence: f.partnership.evidence,
        status: f.status,
        notes: f.notes,
        sources: resolve(f.sources)
      }
      // The parent row must exist before its links (foreign keys), so upsert it first and
      // then bump updatedAt if only its links changed.
      const changed = upsert(t.facilities, row)
      const typesChanged = syncLinks(t.facilityTypes, t.facilityTypes.facilityId, facilityId,
        f.types.map((type) => ({ facilityId, type })))
      const groupsChanged = syncLinks(t.facilityTargetGroups, t.facilityTargetGroups.facilityId, facilityId,
        f.targetGroups.map((g) => ({ facilityId, targetGroupId: need(groupIds, 'target group', g.targetGroup)!, originalWording: g.originalWording })))
      if (!changed && (typesChanged || groupsChanged)) touch(t.facilities, facilityId)

      for (const s of f.services) {
        const serviceId = seedId('service', `${f.slug}/${s.key}`)
        const serviceChanged = upsert(t.services, {
          id: serviceId,
          facilityId,
          name: s.name,
          description: s.description,
          categoryId: need(categoryIds, 'category', s.category),
          scheduleNote: s.scheduleNote,
          feeNote: s.feeNote,
          asOf: s.asOf,
          status: s.status,
          sources: resolve(s.sources)
        })
        const linksChanged = syncLinks(t.serviceTargetGroups, t.serviceTargetGroups.serviceId, serviceId,
          s.targetGroups.map((g) => ({ serviceId, targetGroupId: need(groupIds, 'target group', g.targetGroup)!, originalWording: g.originalWording })))
        if (!serviceChanged && linksChanged) touch(t.services, serviceId)
      }
    }

    for (const c of data.contacts) {
      upsert(t.contacts, {
        id: seedId('contact', c.key),
        name: c.name,
        role: c.role,
        organisationId: need(organisationIds, 'organisation', c.organisation),
        facilityId: need(facilityIds, 'facility', c.facility),
        phone: c.phone,
        email: c.email,
        visibility: c.visibility,
        asOf: c.asOf,
        sources: resolve(c.sources)
      })
    }

    const a = data.agreement
    const agreementId = seedId('agreement', a.slug)
    upsert(t.agreements, {
      id: agreementId,
      slug: a.slug,
      title: a.title,
      titleNote: a.titleNote,
      summary: a.summary,
      announcedOn: a.announcedOn,
      announcementNote: a.announcementNote,
      signedOn: a.signedOn,
      signedTime: a.signedTime,
      signedPlace: a.signedPlace,
      signedNote: a.signedNote,
      declaredPartnerCounts: a.declaredPartnerCounts.map((c) => ({ value: c.value, note: c.note, sources: resolve(c.sources) })),
      partnerCountNote: a.partnerCountNote,
      aims: a.aims,
      commitments: a.commitments,
      rationale: a.rationale,
      outcome: a.outcome === null ? null : { date: a.outcome.date, summary: a.outcome.summary, sources: resolve(a.outcome.sources) },
      statusNotes: a.statusNotes,
      documentTextFound: a.documentTextFound,
      signatoryListFound: a.signatoryListFound,
      sources: resolve(a.sources)
    })
    for (const p of a.parties) {
      upsert(t.agreementParties, {
        id: seedId('agreement-party', `${a.slug}/${p.key}`),
        agreementId,
        role: p.role,
        organisationId: need(organisationIds, 'organisation', p.organisation),
        facilityId: need(facilityIds, 'facility', p.facility),
        name: p.name,
        confirmation: p.confirmation,
        evidence: p.evidence,
        sources: resolve(p.sources)
      })
    }
    for (const e of a.events) {
      const eventId = seedId('event', e.slug)
      const changed = upsert(t.events, {
        id: eventId,
        agreementId,
        slug: e.slug,
        title: e.title,
        description: e.description,
        startsAt: e.startsAt,
        endsAt: e.endsAt,
        timeZone: e.timeZone,
        locationName: e.locationName,
        street: e.street,
        postcode: e.postcode,
        city: e.city,
        organisationSiteId: need(siteIds, 'site', e.site),
        sources: resolve(e.sources)
      })
      const participantsChanged = syncLinks(t.eventParticipants, t.eventParticipants.eventId, eventId, e.participants.map((p, position) => ({
        eventId,
        position,
        name: p.name,
        organisationId: need(organisationIds, 'organisation', p.organisation),
        facilityId: need(facilityIds, 'facility', p.facility)
      })))
      if (!changed && participantsChanged) touch(t.events, eventId)
    }
    // Seeded records that a later review found not to be facts: soft-deleted, so databases
    // seeded earlier lose them too and copies see a delete in the feed and a tombstone (like
    // every change the seed makes, without a history entry: history records the keys' writes).
    for (const key of withdrawn) {
      const withdrawn = db.update(t.services).set({ deletedAt: now, updatedAt: now })
        .where(and(eq(t.services.id, seedId('service', key)), isNull(t.services.deletedAt))).run()
      counts.updated += withdrawn.changes
    }
    if (counts.inserted + counts.updated > 0) reindexFacilities(db)
  }, { behavior: 'immediate' })

  function touch (table: SQLiteTable & { id: any }, id: string): void {
    db.update(table).set({ updatedAt: now } as never).where(eq(table.id, id)).run()
    counts.unchanged--
    counts.updated++
  }

  return counts
}

export function seedIfEmpty (db: Db): SeedCounts | null {
  const n = db.select({ n: sql<number>`count(*)` }).from(t.facilities).get()?.n ?? 0
  if (n > 0) return null
  return seedDatabase(db)
}
