import ical, { escape } from 'ical-generator'
import { TZDate } from '@date-fns/tz'
import { tzlib_get_ical_block as vtimezoneBlock } from 'timezones-ical-library'
import type { Event } from '../schemas/agreements.ts'

// iCalendar (RFC 5545) export of events. ical-generator writes the lines (TEXT escaping of `\`,
// `;`, `,` and line breaks, folding at 75 octets without splitting a UTF-8 character, CRLF);
// timezones-ical-library supplies the VTIMEZONE of each zone the events use, from current IANA
// data. Start and end are written as Berlin wall-clock time with TZID, so that calendars show
// 09:00 whatever the offset in the stored ISO string (but a time the zone shows twice, in the hour
// repeated when summer time ends, in UTC); DTSTAMP, CREATED and LAST-MODIFIED are UTC.
// Unknown facts stay out: no DTEND without an end, no DESCRIPTION or LOCATION without text, and a
// URL only when an absolute base address is given (iCalendar has no relative URIs).

export const ICAL_MEDIA_TYPE = 'text/calendar; charset=utf-8'
export const CALENDAR_TIME_ZONE = 'Europe/Berlin'
// The name of a calendar of the agreement's events.
export const CALENDAR_TITLE = 'Kooperation Jobcenter und Nachbarschaftseinrichtungen Mitte'
const PRODUCT_ID = '-//Mitte Partner Directory//DE'
const UID_DOMAIN = 'mitte-partner-directory'

export interface CalendarOptions {
  // Calendar name (X-WR-CALNAME), e.g. the agreement's title.
  name: string
  // Absolute base address of this API (`https://partner.example.org`, also with a path prefix);
  // each VEVENT then links to `<url>/v1/events/<id>`.
  url?: string
  // Revisions per event id (SEQUENCE, RFC 5545 §3.8.7.4: grows with every revision, so that a
  // calendar replaces its copy); 0 where none is given.
  revisions?: Map<string, number>
}

// The event id is a stable UUID, so a re-export updates the event in a subscribed calendar
// instead of adding a copy.
export const eventUid = (eventId: string) => `${eventId}@${UID_DOMAIN}`

export function eventsCalendar (events: Event[], options: CalendarOptions): string {
  const base = options.url === undefined ? null : baseUrl(options.url)
  const calendar = ical({
    // ical-generator writes PRODID as `-` followed by this value.
    prodId: PRODUCT_ID.slice(1),
    scale: 'gregorian',
    // ical-generator writes NAME and X-WR-CALNAME unescaped.
    name: escape(options.name, false),
    // A generator without a calendar time zone: with one, ical-generator would write DTSTAMP,
    // CREATED and LAST-MODIFIED as local times without `Z`, which RFC 5545 does not allow.
    timezone: { name: null, generator: vtimezone }
  })
  for (const event of events) {
    // A wall-clock time that the zone shows twice (the hour repeated when summer time ends) names
    // two instants, and RFC 5545 (§3.3.5) takes the first: such an event is written in UTC.
    const inUtc = ambiguousWallClock(event.startsAt, event.timeZone) || (event.endsAt !== null && ambiguousWallClock(event.endsAt, event.timeZone))
    calendar.createEvent({
      id: eventUid(event.id),
      timezone: inUtc ? null : event.timeZone,
      // TZDate reads its wall-clock fields in the event's zone; a plain Date would give
      // ical-generator the wall-clock time of the server's zone.
      start: inUtc ? new Date(event.startsAt) : new TZDate(event.startsAt, event.timeZone),
      end: event.endsAt === null ? null : inUtc ? new Date(event.endsAt) : new TZDate(event.endsAt, event.timeZone),
      stamp: new Date(event.updatedAt),
      sequence: options.revisions?.get(event.id) ?? 0,
      created: new Date(event.createdAt),
      lastModified: new Date(event.updatedAt),
      summary: event.title,
      description: event.description,
      location: locationText(event.location),
      url: base === null ? null : new URL(`v1/events/${encodeURIComponent(event.id)}`, base).href
    })
  }
  // ical-generator writes X- properties after the events, where RFC 5545 has no place for
  // calendar properties, and ends without the final CRLF.
  const text = calendar.toString()
  const firstComponent = text.indexOf('\r\nBEGIN:')
  const at = firstComponent === -1 ? text.lastIndexOf('END:VCALENDAR') : firstComponent + 2
  return `${text.slice(0, at)}X-WR-TIMEZONE:${CALENDAR_TIME_ZONE}\r\n${text.slice(at)}\r\n`
}

// Whether the instant's wall-clock time in the zone also belongs to another instant: the same
// local time under the zone's other offset nearby (a few hours before or after) is that offset's.
export function ambiguousWallClock (instant: string, timeZone: string): boolean {
  const at = Date.parse(instant)
  // Minutes of UTC minus local time at an instant, as Date#getTimezoneOffset.
  const offsetAt = (ms: number) => new TZDate(ms, timeZone).getTimezoneOffset()
  const own = offsetAt(at)
  for (const other of new Set([offsetAt(at - 3 * 3_600_000), offsetAt(at + 3 * 3_600_000)])) {
    if (other !== own && offsetAt(at + (other - own) * 60_000) === other) return true
  }
  return false
}

function vtimezone (timeZone: string): string {
  const block = vtimezoneBlock(timeZone)
  const component = Array.isArray(block) ? block[0] : undefined
  if (component === undefined || !component.startsWith('BEGIN:VTIMEZONE')) {
    throw new Error(`No VTIMEZONE for time zone ${timeZone}`)
  }
  return component
}

// `name, street, postcode city` from the parts that are known.
function locationText (location: Event['location']): string | null {
  const place = [location.postcode, location.city].filter((part) => part !== null).join(' ')
  const parts = [location.name, location.street, place].filter((part): part is string => part !== null && part !== '')
  return parts.length === 0 ? null : parts.join(', ')
}

function baseUrl (url: string): URL {
  const base = new URL(url)
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error(`The calendar base URL must be http(s): ${url}`)
  if (!base.pathname.endsWith('/')) base.pathname += '/'
  return base
}
