import { Type, type Static } from 'typebox'
import { PARTY_CONFIRMATIONS, PARTY_ROLES } from '../domain/vocabulary.ts'
import {
  FacilityRefSchema, Id, Nullable, OrganisationRefSchema, Pagination, Slug, Sources, SyncQuery, Timestamp,
  Vocabulary, listItemSchema, many, mergePatchSchema, pageSchema, ref,
  InputText, SourceInputSchema
} from './common.ts'

const AGREEMENT_ID = '68dbae1d-4a9b-5e2e-aa5e-3da11723ef4c'
const AGREEMENT_SLUG = 'kooperationsvereinbarung-2018'
const AGREEMENT_TITLE = 'Kooperationsvereinbarung zwischen Bezirksamt Mitte, JobCenter (Berlin) Mitte und Nachbarschaftseinrichtungen im Bezirk Mitte'
const EVENT_ID = '3e4ee206-26ae-55fe-9099-cf95a00183c2'
const EVENT_SLUG = 'voneinander-wissen-in-mitte-2020'
const EVENT_TITLE = 'Voneinander wissen in Mitte – JobCenter und Nachbarschaftseinrichtungen lernen sich kennen'
const PM_260_2018 = {
  url: 'https://www.berlin.de/ba-mitte/aktuelles/pressemitteilungen/2018/pressemitteilung.713391.php',
  title: 'BA Mitte Pressemitteilung Nr. 260/2018 vom 19.06.2018: Das Jobcenter Berlin-Mitte, das Bezirksamt Mitte und die Nachbarschaftseinrichtungen im Bezirk schließen Kooperationsvereinbarung'
}
const PM_067_2020 = {
  url: 'https://berlin.de/ba-mitte/aktuelles/pressemitteilungen/2020/pressemitteilung.901585.php',
  title: 'BA Mitte Pressemitteilung Nr. 067/2020 vom 02.03.2020: Veranstaltung „Voneinander wissen in Mitte – JobCenter und Nachbarschaftseinrichtungen lernen sich kennen“'
}
const BW_2020 = {
  url: 'https://berliner-woche.de/mitte/c-bildung/jobcenter-und-nachbarschaftseinrichtungen-wollen-staerker-zusammenarbeiten_a255703',
  title: 'Berliner Woche (Dirk Jericho): Arbeitslose in die Kiezklubs – Jobcenter und Nachbarschaftseinrichtungen wollen stärker zusammenarbeiten'
}
const PM_158_2023 = {
  url: 'https://wertheim24.de/zusammenarbeit-jobcenter-mitte-bezirksamt-mitte-und-die-nachbarschaftseinrichtungen-im-bezirk',
  title: 'Republication (wertheim24.de) of BA Mitte Pressemitteilung Nr. 158/2023 vom 03.07.2023: Zusammenarbeit JobCenter Mitte, Bezirksamt Mitte und die Nachbarschaftseinrichtungen im Bezirk (original berlin.de page not available)'
}
const JOBCENTER_REF = { id: '06b7a5a2-b876-5fc0-878f-2247f67162d9', slug: 'jobcenter-berlin-mitte', name: 'JobCenter Berlin Mitte', kind: 'jobcenter' }
const BEZIRKSAMT_REF = { id: 'dd483766-6cd9-555c-8e23-4b4b806bcbab', slug: 'bezirksamt-mitte', name: 'Bezirksamt Mitte von Berlin', kind: 'district_office' }
const KREATIVHAUS_REF = { id: '645e8249-1972-5756-951a-0106b9a62b19', slug: 'kreativhaus', name: 'KREATIVHAUS (Stadtteilzentrum Kreativhaus auf der Fischerinsel)' }
const TIMESTAMP = '2026-11-21T09:00:00.000Z'

