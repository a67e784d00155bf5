import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import {
  BERLIN_TIME_ZONE,
  MAX_OPENING_HOURS_LENGTH,
  isOpenAt,
  nextChange,
  validateOpeningHours
} from '../../src/lib/opening-hours.ts'

const WEEKDAYS = 'Mo-Fr 09:00-17:00'
const WEEKDAYS_NOT_ON_HOLIDAYS = 'Mo-Fr 09:00-17:00; PH off'

// Each zone gets a fresh process, the way a server gets its TZ at start. They start first so that
// their start-up overlaps with the tests below.
const TZ_PROBES: Array<[string, string]> = [
  ['Mo-Su 09:00-17:00', '2026-03-29T07:30:00Z'],
  ['Mo-Su 09:00-17:00', '2026-03-28T07:30:00Z'],
  ['Mo-Su 09:00-17:00', '2026-10-25T08:30:00Z'],
  ['Fr 22:00-02:00', '2026-03-14T00:00:00Z'],
  ['Fr 22:00-02:00', '2026-03-14T01:30:00Z'],
  [WEEKDAYS_NOT_ON_HOLIDAYS, '2027-03-08T09:00:00Z'],
  [WEEKDAYS_NOT_ON_HOLIDAYS, '2027-03-08T23:30:00Z'],
  ['Mo-Su 00:00-02:30', '2026-03-29T00:30:00Z'],
  ['Mo-Su 00:00-02:30', '2026-10-25T00:40:00Z'],
  ['sunrise-sunset', '2026-06-21T02:45:00Z']
]
const TZ_EXPECTED = [
  [true, '2026-03-29T17:00:00+02:00'],
  [false, '2026-03-28T09:00:00+01:00'],
  [true, '2026-10-25T17:00:00+01:00'],
  [true, '2026-03-14T02:00:00+01:00'],
  [false, '2026-03-20T22:00:00+01:00'],
  [false, '2027-03-09T09:00:00+01:00'],
  [false, '2027-03-09T09:00:00+01:00'],
  [true, '2026-03-29T03:00:00+02:00'],
  [false, '2026-10-25T02:00:00+01:00'],
  [true, '2026-06-21T21:33:00+02:00']
]
const ZONES = ['America/New_York', 'UTC', 'Asia/Tokyo', 'Europe/Berlin']
const childScript = `
  const { isOpenAt, nextChange } = await import(${JSON.stringify(new URL('../../src/lib/opening-hours.ts', import.meta.url).href)})
  const probes = ${JSON.stringify(TZ_PROBES)}
  process.stdout.write(JSON.stringify({
    tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
    results: probes.map(([osm, iso]) => [isOpenAt(osm, new Date(iso)), nextChange(osm, new Date(iso))])
  }))
`
const childRuns = Promise.allSettled(ZONES.map(async (tz) => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', childScript], {
    env: { ...process.env, TZ: tz },
    timeout: 30_000
  })
  return JSON.parse(stdout) as { tz: string, results: unknown }
}))

function openAt (osm: string, iso: string): boolean {
  return isOpenAt(osm, new Date(iso))
}

t.test('Berlin is the time zone hours are read in', async (t) => {
  t.equal(BERLIN_TIME_ZONE, 'Europe/Berlin')
  t.equal(MAX_OPENING_HOURS_LENGTH, 500)
})

