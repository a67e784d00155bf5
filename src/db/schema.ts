import { sql } from 'drizzle-orm'
import { sqliteTable, text, real, integer, primaryKey, index, uniqueIndex } from 'drizzle-orm/sqlite-core'

export interface SourceRef {
  url: string
  title: string
  facts: string[]
}

export interface DeclaredCount {
  value: number
  note: string
  sources: SourceRef[]
}

export interface AgreementOutcome {
  date: string
  summary: string
  sources: SourceRef[]
}

const timestamps = {
  createdAt: text('created_at').notNull(),
  updatedAt: text('updated_at').notNull(),
  deletedAt: text('deleted_at')
}

const sources = text('sources', { mode: 'json' }).$type<SourceRef[]>().notNull()

export const organisations = sqliteTable('organisations', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull(),
  kind: text('kind').notNull(),
  name: text('name').notNull(),
  alternateNames: text('alternate_names', { mode: 'json' }).$type<string[]>().notNull(),
  description: text('description'),
  legalForm: text('legal_form'),
  website: text('website'),
  email: text('email'),
  phone: text('phone'),
  street: text('street'),
  postcode: text('postcode'),
  city: text('city'),
  ortsteil: text('ortsteil'),
  notes: text('notes', { mode: 'json' }).$type<string[]>().notNull(),
  sources,
  ...timestamps
}, (t) => [uniqueIndex('organisations_slug_idx').on(t.slug), index('organisations_kind_idx').on(t.kind)])

export const organisationUnits = sqliteTable('organisation_units', {
  id: text('id').primaryKey(),
  organisationId: text('organisation_id').notNull().references(() => organisations.id),
  slug: text('slug').notNull(),
  kind: text('kind').notNull(),
  name: text('name').notNull(),
  description: text('description'),
  website: text('website'),
  phone: text('phone'),
  notes: text('notes', { mode: 'json' }).$type<string[]>().notNull(),
  sources,
  ...timestamps
}, (t) => [uniqueIndex('organisation_units_slug_idx').on(t.slug), index('organisation_units_org_idx').on(t.organisationId)])

export const organisationSites = sqliteTable('organisation_sites', {
  id: text('id').primaryKey(),
  organisationId: text('organisation_id').notNull().references(() => organisations.id),
  slug: text('slug').notNull(),
  name: text('name').notNull(),
  status: text('status').notNull(),
  street: text('street'),
  postcode: text('postcode'),
  city: text('city'),
  ortsteil: text('ortsteil'),
  lat: real('lat'),
  lon: real('lon'),
  description: text('description'),
  notes: text('notes', { mode: 'json' }).$type<string[]>().notNull(),
  sources,
  ...timestamps
}, (t) => [uniqueIndex('organisation_sites_slug_idx').on(t.slug), index('organisation_sites_org_idx').on(t.organisationId)])

export const facilities = sqliteTable('facilities', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull(),
  name: text('name').notNull(),
  alternateNames: text('alternate_names', { mode: 'json' }).$type<string[]>().notNull(),
  operatorId: text('operator_id').references(() => organisations.id),
  operatorNote: text('operator_note'),
  street: text('street'),
  postcode: text('postcode'),
  city: text('city'),
  ortsteil: text('ortsteil'),
  bezirksregion: text('bezirksregion'),
  addressNote: text('address_note'),
  lat: real('lat'),
  lon: real('lon'),
  phone: text('phone'),
  fax: text('fax'),
  email: text('email'),
  website: text('website'),
  openingHoursNote: text('opening_hours_note'),
  // OpenStreetMap opening_hours syntax; null unless a source gives hours precise enough.
  openingHours: text('opening_hours'),
  description: text('description'),
  partnershipStatus: text('partnership_status').notNull(),
  partnershipEvidence: text('partnership_evidence').notNull(),
  status: text('status').notNull(),
  notes: text('notes', { mode: 'json' }).$type<string[]>().notNull(),
  verifiedAt: text('verified_at'),
  verifiedBy: text('verified_by'),
  sources,
  ...timestamps
}, (t) => [
  uniqueIndex('facilities_slug_idx').on(t.slug),
  // Ortsteil, Bezirksregion and name are filtered and sorted case-insensitively (COLLATE NOCASE
  // in the queries); an index serves such a query only when it has the same collation. The
  // Ortsteil index also holds what a filtered list needs before it reads a row (live or not,
  // name order, id for the type check), so counting 100,000 facilities stays in the index.
  index('facilities_ortsteil_idx').on(sql`${t.ortsteil} COLLATE NOCASE`, t.deletedAt, sql`${t.name} COLLATE NOCASE`, t.id),
  index('facilities_operator_idx').on(t.operatorId),
  index('facilities_partnership_idx').on(t.partnershipStatus),
  index('facilities_name_idx').on(sql`${t.name} COLLATE NOCASE`, t.id),
  index('facilities_updated_idx').on(t.updatedAt, t.id),
  index('facilities_geo_idx').on(t.lat, t.lon),
  index('facilities_bezirksregion_idx').on(sql`${t.bezirksregion} COLLATE NOCASE`)
])