const kreativhausParty = {
  id: 'c7a50836-22df-5914-b664-5521569ff5b7',
  role: 'facility',
  name: 'Kreativhaus',
  confirmation: 'named_participant',
  evidence: 'In der Pressemitteilung Nr. 067/2020 und in der Berliner Woche (2020) unter den teilnehmenden Nachbarschaftseinrichtungen des Treffens am 11.03.2020 genannt. Dass die Einrichtung 2018 unterzeichnet hat, legt die Mitteilung nahe, sagt es aber nicht ausdrücklich.',
  organisation: null,
  facility: KREATIVHAUS_REF,
  sources: [
    { ...PM_067_2020, facts: ['named among the participating Nachbarschaftseinrichtungen'] },
    { ...BW_2020, facts: ['named among the participating Nachbarschaftseinrichtungen'] }
  ]
}

export const PartyRoleSchema = Vocabulary(PARTY_ROLES, { description: 'What the party is in the agreement: the district office, the JobCenter or a neighbourhood facility.' })
export const PartyConfirmationSchema = Vocabulary(PARTY_CONFIRMATIONS, {
  description: '`signatory`: a source says it signed; `named_participant`: a source names it among the facilities taking part in the partners’ meeting of 11 March 2020 (PM 067/2020), which implies but does not state that it signed; `probable`: inferred, no source names it.'
})

const LocalDate = Type.String({ format: 'date', description: 'Calendar date (YYYY-MM-DD).' })
// Event times keep the offset they were recorded with, so the local wall-clock time stays readable.
const LocalDateTime = Type.String({
  format: 'date-time',
  description: 'ISO 8601 with the UTC offset in force in `timeZone` on that day.',
  examples: ['2020-03-11T09:00:00+01:00']
})

export const AgreementRefSchema = Type.Object({
  id: Id,
  slug: Slug,
  title: Type.String()
}, { $id: 'AgreementRef', description: 'A short reference to an agreement.', examples: [{ id: AGREEMENT_ID, slug: AGREEMENT_SLUG, title: AGREEMENT_TITLE }] })

export const EventRefSchema = Type.Object({
  id: Id,
  slug: Slug,
  title: Type.String(),
  startsAt: LocalDateTime
}, { $id: 'EventRef', description: 'A short reference to an event.', examples: [{ id: EVENT_ID, slug: EVENT_SLUG, title: EVENT_TITLE, startsAt: '2020-03-11T09:00:00+01:00' }] })

export const AgreementPartySchema = Type.Object({
  id: Id,
  role: PartyRoleSchema,
  name: Type.String({ description: 'The party\'s name as the sources give it.' }),
  confirmation: PartyConfirmationSchema,
  evidence: Type.String({ description: 'What the confirmation rests on.' }),
  organisation: Nullable(ref(OrganisationRefSchema)),
  facility: Nullable(ref(FacilityRefSchema)),
  sources: Sources
}, {
  $id: 'AgreementParty',
  description: 'A party to the agreement (a Popolo-style membership with a role): the district office, the JobCenter or a facility, with how well its participation is confirmed.',
  examples: [kreativhausParty]
})
export type AgreementParty = Static<typeof AgreementPartySchema>

export const DeclaredPartnerCountSchema = Type.Object({
  value: Type.Integer({ minimum: 0, description: 'Number of partner facilities a source states.' }),
  note: Type.String({ description: 'Who states it and when.' }),
  sources: Sources
}, { $id: 'DeclaredPartnerCount', description: 'A number of partner facilities as stated by public sources.' })

const ConfirmationCounts = Type.Object({
  signatory: Type.Integer({ minimum: 0 }),
  named_participant: Type.Integer({ minimum: 0 }),
  probable: Type.Integer({ minimum: 0 })
})

export const PartnerCountSchema = Type.Object({
  declared: Type.Array(ref(DeclaredPartnerCountSchema), { description: 'What the sources say the number of partner facilities is; they disagree.' }),
  known: Type.Object({
    total: Type.Integer({ minimum: 0, description: 'Parties listed in `parties`, all roles.' }),
    byConfirmation: ConfirmationCounts,
    facilities: Type.Object({
      total: Type.Integer({ minimum: 0, description: 'Parties with role `facility`.' }),
      ...ConfirmationCounts.properties
    }, { description: 'Facility parties by confirmation; compare with `declared`.' })
  }, { description: 'Counted from the parties this directory knows by name.' }),
  summary: Type.String({ description: 'Declared versus known, in one line.' }),
  note: Nullable(Type.String({ description: 'Why declared and known counts differ.' }))
}, {
  $id: 'PartnerCount',
  description: 'How many partners the agreement has: as declared by the sources versus as known by name in this directory.'
})
export type PartnerCount = Static<typeof PartnerCountSchema>

