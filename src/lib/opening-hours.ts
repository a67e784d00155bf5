import OpeningHours from 'opening_hours'
import type { nominatim_object as NominatimObject } from 'opening_hours'

// Structured opening hours in OpenStreetMap opening_hours syntax, always read as Berlin wall-clock
// time. The library reads Dates through the process's local getters (getHours, getDay, ...), so
// every instant is handed to it as a local Date carrying Berlin's wall-clock fields, and every Date
// it returns is read back the same way. A process zone with daylight saving of its own (neither UTC
// nor Berlin) has no local Date for wall times in its own skipped spring hour, so servers run with
// TZ=UTC or TZ=Europe/Berlin for exact answers.

export const BERLIN_TIME_ZONE = 'Europe/Berlin'
export const MAX_OPENING_HOURS_LENGTH = 500

const MINUTE = 60_000
const DAY = 24 * 60 * MINUTE
const CACHE_LIMIT = 10_000
const TIME_RANGES_MODE = 0
const BERLIN_LAT = 52.52
const BERLIN_LON = 13.405
const SUN_EVENT = /\b(?:sunrise|sunset|dawn|dusk)\b/

// The library ignores lat/lon unless they are strings (as Nominatim sends them) and then silently
// uses 06:00/18:00 for sunrise/sunset, although its types declare numbers.
function nominatim (lon: number): NominatimObject {
  return {
    lat: String(BERLIN_LAT),
    lon: String(lon),
    address: { country_code: 'de', state: 'Berlin' }
  } as unknown as NominatimObject
}

const BERLIN = nominatim(BERLIN_LON)

interface Wall {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

interface Schedule {
  value: string
  hours: OpeningHours
  usesSun: boolean
  // Sun-shifted copies, keyed by the shift in minutes; see sunShiftMinutes.
  shifted: Map<number, OpeningHours> | null
}

type Parsed = { ok: true, schedule: Schedule } | { ok: false, message: string }

const cache = new Map<string, Parsed>()

function parseUncached (value: string): Parsed {
  if (typeof value !== 'string' || value.trim() === '') {
    return { ok: false, message: 'Opening hours must not be empty' }
  }
  if (value.length > MAX_OPENING_HOURS_LENGTH) {
    return { ok: false, message: `Opening hours must be at most ${MAX_OPENING_HOURS_LENGTH} characters, got ${value.length}` }
  }
  try {
    const hours = new OpeningHours(value, BERLIN, TIME_RANGES_MODE)
    // The prettified value spells out aliases such as "daylight" as sunrise-sunset.
    const usesSun = SUN_EVENT.test(hours.prettifyValue())
    return { ok: true, schedule: { value, hours, usesSun, shifted: null } }
  } catch (error) {
    // The library throws plain strings that point at the offending position with "<---".
    const detail = (error instanceof Error ? error.message : String(error)).trim()
    return { ok: false, message: `Invalid opening hours: ${detail}` }
  }
}

function parse (value: string): Parsed {
  const hit = cache.get(value)
  if (hit !== undefined) {
    cache.delete(value)
    cache.set(value, hit)
    return hit
  }
  const parsed = parseUncached(value)
  if (typeof value === 'string' && value.length <= MAX_OPENING_HOURS_LENGTH) {
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!)
    cache.set(value, parsed)
  }
  return parsed
}

export function validateOpeningHours (value: string): { ok: true } | { ok: false, message: string } {
  const parsed = parse(value)
  return parsed.ok ? { ok: true } : { ok: false, message: parsed.message }
}

const berlinFormat = new Intl.DateTimeFormat('en-CA', {
  timeZone: BERLIN_TIME_ZONE,
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit'
})

let lastWallTime = Number.NaN
let lastWall: Wall | null = null

function berlinWall (time: number): Wall {
  // A filter asks about one instant for many facilities in a row.
  if (time === lastWallTime && lastWall !== null) return lastWall
  const wall: Wall = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 }
  for (const part of berlinFormat.formatToParts(time)) {
    if (part.type in wall) wall[part.type as keyof Wall] = Number(part.value)
  }
  lastWallTime = time
  lastWall = wall
  return wall
}

function wallUtc (wall: Wall): number {
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second)
}

function berlinOffsetMinutes (time: number): number {
  return (wallUtc(berlinWall(time)) - Math.floor(time / 1000) * 1000) / MINUTE
}

function localDate (wall: Wall): Date {
  return new Date(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second)
}

function localWall (date: Date): Wall {
  return {
    year: date.getFullYear(),
    month: date.getMonth() + 1,
    day: date.getDate(),
    hour: date.getHours(),
    minute: date.getMinutes(),
    second: date.getSeconds()
  }
}

// First minute in (from, to] whose Berlin offset is `offset`; the caller knows `to` has it.
function firstWithOffset (from: number, to: number, offset: number): number {
  let lo = Math.floor(from / MINUTE)
  let hi = Math.ceil(to / MINUTE)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (berlinOffsetMinutes(mid * MINUTE) === offset) hi = mid
    else lo = mid
  }
  return hi * MINUTE
}

