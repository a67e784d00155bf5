import { Type, type Static } from 'typebox'
import { CONTACT_VISIBILITIES } from '../domain/vocabulary.ts'
import {
  FacilityRefSchema, Id, Nullable, OrganisationRefSchema, Pagination, Sources, SyncQuery, Timestamp, Vocabulary,
  listItemSchema, many, mergePatchSchema, pageSchema, ref,
  InputText, SourceInputSchema
} from './common.ts'
import { AS_OF_PATTERN } from './services.ts'

const ContactVisibilitySchema = Vocabulary(CONTACT_VISIBILITIES, {
  description: '`public`: a public source published the contact data; everyone may read it. `internal`: for the administration only; served only to API keys with `contacts:read-internal`.'
})

export const ContactSchema = Type.Object({
  id: Id,
  name: Type.String(),
  role: Type.String({ description: 'Function of the person as the sources state it, with the years it applies to.' }),
  organisation: Nullable(ref(OrganisationRefSchema)),
  facility: Nullable(ref(FacilityRefSchema)),
  phone: Nullable(Type.String()),
  email: Nullable(Type.String()),
  visibility: ContactVisibilitySchema,
  asOf: Nullable(Type.String({ pattern: AS_OF_PATTERN, description: 'Year (or range of years) the role and contact data are stated for.' })),
  sources: Sources,
  createdAt: Timestamp,
  updatedAt: Timestamp
}, {
  $id: 'Contact',
  description: 'A contact person of an organisation or facility. Public contacts are served to everyone; internal ones only to API keys with `contacts:read-internal`.',
  examples: [{
    id: '6e13e858-9d52-5cfb-ac06-a602dd95f46d',
    name: 'Petra Patz-Drüke',
    role: 'Leiterin der Sozialraumorientierten Planungskoordination, Bezirksamt Mitte; Ansprechpartnerin für die Veranstaltung am 11.03.2020',
    organisation: { id: 'dd483766-6cd9-555c-8e23-4b4b806bcbab', slug: 'bezirksamt-mitte', name: 'Bezirksamt Mitte von Berlin', kind: 'district_office' },
    facility: null,
    phone: '(030) 9018-42390',
    email: null,
    visibility: 'public',
    asOf: '2020',
    sources: [{
      url: 'https://berlin.de/ba-mitte/aktuelles/pressemitteilungen/2020/pressemitteilung.901585.php',
      title: 'BA Mitte Pressemitteilung Nr. 067/2020 vom 02.03.2020: Veranstaltung „Voneinander wissen in Mitte – JobCenter und Nachbarschaftseinrichtungen lernen sich kennen“',
      facts: ['contact for the event', 'phone']
    }],
    createdAt: '2026-11-21T09:00:00.000Z',
    updatedAt: '2026-11-21T09:00:00.000Z'
  }]
})
export type Contact = Static<typeof ContactSchema>

const idsOrSlugs = (description: string) => many(Type.String({ minLength: 1, maxLength: 200 }), description)

export const CONTACT_SORTS = ['name', '-name', 'updatedAt', '-updatedAt'] as const

export const ContactListQuery = Type.Object({
  organisation: Type.Optional(idsOrSlugs('Organisation id or slug, e.g. `jobcenter-berlin-mitte`.')),
  facility: Type.Optional(idsOrSlugs('Facility id or slug, e.g. `kreativhaus`.')),
  sort: Type.Optional(Vocabulary(CONTACT_SORTS, { description: 'Sort order; a leading `-` is descending. `id` is always the final tie-break, so the order is stable. Default: `updatedAt` with `updatedSince`, else `name`. Tombstones have no name, so with `name` they come first.' })),
  ...SyncQuery,
  ...Pagination
}, { additionalProperties: false })
export type ContactListQuery = Static<typeof ContactListQuery>

export const ContactListItemSchema = listItemSchema(ContactSchema, 'ContactListItem')

export const ContactPageSchema = pageSchema(ContactListItemSchema, 'A page of contacts (public ones; with a `contacts:read-internal` key internal ones too), by default sorted by name.')

export const contactSchemas = [ContactSchema, ContactListItemSchema]

// --- Writes ------------------------------------------------------------------------------------

const Reference = (description: string) => Nullable(InputText(200, description))

export const ContactInputSchema = Type.Object({
  name: InputText(300),
  role: InputText(2000, 'Function of the person as the sources state it, with the years it applies to.'),
  organisation: Reference('Organisation id or slug.'),
  facility: Reference('Facility id or slug. A `facility:<id>:write` key may only name its own facility.'),
  phone: Nullable(InputText(100)),
  email: Nullable(Type.String({ format: 'email', maxLength: 254 })),
  visibility: ContactVisibilitySchema,
  asOf: Nullable(Type.String({ pattern: AS_OF_PATTERN, description: 'Year (or range of years) the role and contact data are stated for.' })),
  sources: Type.Array(SourceInputSchema, { maxItems: 100 })
}, {
  $id: 'ContactInput',
  additionalProperties: false,
  description: 'A contact as written by clients: a person of an organisation, a facility or both. Unknown facts are null; `sources` says where the facts come from.',
  examples: [{
    name: 'Manuela Arlt',
    role: 'Ansprechpartnerin des JobCenters Mitte für die Veranstaltung am 11.03.2020',
    organisation: 'jobcenter-berlin-mitte',
    facility: null,
    phone: '(030) 5555-456086',
    email: null,
    visibility: 'public',
    asOf: '2020',
    sources: [{
      url: 'https://berlin.de/ba-mitte/aktuelles/pressemitteilungen/2020/pressemitteilung.901585.php',
      title: 'BA Mitte Pressemitteilung Nr. 067/2020 vom 02.03.2020: Veranstaltung „Voneinander wissen in Mitte – JobCenter und Nachbarschaftseinrichtungen lernen sich kennen“',
      facts: ['contact for the event', 'phone']
    }]
  }]
})
export type ContactInput = Static<typeof ContactInputSchema>

export const ContactPatchSchema = mergePatchSchema(ContactInputSchema, 'JSON Merge Patch (RFC 7386, `application/merge-patch+json`) of a ContactInput: only the members to change; `null` clears a member, arrays are replaced. The merged record is validated as a whole (422).')

export const contactWriteSchemas = [ContactInputSchema]
