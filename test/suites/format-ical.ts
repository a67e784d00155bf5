import t, { type Test } from 'tap'
import ICAL from 'ical.js'
import type { Event } from '../../src/schemas/agreements.ts'
import { seedId } from '../../src/lib/uuid.ts'
import { CALENDAR_TIME_ZONE, ICAL_MEDIA_TYPE, ambiguousWallClock, eventUid, eventsCalendar } from '../../src/formats/ical.ts'
import { getJson, readOnlyApp } from '../helper.ts'

const EVENT_ID = seedId('event', 'voneinander-wissen-in-mitte-2020')
const TITLE = 'Voneinander wissen in Mitte – JobCenter und Nachbarschaftseinrichtungen lernen sich kennen'
const LOCATION = 'JobCenter Mitte – Standort Spittelmarkt, Seydelstr. 2-5, 10117 Berlin'
const CALENDAR_NAME = 'Kooperationsvereinbarung 2018 – Veranstaltungen, Bezirksamt Mitte & Nachbarschaftseinrichtungen (Begegnungsstätten; Familienzentren)'

// RFC 5545 (3.8.8.2) gives X- properties the TEXT value type; ical.js leaves properties it does
// not know raw unless told so.
ICAL.design.icalendar.property['x-wr-calname'] = { defaultType: 'text' }

async function realEvents (t: Test): Promise<Event[]> {
  const app = await readOnlyApp(t)
  const { body } = await getJson<{ items: Event[] }>(app, '/v1/events')
  return body.items
}

// Parses with ical.js and resolves TZID references with the VTIMEZONEs of the file itself, so the
// offsets below come from the exported time zone rules.
function parse (text: string) {
  ICAL.TimezoneService.reset()
  const calendar = new ICAL.Component(ICAL.parse(text))
  for (const zone of calendar.getAllSubcomponents('vtimezone')) ICAL.TimezoneService.register(new ICAL.Timezone(zone))
  const events = calendar.getAllSubcomponents('vevent').map((component) => new ICAL.Event(component))
  return { calendar, events }
}

const utc = (time: ICAL.Time) => time.toJSDate().toISOString()
const local = (time: ICAL.Time) => `${String(time.hour).padStart(2, '0')}:${String(time.minute).padStart(2, '0')}`
const contentLines = (text: string) => text.slice(0, -2).split('\r\n')

// A clearly synthetic event, derived from the real one: other id, summer time, text that needs
// every escape.
function syntheticEvent (real: Event, changes: Partial<Event>): Event {
  return { ...real, id: seedId('test-event', changes.slug ?? 'synthetic'), participants: [], sources: [], ...changes }
}