// Earliest instant after `after` at which Berlin's wall clock reads `wall` or, when that reading is
// skipped by the spring change, the instant the clock jumps past it.
function berlinInstantAfter (wall: Wall, after: number): number | null {
  const naive = wallUtc(wall)
  const offsets = [...new Set([berlinOffsetMinutes(naive - DAY), berlinOffsetMinutes(naive + DAY)])]
  const valid = offsets
    .map((offset) => naive - offset * MINUTE)
    .filter((time) => berlinOffsetMinutes(time) === (naive - time) / MINUTE)
    .sort((a, b) => a - b)
  if (valid.length === 0 && offsets.length === 2) {
    const [small, large] = offsets[0]! < offsets[1]! ? [offsets[0]!, offsets[1]!] : [offsets[1]!, offsets[0]!]
    const jump = firstWithOffset(naive - large * MINUTE, naive - small * MINUTE, large)
    return jump > after ? jump : null
  }
  return valid.find((time) => time > after) ?? null
}

// Berlin clock changes in (from, to). Berlin changes at most twice a year, so a 30-day step can
// hold at most one change and comparing offsets at its ends finds it.
function clockChangesBetween (from: number, to: number): number[] {
  const changes: number[] = []
  let start = from
  while (start < to) {
    const end = Math.min(start + 30 * DAY, to)
    const offset = berlinOffsetMinutes(end)
    if (berlinOffsetMinutes(start) !== offset) {
      const change = firstWithOffset(start, end, offset)
      if (change > from && change < to) changes.push(change)
    }
    start = end
  }
  return changes
}

// Sun times come back from SunCalc as instants and are read with local getters, so when the
// process does not run in Berlin time they land off by the difference of the two offsets. Moving
// the longitude west by 15 degrees per hour of difference moves the sun by the same amount.
function sunShiftMinutes (wall: Wall): number {
  const noon = { ...wall, hour: 12, minute: 0, second: 0 }
  const berlinNoon = berlinInstantAfter(noon, Number.NEGATIVE_INFINITY) ?? wallUtc(noon) - 60 * MINUTE
  return berlinOffsetMinutes(berlinNoon) + localDate(noon).getTimezoneOffset()
}

function hoursFor (schedule: Schedule, wall: Wall): OpeningHours {
  if (!schedule.usesSun) return schedule.hours
  const shift = sunShiftMinutes(wall)
  if (shift === 0) return schedule.hours
  schedule.shifted ??= new Map()
  let hours = schedule.shifted.get(shift)
  if (hours === undefined) {
    hours = new OpeningHours(schedule.value, nominatim(BERLIN_LON - shift / 4), TIME_RANGES_MODE)
    schedule.shifted.set(shift, hours)
  }
  return hours
}

type State = 'open' | 'unknown' | 'closed'

function stateAt (schedule: Schedule, time: number): State {
  const wall = berlinWall(time)
  return hoursFor(schedule, wall).getStateString(localDate(wall), true)
}

// State is constant within a wall-clock minute, so repeated openNow filters within one minute
// reuse the answers; the library recomputes the year's holidays on every PH lookup.
let memoMinute = Number.NaN
const memo = new Map<string, boolean>()

export function isOpenAt (osm: string, at: Date): boolean {
  const time = at instanceof Date ? at.getTime() : Number.NaN
  if (Number.isNaN(time)) return false
  const parsed = parse(osm)
  if (!parsed.ok) return false
  try {
    const wall = berlinWall(time)
    const minute = Math.floor(wallUtc(wall) / MINUTE)
    if (minute !== memoMinute) {
      memo.clear()
      memoMinute = minute
    }
    const known = memo.get(osm)
    if (known !== undefined) return known
    // Unknown ("by appointment", "unknown") is never reported open.
    const open = hoursFor(parsed.schedule, wall).getState(localDate(wall))
    if (memo.size >= CACHE_LIMIT) memo.clear()
    memo.set(osm, open)
    return open
  } catch {
    // Evaluation can fail after parsing succeeded, e.g. "SH" in a year without school holiday data.
    return false
  }
}

function pad (value: number, length = 2): string {
  return String(Math.abs(value)).padStart(length, '0')
}

function formatBerlin (time: number): string {
  const wall = berlinWall(time)
  const offset = berlinOffsetMinutes(time)
  const sign = offset < 0 ? '-' : '+'
  return `${pad(wall.year, 4)}-${pad(wall.month)}-${pad(wall.day)}T${pad(wall.hour)}:${pad(wall.minute)}:${pad(wall.second)}` +
    `${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
}

export function nextChange (osm: string, at: Date): string | null {
  const time = at instanceof Date ? at.getTime() : Number.NaN
  if (Number.isNaN(time)) return null
  const parsed = parse(osm)
  if (!parsed.ok) return null
  const schedule = parsed.schedule
  try {
    const initial = stateAt(schedule, time)
    let cursor = time
    // The library sees Berlin's wall clock as a plain local clock, so it cannot know that the wall
    // clock skips an hour in spring or repeats one in autumn: its answer is checked at every clock
    // change before it, and the search resumes there if nothing changed.
    for (let attempt = 0; attempt < 8; attempt++) {
      const wall = berlinWall(cursor)
      const next = hoursFor(schedule, wall).getNextChange(localDate(wall))
      if (next === undefined) return null
      const candidate = berlinInstantAfter(localWall(next), cursor)
      if (candidate === null) return null
      const clockChange = clockChangesBetween(cursor, candidate)[0]
      if (clockChange !== undefined) {
        if (stateAt(schedule, clockChange) !== initial) return formatBerlin(clockChange)
        cursor = clockChange
        continue
      }
      if (stateAt(schedule, candidate) !== initial) return formatBerlin(candidate)
      cursor = candidate
    }
    return null
  } catch {
    return null
  }
}
