import t from 'tap'
import { parse } from 'csv-parse/sync'
import ICAL from 'ical.js'
import { check } from '@placemarkio/check-geojson'
import { PROBLEM_JSON, bearer, buildTestApp, createKey, readOnlyApp } from '../helper.ts'

// The routes answer in every documented format; the writers themselves are tested in
// test/format-*.test.ts.

t.test('facilities as CSV (plain and German Excel), vCard, GeoJSON; one facility as JSON-LD, vCard, GeoJSON', async (t) => {
  const app = await readOnlyApp(t)
  const csv = await app.inject('/v1/facilities?format=csv&ortsteil=Mitte')
  t.equal(csv.statusCode, 200)
  t.equal(csv.headers['content-type'], 'text/csv; charset=utf-8; header=present')
  t.match(String(csv.headers['content-disposition']), /filename="facilities\.csv"/)
  const rows = parse(csv.body, { columns: true }) as Record<string, string>[]
  t.same(rows.map((r) => r.slug).sort(), ['begegnungsstaette-spandauer-strasse', 'kreativhaus'], 'the filters apply')
  t.equal(rows.find((r) => r.slug === 'kreativhaus')!['address.street'], 'Fischerinsel 3')
  const accept = await app.inject({ url: '/v1/facilities?ortsteil=Mitte', headers: { accept: 'text/csv' } })
  t.equal(accept.body, csv.body, 'Accept: text/csv is the same as format=csv')
  const excel = await app.inject('/v1/facilities?format=csv-excel')
  t.ok(excel.body.startsWith('\uFEFF'), 'BOM for German Excel')
  t.equal((parse(excel.body, { columns: true, delimiter: ';', bom: true }) as unknown[]).length, 14)
  const vcard = await app.inject('/v1/facilities?format=vcard')
  t.equal(vcard.headers['content-type'], 'text/vcard; charset=utf-8')
  t.equal(vcard.body.match(/BEGIN:VCARD/g)!.length, 14)
  const geo = await app.inject({ url: '/v1/facilities', headers: { accept: 'application/geo+json' } })
  t.match(geo.headers['content-type'], /^application\/geo\+json/)
  const collection = check(geo.body)
  t.equal(collection.features.length, 14)
  t.ok(collection.features.every((f: { geometry: unknown }) => f.geometry === null), 'no coordinates are invented')
  const ld = await app.inject('/v1/facilities/kreativhaus?format=jsonld')
  t.match(ld.headers['content-type'], /^application\/ld\+json/)
  t.equal(ld.json().address.streetAddress, 'Fischerinsel 3')
  t.match(ld.json()['@type'], ['Place', 'Organization'])
  const one = await app.inject({ url: '/v1/facilities/shk-mitte', headers: { accept: 'text/vcard' } })
  t.match(one.body, /UID:urn:uuid:fc017c63-13f0-5fe4-9b25-df0a01598b99/)
  t.equal(check((await app.inject('/v1/facilities/shk-mitte?format=geojson')).body as never).type, 'Feature')
  t.equal((await app.inject('/v1/facilities/kreativhaus?format=csv')).statusCode, 406)
})

t.test('contacts as CSV and vCard show internal contacts only to keys with contacts:read-internal', async (t) => {
  const app = await buildTestApp(t)
  const publicCsv = parse((await app.inject('/v1/contacts?format=csv')).body, { columns: true }) as Record<string, string>[]
  t.same(publicCsv.map((r) => r.name).sort(), ['Ephraim Gothe', 'Lutz Mania', 'Manuela Arlt', 'Petra Patz-Drüke'])
  const publicCards = (await app.inject('/v1/contacts?format=vcard')).body
  t.equal(publicCards.match(/BEGIN:VCARD/g)!.length, 4)
  t.notMatch(publicCards, /Gärtner|Sowade|Däxl/)
  const { key } = createKey(app, ['contacts:read-internal'])
  const insiderCsv = parse((await app.inject({ url: '/v1/contacts?format=csv', headers: bearer(key) })).body, { columns: true }) as unknown[]
  t.equal(insiderCsv.length, 12)
  const petra = (await app.inject('/v1/contacts?format=json')).json().items.find((c: any) => c.name === 'Petra Patz-Drüke')
  const card = await app.inject(`/v1/contacts/${petra.id}?format=vcard`)
  t.match(card.body, /TEL;VALUE=text;TYPE=work,voice:\(030\) 9018-42390/)
})

t.test('services and organisations as CSV; events as CSV and iCalendar (a subscribable feed)', async (t) => {
  const app = await readOnlyApp(t)
  const services = parse((await app.inject('/v1/services?format=csv&facility=meerbaum-haus')).body, { columns: true }) as Record<string, string>[]
  t.equal(services.length, 11)
  const orgs = parse((await app.inject('/v1/organisations?format=csv')).body, { columns: true }) as Record<string, string>[]
  t.equal(orgs.length, 10)
  const feed = await app.inject('/v1/events?format=ics')
  t.equal(feed.headers['content-type'], 'text/calendar; charset=utf-8')
  const calendar = new ICAL.Component(ICAL.parse(feed.body))
  const events = calendar.getAllSubcomponents('vevent').map((v) => new ICAL.Event(v))
  t.equal(events.length, 1)
  t.equal(events[0]!.startDate.toJSDate().toISOString(), '2020-03-11T08:00:00.000Z')
  t.match(events[0]!.location, /Seydelstr\. 2-5, 10117 Berlin/)
  const viaAgreement = await app.inject({ url: '/v1/agreements/kooperationsvereinbarung-2018/events', headers: { accept: 'text/calendar' } })
  t.equal(viaAgreement.body, feed.body)
  const single = await app.inject('/v1/events/voneinander-wissen-in-mitte-2020?format=ics')
  t.match(single.body, /DTSTART;TZID=Europe\/Berlin:20200311T090000/)
  const eventsCsv = parse((await app.inject('/v1/events?format=csv')).body, { columns: true }) as Record<string, string>[]
  t.equal(eventsCsv[0]!.startsAt, '2020-03-11T09:00:00+01:00')
  const unsupported = await app.inject('/v1/target-groups?format=ics')
  t.equal(unsupported.statusCode, 406)
  t.equal(unsupported.headers['content-type'], PROBLEM_JSON)
})