t.test('the real event: Berlin wall-clock time with TZID, the absolute instant, text and identity', async (t) => {
  const events = await realEvents(t)
  t.equal(events.length, 1)
  const text = eventsCalendar(events, { name: CALENDAR_NAME })

  t.match(text, /^BEGIN:VCALENDAR\r\nVERSION:2\.0\r\nPRODID:-\/\/Mitte Partner Directory\/\/DE\r\nCALSCALE:GREGORIAN\r\n/)
  t.ok(text.endsWith('END:VCALENDAR\r\n'), 'the last line ends with CRLF')
  t.notMatch(text, /[^\r]\n/, 'every line break is CRLF')
  t.ok(text.includes('\r\nDTSTART;TZID=Europe/Berlin:20200311T090000\r\n'))
  t.ok(text.includes('\r\nDTEND;TZID=Europe/Berlin:20200311T130000\r\n'))
  t.match(text, /\r\nDTSTAMP:\d{8}T\d{6}Z\r\n/, 'DTSTAMP is UTC')
  t.ok(text.indexOf('X-WR-TIMEZONE:Europe/Berlin') < text.indexOf('BEGIN:VTIMEZONE'), 'calendar properties come before the components')
  t.notMatch(text, /\r\nURL/, 'no URL without an absolute base address')

  const { calendar, events: [event] } = parse(text)
  t.equal(calendar.getFirstPropertyValue('version'), '2.0')
  t.equal(calendar.getFirstPropertyValue('prodid'), '-//Mitte Partner Directory//DE')
  t.equal(calendar.getFirstPropertyValue('calscale'), 'GREGORIAN')
  t.equal(calendar.getFirstPropertyValue('x-wr-calname'), CALENDAR_NAME, 'the name survives escaping of , and ;')
  t.equal(calendar.getFirstPropertyValue('x-wr-timezone'), CALENDAR_TIME_ZONE)

  const zone = calendar.getFirstSubcomponent('vtimezone')
  t.equal(zone?.getFirstPropertyValue('tzid'), 'Europe/Berlin')
  t.same(zone?.getAllSubcomponents().map((rule) => [rule.name, rule.getFirstPropertyValue('tzoffsetto')?.toString()]).sort(),
    [['daylight', '+02:00'], ['standard', '+01:00']])

  if (event === undefined) throw new Error('no VEVENT')
  t.equal(event.uid, `${EVENT_ID}@mitte-partner-directory`)
  t.equal(event.uid, eventUid(EVENT_ID))
  t.equal(event.summary, TITLE)
  t.equal(event.location, LOCATION)
  t.equal(event.description, events[0]?.description)
  t.match(event.description, /Beschäftigten des JobCenter-Standorts Spittelmarkt/)

  t.equal(event.startDate.zone.tzid, 'Europe/Berlin')
  t.equal(local(event.startDate), '09:00')
  t.equal(local(event.endDate), '13:00')
  t.equal(event.startDate.utcOffset(), 3600, 'CET, +01:00')
  t.equal(utc(event.startDate), '2020-03-11T08:00:00.000Z')
  t.equal(utc(event.endDate), '2020-03-11T12:00:00.000Z')

  const stamp = event.component.getFirstPropertyValue('dtstamp') as ICAL.Time
  t.equal(stamp.zone, ICAL.Timezone.utcTimezone)
  t.equal(utc(stamp), events[0]?.updatedAt.replace(/\.\d{3}Z$/, '.000Z'))
  t.equal(utc(event.component.getFirstPropertyValue('created') as ICAL.Time), events[0]?.createdAt.replace(/\.\d{3}Z$/, '.000Z'))
  t.equal(utc(event.component.getFirstPropertyValue('last-modified') as ICAL.Time), events[0]?.updatedAt.replace(/\.\d{3}Z$/, '.000Z'))
  t.equal(ICAL_MEDIA_TYPE, 'text/calendar; charset=utf-8')
})

t.test('UIDs are stable across exports', async (t) => {
  const first = parse(eventsCalendar(await realEvents(t), { name: 'Erster Export' })).events.map((e) => e.uid)
  const second = parse(eventsCalendar(await realEvents(t), { name: 'Zweiter Export' })).events.map((e) => e.uid)
  t.same(first, [eventUid(EVENT_ID)])
  t.same(second, first)
})

t.test('the wall-clock time comes from the instant and the zone, not from the offset in the string', async (t) => {
  const [real] = await realEvents(t)
  if (real === undefined) throw new Error('no event')
  const summer = syntheticEvent(real, { slug: 'sommer', startsAt: '2020-07-01T18:30:00+02:00', endsAt: null })
  const utcSpelled = syntheticEvent(real, { slug: 'utc-spelling', startsAt: '2020-03-11T08:00:00Z', endsAt: '2020-03-11T12:00:00.000Z' })
  const otherOffset = syntheticEvent(real, { slug: 'other-offset', startsAt: '2020-07-01T12:30:00-04:00', endsAt: null })
  const text = eventsCalendar([summer, utcSpelled, otherOffset], { name: 'Test' })

  t.equal(text.match(/BEGIN:VTIMEZONE/g)?.length, 1, 'one VTIMEZONE for the zone all events use')
  const { events } = parse(text)
  const [s, u, o] = events
  if (s === undefined || u === undefined || o === undefined) throw new Error('events missing')

  t.equal(local(s.startDate), '18:30')
  t.equal(s.startDate.utcOffset(), 7200, 'summer time: +02:00 from the VTIMEZONE rules')
  t.equal(utc(s.startDate), '2020-07-01T16:30:00.000Z')
  t.equal(s.component.hasProperty('dtend'), false, 'no DTEND without a known end')

  t.equal(local(u.startDate), '09:00')
  t.equal(local(u.endDate), '13:00')
  t.equal(utc(u.startDate), '2020-03-11T08:00:00.000Z')

  t.equal(local(o.startDate), '18:30', 'an instant written with a New York offset still shows Berlin time')
  t.equal(o.startDate.zone.tzid, 'Europe/Berlin')
})

