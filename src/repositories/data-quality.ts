import type { Facility } from '../schemas/facilities.ts'
import type { Agreement } from '../schemas/agreements.ts'
import { FACILITY_GAP_FIELDS, type DataQuality } from '../schemas/data-quality.ts'

type Gap = typeof FACILITY_GAP_FIELDS[number]

const VERIFICATION_PERIOD_MS = 365 * 24 * 60 * 60 * 1000

export function facilityGaps (f: Facility): Gap[] {
  const gaps: [Gap, boolean][] = [
    ['address.street', f.address.street === null],
    ['address.postcode', f.address.postcode === null],
    ['address.ortsteil', f.address.ortsteil === null],
    ['geo', f.geo === null],
    ['openingHours.osm', f.openingHours.osm === null],
    ['openingHours.note', f.openingHours.note === null],
    ['phone', f.phone === null],
    ['email', f.email === null],
    ['website', f.website === null],
    ['contactChannel', f.phone === null && f.email === null && f.website === null],
    ['operator', f.operator === null],
    ['services', f.serviceCount === 0],
    ['description', f.description === null]
  ]
  return gaps.filter(([, missing]) => missing).map(([field]) => field)
}

// The first moment after `now` at which the report would say something else for the same records:
// when the next facility's last verification becomes more than a period old (null: never, all are
// due or unverified). A stored report is valid until then.
export function dataQualityValidUntil (facilities: Facility[], now: Date): Date | null {
  let until: number | null = null
  for (const f of facilities) {
    if (f.verifiedAt === null) continue
    const due = Date.parse(f.verifiedAt) + VERIFICATION_PERIOD_MS
    if (due >= now.getTime() && (until === null || due < until)) until = due
  }
  // verificationDue is `now − verifiedAt > period`: it flips one millisecond after `due`.
  return until === null ? null : new Date(until + 1)
}

// A pure report over plain records, so it can be tested without a server.
export function dataQualityReport (facilities: Facility[], agreements: Agreement[], now: Date): DataQuality {
  const missingByField = Object.fromEntries(FACILITY_GAP_FIELDS.map((field) => [field, 0])) as Record<Gap, number>
  const rows = facilities.map((f) => {
    const missing = facilityGaps(f)
    for (const field of missing) missingByField[field]++
    const verificationDue = f.verifiedAt === null || now.getTime() - Date.parse(f.verifiedAt) > VERIFICATION_PERIOD_MS
    return {
      facility: { id: f.id, slug: f.slug, name: f.name },
      partnershipStatus: f.partnership.status,
      missing,
      verifiedAt: f.verifiedAt,
      verificationDue
    }
  })
  return {
    generatedAt: now.toISOString(),
    summary: {
      facilities: rows.length,
      facilitiesWithGaps: rows.filter((r) => r.missing.length > 0).length,
      verificationDue: rows.filter((r) => r.verificationDue).length,
      missingByField
    },
    facilities: rows,
    agreements: agreements.map((a) => {
      const facilityParties = a.parties.filter((p) => p.role === 'facility')
      const knownByName = facilityParties.filter((p) => p.confirmation !== 'probable').length
      return {
        agreement: { id: a.id, slug: a.slug, title: a.title },
        partnerCount: a.partnerCount,
        unknownByName: a.partnerCount.declared.map((d) => ({ declared: d.value, knownByName, missing: Math.max(0, d.value - knownByName) })),
        evidence: facilityParties.map((p) => ({ name: p.name, confirmation: p.confirmation, evidence: p.evidence }))
      }
    })
  }
}
