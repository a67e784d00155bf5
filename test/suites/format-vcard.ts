import t, { type Test } from 'tap'
import ICAL from 'ical.js'
import type { FastifyInstance } from 'fastify'
import { VCARD_MEDIA_TYPE, contactVcard, facilityVcard, organisationVcard, vcards } from '../../src/formats/vcard.ts'
import type { Contact } from '../../src/schemas/contacts.ts'
import type { Facility } from '../../src/schemas/facilities.ts'
import type { Organisation } from '../../src/schemas/organisations.ts'
import { getJson, readOnlyApp } from '../helper.ts'

interface ParsedProperty { params: Record<string, unknown>, type: string, value: unknown }

// Reads the text with an independent vCard 4.0 parser (ical.js, which also powers Thunderbird's
// calendar) and gives each card's properties by name.
function parseCards (text: string) {
  const parsed = ICAL.parse(text) as unknown[]
  const jcards = typeof parsed[0] === 'string' ? [parsed] : parsed
  return jcards.map((jcard) => {
    const component = new ICAL.Component(jcard as unknown[])
    if (component.name !== 'vcard') throw new Error(`a ${component.name} component`)
    const all = (name: string): ParsedProperty[] => component.getAllProperties(name).map((property) => {
      const [, params, type, ...values] = property.toJSON() as [string, Record<string, unknown>, string, ...unknown[]]
      return { params, type, value: values.length === 1 ? values[0] : values }
    })
    const one = (name: string) => {
      const found = all(name)
      return found.length === 1 ? found[0]!.value : found.length === 0 ? undefined : found.map((p) => p.value)
    }
    return { all, one, names: component.getAllProperties().map((property) => property.name) }
  })
}

function parseCard (text: string) {
  const cards = parseCards(text)
  if (cards.length !== 1) throw new Error(`${cards.length} cards`)
  return cards[0]!
}

// RFC 6350 §3.2 and §3.3: CRLF, at most 75 octets per line, BEGIN and VERSION first, END last,
// and every physical line valid UTF-8 on its own (no character cut in two by folding).
function assertWellFormed (t: Test, text: string) {
  t.ok(text.endsWith('\r\n'), 'ends with CRLF')
  t.notMatch(text, /[^\r]\n|\r[^\n]/, 'only CRLF line breaks')
  const bytes = Buffer.from(text, 'utf8')
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let longest = 0
  let broken = 0
  let start = 0
  for (let i = 0; i < bytes.length - 1; i++) {
    if (bytes[i] === 0x0d && bytes[i + 1] === 0x0a) {
      const line = bytes.subarray(start, i)
      longest = Math.max(longest, line.length)
      try { decoder.decode(line) } catch { broken++ }
      start = i + 2
    }
  }
  t.ok(longest <= 75, `no line longer than 75 octets (longest ${longest})`)
  t.equal(broken, 0, 'no line starts or ends inside a UTF-8 character')
  const lines = text.split('\r\n')
  t.equal(lines[0], 'BEGIN:VCARD', 'BEGIN first')
  t.equal(lines[1], 'VERSION:4.0', 'VERSION right after BEGIN')
  t.equal(lines.at(-2), 'END:VCARD', 'END last')
}

