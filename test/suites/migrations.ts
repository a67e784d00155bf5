import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import { MIGRATIONS_FOLDER, migrateDatabase, openDatabase, type Db } from '../../src/db/client.ts'
import { buildApp } from '../../src/app.ts'

// A database that was created by the first migration and holds data must upgrade to the
// latest schema with every record kept, its change feed backfilled and its search index built.

function firstMigrationOnly (dir: string): string {
  const folder = join(dir, 'migrations-0000')
  mkdirSync(join(folder, 'meta'), { recursive: true })
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8'))
  const first = journal.entries[0]
  copyFileSync(join(MIGRATIONS_FOLDER, `${first.tag}.sql`), join(folder, `${first.tag}.sql`))
  writeFileSync(join(folder, 'meta/_journal.json'), JSON.stringify({ ...journal, entries: [first] }))
  return folder
}

type Sqlite = Db['$client']
type Row = Record<string, unknown>

// The tables migration 0000 creates, each filled below with at least one row.
const FIRST_TABLES = [
  'agreement_parties', 'agreements', 'categories', 'contacts', 'event_participants', 'events', 'facilities',
  'facility_target_groups', 'facility_types', 'organisation_sites', 'organisation_units', 'organisations',
  'service_target_groups', 'services', 'target_groups'
]