export const AgreementSchema = Type.Object({
  id: Id,
  slug: Slug,
  title: Type.String(),
  titleNote: Nullable(Type.String({ description: 'Where the title comes from, when no official title was found.' })),
  summary: Type.String(),
  announced: Type.Object({
    date: Nullable(LocalDate),
    note: Nullable(Type.String())
  }, { description: 'Public announcement of the agreement.' }),
  signed: Type.Object({
    date: Nullable(LocalDate),
    time: Nullable(Type.String({ pattern: '^[0-2][0-9]:[0-5][0-9]$', description: 'Local time (Europe/Berlin), HH:MM.' })),
    place: Nullable(Type.String()),
    note: Nullable(Type.String())
  }, { description: 'Signing of the agreement.' }),
  aims: Type.Array(Type.String()),
  commitments: Type.Array(Type.String()),
  rationale: Type.Array(Type.String()),
  outcome: Nullable(Type.Object({
    date: LocalDate,
    summary: Type.String(),
    sources: Sources
  }, { description: 'How the partners judged the agreement later.' })),
  statusNotes: Type.Array(Type.String()),
  documentTextFound: Type.Boolean({ description: 'Whether the text of the agreement itself was found.' }),
  signatoryListFound: Type.Boolean({ description: 'Whether a list of the signatories was found.' }),
  partnerCount: ref(PartnerCountSchema),
  parties: Type.Array(ref(AgreementPartySchema), {
    description: 'District office, JobCenter, then facilities by confirmation (signatory, named participant, probable) and name.'
  }),
  events: Type.Array(ref(EventRefSchema), { description: 'Events of the cooperation, by start time.' }),
  sources: Sources,
  createdAt: Timestamp,
  updatedAt: Timestamp
}, {
  $id: 'Agreement',
  description: 'A cooperation agreement (Kooperationsvereinbarung) with its parties, partner counts and events.',
  examples: [{
    id: AGREEMENT_ID,
    slug: AGREEMENT_SLUG,
    title: AGREEMENT_TITLE,
    titleNote: 'Ein offizieller Titel des Vereinbarungsdokuments wurde nicht gefunden. Der Titel ist aus der Überschrift der Pressemitteilung Nr. 260/2018 abgeleitet.',
    summary: 'Bezirksamt Mitte, JobCenter Berlin Mitte und Nachbarschaftseinrichtungen des Bezirks haben 2018 vereinbart, zusammenzuarbeiten, damit auch Kundinnen und Kunden des Jobcenters die Stadtteilzentren, Mehrgenerationenhäuser und Begegnungsstätten nutzen.',
    announced: {
      date: '2018-06-19',
      note: 'Angekündigt mit der Pressemitteilung Nr. 260/2018 vom 19.06.2018 durch den Bezirksstadtrat für Stadtentwicklung, Soziales und Gesundheit, Ephraim Gothe.'
    },
    signed: {
      date: '2018-06-27',
      time: '15:00',
      place: 'Schillerbibliothek, Müllerstr. 149, 13353 Berlin',
      note: 'Die PM 260/2018 kündigt die Unterzeichnung für diesen Tag, diese Uhrzeit und diesen Ort an (in der Zukunftsform). Die PM 067/2020 bestätigt, dass am 27.6.2018 unterzeichnet wurde.'
    },
    aims: ['Die Partner wollen herausfinden, in welchen Handlungsfeldern und bei welchen Zielgruppen sich ihre Arbeit überschneidet, und diese Überschneidungen für Synergien nutzen.'],
    commitments: ['Auch die Nachbarschaftseinrichtungen untereinander arbeiten zusammen und verweisen aufeinander.'],
    rationale: ['Berufliche und soziale Integration zu fördern, soziale Benachteiligungen auszugleichen und individuelle Beeinträchtigungen zu überwinden, gilt als gemeinsame Aufgabe von Bezirksamt, Jobcenter und Nachbarschaftseinrichtungen.'],
    outcome: {
      date: '2023-07-03',
      summary: 'Nach fast fünf Jahren zogen die Partner eine positive Bilanz. Die Kooperation wurde in den Arbeitskreis Stadtteilarbeit überführt, dem das JobCenter seitdem als ständiges Mitglied angehört.',
      sources: [{ ...PM_158_2023, facts: ['outcome', 'transfer into AK Stadtteilarbeit', 'JobCenter permanent member'] }]
    },
    statusNotes: ['Der Text der Vereinbarung und das Mitglieder-Faltblatt des Arbeitskreises Stadtteilarbeit lagen nicht vor.'],
    documentTextFound: false,
    signatoryListFound: false,
    partnerCount: {
      declared: [
        {
          value: 19,
          note: 'Laut PM 067/2020 und Berliner Woche (2020) haben 19 Nachbarschaftseinrichtungen die Vereinbarung geschlossen.',
          sources: [{ ...PM_067_2020, facts: ['number of facilities: 19'] }, { ...BW_2020, facts: ['number of facilities: 19'] }]
        },
        {
          value: 17,
          note: 'Laut PM 158/2023 waren es 17 Nachbarschaftseinrichtungen.',
          sources: [{ ...PM_158_2023, facts: ['number of facilities: 17'] }]
        }
      ],
      known: {
        total: 14,
        byConfirmation: { signatory: 2, named_participant: 9, probable: 3 },
        facilities: { total: 12, signatory: 0, named_participant: 9, probable: 3 }
      },
      summary: 'Laut Quellen 19 bzw. 17 Einrichtungen; namentlich bekannt: 9 als Teilnehmende genannt, 3 wahrscheinlich.',
      note: 'Die Quellen widersprechen sich: 19 Einrichtungen (PM 067/2020, Berliner Woche 2020) gegenüber 17 (PM 158/2023). Der Unterschied wird nirgends erklärt.'
    },
    parties: [
      {
        id: 'd624830c-fef2-58cb-9cb1-4a3d78614139',
        role: 'district_office',
        name: 'Bezirksamt Mitte',
        confirmation: 'signatory',
        evidence: 'Die PM 260/2018 kündigt die Unterzeichnung durch das Bezirksamt Mitte an, und die PM 067/2020 bestätigt, dass es die Vereinbarung am 27.6.2018 unterzeichnet hat.',
        organisation: BEZIRKSAMT_REF,
        facility: null,
        sources: [{ ...PM_260_2018, facts: ['party (announced signing)'] }, { ...PM_067_2020, facts: ['signed on 27.6.2018'] }]
      },
      {
        id: '52db0500-ac04-59e5-a7ab-791907a891c3',
        role: 'jobcenter',
        name: 'JobCenter Mitte',
        confirmation: 'signatory',
        evidence: 'Die PM 260/2018 kündigt die Unterzeichnung durch das Jobcenter Berlin-Mitte an, und die PM 067/2020 bestätigt, dass das JobCenter Mitte die Vereinbarung am 27.6.2018 unterzeichnet hat.',
        organisation: JOBCENTER_REF,
        facility: null,
        sources: [{ ...PM_260_2018, facts: ['party (announced signing)'] }, { ...PM_067_2020, facts: ['signed on 27.6.2018'] }]
      },
      kreativhausParty
    ],
    events: [{ id: EVENT_ID, slug: EVENT_SLUG, title: EVENT_TITLE, startsAt: '2020-03-11T09:00:00+01:00' }],
    sources: [{ ...PM_260_2018, facts: ['title', 'announcement', 'signing date, time and place', 'aims', 'commitments', 'rationale'] }],
    createdAt: TIMESTAMP,
    updatedAt: TIMESTAMP
  }]
})
export type Agreement = Static<typeof AgreementSchema>