t.test('validateOpeningHours', async (t) => {
  t.test('accepts well-formed values', async (t) => {
    for (const value of [WEEKDAYS, WEEKDAYS_NOT_ON_HOLIDAYS, '24/7', 'Fr 22:00-02:00', 'Mo-Fr 09:00-12:00,13:00-17:00; Sa 10:00-14:00; PH off', 'sunrise-sunset', '"nach Vereinbarung"']) {
      t.same(validateOpeningHours(value), { ok: true }, value)
    }
  })

  t.test('accepts values the library only warns about', async (t) => {
    t.same(validateOpeningHours('Mo-Fr 9-17'), { ok: true })
  })

  t.test('rejects malformed values with the parser message', async (t) => {
    const result = validateOpeningHours('garbage')
    t.equal(result.ok, false)
    t.match(result, { message: /^Invalid opening hours: .*Unexpected token: "g"/ })
    t.match(validateOpeningHours('Mo-Fr 09:00-'), { ok: false, message: /^Invalid opening hours: / })
    t.match(validateOpeningHours('Mo-Xy 09:00-17:00'), { ok: false, message: /^Invalid opening hours: / })
  })

  t.test('rejects points in time, which are not opening hours', async (t) => {
    t.match(validateOpeningHours('Mo 12:00'), { ok: false, message: /time range expected/ })
  })

  t.test('rejects empty and blank values', async (t) => {
    t.same(validateOpeningHours(''), { ok: false, message: 'Opening hours must not be empty' })
    t.same(validateOpeningHours('   '), { ok: false, message: 'Opening hours must not be empty' })
  })

  t.test('accepts 500 characters and rejects 501', async (t) => {
    const prefix = 'Mo-Fr 09:00-17:00 "'
    const at500 = prefix + 'x'.repeat(500 - prefix.length - 1) + '"'
    t.equal(at500.length, 500)
    t.same(validateOpeningHours(at500), { ok: true })
    const at501 = prefix + 'x'.repeat(501 - prefix.length - 1) + '"'
    t.same(validateOpeningHours(at501), { ok: false, message: 'Opening hours must be at most 500 characters, got 501' })
  })

  t.test('never throws, even for a non-string at runtime', async (t) => {
    t.match(validateOpeningHours(null as unknown as string), { ok: false, message: 'Opening hours must not be empty' })
    t.match(validateOpeningHours(42 as unknown as string), { ok: false })
  })
})

