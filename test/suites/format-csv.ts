import t from 'tap'
import { parse } from 'csv-parse/sync'
import type { FastifyInstance } from 'fastify'
import {
  CATEGORY_CSV_COLUMNS, CONTACT_CSV_COLUMNS, EVENT_CSV_COLUMNS, FACILITY_CSV_COLUMNS, MULTI_VALUE_SEPARATOR, ORGANISATION_CSV_COLUMNS,
  SERVICE_CSV_COLUMNS, TARGET_GROUP_CSV_COLUMNS, contactsCsv, eventsCsv, facilitiesCsv, organisationsCsv, servicesCsv, type CsvOptions
} from '../../src/formats/csv.ts'
import type { Contact } from '../../src/schemas/contacts.ts'
import type { Facility } from '../../src/schemas/facilities.ts'
import type { Organisation } from '../../src/schemas/organisations.ts'
import type { Service } from '../../src/schemas/services.ts'
import type { Event } from '../../src/schemas/agreements.ts'
import { getJson, readOnlyApp } from '../helper.ts'

const BOM = '\uFEFF'

// Parses with an independent RFC 4180 reader (csv-parse, strict about column counts and quotes)
// and returns the rows as objects keyed by the header.
function read (text: string, options: CsvOptions = {}) {
  const rows = parse(text, { delimiter: options.excel === true ? ';' : ',', bom: true, record_delimiter: '\r\n' }) as string[][]
  const [header = [], ...records] = rows
  return { header, records: records.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i]]))) }
}

async function list<T> (app: FastifyInstance, path: string): Promise<T[]> {
  const { res, body } = await getJson<{ total: number, items: T[] }>(app, `${path}?limit=500`)
  if (res.statusCode !== 200 || body.total > body.items.length) throw new Error(`${path}: ${res.statusCode}, ${body.total} records`)
  return body.items
}

const bySlug = <T extends { slug: string }>(records: T[], slug: string): T => {
  const record = records.find((r) => r.slug === slug)
  if (record === undefined) throw new Error(`no ${slug}`)
  return record
}

t.test('facilities: header, real seed facts, dialects', async (t) => {
  const app = await readOnlyApp(t)
  const facilities = await list<Facility>(app, '/v1/facilities')
  const text = facilitiesCsv(facilities)

  t.notOk(text.startsWith(BOM), 'no byte order mark by default')
  t.ok(text.endsWith('\r\n'), 'the last record ends with CRLF')
  t.notMatch(text, /[^\r]\n/, 'every line ends with CRLF')
  t.equal(text.split('\r\n')[0], FACILITY_CSV_COLUMNS.join(','), 'the first line is the header in the order of the constant')

  const { header, records } = read(text)
  t.same(header, FACILITY_CSV_COLUMNS, 'header order equals FACILITY_CSV_COLUMNS')
  t.same(header.slice(-2), ['deleted', 'deletedAt'], 'deleted and deletedAt are the last columns')
  t.same(records.map((r) => r.id), facilities.map((f) => f.id), 'one row per record, in the order given')

  const kreativhaus = records.find((r) => r.slug === 'kreativhaus')!
  const source = bySlug(facilities, 'kreativhaus')
  t.has(kreativhaus, {
    name: 'KREATIVHAUS (Stadtteilzentrum Kreativhaus auf der Fischerinsel)',
    'address.street': 'Fischerinsel 3',
    'address.postcode': '10179',
    'address.city': 'Berlin',
    'address.ortsteil': 'Mitte',
    phone: '030 / 238 09 13',
    website: 'https://www.kreativhaus-berlin.de/',
    'operator.slug': 'fipp',
    'operator.name': 'FiPP e.V. (Fortbildungsinstitut für die pädagogische Praxis)',
    'partnership.status': 'participant',
    types: 'familienzentrum | kulturzentrum | mehrgenerationenhaus | stadtteilzentrum',
    serviceCount: String(source.serviceCount),
    deleted: 'false'
  }, 'Kreativhaus: address, phone, operator with umlauts, joined types')
  t.equal(kreativhaus['targetGroups.slug'], source.targetGroups.map((g) => g.slug).join(MULTI_VALUE_SEPARATOR), 'target group slugs joined with " | "')
  t.equal(kreativhaus.categories, source.categories.join(' | '), 'categories joined with " | "')
  t.equal(kreativhaus['sources.url'], source.sources.map((s) => s.url).join(' | '), 'every source URL')
  t.equal(kreativhaus['address.note'], source.address.note, 'the address note with „quotes“ and umlauts survives')
  t.ok(kreativhaus['address.note']!.includes('„10179 Berlin Mitte“'), 'German quotation marks survive')
  for (const empty of ['fax', 'email', 'geo.lat', 'geo.lon', 'openingHours.osm', 'address.bezirksregion', 'verifiedAt', 'verifiedBy', 'deletedAt']) {
    t.equal(kreativhaus[empty], '', `unknown ${empty} is an empty cell, never invented`)
  }

  const shk = records.find((r) => r.slug === 'shk-mitte')!
  t.has(shk, {
    name: 'Selbsthilfe-, Kontakt- und Beratungsstelle Mitte (SHK Mitte)',
    'address.street': 'Perleberger Str. 44',
    'address.postcode': '10559',
    'address.ortsteil': 'Moabit',
    email: 'kontakt@stadtrand-berlin.de',
    phone: '(030) 394 63 64',
    fax: '(030) 394 64 85',
    website: 'www.stadtrand-berlin.de'
  }, 'SHK Mitte: the comma in the name survives the quoting')

  // The accepted trade-off of the formula protection: a published `+49 …` gains a leading quote.
  const opz = records.find((r) => r.slug === 'olof-palme-zentrum')!
  t.equal(bySlug(facilities, 'olof-palme-zentrum').phone, '+49 (0)30 221 904 583', 'the API has the number as published')
  t.equal(opz.phone, "'+49 (0)30 221 904 583", 'a phone number starting with + is prefixed with a quote in CSV')

  const wattstrasse = records.find((r) => r.slug === 'familienzentrum-wattstrasse')!
  t.equal(wattstrasse['address.street'], 'Wattstraße 16', 'ß survives')
  t.equal(wattstrasse['address.postcode'], '', 'no source gives a postcode: empty')

  const excelText = facilitiesCsv(facilities, { excel: true })
  t.ok(excelText.startsWith(BOM), 'Excel: starts with the UTF-8 byte order mark')
  t.equal(excelText.indexOf(BOM, 1), -1, 'Excel: only one BOM')
  t.ok(excelText.startsWith(BOM + FACILITY_CSV_COLUMNS.join(';') + '\r\n'), 'Excel: `;` between cells, CRLF')
  const excel = read(excelText, { excel: true })
  t.same(excel.header, FACILITY_CSV_COLUMNS, 'Excel: same header')
  t.same(excel.records, records, 'Excel: the same cells as the default dialect (no numbers with decimals in the seed)')
  t.equal(Buffer.from(text, 'utf8').toString('utf8'), text, 'valid UTF-8')
})