export const AGREEMENT_SORTS = ['signedOn', '-signedOn', 'updatedAt', '-updatedAt'] as const

export const AgreementListQuery = Type.Object({
  sort: Type.Optional(Vocabulary(AGREEMENT_SORTS, { description: 'Sort order; a leading `-` is descending. `signedOn`: agreements without a known signing date after the others. `id` is always the final tie-break, so the order is stable. Default: `updatedAt` with `updatedSince`, else `signedOn`.' })),
  ...SyncQuery,
  ...Pagination
}, { additionalProperties: false })
export type AgreementListQuery = Static<typeof AgreementListQuery>

export const AgreementListItemSchema = listItemSchema(AgreementSchema, 'AgreementListItem')

export const AgreementListSchema = pageSchema(AgreementListItemSchema, 'A page of agreements, by default sorted by signing date.')

export const EventParticipantSchema = Type.Object({
  name: Type.String({ description: 'The participant as written in the source.' }),
  organisation: Nullable(ref(OrganisationRefSchema)),
  facility: Nullable(ref(FacilityRefSchema))
}, { $id: 'EventParticipant', description: 'A participant of an event, linked to the directory where known.', examples: [{ name: 'Kreativhaus', organisation: null, facility: KREATIVHAUS_REF }] })

const SiteRef = Type.Object({ id: Id, slug: Slug, name: Type.String() }, { description: 'A short reference to a site of an organisation.' })