t.test('isOpenAt', async (t) => {
  t.test('open on a weekday, closed at the weekend', async (t) => {
    t.equal(openAt(WEEKDAYS, '2026-03-11T09:00:00Z'), true, 'Wednesday 10:00 CET')
    t.equal(openAt(WEEKDAYS, '2026-03-14T09:00:00Z'), false, 'Saturday 10:00 CET')
    t.equal(openAt(WEEKDAYS, '2026-03-15T09:00:00Z'), false, 'Sunday 10:00 CET')
    t.equal(openAt(WEEKDAYS, '2026-03-11T19:00:00Z'), false, 'Wednesday 20:00 CET')
  })

  t.test('open from the opening minute, closed from the closing minute', async (t) => {
    t.equal(openAt(WEEKDAYS, '2026-03-11T07:59:59Z'), false, '08:59:59 CET')
    t.equal(openAt(WEEKDAYS, '2026-03-11T08:00:00Z'), true, '09:00 CET')
    t.equal(openAt(WEEKDAYS, '2026-03-11T15:59:59Z'), true, '16:59:59 CET')
    t.equal(openAt(WEEKDAYS, '2026-03-11T16:00:00Z'), false, '17:00 CET')
    t.equal(openAt(WEEKDAYS, '2026-07-15T07:00:00Z'), true, '09:00 CEST')
    t.equal(openAt(WEEKDAYS, '2026-07-15T15:00:00Z'), false, '17:00 CEST')
  })

  t.test('a range ending at midnight covers the last minute of the day only', async (t) => {
    const evenings = 'Mo-Fr 18:00-24:00'
    t.equal(openAt(evenings, '2026-03-13T22:59:59Z'), true, 'Friday 23:59:59 CET')
    t.equal(openAt(evenings, '2026-03-13T23:00:00Z'), false, 'Saturday 00:00 CET')
    t.equal(openAt(evenings, '2026-03-10T23:00:00Z'), false, 'Wednesday 00:00 CET')
    t.equal(openAt(evenings, '2026-03-08T23:00:00Z'), false, 'Monday 00:00 CET')
  })

  t.test('a range across midnight belongs to the day it starts on', async (t) => {
    const friday = 'Fr 22:00-02:00'
    t.equal(openAt(friday, '2026-03-13T20:59:00Z'), false, 'Friday 21:59 CET')
    t.equal(openAt(friday, '2026-03-13T21:00:00Z'), true, 'Friday 22:00 CET')
    t.equal(openAt(friday, '2026-03-13T23:00:00Z'), true, 'Saturday 00:00 CET')
    t.equal(openAt(friday, '2026-03-14T00:00:00Z'), true, 'Saturday 01:00 CET')
    t.equal(openAt(friday, '2026-03-14T00:59:00Z'), true, 'Saturday 01:59 CET')
    t.equal(openAt(friday, '2026-03-14T01:00:00Z'), false, 'Saturday 02:00 CET')
    t.equal(openAt(friday, '2026-03-14T01:30:00Z'), false, 'Saturday 02:30 CET')
    t.equal(openAt(friday, '2026-03-13T00:00:00Z'), false, 'Friday 01:00 CET, after Thursday')
    t.equal(openAt(friday, '2026-07-17T23:00:00Z'), true, 'Saturday 01:00 CEST')
    t.equal(openAt(friday, '2026-07-18T00:30:00Z'), false, 'Saturday 02:30 CEST')
  })

  t.test('PH off closes on Berlin public holidays', async (t) => {
    t.equal(openAt(WEEKDAYS_NOT_ON_HOLIDAYS, '2027-03-08T09:00:00Z'), false, 'Monday 8 March 2027, Internationaler Frauentag')
    t.equal(openAt(WEEKDAYS, '2027-03-08T09:00:00Z'), true, 'the same Monday without PH off')
    t.equal(openAt(WEEKDAYS_NOT_ON_HOLIDAYS, '2027-03-09T09:00:00Z'), true, 'Tuesday 9 March 2027')
    t.equal(openAt(WEEKDAYS_NOT_ON_HOLIDAYS, '2026-12-25T09:00:00Z'), false, 'Friday 25 December 2026')
    t.equal(openAt(WEEKDAYS_NOT_ON_HOLIDAYS, '2026-12-24T09:00:00Z'), true, 'Thursday 24 December 2026 is no holiday')
    t.equal(openAt(WEEKDAYS_NOT_ON_HOLIDAYS, '2026-04-06T08:00:00Z'), false, 'Easter Monday 2026')
    t.equal(openAt(WEEKDAYS_NOT_ON_HOLIDAYS, '2026-04-03T08:00:00Z'), false, 'Good Friday 2026')
    t.equal(openAt(WEEKDAYS_NOT_ON_HOLIDAYS, '2026-05-01T08:00:00Z'), false, 'Friday 1 May 2026')
    t.equal(openAt(WEEKDAYS_NOT_ON_HOLIDAYS, '2028-10-03T08:00:00Z'), false, 'Tuesday 3 October 2028')
    t.equal(openAt('Mo-Sa 09:00-17:00; PH off', '2026-10-03T08:00:00Z'), false, 'Saturday 3 October 2026')
  })

  t.test('holidays of other German states are working days in Berlin', async (t) => {
    t.equal(openAt(WEEKDAYS_NOT_ON_HOLIDAYS, '2027-01-06T09:00:00Z'), true, 'Epiphany 2027 (Bavaria, not Berlin)')
    t.equal(openAt(WEEKDAYS_NOT_ON_HOLIDAYS, '2028-10-31T09:00:00Z'), true, 'Reformation Day 2028 (Brandenburg, not Berlin)')
  })

  t.test('PH rules can open on holidays only', async (t) => {
    const holidaysOnly = 'PH 10:00-14:00'
    t.equal(openAt(holidaysOnly, '2027-03-08T10:00:00Z'), true, '8 March 2027 11:00 CET')
    t.equal(openAt(holidaysOnly, '2027-03-09T10:00:00Z'), false, '9 March 2027 11:00 CET')
  })

  t.test('spring clock change: 2026-03-29 02:00 CET becomes 03:00 CEST', async (t) => {
    const daily = 'Mo-Su 09:00-17:00'
    t.equal(openAt(daily, '2026-03-28T07:30:00Z'), false, 'Saturday 08:30 CET')
    t.equal(openAt(daily, '2026-03-28T08:30:00Z'), true, 'Saturday 09:30 CET')
    t.equal(openAt(daily, '2026-03-29T06:30:00Z'), false, 'Sunday 08:30 CEST')
    t.equal(openAt(daily, '2026-03-29T07:30:00Z'), true, 'Sunday 09:30 CEST')
    t.equal(openAt(daily, '2026-03-29T14:59:00Z'), true, 'Sunday 16:59 CEST')
    t.equal(openAt(daily, '2026-03-29T15:00:00Z'), false, 'Sunday 17:00 CEST')
    const night = 'Mo-Su 00:00-02:30'
    t.equal(openAt(night, '2026-03-29T00:59:00Z'), true, '01:59 CET')
    t.equal(openAt(night, '2026-03-29T01:00:00Z'), false, '03:00 CEST, 02:00-03:00 never happened')
  })

  t.test('autumn clock change: 2026-10-25 03:00 CEST becomes 02:00 CET', async (t) => {
    const daily = 'Mo-Su 09:00-17:00'
    t.equal(openAt(daily, '2026-10-24T07:30:00Z'), true, 'Saturday 09:30 CEST')
    t.equal(openAt(daily, '2026-10-25T07:30:00Z'), false, 'Sunday 08:30 CET')
    t.equal(openAt(daily, '2026-10-25T08:30:00Z'), true, 'Sunday 09:30 CET')
    t.equal(openAt(daily, '2026-10-25T15:59:00Z'), true, 'Sunday 16:59 CET')
    t.equal(openAt(daily, '2026-10-25T16:00:00Z'), false, 'Sunday 17:00 CET')
    const night = 'Mo-Su 00:00-02:30'
    t.equal(openAt(night, '2026-10-25T00:10:00Z'), true, '02:10 CEST')
    t.equal(openAt(night, '2026-10-25T00:40:00Z'), false, '02:40 CEST')
    t.equal(openAt(night, '2026-10-25T01:10:00Z'), true, '02:10 CET, the wall clock passes 02:10 twice')
    t.equal(openAt(night, '2026-10-25T01:40:00Z'), false, '02:40 CET')
  })

  t.test('sunrise and sunset are Berlin sun times', async (t) => {
    // 21 June 2026 in Berlin: sunrise 04:43 CEST, sunset 21:33 CEST.
    const daylight = 'sunrise-sunset'
    t.equal(openAt(daylight, '2026-06-21T02:40:00Z'), false, '04:40 CEST')
    t.equal(openAt(daylight, '2026-06-21T02:45:00Z'), true, '04:45 CEST')
    t.equal(openAt(daylight, '2026-06-21T19:30:00Z'), true, '21:30 CEST')
    t.equal(openAt(daylight, '2026-06-21T19:35:00Z'), false, '21:35 CEST')
    // 21 December 2026: sunrise 08:14 CET, sunset 15:53 CET.
    t.equal(openAt(daylight, '2026-12-21T07:10:00Z'), false, '08:10 CET')
    t.equal(openAt(daylight, '2026-12-21T07:20:00Z'), true, '08:20 CET')
    t.equal(openAt(daylight, '2026-12-21T14:50:00Z'), true, '15:50 CET')
    t.equal(openAt(daylight, '2026-12-21T15:00:00Z'), false, '16:00 CET')
  })

  t.test('unknown and closed states are never reported open', async (t) => {
    const at = '2026-03-11T09:00:00Z'
    t.equal(openAt('"nach Vereinbarung"', at), false)
    t.equal(openAt('Mo-Fr 09:00-17:00 unknown', at), false)
    t.equal(openAt('Mo-Fr 09:00-17:00 "nur nach Anmeldung"', at), false)
    t.equal(openAt('off', at), false)
    t.equal(openAt('24/7', at), true)
  })

  t.test('invalid input is closed and never throws', async (t) => {
    const at = new Date('2026-03-11T09:00:00Z')
    t.equal(isOpenAt('garbage', at), false)
    t.equal(isOpenAt('garbage', at), false, 'again, from the cache')
    t.equal(isOpenAt('', at), false)
    t.equal(isOpenAt('24/7 "' + 'x'.repeat(MAX_OPENING_HOURS_LENGTH) + '"', at), false)
    t.equal(isOpenAt('24/7', new Date('not a date')), false)
    t.equal(isOpenAt(undefined as unknown as string, at), false)
  })

  t.test('a value that fails only at evaluation time is closed', async (t) => {
    // Berlin school holiday data ends in 2030; the library logs its error through console.error.
    const errors: unknown[] = []
    const original = console.error
    console.error = (...args: unknown[]) => { errors.push(args) }
    t.teardown(() => { console.error = original })
    t.same(validateOpeningHours('Mo-Fr 09:00-17:00; SH off'), { ok: true })
    t.equal(openAt('Mo-Fr 09:00-17:00; SH off', '2026-03-11T09:00:00Z'), true, 'in a year with data')
    t.equal(openAt('Mo-Fr 09:00-17:00; SH off', '2040-03-14T09:00:00Z'), false, 'in a year without data')
  })

  t.test('asking again in the same minute gives the same answer', async (t) => {
    t.equal(openAt(WEEKDAYS_NOT_ON_HOLIDAYS, '2027-03-08T09:00:00Z'), false)
    t.equal(openAt(WEEKDAYS_NOT_ON_HOLIDAYS, '2027-03-08T09:00:30Z'), false)
    t.equal(openAt(WEEKDAYS, '2027-03-08T09:00:30Z'), true)
  })
})