t.test('facilities: quoting, line breaks, formula injection, numbers, tombstones', async (t) => {
  const app = await readOnlyApp(t)
  const kreativhaus = bySlug(await list<Facility>(app, '/v1/facilities'), 'kreativhaus')
  const tricky: Facility = {
    ...kreativhaus,
    name: 'Haus „Mitte“; Büro "Nord", Erdgeschoß',
    alternateNames: ['=HYPERLINK("http://example.org/x","Klick")', 'Zweiter Name'],
    description: 'Erste Zeile\nZweite Zeile mit Umlauten: äöüÄÖÜß\r\nDritte Zeile; mit Semikolon, Komma und "Anführung"',
    address: { ...kreativhaus.address, street: '@SUMME(A1:A2)', note: '-2+3' },
    operatorNote: null,
    geo: { lat: 52.5219, lon: -0.1278 },
    phone: '\t030 123',
    fax: '+49 30 1234567',
    email: 'test@example.org',
    openingHours: { osm: 'Mo-Fr 09:00-17:00; PH off', note: 'Mo–Fr 9–17 Uhr\nFeiertags geschlossen' },
    verifiedAt: '2026-11-20T08:00:00.000Z',
    verifiedBy: 'Stadtteilkoordination'
  }
  const tombstone = { id: '7f0b2c43-6f0e-4d8e-9a51-3f2f6f1b8c11', deleted: true as const, deletedAt: '2026-11-21T10:00:00.000Z' }

  for (const excel of [false, true]) {
    const dialect = excel ? 'Excel' : 'default'
    const text = facilitiesCsv([tricky, tombstone], { excel })
    const { header, records } = read(text, { excel })
    t.same(header, FACILITY_CSV_COLUMNS, `${dialect}: header`)
    t.equal(records.length, 2, `${dialect}: line breaks inside cells do not add rows`)
    const [row, gone] = records
    t.equal(row!.name, tricky.name, `${dialect}: quotes, semicolon, comma and ß survive`)
    t.equal(row!.description, tricky.description, `${dialect}: LF and CRLF inside a cell survive`)
    t.equal(row!['openingHours.note'], tricky.openingHours.note, `${dialect}: en dash and line break survive`)
    t.equal(row!['openingHours.osm'], 'Mo-Fr 09:00-17:00; PH off', `${dialect}: a semicolon in the middle is no formula`)
    t.equal(row!.alternateNames, '\'=HYPERLINK("http://example.org/x","Klick") | Zweiter Name', `${dialect}: a leading = is neutralised`)
    t.equal(row!['address.street'], "'@SUMME(A1:A2)", `${dialect}: a leading @ is neutralised`)
    t.equal(row!['address.note'], "'-2+3", `${dialect}: a leading - in text is neutralised`)
    t.equal(row!.phone, "'\t030 123", `${dialect}: a leading tab is neutralised`)
    t.equal(row!.fax, "'+49 30 1234567", `${dialect}: a leading + is neutralised`)
    t.equal(row!.verifiedAt, '2026-11-20T08:00:00.000Z', `${dialect}: timestamps as in the API`)
    t.equal(row!['geo.lat'], excel ? '52,5219' : '52.5219', `${dialect}: latitude`)
    t.equal(row!['geo.lon'], excel ? '-0,1278' : '-0.1278', `${dialect}: a negative number is a number, not a formula`)
    t.equal(row!.deleted, 'false', `${dialect}: a live record is not deleted`)

    t.equal(gone!.id, tombstone.id, `${dialect}: the tombstone keeps its id`)
    t.equal(gone!.deleted, 'true', `${dialect}: deleted is true`)
    t.equal(gone!.deletedAt, tombstone.deletedAt, `${dialect}: deletedAt`)
    t.same(Object.entries(gone!).filter(([, value]) => value !== '').map(([name]) => name), ['id', 'deleted', 'deletedAt'], `${dialect}: a tombstone has no other cell`)
  }

  const empty = facilitiesCsv([])
  t.equal(empty, FACILITY_CSV_COLUMNS.join(',') + '\r\n', 'no records: the header alone')
})