export const EventLocationSchema = Type.Object({
  name: Nullable(Type.String()),
  street: Nullable(Type.String()),
  postcode: Nullable(Type.String()),
  city: Nullable(Type.String()),
  site: Nullable(SiteRef),
  organisation: Nullable(ref(OrganisationRefSchema))
}, {
  $id: 'EventLocation',
  description: 'Where an event takes place; `site` and `organisation` link it to the directory where known.',
  examples: [{
    name: 'JobCenter Mitte – Standort Spittelmarkt',
    street: 'Seydelstr. 2-5',
    postcode: '10117',
    city: 'Berlin',
    site: { id: 'c067ff05-1bc0-529b-aac4-c277aa3717e0', slug: 'jobcenter-spittelmarkt', name: 'Standort Spittelmarkt' },
    organisation: JOBCENTER_REF
  }]
})

export const EventSchema = Type.Object({
  id: Id,
  slug: Slug,
  title: Type.String(),
  description: Nullable(Type.String()),
  startsAt: LocalDateTime,
  endsAt: Nullable(LocalDateTime),
  timeZone: Type.String({ description: 'IANA time zone of the event.', examples: ['Europe/Berlin'] }),
  location: ref(EventLocationSchema),
  agreement: Nullable(ref(AgreementRefSchema)),
  participants: Type.Array(ref(EventParticipantSchema), { description: 'In the order the source lists them.' }),
  sources: Sources,
  createdAt: Timestamp,
  updatedAt: Timestamp
}, {
  $id: 'Event',
  description: 'An event of the cooperation (Popolo-style event with participants).',
  examples: [{
    id: EVENT_ID,
    slug: EVENT_SLUG,
    title: EVENT_TITLE,
    description: 'Kennenlerntreffen der Beschäftigten des JobCenter-Standorts Spittelmarkt mit den Nachbarschaftseinrichtungen aus den Stadtteilen, für die dieser Standort zuständig ist.',
    startsAt: '2020-03-11T09:00:00+01:00',
    endsAt: '2020-03-11T13:00:00+01:00',
    timeZone: 'Europe/Berlin',
    location: {
      name: 'JobCenter Mitte – Standort Spittelmarkt',
      street: 'Seydelstr. 2-5',
      postcode: '10117',
      city: 'Berlin',
      site: { id: 'c067ff05-1bc0-529b-aac4-c277aa3717e0', slug: 'jobcenter-spittelmarkt', name: 'Standort Spittelmarkt' },
      organisation: JOBCENTER_REF
    },
    agreement: { id: AGREEMENT_ID, slug: AGREEMENT_SLUG, title: AGREEMENT_TITLE },
    participants: [
      { name: 'JobCenter Mitte', organisation: JOBCENTER_REF, facility: null },
      { name: 'Bezirksamt Mitte', organisation: BEZIRKSAMT_REF, facility: null },
      { name: 'Kreativhaus', organisation: null, facility: KREATIVHAUS_REF }
    ],
    sources: [{ ...PM_067_2020, facts: ['title', 'date and time', 'place', 'participants', 'purpose'] }],
    createdAt: TIMESTAMP,
    updatedAt: TIMESTAMP
  }]
})
export type Event = Static<typeof EventSchema>