t.test('a wall-clock time the zone shows twice (end of summer time) is written in UTC, any other with TZID', async (t) => {
  const [real] = await realEvents(t)
  if (real === undefined) throw new Error('no event')
  // 25 October 2026: 03:00 summer time goes back to 02:00, so 02:30 happens twice.
  const first = syntheticEvent(real, { slug: 'erste-0230', startsAt: '2026-10-25T02:30:00+02:00', endsAt: null })
  const second = syntheticEvent(real, { slug: 'zweite-0230', startsAt: '2026-10-25T02:30:00+01:00', endsAt: '2026-10-25T04:00:00+01:00' })
  const plain = syntheticEvent(real, { slug: 'danach', startsAt: '2026-10-25T04:30:00+01:00', endsAt: null })
  const spring = syntheticEvent(real, { slug: 'fruehling', startsAt: '2026-03-29T03:30:00+02:00', endsAt: null })
  t.equal(ambiguousWallClock(first.startsAt, CALENDAR_TIME_ZONE), true)
  t.equal(ambiguousWallClock(second.startsAt, CALENDAR_TIME_ZONE), true)
  t.equal(ambiguousWallClock(plain.startsAt, CALENDAR_TIME_ZONE), false)
  t.equal(ambiguousWallClock(spring.startsAt, CALENDAR_TIME_ZONE), false, 'the hour skipped in spring leaves no time ambiguous')
  t.equal(ambiguousWallClock('2020-03-11T09:00:00+01:00', CALENDAR_TIME_ZONE), false)
  const text = eventsCalendar([first, second, plain, spring], { name: 'Test' })
  const lines = contentLines(text)
  t.ok(lines.includes('DTSTART:20261025T003000Z'), 'the first 02:30 in UTC')
  t.ok(lines.includes('DTSTART:20261025T013000Z'), 'the second 02:30 in UTC')
  t.ok(lines.includes('DTEND:20261025T030000Z'), 'with its end in UTC too')
  t.ok(lines.includes('DTSTART;TZID=Europe/Berlin:20261025T043000'), 'an unambiguous time keeps its zone')
  const { events } = parse(text)
  t.same(events.map((e) => utc(e.startDate)), ['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z', '2026-10-25T03:30:00.000Z', '2026-03-29T01:30:00.000Z'],
    'every event at its own instant')
})