t.test('nextChange', async (t) => {
  t.test('gives the next opening or closing with the Berlin offset', async (t) => {
    t.equal(nextChange(WEEKDAYS, new Date('2026-03-11T09:00:00Z')), '2026-03-11T17:00:00+01:00')
    t.equal(nextChange(WEEKDAYS, new Date('2026-03-11T16:00:00Z')), '2026-03-12T09:00:00+01:00', 'at the closing minute')
    t.equal(nextChange(WEEKDAYS, new Date('2026-03-13T17:00:00Z')), '2026-03-16T09:00:00+01:00', 'over the weekend')
    t.equal(nextChange(WEEKDAYS, new Date('2026-07-15T10:00:00Z')), '2026-07-15T17:00:00+02:00')
  })

  t.test('skips Berlin holidays', async (t) => {
    t.equal(nextChange(WEEKDAYS_NOT_ON_HOLIDAYS, new Date('2027-03-05T17:00:00Z')), '2027-03-09T09:00:00+01:00', 'Friday evening before 8 March 2027')
  })

  t.test('follows ranges across midnight', async (t) => {
    t.equal(nextChange('Fr 22:00-02:00', new Date('2026-03-14T00:00:00Z')), '2026-03-14T02:00:00+01:00')
    t.equal(nextChange('Fr 22:00-02:00', new Date('2026-03-14T01:30:00Z')), '2026-03-20T22:00:00+01:00')
  })

  t.test('crosses the clock changes', async (t) => {
    t.equal(nextChange('Mo-Su 09:00-17:00', new Date('2026-03-28T17:00:00Z')), '2026-03-29T09:00:00+02:00')
    t.equal(nextChange('Mo-Su 09:00-17:00', new Date('2026-10-24T17:00:00Z')), '2026-10-25T09:00:00+01:00')
  })

  t.test('a change inside the skipped spring hour happens when the clock jumps', async (t) => {
    t.equal(nextChange('Mo-Su 00:00-02:30', new Date('2026-03-29T00:30:00Z')), '2026-03-29T03:00:00+02:00')
    t.equal(nextChange('Su 02:15-02:45', new Date('2026-03-29T00:30:00Z')), '2026-04-05T02:15:00+02:00', 'a range that never happens is skipped')
  })

  t.test('the repeated autumn hour can change the state twice', async (t) => {
    const night = 'Mo-Su 00:00-02:30'
    t.equal(nextChange(night, new Date('2026-10-25T00:10:00Z')), '2026-10-25T02:30:00+02:00')
    t.equal(nextChange(night, new Date('2026-10-25T00:40:00Z')), '2026-10-25T02:00:00+01:00')
    t.equal(nextChange(night, new Date('2026-10-25T01:10:00Z')), '2026-10-25T02:30:00+01:00')
    t.equal(nextChange('Su 02:10-02:20', new Date('2026-10-25T00:40:00Z')), '2026-10-25T02:10:00+01:00')
  })

  t.test('sun times', async (t) => {
    t.equal(nextChange('sunrise-sunset', new Date('2026-06-21T00:00:00Z')), '2026-06-21T04:43:00+02:00')
    t.equal(nextChange('sunrise-sunset', new Date('2026-06-21T12:00:00Z')), '2026-06-21T21:33:00+02:00')
  })

  t.test('null when nothing changes or the value is unusable', async (t) => {
    const at = new Date('2026-03-11T09:00:00Z')
    t.equal(nextChange('24/7', at), null)
    t.equal(nextChange('off', at), null)
    t.equal(nextChange('garbage', at), null)
    t.equal(nextChange('', at), null)
    t.equal(nextChange('24/7', new Date('not a date')), null)
  })
})

t.test('the answers do not depend on the process time zone', async (t) => {
  t.same(TZ_PROBES.map(([osm, iso]) => [isOpenAt(osm, new Date(iso)), nextChange(osm, new Date(iso))]), TZ_EXPECTED,
    `in this process (${Intl.DateTimeFormat().resolvedOptions().timeZone})`)
  const runs = await childRuns
  for (const [index, tz] of ZONES.entries()) {
    const run = runs[index]!
    if (run.status === 'rejected') {
      t.fail(`the child in ${tz} failed: ${String(run.reason)}`)
      continue
    }
    t.equal(run.value.tz, tz, `the child runs in ${tz}`)
    t.same(run.value.results, TZ_EXPECTED, `answers in ${tz}`)
  }
})