export const EVENT_SORTS = ['startsAt', '-startsAt', 'updatedAt', '-updatedAt'] as const

const eventSort = Type.Optional(Vocabulary(EVENT_SORTS, { description: 'Sort order; a leading `-` is descending. `startsAt` orders by the instant of the start, whatever its offset. `id` is always the final tie-break, so the order is stable. Default: `updatedAt` with `updatedSince`, else `startsAt`.' }))

export const EventListQuery = Type.Object({
  agreement: Type.Optional(many(Type.String({ minLength: 1, maxLength: 200 }), 'Agreement id or slug, e.g. `kooperationsvereinbarung-2018`.')),
  from: Type.Optional(Type.String({ format: 'date', description: 'Only events starting on or after this local date (YYYY-MM-DD, Europe/Berlin).' })),
  to: Type.Optional(Type.String({ format: 'date', description: 'Only events starting on or before this local date (YYYY-MM-DD, Europe/Berlin).' })),
  sort: eventSort,
  ...SyncQuery,
  ...Pagination
}, { additionalProperties: false })
export type EventListQuery = Static<typeof EventListQuery>

export const EventPageQuery = Type.Object({ sort: eventSort, ...SyncQuery, ...Pagination }, { additionalProperties: false })

export const EventListItemSchema = listItemSchema(EventSchema, 'EventListItem')

export const EventListSchema = pageSchema(EventListItemSchema, 'A page of events, by default sorted by start time.')

export const agreementSchemas = [
  AgreementRefSchema, EventRefSchema, AgreementPartySchema, DeclaredPartnerCountSchema, PartnerCountSchema, AgreementSchema,
  AgreementListItemSchema, EventParticipantSchema, EventLocationSchema, EventSchema, EventListItemSchema
]

// The partner-count parts show the same real values as the agreement example.
const agreementExample = (AgreementSchema as unknown as { examples: [{ partnerCount: { declared: unknown[] } }] }).examples[0]
Object.assign(PartnerCountSchema, { examples: [agreementExample.partnerCount] })
Object.assign(DeclaredPartnerCountSchema, { examples: [agreementExample.partnerCount.declared[0]] })

// --- Writes ------------------------------------------------------------------------------------

const TextList = (description: string) => Type.Array(InputText(5000), { maxItems: 50, description })
const InputSources = Type.Array(SourceInputSchema, { maxItems: 100, description: 'Public sources of the facts in this record.' })
const InputDate = Type.String({ format: 'date', description: 'Calendar date (YYYY-MM-DD).' })
const Reference = (description: string) => Nullable(InputText(200, description))
const sourcesIn = (sources: { url: string, title: string, facts: string[] }[]) => sources.map(({ url, title, facts }) => ({ url, title, facts }))

const agreementRecord = (AgreementSchema as unknown as { examples: [Agreement] }).examples[0]