t.test('services', async (t) => {
  const app = await readOnlyApp(t)
  const services = await list<Service>(app, '/v1/services')
  const { header, records } = read(servicesCsv(services))
  t.same(header, SERVICE_CSV_COLUMNS, 'header order equals SERVICE_CSV_COLUMNS')
  t.equal(records.length, services.length, 'one row per service')

  const seniors = services.find((s) => s.facility.slug === 'kreativhaus' && s.name === 'Seniorenangebote')!
  const row = records.find((r) => r.id === seniors.id)!
  t.has(row, {
    name: 'Seniorenangebote',
    description: 'Für Ältere gibt es Gymnastik, Lachyoga, Englischkurse, Chöre und Gedächtnistraining.',
    'facility.slug': 'kreativhaus',
    'facility.name': 'KREATIVHAUS (Stadtteilzentrum Kreativhaus auf der Fischerinsel)',
    'category.slug': 'begegnung',
    status: 'unverified',
    scheduleNote: '',
    asOf: '2017'
  }, 'a Kreativhaus service with umlauts and commas')
  t.equal(row['targetGroups.slug'], seniors.targetGroups.map((g) => g.slug).join(' | '), 'target groups')

  const cards = records.find((r) => r['facility.slug'] === 'begegnungsstaette-spandauer-strasse' && r.name === 'Spielrunden')!
  t.equal(cards['facility.name'], 'Begegnungsstätte „Spandauer Straße“', 'umlauts, ß and German quotes in the facility name')
  t.equal(cards.scheduleNote, 'dienstags und freitags (Stand 2019)', 'schedule note')

  const excel = read(servicesCsv(services, { excel: true }), { excel: true })
  t.same(excel.records, records, 'Excel dialect: the same cells')
})

t.test('contacts', async (t) => {
  const app = await readOnlyApp(t)
  const contacts = await list<Contact>(app, '/v1/contacts')
  for (const excel of [false, true]) {
    const text = contactsCsv(contacts, { excel })
    t.equal(text.startsWith(BOM), excel, `BOM only in Excel mode (${excel})`)
    const { header, records } = read(text, { excel })
    t.same(header, CONTACT_CSV_COLUMNS, 'header order equals CONTACT_CSV_COLUMNS')
    const petra = records.find((r) => r.name === 'Petra Patz-Drüke')!
    t.has(petra, {
      phone: '(030) 9018-42390',
      email: '',
      'organisation.slug': 'bezirksamt-mitte',
      'organisation.name': 'Bezirksamt Mitte von Berlin',
      'facility.id': '',
      visibility: 'public',
      asOf: '2020'
    }, 'Petra Patz-Drüke with her published phone number')
    t.equal(petra.role, contacts.find((c) => c.name === 'Petra Patz-Drüke')!.role, 'the role with its semicolon survives')
    t.ok(petra.role!.includes('; Ansprechpartnerin'), 'the role has a semicolon')
  }
})