export const facilityTypes = sqliteTable('facility_types', {
  facilityId: text('facility_id').notNull().references(() => facilities.id, { onDelete: 'cascade' }),
  type: text('type').notNull()
}, (t) => [primaryKey({ columns: [t.facilityId, t.type] }), index('facility_types_type_idx').on(t.type, t.facilityId)])

export const categories = sqliteTable('categories', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull(),
  labelDe: text('label_de').notNull(),
  labelEn: text('label_en').notNull(),
  description: text('description').notNull(),
  ...timestamps
}, (t) => [uniqueIndex('categories_slug_idx').on(t.slug)])

export const targetGroups = sqliteTable('target_groups', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull(),
  labelDe: text('label_de').notNull(),
  labelEn: text('label_en').notNull(),
  description: text('description').notNull(),
  ...timestamps
}, (t) => [uniqueIndex('target_groups_slug_idx').on(t.slug)])

export const services = sqliteTable('services', {
  id: text('id').primaryKey(),
  facilityId: text('facility_id').notNull().references(() => facilities.id),
  name: text('name').notNull(),
  description: text('description'),
  categoryId: text('category_id').notNull().references(() => categories.id),
  scheduleNote: text('schedule_note'),
  feeNote: text('fee_note'),
  asOf: text('as_of'),
  status: text('status').notNull(),
  sources,
  ...timestamps
}, (t) => [index('services_facility_idx').on(t.facilityId), index('services_category_idx').on(t.categoryId), index('services_updated_idx').on(t.updatedAt, t.id)])

export const facilityTargetGroups = sqliteTable('facility_target_groups', {
  facilityId: text('facility_id').notNull().references(() => facilities.id, { onDelete: 'cascade' }),
  targetGroupId: text('target_group_id').notNull().references(() => targetGroups.id),
  originalWording: text('original_wording').notNull()
}, (t) => [primaryKey({ columns: [t.facilityId, t.targetGroupId] }), index('facility_target_groups_tg_idx').on(t.targetGroupId)])

export const serviceTargetGroups = sqliteTable('service_target_groups', {
  serviceId: text('service_id').notNull().references(() => services.id, { onDelete: 'cascade' }),
  targetGroupId: text('target_group_id').notNull().references(() => targetGroups.id),
  originalWording: text('original_wording').notNull()
}, (t) => [primaryKey({ columns: [t.serviceId, t.targetGroupId] }), index('service_target_groups_tg_idx').on(t.targetGroupId)])

export const contacts = sqliteTable('contacts', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  role: text('role').notNull(),
  organisationId: text('organisation_id').references(() => organisations.id),
  facilityId: text('facility_id').references(() => facilities.id),
  phone: text('phone'),
  email: text('email'),
  visibility: text('visibility').notNull(),
  asOf: text('as_of'),
  sources,
  ...timestamps
}, (t) => [index('contacts_org_idx').on(t.organisationId), index('contacts_facility_idx').on(t.facilityId)])

// Contacts that have been public at some time, kept by triggers on contacts (migration 0005) and
// never emptied: one that is internal now but was public may be in public copies, which sync tells
// to drop it; one that never was is in none, and its id (derived from the person's name) is never
// disclosed to the public.
export const contactsEverPublic = sqliteTable('contacts_ever_public', {
  contactId: text('contact_id').primaryKey(),
  // When it last stopped being public and live (made internal, deleted), null while it is: its
  // updatedAt then, the time of its tombstone for the public (kept by the change triggers, 0007).
  hiddenAt: text('hidden_at')
})

// The stretches of the change feed in which a contact was not public and live: from the change
// that hid it (or created it internal) to the one that made it public again (null: still hidden).
// The public feed leaves out the changes inside a stretch, so it never tells when an internal
// contact was edited. Kept by the change triggers on contacts (migration 0007).
export const contactHiddenPeriods = sqliteTable('contact_hidden_periods', {
  contactId: text('contact_id').notNull(),
  fromSeq: integer('from_seq').notNull(),
  toSeq: integer('to_seq')
}, (t) => [primaryKey({ columns: [t.contactId, t.fromSeq] })])

// When a facility's public contacts last lost one (deleted, made internal, moved or removed), kept
// by triggers (migration 0005): the facility's services showed it, so they changed then (HSDS
// last_modified). A time only, never who; edits of internal contacts do not move it.
export const facilityContactRemovals = sqliteTable('facility_contact_removals', {
  facilityId: text('facility_id').primaryKey(),
  removedAt: text('removed_at').notNull()
})