export const AgreementInputSchema = Type.Object({
  slug: Slug,
  title: InputText(500),
  titleNote: Nullable(InputText(2000, 'Where the title comes from, when no official title was found.')),
  summary: InputText(5000),
  announced: Type.Object({
    date: Nullable(InputDate),
    note: Nullable(InputText(2000))
  }, { additionalProperties: false, description: 'Public announcement of the agreement.' }),
  signed: Type.Object({
    date: Nullable(InputDate),
    time: Nullable(Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'Local time (Europe/Berlin), HH:MM.' })),
    place: Nullable(InputText(500)),
    note: Nullable(InputText(2000))
  }, { additionalProperties: false, description: 'Signing of the agreement.' }),
  declaredPartnerCounts: Type.Array(Type.Object({
    value: Type.Integer({ minimum: 0, maximum: 10000, description: 'Number of partner facilities a source states.' }),
    note: InputText(2000, 'Who states it and when.'),
    sources: InputSources
  }, { additionalProperties: false }), { maxItems: 20, description: 'Numbers of partner facilities as the sources state them (they may disagree).' }),
  partnerCountNote: Nullable(InputText(2000, 'Why declared and known counts differ.')),
  aims: TextList('Aims of the agreement.'),
  commitments: TextList('What the partners commit to.'),
  rationale: TextList('Why the partners cooperate.'),
  outcome: Nullable(Type.Object({
    date: InputDate,
    summary: InputText(5000),
    sources: InputSources
  }, { additionalProperties: false, description: 'How the partners judged the agreement later.' })),
  statusNotes: TextList('Notes on what is known and what is not.'),
  documentTextFound: Type.Boolean({ description: 'Whether the text of the agreement itself was found.' }),
  signatoryListFound: Type.Boolean({ description: 'Whether a list of the signatories was found.' }),
  sources: InputSources
}, {
  $id: 'AgreementInput',
  additionalProperties: false,
  description: 'The agreement as written by clients: its own facts. Parties and events are written through their own resources; `partnerCount.known` is counted from the parties.',
  examples: [{
    slug: agreementRecord.slug,
    title: agreementRecord.title,
    titleNote: agreementRecord.titleNote,
    summary: agreementRecord.summary,
    announced: agreementRecord.announced,
    signed: agreementRecord.signed,
    declaredPartnerCounts: agreementRecord.partnerCount.declared,
    partnerCountNote: agreementRecord.partnerCount.note,
    aims: agreementRecord.aims,
    commitments: agreementRecord.commitments,
    rationale: agreementRecord.rationale,
    outcome: agreementRecord.outcome,
    statusNotes: agreementRecord.statusNotes,
    documentTextFound: agreementRecord.documentTextFound,
    signatoryListFound: agreementRecord.signatoryListFound,
    sources: agreementRecord.sources
  }]
})
export type AgreementInput = Static<typeof AgreementInputSchema>

export const AgreementPatchSchema = mergePatchSchema(AgreementInputSchema, 'JSON Merge Patch (RFC 7386, `application/merge-patch+json`) of an AgreementInput: only the members to change; `null` clears a member, nested objects merge, arrays are replaced. The merged record is validated as a whole (422).')

export const AgreementPartyInputSchema = Type.Object({
  role: PartyRoleSchema,
  organisation: Reference('Organisation id or slug: required for the roles `district_office` and `jobcenter` (an organisation of that kind), null for `facility`.'),
  facility: Reference('Facility id or slug: required for the role `facility`, null otherwise.'),
  name: InputText(300, 'The party\'s name as the sources give it.'),
  confirmation: PartyConfirmationSchema,
  evidence: InputText(5000, 'What the confirmation rests on.'),
  sources: InputSources
}, {
  $id: 'AgreementPartyInput',
  additionalProperties: false,
  description: 'A party to the agreement as written by clients: exactly one of `organisation` and `facility`, matching the role. A facility or organisation is a party of an agreement at most once. The example is the seeded party of the Kreativhaus, so sent as it is it answers 422 (already a party): name a facility that is not a party yet, with its own evidence and sources.',
  examples: [{
    role: kreativhausParty.role,
    organisation: null,
    facility: KREATIVHAUS_REF.slug,
    name: kreativhausParty.name,
    confirmation: kreativhausParty.confirmation,
    evidence: kreativhausParty.evidence,
    sources: sourcesIn(kreativhausParty.sources)
  }]
})
export type AgreementPartyInput = Static<typeof AgreementPartyInputSchema>

export const AgreementPartyPatchSchema = mergePatchSchema(AgreementPartyInputSchema, 'JSON Merge Patch (RFC 7386, `application/merge-patch+json`) of an AgreementPartyInput: only the members to change; `null` clears a member, arrays are replaced. The merged party is validated as a whole (422).')