t.test('organisations', async (t) => {
  const app = await readOnlyApp(t)
  const organisations = await list<Organisation>(app, '/v1/organisations')
  const { header, records } = read(organisationsCsv(organisations))
  t.same(header, ORGANISATION_CSV_COLUMNS, 'header order equals ORGANISATION_CSV_COLUMNS')
  t.has(records.find((r) => r.slug === 'jobcenter-berlin-mitte'), {
    kind: 'jobcenter',
    name: 'JobCenter Berlin Mitte',
    alternateNames: 'JobCenter Mitte | Jobcenter Berlin-Mitte',
    'address.street': 'Seydelstr. 2-5',
    'address.postcode': '10117',
    'address.city': 'Berlin',
    'address.ortsteil': '',
    phone: '',
    website: 'https://www.berlin.de/jobcenter-mitte/'
  }, 'the JobCenter with its address')
  t.has(records.find((r) => r.slug === 'stadtrand'), { kind: 'operator', name: 'StadtRand gGmbH', email: 'kontakt@stadtrand-berlin.de' }, 'an operator')
  t.equal(records.find((r) => r.slug === 'fipp')!.name, 'FiPP e.V. (Fortbildungsinstitut für die pädagogische Praxis)', 'umlauts')
})

t.test('events', async (t) => {
  const app = await readOnlyApp(t)
  const events = await list<Event>(app, '/v1/events')
  for (const excel of [false, true]) {
    const { header, records } = read(eventsCsv(events, { excel }), { excel })
    t.same(header, EVENT_CSV_COLUMNS, 'header order equals EVENT_CSV_COLUMNS')
    const event = records.find((r) => r.slug === 'voneinander-wissen-in-mitte-2020')!
    t.has(event, {
      title: 'Voneinander wissen in Mitte – JobCenter und Nachbarschaftseinrichtungen lernen sich kennen',
      startsAt: '2020-03-11T09:00:00+01:00',
      endsAt: '2020-03-11T13:00:00+01:00',
      timeZone: 'Europe/Berlin',
      'location.name': 'JobCenter Mitte – Standort Spittelmarkt',
      'location.street': 'Seydelstr. 2-5',
      'location.postcode': '10117',
      'location.city': 'Berlin',
      'location.site.slug': 'jobcenter-spittelmarkt',
      'agreement.slug': 'kooperationsvereinbarung-2018'
    }, `the event of 11 March 2020 (${excel ? 'Excel' : 'default'})`)
    const participants = event['participants.name']!.split(MULTI_VALUE_SEPARATOR)
    t.same(participants, events.find((e) => e.slug === 'voneinander-wissen-in-mitte-2020')!.participants.map((p) => p.name), 'participants in source order')
    t.ok(participants.includes('Begegnungsstätte „Mehr Mitte“'), 'participant names with umlauts and quotes')
  }
})

t.test('target groups and categories: every list has CSV, with the counts of the JSON list', async (t) => {
  const app = await readOnlyApp(t)
  for (const [path, columns] of [['/v1/target-groups', TARGET_GROUP_CSV_COLUMNS], ['/v1/categories', CATEGORY_CSV_COLUMNS]] as const) {
    const json = await list<{ slug: string, labelDe: string, serviceCount: number, facilityCount: number }>(app, path)
    for (const excel of [false, true]) {
      const res = await app.inject(`${path}?format=${excel ? 'csv-excel' : 'csv'}`)
      t.equal(res.statusCode, 200)
      t.match(res.headers['content-type'], /^text\/csv; charset=utf-8/)
      t.match(res.headers['content-disposition'], new RegExp(`${path.slice(4)}\\.csv`))
      const { header, records } = read(res.body, { excel })
      t.same(header, columns, `${path}: header order`)
      t.same(records.map((r) => [r.slug, r.labelDe, Number(r.serviceCount), Number(r.facilityCount)]), json.map((e) => [e.slug, e.labelDe, e.serviceCount, e.facilityCount]), `${path} (${excel ? 'Excel' : 'RFC 4180'}): the same entries and counts`)
    }
    t.match(String((await app.inject({ url: path, headers: { accept: 'text/csv' } })).headers['content-type']), /^text\/csv/, 'also by Accept')
  }
})
