import { Type, type Static } from 'typebox'
import { FacilityRefSchema, Nullable, Timestamp, Vocabulary, ref } from './common.ts'
import { PartnerCountSchema } from './agreements.ts'
import { PARTNERSHIP_STATUSES } from '../domain/vocabulary.ts'

export const FACILITY_GAP_FIELDS = [
  'address.street', 'address.postcode', 'address.ortsteil', 'geo', 'openingHours.osm', 'openingHours.note',
  'phone', 'email', 'website', 'contactChannel', 'operator', 'services', 'description'
] as const

const facilityQualityExample = {
  facility: { id: '40e80652-20cc-515e-b1f4-4004c97f6303', slug: 'begegnungsstaette-mehr-mitte', name: 'Begegnungsstätte „Mehr Mitte“' },
  partnershipStatus: 'participant',
  missing: ['address.street', 'address.postcode', 'address.ortsteil', 'geo', 'openingHours.osm', 'openingHours.note', 'phone', 'email', 'website', 'contactChannel', 'operator', 'services'],
  verifiedAt: null,
  verificationDue: true
}

const agreementCoverageExample = {
  agreement: { id: '68dbae1d-4a9b-5e2e-aa5e-3da11723ef4c', slug: 'kooperationsvereinbarung-2018', title: 'Kooperationsvereinbarung zwischen Bezirksamt Mitte, JobCenter (Berlin) Mitte und Nachbarschaftseinrichtungen im Bezirk Mitte' },
  partnerCount: (PartnerCountSchema as unknown as { examples: unknown[] }).examples[0],
  unknownByName: [{ declared: 19, knownByName: 9, missing: 10 }, { declared: 17, knownByName: 9, missing: 8 }],
  evidence: [{ name: 'Kreativhaus', confirmation: 'named_participant', evidence: 'In der PM 067/2020 und der Berliner Woche (2020) als teilnehmende Nachbarschaftseinrichtung des Treffens am 11.03.2020 genannt.' }]
}

export const FacilityQualitySchema = Type.Object({
  facility: ref(FacilityRefSchema),
  partnershipStatus: Vocabulary(PARTNERSHIP_STATUSES, { description: 'Partnership status of the facility.' }),
  missing: Type.Array(Vocabulary(FACILITY_GAP_FIELDS, { description: 'A field no source gives.' }), {
    description: 'Fields without a value. `contactChannel`: neither phone, email nor website; `services`: no offer known.'
  }),
  verifiedAt: Nullable(Timestamp),
  verificationDue: Type.Boolean({ description: 'Not verified by a person in the last 12 months.' })
}, { $id: 'FacilityQuality', description: 'The gaps in one facility record.', examples: [facilityQualityExample] })

export const AgreementCoverageSchema = Type.Object({
  agreement: Type.Object({ id: Type.String(), slug: Type.String(), title: Type.String() }),
  partnerCount: ref(PartnerCountSchema),
  unknownByName: Type.Array(Type.Object({
    declared: Type.Integer({ description: 'A partner count a source declares.' }),
    knownByName: Type.Integer({ description: 'Facility parties named by a source (signatory or named participant).' }),
    missing: Type.Integer({ description: 'Declared minus known by name: partner facilities nobody has named yet.' })
  }), { description: 'For each declared count, how many partner facilities are still unknown by name.' }),
  evidence: Type.Array(Type.Object({
    name: Type.String(),
    confirmation: Type.String(),
    evidence: Type.String()
  }), { description: 'The evidence for every facility party.' })
}, { $id: 'AgreementCoverage', description: 'Parties known by name versus the declared partner count.', examples: [agreementCoverageExample] })

export const DataQualitySchema = Type.Object({
  generatedAt: Timestamp,
  summary: Type.Object({
    facilities: Type.Integer({ minimum: 0 }),
    facilitiesWithGaps: Type.Integer({ minimum: 0 }),
    verificationDue: Type.Integer({ minimum: 0, description: 'Facilities not verified in the last 12 months.' }),
    missingByField: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description: 'How many facilities miss each field.' })
  }),
  facilities: Type.Array(ref(FacilityQualitySchema)),
  agreements: Type.Array(ref(AgreementCoverageSchema))
}, {
  $id: 'DataQuality',
  description: 'What the directory does not know yet: gaps per facility, records due for verification, agreement coverage.',
  examples: [{
    generatedAt: '2026-11-21T09:00:00.000Z',
    summary: { facilities: 14, facilitiesWithGaps: 14, verificationDue: 14, missingByField: { geo: 14, 'address.postcode': 6 } },
    facilities: [facilityQualityExample],
    agreements: [agreementCoverageExample]
  }]
})
export type DataQuality = Static<typeof DataQualitySchema>

export const dataQualitySchemas = [FacilityQualitySchema, AgreementCoverageSchema, DataQualitySchema]