t.test('escaping, line breaks, umlauts and folding at 75 octets', async (t) => {
  const [real] = await realEvents(t)
  if (real === undefined) throw new Error('no event')
  const title = 'Begegnungsstätte „Mehr Mitte“ – Frühstück; Café, Öffnungszeiten \\ Übergänge ' + 'äöüß€ '.repeat(12)
  const description = 'Erste Zeile mit Umlauten: äöü ÄÖÜ ß.\nZweite Zeile; mit Semikolon, Komma und \\ Backslash.\r\nDritte Zeile – Ende.'
  const event = syntheticEvent(real, {
    slug: 'escaping',
    title,
    description,
    location: { name: 'Nachbarschaftszentrum „Bürger für Bürger“', street: 'Müllerstraße 1; Hinterhof', postcode: '13353', city: 'Berlin', site: null, organisation: null }
  })
  const text = eventsCalendar([event], { name: 'Straßenfest – Grüße' })

  for (const line of contentLines(text)) {
    const octets = Buffer.byteLength(line, 'utf8')
    if (octets > 75) t.fail(`line of ${octets} octets: ${line}`)
    if (Buffer.from(line, 'utf8').toString('utf8').includes('\uFFFD')) t.fail(`broken UTF-8 character in ${line}`)
  }
  t.ok(contentLines(text).some((line) => line.startsWith(' ')), 'long lines are folded')
  t.ok(text.includes('\\;') && text.includes('\\,') && text.includes('\\\\') && text.includes('\\n'), 'TEXT escapes are written')

  const [parsed] = parse(text).events
  t.equal(parsed?.summary, title)
  t.equal(parsed?.description, description.replace('\r\n', '\n'), 'line breaks survive (as LF)')
  t.equal(parsed?.location, 'Nachbarschaftszentrum „Bürger für Bürger“, Müllerstraße 1; Hinterhof, 13353 Berlin')
  t.equal(parse(text).calendar.getFirstPropertyValue('x-wr-calname'), 'Straßenfest – Grüße')
})

t.test('unknown facts stay out', async (t) => {
  const [real] = await realEvents(t)
  if (real === undefined) throw new Error('no event')
  const bare = syntheticEvent(real, {
    slug: 'bare',
    description: null,
    endsAt: null,
    location: { name: null, street: null, postcode: null, city: 'Berlin', site: null, organisation: null }
  })
  const nowhere = syntheticEvent(real, { slug: 'nowhere', location: { name: null, street: null, postcode: null, city: null, site: null, organisation: null } })
  const [b, n] = parse(eventsCalendar([bare, nowhere], { name: 'Test' })).events
  if (b === undefined || n === undefined) throw new Error('events missing')
  t.equal(b.component.hasProperty('description'), false, 'no DESCRIPTION')
  t.equal(b.component.hasProperty('dtend'), false, 'no DTEND')
  t.equal(b.location, 'Berlin')
  t.equal(n.component.hasProperty('location'), false, 'no LOCATION')
  t.equal(n.component.hasProperty('dtend'), true)
})

t.test('URL only with an absolute base address', async (t) => {
  const events = await realEvents(t)
  const [withPrefix] = parse(eventsCalendar(events, { name: 'Test', url: 'https://partner.example.org/api' })).events
  t.equal(withPrefix?.component.getFirstPropertyValue('url'), `https://partner.example.org/api/v1/events/${EVENT_ID}`)
  const [atRoot] = parse(eventsCalendar(events, { name: 'Test', url: 'http://127.0.0.1:3000/' })).events
  t.equal(atRoot?.component.getFirstPropertyValue('url'), `http://127.0.0.1:3000/v1/events/${EVENT_ID}`)
  t.throws(() => eventsCalendar(events, { name: 'Test', url: '/v1' }), 'a relative base is refused')
  t.throws(() => eventsCalendar(events, { name: 'Test', url: 'ftp://example.org/' }))
})

t.test('an empty list is a valid calendar', async (t) => {
  const text = eventsCalendar([], { name: 'Keine Veranstaltungen' })
  const { calendar, events } = parse(text)
  t.equal(events.length, 0)
  t.equal(calendar.getFirstPropertyValue('x-wr-timezone'), 'Europe/Berlin')
  t.ok(text.endsWith('X-WR-TIMEZONE:Europe/Berlin\r\nEND:VCALENDAR\r\n'))
})

t.test('SEQUENCE is the number of revisions given, 0 without', async (t) => {
  const [real] = await realEvents(t)
  const other = syntheticEvent(real!, { slug: 'revised' })
  const text = eventsCalendar([real!, other], { name: 'Test', revisions: new Map([[other.id, 3]]) })
  const { events } = parse(text)
  t.same(events.map((e) => e.sequence), [0, 3])
  t.same(parse(eventsCalendar([other], { name: 'Test' })).events.map((e) => e.sequence), [0])
})