export const agreements = sqliteTable('agreements', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull(),
  title: text('title').notNull(),
  titleNote: text('title_note'),
  summary: text('summary').notNull(),
  announcedOn: text('announced_on'),
  announcementNote: text('announcement_note'),
  signedOn: text('signed_on'),
  signedTime: text('signed_time'),
  signedPlace: text('signed_place'),
  signedNote: text('signed_note'),
  declaredPartnerCounts: text('declared_partner_counts', { mode: 'json' }).$type<DeclaredCount[]>().notNull(),
  partnerCountNote: text('partner_count_note'),
  aims: text('aims', { mode: 'json' }).$type<string[]>().notNull(),
  commitments: text('commitments', { mode: 'json' }).$type<string[]>().notNull(),
  rationale: text('rationale', { mode: 'json' }).$type<string[]>().notNull(),
  outcome: text('outcome', { mode: 'json' }).$type<AgreementOutcome | null>(),
  statusNotes: text('status_notes', { mode: 'json' }).$type<string[]>().notNull(),
  documentTextFound: integer('document_text_found', { mode: 'boolean' }).notNull(),
  signatoryListFound: integer('signatory_list_found', { mode: 'boolean' }).notNull(),
  sources,
  ...timestamps
}, (t) => [uniqueIndex('agreements_slug_idx').on(t.slug)])

export const agreementParties = sqliteTable('agreement_parties', {
  id: text('id').primaryKey(),
  agreementId: text('agreement_id').notNull().references(() => agreements.id),
  role: text('role').notNull(),
  organisationId: text('organisation_id').references(() => organisations.id),
  facilityId: text('facility_id').references(() => facilities.id),
  name: text('name').notNull(),
  confirmation: text('confirmation').notNull(),
  evidence: text('evidence').notNull(),
  sources,
  ...timestamps
}, (t) => [index('agreement_parties_agreement_idx').on(t.agreementId)])

export const events = sqliteTable('events', {
  id: text('id').primaryKey(),
  agreementId: text('agreement_id').references(() => agreements.id),
  slug: text('slug').notNull(),
  title: text('title').notNull(),
  description: text('description'),
  startsAt: text('starts_at').notNull(),
  endsAt: text('ends_at'),
  timeZone: text('time_zone').notNull(),
  locationName: text('location_name'),
  street: text('street'),
  postcode: text('postcode'),
  city: text('city'),
  organisationSiteId: text('organisation_site_id').references(() => organisationSites.id),
  sources,
  ...timestamps
}, (t) => [uniqueIndex('events_slug_idx').on(t.slug), index('events_agreement_idx').on(t.agreementId)])

export const eventParticipants = sqliteTable('event_participants', {
  eventId: text('event_id').notNull().references(() => events.id, { onDelete: 'cascade' }),
  position: integer('position').notNull(),
  name: text('name').notNull(),
  organisationId: text('organisation_id').references(() => organisations.id),
  facilityId: text('facility_id').references(() => facilities.id)
}, (t) => [primaryKey({ columns: [t.eventId, t.position] })])

// The change feed. Rows are written by database triggers (migrations/0002), so no write path can
// bypass it; seq is monotonic and never reused (AUTOINCREMENT).
export const changes = sqliteTable('changes', {
  seq: integer('seq').primaryKey({ autoIncrement: true }),
  entityType: text('entity_type').notNull(),
  entityId: text('entity_id').notNull(),
  action: text('action').notNull(),
  changedAt: text('changed_at').notNull(),
  actor: text('actor')
}, (t) => [index('changes_entity_idx').on(t.entityType, t.entityId)])

// Who is writing in the current transaction; the change triggers copy it into changes.actor.
export const writeContext = sqliteTable('write_context', {
  id: integer('id').primaryKey(),
  actor: text('actor')
})

// API keys: only a SHA-256 hash of the secret is stored; the secret is shown once at creation.
export const apiKeys = sqliteTable('api_keys', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  prefix: text('prefix').notNull(),
  secretHash: text('secret_hash').notNull(),
  scopes: text('scopes', { mode: 'json' }).$type<string[]>().notNull(),
  createdAt: text('created_at').notNull(),
  revokedAt: text('revoked_at'),
  lastUsedAt: text('last_used_at')
}, (t) => [uniqueIndex('api_keys_prefix_idx').on(t.prefix)])

// Field-level history of every write: who changed which fields when, old and new values.
export const history = sqliteTable('history', {
  seq: integer('seq').primaryKey({ autoIncrement: true }),
  entityType: text('entity_type').notNull(),
  entityId: text('entity_id').notNull(),
  action: text('action').notNull(),
  actor: text('actor').notNull(),
  changedAt: text('changed_at').notNull(),
  changes: text('changes', { mode: 'json' }).$type<Record<string, { old: unknown, new: unknown }>>().notNull()
}, (t) => [index('history_entity_idx').on(t.entityType, t.entityId, t.seq)])

// Responses to POSTs with an Idempotency-Key, so a retried create returns the first result.
export const idempotencyKeys = sqliteTable('idempotency_keys', {
  key: text('key').notNull(),
  actor: text('actor').notNull(),
  method: text('method').notNull(),
  path: text('path').notNull(),
  requestHash: text('request_hash').notNull(),
  status: integer('status').notNull(),
  headers: text('headers', { mode: 'json' }).$type<Record<string, string>>().notNull(),
  body: text('body').notNull(),
  createdAt: text('created_at').notNull()
}, (t) => [primaryKey({ columns: [t.actor, t.key] })])