async function items<T> (app: FastifyInstance, path: string): Promise<T[]> {
  const { res, body } = await getJson<{ items: T[] }>(app, `${path}?limit=500`)
  if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode}`)
  return body.items
}

async function seed (t: Test) {
  const app = await readOnlyApp(t)
  const facilities = await items<Facility>(app, '/v1/facilities')
  const contacts = await items<Contact>(app, '/v1/contacts')
  const organisations = await items<Organisation>(app, '/v1/organisations')
  const facility = (slug: string) => facilities.find((f) => f.slug === slug)!
  const contact = (name: string) => contacts.find((c) => c.name === name)!
  const organisation = (slug: string) => organisations.find((o) => o.slug === slug)!
  return { facilities, contacts, organisations, facility, contact, organisation }
}

t.equal(VCARD_MEDIA_TYPE, 'text/vcard; charset=utf-8', 'media type')

t.test('a facility: Kreativhaus', async (t) => {
  const { facility } = await seed(t)
  const kreativhaus = facility('kreativhaus')
  const text = facilityVcard(kreativhaus)
  assertWellFormed(t, text)
  const card = parseCard(text)
  t.equal(card.one('version'), '4.0', 'vCard 4.0')
  t.equal(card.one('uid'), 'urn:uuid:645e8249-1972-5756-951a-0106b9a62b19', 'UID is the record id as URN')
  t.equal(card.one('kind'), 'org', 'a facility is KIND:org')
  t.equal(card.one('fn'), 'KREATIVHAUS (Stadtteilzentrum Kreativhaus auf der Fischerinsel)', 'FN')
  t.equal(card.one('org'), 'KREATIVHAUS (Stadtteilzentrum Kreativhaus auf der Fischerinsel)', 'ORG is the facility name')
  t.same(card.all('adr'), [{ params: { type: 'work' }, type: 'text', value: ['', '', 'Fischerinsel 3', 'Berlin', '', '10179', 'Deutschland'] }], 'ADR: street, city, postcode, country')
  t.same(card.all('tel'), [{ params: { type: ['work', 'voice'] }, type: 'text', value: '030 / 238 09 13' }], 'TEL as published, as text')
  t.equal(card.one('url'), 'https://www.kreativhaus-berlin.de/', 'URL')
  t.equal(card.one('email'), undefined, 'no email is published: no EMAIL')
  t.equal(card.one('geo'), undefined, 'no coordinates are known: no GEO')
  t.notOk(card.names.includes('n'), 'no N for an organisation')
  t.equal(card.one('rev'), new Date(kreativhaus.updatedAt).toISOString().replace(/\.\d{3}Z$/, 'Z'), 'REV is updatedAt')
  t.match(text, /\r\nREV:\d{8}T\d{6}Z\r\n/, 'REV in the basic format 20261121T090000Z')
  const note = card.one('note') as string
  t.ok(note.startsWith('Angaben laut öffentlichen Quellen:\n'), 'NOTE: German provenance heading with a line break')
  t.same(note.split('\n').slice(1), kreativhaus.sources.map((s) => s.url), 'NOTE lists every source URL, unfolded intact')
})

t.test('a facility: SHK Mitte, with comma, fax and email', async (t) => {
  const { facility } = await seed(t)
  const text = facilityVcard(facility('shk-mitte'))
  assertWellFormed(t, text)
  t.match(text, /\r\nFN:Selbsthilfe-\\, Kontakt- und Beratungsstelle Mitte \(SHK Mitte\)\r\n/, 'the comma is escaped in the text')
  const card = parseCard(text)
  t.equal(card.one('fn'), 'Selbsthilfe-, Kontakt- und Beratungsstelle Mitte (SHK Mitte)', 'the comma survives')
  t.same((card.one('adr') as string[]).slice(2), ['Perleberger Str. 44', 'Berlin', '', '10559', 'Deutschland'], 'ADR')
  t.equal(card.one('email'), 'kontakt@stadtrand-berlin.de', 'EMAIL')
  t.same(card.all('tel').map((p) => [p.params.type, p.value]), [[['work', 'voice'], '(030) 394 63 64'], [['work', 'fax'], '(030) 394 64 85']], 'phone and fax')
  t.equal(card.one('url'), 'www.stadtrand-berlin.de', 'the website as published')
})

t.test('a facility with only some address parts', async (t) => {
  const { facility } = await seed(t)
  const wattstrasse = parseCard(facilityVcard(facility('familienzentrum-wattstrasse')))
  t.same(wattstrasse.one('adr'), ['', '', 'Wattstraße 16', 'Berlin', '', '', 'Deutschland'], 'no postcode is known: empty, ß survives')
  t.equal(wattstrasse.one('tel'), undefined, 'no TEL without a phone number')
  t.equal(wattstrasse.one('fn'), 'Familienzentrum Wattstraße', 'umlaut in FN')
  const mehrMitte = parseCard(facilityVcard(facility('begegnungsstaette-mehr-mitte')))
  t.equal(mehrMitte.one('fn'), 'Begegnungsstätte „Mehr Mitte“', 'German quotes survive')
  t.same(mehrMitte.one('adr'), ['', '', '', 'Berlin', '', '', 'Deutschland'], 'only the city is known')
})

t.test('a contact: Petra Patz-Drüke', async (t) => {
  const { contact } = await seed(t)
  const petra = contact('Petra Patz-Drüke')
  const text = contactVcard(petra)
  assertWellFormed(t, text)
  const card = parseCard(text)
  t.equal(card.one('uid'), `urn:uuid:${petra.id}`, 'UID')
  t.equal(card.one('kind'), 'individual', 'a person is KIND:individual')
  t.equal(card.one('fn'), 'Petra Patz-Drüke', 'FN with umlaut')
  t.same(card.one('n'), ['Patz-Drüke', 'Petra', '', '', ''], 'N: family name last word, given name the rest')
  t.equal(card.one('org'), 'Bezirksamt Mitte von Berlin', 'ORG is the organisation')
  t.equal(card.one('title'), petra.role, 'TITLE is the role, its comma and semicolon intact')
  t.ok(petra.role.includes('; Ansprechpartnerin') && petra.role.includes(', Bezirksamt'), 'the role has a comma and a semicolon')
  t.same(card.all('tel'), [{ params: { type: ['work', 'voice'] }, type: 'text', value: '(030) 9018-42390' }], 'TEL as published')
  t.equal(card.one('email'), undefined, 'no EMAIL: none is published')
  t.ok((card.one('note') as string).startsWith('Angaben laut öffentlichen Quellen (Stand 2020):\n'), 'NOTE with the year the data is stated for')
})

t.test('an organisation: JobCenter Berlin Mitte', async (t) => {
  const { organisation } = await seed(t)
  const text = organisationVcard(organisation('jobcenter-berlin-mitte'))
  assertWellFormed(t, text)
  const card = parseCard(text)
  t.equal(card.one('kind'), 'org', 'KIND:org')
  t.equal(card.one('fn'), 'JobCenter Berlin Mitte', 'FN')
  t.same(card.one('adr'), ['', '', 'Seydelstr. 2-5', 'Berlin', '', '10117', 'Deutschland'], 'the address of the main site')
  t.equal(card.one('url'), 'https://www.berlin.de/jobcenter-mitte/', 'URL')
})

t.test('escaping, folding, geo and a contact at a facility', async (t) => {
  const { facility, contact } = await seed(t)
  const kreativhaus = facility('kreativhaus')
  const tricky: Facility = {
    ...kreativhaus,
    name: 'Haus; Mitte, Büro\\Nord\nZweite Zeile',
    address: { ...kreativhaus.address, street: 'Straße 1; Hof, links', postcode: null, city: 'Berlin' },
    geo: { lat: 52.5219, lon: 13.4132 },
    email: 'info@example.org',
    website: 'https://example.org/a,b;c',
    sources: [{ url: 'https://example.org/quelle', title: 'Beispiel', facts: [] }]
  }
  const text = facilityVcard(tricky)
  assertWellFormed(t, text)
  t.match(text, /\r\nORG:Haus\\; Mitte\\, Büro\\\\Nord\\nZweite Zeile\r\n/, 'ORG escapes ; , \\ and the line break')
  const card = parseCard(text)
  t.equal(card.one('fn'), tricky.name, 'FN: semicolon, comma, backslash and line break survive')
  t.equal(card.one('org'), tricky.name, 'ORG: an escaped semicolon is no unit separator')
  t.same(card.one('adr'), ['', '', 'Straße 1; Hof, links', 'Berlin', '', '', 'Deutschland'], 'ADR: escaped ; and , stay in their field')
  t.equal(card.one('geo'), 'geo:52.5219,13.4132', 'GEO as a geo: URI')
  t.equal(card.one('url'), 'https://example.org/a,b;c', 'URL')
  t.match(text, /\r\nURL:https:\/\/example\.org\/a,b;c\r\n/, 'a URI is not text-escaped')
  t.equal(card.one('email'), 'info@example.org', 'EMAIL')
  const injected = parseCard(facilityVcard({ ...tricky, website: 'https://example.org/\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:Falsch' }))
  t.equal(injected.one('url'), 'https://example.org/%0D%0AEND:VCARD%0D%0ABEGIN:VCARD%0D%0AFN:Falsch', 'a line break in a URI cannot start a new card')
  t.equal(injected.one('fn'), tricky.name, 'FN untouched')

  const long: Facility = { ...kreativhaus, name: 'Ä'.repeat(30) + 'ß'.repeat(30) + ' Größenwahn-Überprüfungsstelle für Öffentlichkeitsarbeit '.repeat(3) }
  const longText = facilityVcard(long)
  assertWellFormed(t, longText)
  t.ok(longText.split('\r\n').filter((line) => line.startsWith(' ')).length > 3, 'long lines are folded')
  const longCard = parseCard(longText)
  t.equal(longCard.one('fn'), long.name, 'a folded line of two-byte characters unfolds to the original')

  // Every cut point: the escape `\n` must not be split across lines either.
  for (let pad = 0; pad < 4; pad++) {
    const name = 'x'.repeat(70 + pad) + '\nNeue Zeile, mit Komma'
    const padded = facilityVcard({ ...kreativhaus, name })
    t.notMatch(padded, /\\\r\n /, `no line ends in the middle of an escape (offset ${pad})`)
    t.equal(parseCard(padded).one('fn'), name, `the line break survives folding (offset ${pad})`)
  }

  const petra = contact('Petra Patz-Drüke')
  const atFacility: Contact = { ...petra, facility: { id: kreativhaus.id, slug: kreativhaus.slug, name: kreativhaus.name }, email: 'petra@example.org', sources: [] }
  const atCard = parseCard(contactVcard(atFacility))
  t.same(atCard.one('org'), ['Bezirksamt Mitte von Berlin', kreativhaus.name], 'ORG: organisation with the facility as its unit')
  t.equal(atCard.one('email'), 'petra@example.org', 'EMAIL of a contact')
  t.equal(atCard.one('note'), undefined, 'no NOTE without sources')
  const facilityOnly = parseCard(contactVcard({ ...atFacility, organisation: null }))
  t.equal(facilityOnly.one('org'), kreativhaus.name, 'ORG: the facility when no organisation is known')
  const single = parseCard(contactVcard({ ...petra, name: 'Sekretariat' }))
  t.same(single.one('n'), ['Sekretariat', '', '', '', ''], 'N: a single word is the family name')
})

t.test('many cards, stable UIDs', async (t) => {
  const { facilities, contacts, organisation } = await seed(t)
  const jobcenter = organisation('jobcenter-berlin-mitte')
  const tombstone = { id: '7f0b2c43-6f0e-4d8e-9a51-3f2f6f1b8c11', deleted: true as const, deletedAt: '2026-11-21T10:00:00.000Z' }
  const records = [...facilities, tombstone, ...contacts, jobcenter]
  const text = vcards(records)
  t.equal(text.match(/^BEGIN:VCARD\r$/gm)?.length, facilities.length + contacts.length + 1, 'one card per record, none for the tombstone')
  t.notOk(text.includes(tombstone.id), 'the tombstone is left out')
  const cards = parseCards(text)
  t.same(cards.map((card) => card.one('uid')), [...facilities, ...contacts, jobcenter].map((r) => `urn:uuid:${r.id}`), 'the parser finds every card in order')
  t.same(cards.map((card) => card.one('kind')), [...facilities.map(() => 'org'), ...contacts.map(() => 'individual'), 'org'], 'KIND per record type')
  t.equal(cards.find((card) => card.one('fn') === 'Kreativhaus')?.one('fn'), undefined, 'FN is the full name, not an alias')
  t.ok(cards.some((card) => card.one('fn') === 'Petra Patz-Drüke'), 'contacts are included')

  t.equal(vcards(records), text, 'a second export is identical')
  const kreativhaus = facilities.find((f) => f.slug === 'kreativhaus')!
  const changed = parseCard(facilityVcard({ ...kreativhaus, phone: '030 / 000 00 00', updatedAt: '2027-01-02T03:04:05.678Z' }))
  t.equal(changed.one('uid'), `urn:uuid:${kreativhaus.id}`, 'a changed record keeps its UID, so a re-import updates the card')
  t.equal(changed.one('rev'), '2027-01-02T03:04:05Z', 'REV follows updatedAt')
  t.equal(vcards([]), '', 'no records: empty')
})