export const AgreementPartyRecordSchema = Type.Object({
  ...AgreementPartySchema.properties,
  agreement: ref(AgreementRefSchema),
  createdAt: Timestamp,
  updatedAt: Timestamp
}, {
  $id: 'AgreementPartyRecord',
  description: 'One party on its own (`/v1/agreement-parties/{id}`), with the agreement it belongs to. Its ETag is the one party writes compare with `If-Match`.',
  examples: [{
    ...kreativhausParty,
    agreement: { id: AGREEMENT_ID, slug: AGREEMENT_SLUG, title: AGREEMENT_TITLE },
    createdAt: TIMESTAMP,
    updatedAt: TIMESTAMP
  }]
})
export type AgreementPartyRecord = Static<typeof AgreementPartyRecordSchema>

export const EVENT_TIME_ZONES = ['Europe/Berlin'] as const

// A numeric offset, not `Z`: the stored text keeps the local wall-clock time and date, which the
// date filters of /v1/events compare.
const EventTime = (description: string) => Type.String({
  format: 'date-time',
  pattern: '[+-][0-9]{2}:[0-9]{2}$',
  description: `${description} ISO 8601 with the UTC offset in force in Europe/Berlin at that moment (\`+01:00\` in winter, \`+02:00\` in summer).`,
  examples: ['2020-03-11T09:00:00+01:00']
})

const eventRecord = (EventSchema as unknown as { examples: [Event] }).examples[0]

export const EventInputSchema = Type.Object({
  agreement: Reference('Agreement id or slug, or null for an event under no agreement.'),
  slug: Slug,
  title: InputText(500),
  description: Nullable(InputText(5000)),
  startsAt: EventTime('Start.'),
  endsAt: Nullable(EventTime('End, not before the start.')),
  timeZone: Vocabulary(EVENT_TIME_ZONES, { description: 'IANA time zone of the event; the directory holds events in Berlin only.' }),
  location: Type.Object({
    name: Nullable(InputText(300)),
    street: Nullable(InputText(200)),
    postcode: Nullable(Type.String({ pattern: '^[0-9]{5}$' })),
    city: Nullable(InputText(100)),
    site: Reference('Organisation site id or slug (e.g. `jobcenter-spittelmarkt`), or null.')
  }, { additionalProperties: false, description: 'Where the event takes place.' }),
  participants: Type.Array(Type.Object({
    name: InputText(300, 'The participant as written in the source.'),
    organisation: Reference('Organisation id or slug, or null.'),
    facility: Reference('Facility id or slug, or null (at most one of organisation and facility).')
  }, { additionalProperties: false }), { maxItems: 200, description: 'In the order the source lists them.' }),
  sources: InputSources
}, {
  $id: 'EventInput',
  additionalProperties: false,
  description: 'An event as written by clients. Times carry the offset of Europe/Berlin; unknown facts are null. The example is the seeded meeting of 11 March 2020, so sent as it is it answers 422 (the slug is used): give a new event its own slug and facts.',
  examples: [{
    agreement: AGREEMENT_SLUG,
    slug: eventRecord.slug,
    title: eventRecord.title,
    description: eventRecord.description,
    startsAt: eventRecord.startsAt,
    endsAt: eventRecord.endsAt,
    timeZone: 'Europe/Berlin',
    location: {
      name: eventRecord.location.name,
      street: eventRecord.location.street,
      postcode: eventRecord.location.postcode,
      city: eventRecord.location.city,
      site: eventRecord.location.site?.slug ?? null
    },
    participants: eventRecord.participants.map((p) => ({ name: p.name, organisation: p.organisation?.slug ?? null, facility: p.facility?.slug ?? null })),
    sources: eventRecord.sources
  }]
})
export type EventInput = Static<typeof EventInputSchema>

export const EventPatchSchema = mergePatchSchema(EventInputSchema, 'JSON Merge Patch (RFC 7386, `application/merge-patch+json`) of an EventInput: only the members to change; `null` clears a member, `location` merges, `participants` and `sources` are replaced. The merged event is validated as a whole (422).')

export const agreementWriteSchemas = [AgreementInputSchema, AgreementPartyInputSchema, AgreementPartyRecordSchema, EventInputSchema]