// Columns later migrations add to those tables (each starts empty); none drops or renames one.
const ADDED_COLUMNS: Record<string, string[]> = { facilities: ['opening_hours'] }

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`

// A table's columns and its primary key (in key order), which orders its rows the same way
// before and after the upgrade.
function columnsOf (sqlite: Sqlite, table: string): { columns: string[], key: string[] } {
  const info = sqlite.prepare('select name, pk from pragma_table_info(?)').all(table) as { name: string, pk: number }[]
  return { columns: info.map((c) => c.name), key: info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name) }
}

// Rows in the order of the primary key (of the rowid, should a table have lost its key).
function rowsOf (sqlite: Sqlite, table: string, columns: string[], key: string[]): Row[] {
  const order = key.length > 0 ? key.map(quote).join(', ') : 'rowid'
  return sqlite.prepare(`select ${columns.map(quote).join(', ')} from ${quote(table)} order by ${order}`).all() as Row[]
}

const pick = (row: Row, columns: string[]): Row => Object.fromEntries(columns.map((c) => [c, row[c]]))

// Clearly synthetic records (example.org/.invalid addresses, 030 5550… numbers), fixed ids.
const ID = {
  operator: '00000000-0000-4000-8000-000000000001',
  facility: '00000000-0000-4000-8000-000000000002',
  category: '00000000-0000-4000-8000-000000000003',
  service: '00000000-0000-4000-8000-000000000004',
  publicContact: '00000000-0000-4000-8000-000000000005',
  internalContact: '00000000-0000-4000-8000-000000000006',
  changedContact: '00000000-0000-4000-8000-000000000007',
  districtOffice: '00000000-0000-4000-8000-000000000008',
  unit: '00000000-0000-4000-8000-000000000009',
  site: '00000000-0000-4000-8000-000000000010',
  deletedFacility: '00000000-0000-4000-8000-000000000011',
  serviceOfDeleted: '00000000-0000-4000-8000-000000000012',
  deletedService: '00000000-0000-4000-8000-000000000013',
  seniors: '00000000-0000-4000-8000-000000000014',
  families: '00000000-0000-4000-8000-000000000015',
  agreement: '00000000-0000-4000-8000-000000000016',
  officeParty: '00000000-0000-4000-8000-000000000017',
  facilityParty: '00000000-0000-4000-8000-000000000018',
  event: '00000000-0000-4000-8000-000000000019',
  deletedContact: '00000000-0000-4000-8000-000000000020'
}
const AT = '2019-01-01T00:00:00.000Z'
const SERVICE_DELETED_AT = '2023-02-01T08:00:00.000Z'
const FACILITY_DELETED_AT = '2024-05-01T10:00:00.000Z'
const CONTACT_DELETED_AT = '2025-03-01T12:00:00.000Z'
const CONTACT_CHANGED_AT = '2026-01-02T00:00:00.000Z'
const source = (title: string, facts: string[]) => [{ url: 'https://example.org/test-quelle', title, facts }]
const DECLARED = [{ value: 2, note: 'Laut Testquelle zwei Einrichtungen.', sources: source('Testquelle Zahl', ['number of facilities: 2']) }]
const OUTCOME = { date: '2021-12-31', summary: 'Testvereinbarung als umgesetzt bewertet.', sources: source('Testquelle Ergebnis', ['outcome']) }

// Fills every table of the first schema, each column (but deleted_at) in at least one row. Besides
// the live records: a deleted facility with a live service (0008 deletes it at the facility's
// time) and one deleted before it (left as it is); contacts public, internal, changed since their
// creation and deleted (0005 to 0007 work out which may have been public and which are hidden).
function fillFirstSchema (sqlite: Sqlite): void {
  // JSON columns are given as arrays and objects.
  const insert = (table: string, row: Row) => {
    const keys = Object.keys(row)
    const values = Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v !== null && typeof v === 'object' ? JSON.stringify(v) : v]))
    sqlite.prepare(`insert into ${quote(table)} (${keys.map(quote).join(', ')}) values (${keys.map((k) => `@${k}`).join(', ')})`).run(values)
  }
  const times = { created_at: AT, updated_at: AT }
  insert('organisations', {
    id: ID.operator, slug: 'alter-traeger', kind: 'operator', name: 'Alter Träger e.V.', alternate_names: [], notes: [], sources: [], ...times
  })
  insert('organisations', {
    id: ID.districtOffice,
    slug: 'test-bezirksamt',
    kind: 'district_office',
    name: 'Test-Bezirksamt',
    alternate_names: ['BA Test'],
    description: 'Synthetisches Bezirksamt für den Migrationstest.',
    legal_form: 'Körperschaft des öffentlichen Rechts',
    website: 'https://test-bezirksamt.example.org',
    email: 'info@test-bezirksamt.example.invalid',
    phone: '030 5550100',
    street: 'Teststraße 1',
    postcode: '10115',
    city: 'Berlin',
    ortsteil: 'Mitte',
    notes: ['Testnotiz Amt'],
    sources: source('Testquelle Amt', ['name']),
    ...times
  })
  insert('organisation_units', {
    id: ID.unit,
    organisation_id: ID.districtOffice,
    slug: 'test-sozialraumplanung',
    kind: 'unit',
    name: 'Test-Sozialraumplanung',
    description: 'Synthetische Organisationseinheit.',
    website: 'https://test-bezirksamt.example.org/spk',
    phone: '030 5550101',
    notes: ['Testnotiz Einheit'],
    sources: source('Testquelle Einheit', ['name']),
    ...times
  })
  insert('organisation_sites', {
    id: ID.site,
    organisation_id: ID.districtOffice,
    slug: 'test-rathaus',
    name: 'Test-Rathaus',
    status: 'active',
    street: 'Rathausweg 2',
    postcode: '10117',
    city: 'Berlin',
    ortsteil: 'Mitte',
    lat: 52.5171,
    lon: 13.3889,
    description: 'Synthetischer Standort.',
    notes: ['Testnotiz Standort'],
    sources: source('Testquelle Standort', ['address']),
    ...times
  })
  insert('facilities', {
    id: ID.facility,
    slug: 'alter-treff',
    name: 'Alter Nachbarschaftstreff',
    alternate_names: ['Treff'],
    operator_id: ID.operator,
    operator_note: 'Träger laut Testquelle.',
    street: 'Altstraße 1',
    postcode: '10115',
    city: 'Berlin',
    ortsteil: 'Mitte',
    bezirksregion: 'Brunnenstraße Nord',
    address_note: 'Hinterhof, Aufgang B',
    lat: 52.5321,
    lon: 13.3958,
    phone: '030 5550200',
    fax: '030 5550201',
    email: 'treff@example.invalid',
    website: 'https://alter-treff.example.org',
    opening_hours_note: 'Mo–Fr 10–18 Uhr',
    description: 'Synthetischer Treffpunkt für den Migrationstest.',
    partnership_status: 'unknown',
    partnership_evidence: 'Test',
    status: 'active',
    notes: ['Testnotiz Treff'],
    verified_at: '2018-12-01T09:00:00.000Z',
    verified_by: 'Testteam',
    sources: [{ url: 'https://example.org', title: 'Alt', facts: ['name'] }],
    ...times
  })
  insert('facilities', {
    id: ID.deletedFacility,
    slug: 'geschlossener-test-treff',
    name: 'Geschlossener Testtreff',
    alternate_names: [],
    operator_id: ID.operator,
    partnership_status: 'probable',
    partnership_evidence: 'Test',
    status: 'closed',
    notes: [],
    sources: [],
    created_at: AT,
    updated_at: FACILITY_DELETED_AT,
    deleted_at: FACILITY_DELETED_AT
  })
  insert('facility_types', { facility_id: ID.facility, type: 'nachbarschaftstreff' })
  insert('facility_types', { facility_id: ID.facility, type: 'begegnungsstaette' })
  insert('facility_types', { facility_id: ID.deletedFacility, type: 'familienzentrum' })
  insert('categories', { id: ID.category, slug: 'begegnung', label_de: 'Begegnung', label_en: 'Meeting', description: 'Treffen.', ...times })
  insert('target_groups', {
    id: ID.seniors,
    slug: 'test-seniorinnen',
    label_de: 'Test-Seniorinnen und -Senioren',
    label_en: 'Test older people',
    description: 'Synthetische Zielgruppe.',
    ...times
  })
  insert('target_groups', { id: ID.families, slug: 'test-familien', label_de: 'Test-Familien', label_en: 'Test families', description: 'Synthetisch.', ...times })
  insert('facility_target_groups', { facility_id: ID.facility, target_group_id: ID.seniors, original_wording: 'Ältere aus dem Brunnenviertel' })
  insert('facility_target_groups', { facility_id: ID.deletedFacility, target_group_id: ID.families, original_wording: 'Familien im Kiez' })
  insert('services', {
    id: ID.service,
    facility_id: ID.facility,
    name: 'Kaffeerunde für Ältere',
    description: 'Synthetisches Angebot.',
    category_id: ID.category,
    schedule_note: 'Mittwochs 15 Uhr',
    fee_note: 'kostenlos',
    as_of: '2018',
    status: 'active',
    sources: source('Testquelle Angebot', ['schedule']),
    ...times
  })
  // A live service of a facility deleted before 0008: 0008 deletes it at its facility's time.
  insert('services', {
    id: ID.serviceOfDeleted,
    facility_id: ID.deletedFacility,
    name: 'Hausaufgabenhilfe im Testtreff',
    category_id: ID.category,
    status: 'active',
    sources: [],
    ...times
  })
  // Deleted before its facility: 0008 leaves it as it is.
  insert('services', {
    id: ID.deletedService,
    facility_id: ID.deletedFacility,
    name: 'Eingestellter Testkurs',
    category_id: ID.category,
    status: 'historic',
    sources: [],
    created_at: AT,
    updated_at: SERVICE_DELETED_AT,
    deleted_at: SERVICE_DELETED_AT
  })
  insert('service_target_groups', { service_id: ID.service, target_group_id: ID.seniors, original_wording: 'Seniorinnen und Senioren' })
  insert('service_target_groups', { service_id: ID.serviceOfDeleted, target_group_id: ID.families, original_wording: 'Schulkinder und Eltern' })
  const contact = { role: 'Test', organisation_id: ID.operator, facility_id: null, sources: [], created_at: AT }
  insert('contacts', {
    ...contact,
    id: ID.publicContact,
    name: 'Öffentliche Testperson',
    phone: '030 5550300',
    email: 'oeffentlich@example.invalid',
    visibility: 'public',
    as_of: '2018/2019',
    updated_at: AT
  })
  insert('contacts', { ...contact, id: ID.internalContact, name: 'Interne Testperson', visibility: 'internal', updated_at: AT })
  // Changed since it was created, without a history (the seed or SQL): it may have been public.
  insert('contacts', { ...contact, id: ID.changedContact, name: 'Geänderte Testperson', visibility: 'internal', updated_at: CONTACT_CHANGED_AT })
  insert('contacts', {
    ...contact,
    id: ID.deletedContact,
    name: 'Ehemalige Testperson',
    organisation_id: null,
    facility_id: ID.facility,
    visibility: 'public',
    updated_at: CONTACT_DELETED_AT,
    deleted_at: CONTACT_DELETED_AT
  })
  insert('agreements', {
    id: ID.agreement,
    slug: 'test-kooperationsvereinbarung',
    title: 'Test-Kooperationsvereinbarung',
    title_note: 'Titel für den Test.',
    summary: 'Synthetische Vereinbarung für den Migrationstest.',
    announced_on: '2018-06-19',
    announcement_note: 'Testankündigung.',
    signed_on: '2018-06-27',
    signed_time: '15:00',
    signed_place: 'Test-Rathaus',
    signed_note: 'Testunterzeichnung.',
    declared_partner_counts: DECLARED,
    partner_count_note: 'Testzahl.',
    aims: ['Testziel'],
    commitments: ['Testzusage'],
    rationale: ['Testbegründung'],
    outcome: OUTCOME,
    status_notes: ['Teststatus'],
    document_text_found: 0,
    signatory_list_found: 1,
    sources: source('Testquelle Vereinbarung', ['title']),
    ...times
  })
  insert('agreement_parties', {
    id: ID.officeParty,
    agreement_id: ID.agreement,
    role: 'district_office',
    organisation_id: ID.districtOffice,
    name: 'Test-Bezirksamt',
    confirmation: 'signatory',
    evidence: 'Unterschrift laut Testquelle.',
    sources: source('Testquelle Partei', ['signatory']),
    ...times
  })
  insert('agreement_parties', {
    id: ID.facilityParty,
    agreement_id: ID.agreement,
    role: 'facility',
    facility_id: ID.facility,
    name: 'Alter Nachbarschaftstreff',
    confirmation: 'named_participant',
    evidence: 'Beim Testtreffen genannt.',
    sources: [],
    ...times
  })
  insert('events', {
    id: ID.event,
    agreement_id: ID.agreement,
    slug: 'test-partnertreffen-2020',
    title: 'Test-Partnertreffen',
    description: 'Synthetisches Treffen der Testpartner.',
    starts_at: '2020-03-11T09:00:00+01:00',
    ends_at: '2020-03-11T13:00:00+01:00',
    time_zone: 'Europe/Berlin',
    location_name: 'Test-Rathaus, Saal 1',
    street: 'Rathausweg 2',
    postcode: '10117',
    city: 'Berlin',
    organisation_site_id: ID.site,
    sources: source('Testquelle Treffen', ['date']),
    ...times
  })
  insert('event_participants', { event_id: ID.event, position: 0, name: 'Test-Bezirksamt', organisation_id: ID.districtOffice })
  insert('event_participants', { event_id: ID.event, position: 1, name: 'Alter Nachbarschaftstreff', facility_id: ID.facility })
}

t.test('a database of the first migration upgrades to the latest with all data kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mpd-migrate-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'old.db')
  const old = openDatabase(file)
  migrate(old, { migrationsFolder: firstMigrationOnly(dir) })
  const tables = old.$client.prepare("select name from sqlite_master where type = 'table'").pluck().all()
  t.notOk(tables.includes('changes'), 'the old schema has no change feed yet')
  fillFirstSchema(old.$client)
  old.$client.close()

  // What the old file holds, read from a copy of it.
  copyFileSync(file, join(dir, 'before.db'))
  const copy = openDatabase(join(dir, 'before.db'))
  const firstTables = copy.$client.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite\\_%' escape '\\' and name <> '__drizzle_migrations' order by name").pluck().all()
  t.same(firstTables, FIRST_TABLES, 'the first migration creates the tables filled here')
  const before = new Map(FIRST_TABLES.map((table) => {
    const { columns, key } = columnsOf(copy.$client, table)
    return [table, { columns, key, rows: rowsOf(copy.$client, table, columns, key) }]
  }))
  copy.$client.close()
  for (const [table, { columns, rows }] of before) {
    t.ok(rows.length > 0, `${table} has rows before the upgrade`)
    // A column left null everywhere would not show a migration that loses its values.
    t.same(columns.filter((c) => c !== 'deleted_at' && rows.every((r) => r[c] === null)), [], `every column of ${table} holds a value`)
  }

  const db = openDatabase(file)
  const migratedFrom = new Date().toISOString()
  migrateDatabase(db)
  const sql = db.$client
  for (const [table, old] of before) {
    const { columns, key } = columnsOf(sql, table)
    t.strictSame(old.columns.filter((c) => !columns.includes(c)), [], `no column of ${table} is dropped`)
    const added = columns.filter((c) => !old.columns.includes(c))
    t.strictSame(added, ADDED_COLUMNS[table] ?? [], `the columns added to ${table}`)
    t.strictSame(key, old.key, `${table} keeps its primary key`)
    const rows = rowsOf(sql, table, columns, old.key.filter((c) => columns.includes(c)))
    for (const c of added) t.ok(rows.every((r) => r[c] === null), `${table}.${c} starts empty`)
    // 0008 deletes the live services of deleted facilities at their facility's time; all else stays as it was.
    const expected = old.rows.map((r) => table === 'services' && r.id === ID.serviceOfDeleted
      ? { ...r, updated_at: FACILITY_DELETED_AT, deleted_at: FACILITY_DELETED_AT }
      : r)
    // Strict: a value that comes back as another type (text for a number) is a change too.
    t.strictSame(rows.map((r) => pick(r, old.columns)), expected, `every row of ${table} is kept with its values`)
  }
  t.same(sql.prepare('select id, deleted_at, updated_at from services where facility_id = ? order by id').all(ID.deletedFacility), [
    { id: ID.serviceOfDeleted, deleted_at: FACILITY_DELETED_AT, updated_at: FACILITY_DELETED_AT },
    { id: ID.deletedService, deleted_at: SERVICE_DELETED_AT, updated_at: SERVICE_DELETED_AT }
  ], '0008: the live service of the deleted facility is deleted at its time; the one deleted before keeps its own')
  t.equal(sql.prepare('select count(*) from services where deleted_at is null').pluck().get(), 1, 'the live service of the live facility stays live')

  const feed = sql.prepare('select seq, entity_type, entity_id, action, changed_at from changes order by seq').all() as Row[]
  const entry = (type: string, id: string, action: string, at = AT) => ({ entity_type: type, entity_id: id, action, changed_at: at })
  t.same(feed.slice(0, -1).map((c) => pick(c, ['entity_type', 'entity_id', 'action', 'changed_at'])), [
    entry('agreement', ID.agreement, 'create'),
    entry('agreement_party', ID.officeParty, 'create'),
    entry('agreement_party', ID.facilityParty, 'create'),
    entry('category', ID.category, 'create'),
    entry('contact', ID.publicContact, 'create'),
    entry('contact', ID.internalContact, 'create'),
    entry('event', ID.event, 'create'),
    entry('facility', ID.facility, 'create'),
    entry('organisation', ID.operator, 'create'),
    entry('organisation', ID.districtOffice, 'create'),
    entry('organisation_site', ID.site, 'create'),
    entry('organisation_unit', ID.unit, 'create'),
    entry('service', ID.service, 'create'),
    entry('service', ID.serviceOfDeleted, 'create'),
    entry('target_group', ID.seniors, 'create'),
    entry('target_group', ID.families, 'create'),
    entry('service', ID.deletedService, 'delete', SERVICE_DELETED_AT),
    entry('facility', ID.deletedFacility, 'delete', FACILITY_DELETED_AT),
    entry('contact', ID.deletedContact, 'delete', CONTACT_DELETED_AT),
    entry('contact', ID.changedContact, 'create', CONTACT_CHANGED_AT)
  ], 'existing records are in the change feed (in the order they were last written), deleted ones as deletes')
  const last = feed.at(-1)!
  t.same(pick(last, ['entity_type', 'entity_id', 'action']), { entity_type: 'service', entity_id: ID.serviceOfDeleted, action: 'delete' }, 'then the delete of 0008')
  t.ok(String(last.changed_at) >= migratedFrom, 'written at the upgrade')
  t.same(sql.prepare('select contact_id, hidden_at from contacts_ever_public order by contact_id').all(), [
    { contact_id: ID.publicContact, hidden_at: null },
    { contact_id: ID.changedContact, hidden_at: CONTACT_CHANGED_AT },
    { contact_id: ID.deletedContact, hidden_at: CONTACT_DELETED_AT }
  ], 'public contacts, and changed or deleted ones that may have been, are known to have been public; hidden ones since their last change')
  // Each contact has one change so far: the backfilled one, or its delete.
  const seqOf = (id: string) => feed.find((c) => c.entity_id === id)?.seq
  t.same(sql.prepare('select contact_id, from_seq, to_seq from contact_hidden_periods order by contact_id').all(), [
    { contact_id: ID.internalContact, from_seq: seqOf(ID.internalContact), to_seq: null },
    { contact_id: ID.changedContact, from_seq: seqOf(ID.changedContact), to_seq: null },
    { contact_id: ID.deletedContact, from_seq: seqOf(ID.deletedContact), to_seq: null }
  ], 'internal and deleted contacts are hidden from their last change on')
  t.equal(sql.pragma('integrity_check', { simple: true }), 'ok')
  sql.close()

  const app = await buildApp({ config: { DATABASE_PATH: file, LOG_LEVEL: 'silent', RATE_LIMIT_MAX: 0 }, logger: false })
  t.teardown(() => app.close())
  const get = async (url: string) => {
    const res = await app.inject(url)
    t.equal(res.statusCode, 200, `GET ${url}`)
    return res.json()
  }
  const facility = await get('/v1/facilities/alter-treff')
  t.equal(facility.name, 'Alter Nachbarschaftstreff')
  t.same(facility.alternateNames, ['Treff'])
  t.equal(facility.operator.name, 'Alter Träger e.V.')
  t.equal(facility.address.street, 'Altstraße 1')
  t.equal(facility.serviceCount, 1)
  t.same(facility.openingHours, { osm: null, note: 'Mo–Fr 10–18 Uhr' }, 'the new opening hours are empty, the note kept')
  t.same(facility.types, ['begegnungsstaette', 'nachbarschaftstreff'], 'the facility keeps its types')
  t.same(facility.targetGroups, [{
    id: ID.seniors, slug: 'test-seniorinnen', labelDe: 'Test-Seniorinnen und -Senioren', labelEn: 'Test older people', originalWording: 'Ältere aus dem Brunnenviertel'
  }], 'the facility keeps its target group with the source\'s wording')
  t.same([facility.geo, facility.verifiedAt, facility.verifiedBy], [{ lat: 52.5321, lon: 13.3958 }, '2018-12-01T09:00:00.000Z', 'Testteam'], 'and its position and verification')
  const service = await get(`/v1/services/${ID.service}`)
  t.same(service.targetGroups.map((g: any) => [g.slug, g.originalWording]), [['test-seniorinnen', 'Seniorinnen und Senioren']], 'the service keeps its target group')
  t.same([service.scheduleNote, service.feeNote, service.asOf], ['Mittwochs 15 Uhr', 'kostenlos', '2018'], 'and its notes')
  const agreement = await get('/v1/agreements/test-kooperationsvereinbarung')
  t.equal(agreement.id, ID.agreement, 'the agreement is found by its slug')
  t.same(agreement.signed, { date: '2018-06-27', time: '15:00', place: 'Test-Rathaus', note: 'Testunterzeichnung.' }, 'its signing')
  t.same([agreement.aims, agreement.commitments, agreement.rationale, agreement.statusNotes], [['Testziel'], ['Testzusage'], ['Testbegründung'], ['Teststatus']], 'its lists of texts')
  t.same(agreement.outcome, OUTCOME, 'its outcome')
  t.strictSame([agreement.documentTextFound, agreement.signatoryListFound], [false, true], 'its flags')
  t.same(agreement.partnerCount.declared, DECLARED, 'its declared partner counts')
  t.same(agreement.parties.map((p: any) => [p.id, p.role, p.confirmation, p.organisation?.slug ?? null, p.facility?.slug ?? null]), [
    [ID.officeParty, 'district_office', 'signatory', 'test-bezirksamt', null],
    [ID.facilityParty, 'facility', 'named_participant', null, 'alter-treff']
  ], 'the agreement keeps its parties, linked to their organisation or facility')
  t.same(agreement.events.map((e: any) => e.slug), ['test-partnertreffen-2020'], 'and its event')
  const party = await get(`/v1/agreement-parties/${ID.officeParty}`)
  t.same([party.name, party.evidence, party.agreement.slug, party.sources], ['Test-Bezirksamt', 'Unterschrift laut Testquelle.', 'test-kooperationsvereinbarung', source('Testquelle Partei', ['signatory'])], 'a party on its own')
  const event = await get('/v1/events/test-partnertreffen-2020')
  t.same([event.startsAt, event.endsAt, event.timeZone], ['2020-03-11T09:00:00+01:00', '2020-03-11T13:00:00+01:00', 'Europe/Berlin'], 'the event keeps its times')
  t.same([event.location.name, event.location.site?.slug, event.location.organisation?.slug], ['Test-Rathaus, Saal 1', 'test-rathaus', 'test-bezirksamt'], 'its place, at the organisation\'s site')
  t.equal(event.agreement?.slug, 'test-kooperationsvereinbarung', 'its agreement')
  t.same(event.participants.map((p: any) => [p.name, p.organisation?.slug ?? null, p.facility?.slug ?? null]), [
    ['Test-Bezirksamt', 'test-bezirksamt', null],
    ['Alter Nachbarschaftstreff', null, 'alter-treff']
  ], 'the event keeps its participants in order')
  const office = await get('/v1/organisations/test-bezirksamt')
  t.same(office.units.map((u: any) => [u.slug, u.kind, u.phone]), [['test-sozialraumplanung', 'unit', '030 5550101']], 'the organisation keeps its unit')
  t.same(office.sites.map((s: any) => [s.slug, s.status, s.geo]), [['test-rathaus', 'active', { lat: 52.5171, lon: 13.3889 }]], 'and its site')
  t.equal((await app.inject('/v1/facilities/geschlossener-test-treff')).statusCode, 404, 'the deleted facility stays deleted')
  const synced = (await app.inject('/v1/services?updatedSince=2018-01-01T00:00:00Z')).json()
  t.same(synced.items.filter((s: any) => s.deleted === true), [
    { id: ID.serviceOfDeleted, deleted: true, deletedAt: FACILITY_DELETED_AT },
    { id: ID.deletedService, deleted: true, deletedAt: SERVICE_DELETED_AT }
  ], 'copies kept in sync learn that the services of the deleted facility are gone, at its time')
  const found = (await app.inject('/v1/facilities?q=kaffeerunde')).json()
  t.same(found.items.map((f: any) => f.slug), ['alter-treff'], 'the search index is built at start-up')
  t.equal((await app.inject('/v1/facilities')).json().total, 1, 'an upgraded database with data is not seeded over')
  const changes = (await app.inject('/v1/changes?entityType=contact')).body
  t.ok(changes.includes(ID.publicContact) && !changes.includes(ID.internalContact), 'the internal contact stays out of the public feed')
})

// A database at migration 0007 (before a facility's delete took its services with it).
function migrationsUpTo (dir: string, last: number): string {
  const folder = join(dir, `migrations-${last}`)
  mkdirSync(join(folder, 'meta'), { recursive: true })
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8'))
  const entries = journal.entries.slice(0, last + 1)
  for (const entry of entries) copyFileSync(join(MIGRATIONS_FOLDER, `${entry.tag}.sql`), join(folder, `${entry.tag}.sql`))
  writeFileSync(join(folder, 'meta/_journal.json'), JSON.stringify({ ...journal, entries }))
  return folder
}

t.test('0008: services of facilities deleted before are deleted at their facility\'s time, with feed deletes', async (t) => {
  const { seedDatabase } = await import('../../seed/seed.ts')
  const { seedId } = await import('../../src/lib/uuid.ts')
  const dir = mkdtempSync(join(tmpdir(), 'mpd-migrate-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'old.db')
  const old = openDatabase(file)
  migrate(old, { migrationsFolder: migrationsUpTo(dir, 7) })
  seedDatabase(old)
  const facility = seedId('facility', 'familienzentrum-moabit-ost')
  // A delete as the code before 0008 made it: the facility only.
  old.$client.prepare("update facilities set deleted_at = '2026-05-01T10:00:00.000Z', updated_at = '2026-05-01T10:00:00.000Z' where id = ?").run(facility)
  const services = old.$client.prepare('select id from services where facility_id = ? and deleted_at is null order by id').pluck().all(facility) as string[]
  t.ok(services.length > 0)
  const others = old.$client.prepare('select count(*) from services where deleted_at is null').pluck().get() as number - services.length
  const before = old.$client.prepare('select max(seq) from changes').pluck().get() as number
  old.$client.close()

  const db = openDatabase(file)
  t.teardown(() => db.$client.close())
  migrateDatabase(db)
  t.same(db.$client.prepare('select distinct deleted_at, updated_at from services where facility_id = ?').all(facility), [{ deleted_at: '2026-05-01T10:00:00.000Z', updated_at: '2026-05-01T10:00:00.000Z' }])
  t.equal(db.$client.prepare('select count(*) from services where deleted_at is null').pluck().get(), others, 'no other service touched')
  const feed = db.$client.prepare('select entity_type, entity_id, action from changes where seq > ? order by entity_id').all(before) as { entity_type: string, entity_id: string, action: string }[]
  t.same(feed, services.map((id) => ({ entity_type: 'service', entity_id: id, action: 'delete' })), 'a feed delete for each')
})

// Migration 0009: a search index built before decomposed umlauts (NFD) were folded into the
// ae/oe/ue spellings is emptied, and the start-up check builds it again from the records.
t.test('migration 0009 rebuilds a search index that lacks the ae spelling of a decomposed ä', async (t) => {
  const { insertTestFacility } = await import('../helper.ts')
  const dir = mkdtempSync(join(tmpdir(), 'mpd-migrate-0009-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'directory.db')
  const config = { DATABASE_PATH: file, LOG_LEVEL: 'silent' as const }
  const search = async (app: Awaited<ReturnType<typeof buildApp>>, q: string) =>
    (await app.inject(`/v1/facilities?q=${encodeURIComponent(q)}`)).json().items.map((f: { slug: string }) => f.slug)

  const before = await buildApp({ config, seed: false })
  const id = insertTestFacility(before, { slug: 'test-nfd', name: 'Qwersta\u0308tte (Test)' })
  // The index as the code before 0009 wrote it: the umlaut folded to a, no ae spelling.
  before.db.$client.prepare('update facility_search set variants = ? where facility_id = ?').run('qwerstatte (test) qwerstatte (test)', id)
  t.same(await search(before, 'qwerstaette'), [], 'the old index does not find the ae spelling')
  t.same(await search(before, 'qwerstatte'), ['test-nfd'])
  await before.close()

  // As if 0009 had not run yet: its row in drizzle's journal table goes, so the next start applies it.
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string, when: number }[] }
  const entry = journal.entries.find((e) => e.tag.startsWith('0009_'))!
  const db = openDatabase(file)
  // (Later migrations too: what is applied is read from the newest row.)
  const rows = db.$client.prepare('select count(*) from __drizzle_migrations where created_at >= ?').pluck().get(entry.when) as number
  t.equal(db.$client.prepare('delete from __drizzle_migrations where created_at >= ?').run(entry.when).changes, rows, '0009 and any later migration are pending again')
  t.ok(rows >= 1)
  db.$client.close()

  const after = await buildApp({ config, seed: false })
  t.teardown(() => after.close())
  t.same(await search(after, 'qwerstaette'), ['test-nfd'], 'after 0009 and the start-up check: found by the ae spelling')
  t.same(await search(after, 'qwerstatte'), ['test-nfd'])
  t.equal(after.db.$client.prepare('select count(*) from facility_search_docsize').pluck().get(), 1, 'one document per live facility')
})
