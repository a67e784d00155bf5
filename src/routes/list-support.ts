import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { pageUrl } from '../lib/cursor.ts'
import type { ServicePage, ServicesRepository } from '../repositories/services-repository.ts'
import { CSV_MEDIA_TYPE } from '../formats/csv.ts'
import { GEOJSON_MEDIA_TYPE } from '../formats/geojson.ts'
import { eventsCalendar, ICAL_MEDIA_TYPE } from '../formats/ical.ts'
import type { AgreementsRepository } from '../repositories/agreements-repository.ts'
import type { Event } from '../schemas/agreements.ts'
import { JSONLD_MEDIA_TYPE } from '../formats/jsonld.ts'
import { VCARD_MEDIA_TYPE } from '../formats/vcard.ts'

export interface ListPage<T> {
  total: number
  limit: number
  offset: number
  items: T[]
  nextCursor: string | null
}

// The JSON page: `links` in the body, the same links as an RFC 8288 Link header, the total in
// X-Total-Count.
export function sendPage<T> (request: FastifyRequest, reply: FastifyReply, page: ListPage<T>) {
  const path = request.url.split('?')[0]!
  const query = request.query as Record<string, unknown>
  const links = {
    self: request.url,
    first: pageUrl(path, query, null),
    next: page.nextCursor === null ? null : pageUrl(path, query, page.nextCursor)
  }
  reply.header('x-total-count', String(page.total))
  reply.header('link', [
    links.next === null ? null : `<${links.next}>; rel="next"`,
    `<${links.first}>; rel="first"`
  ].filter(Boolean).join(', '))
  return { total: page.total, limit: page.limit, offset: page.offset, links, items: page.items }
}

// format=ndjson: every record, one JSON object per line. Up to NDJSON_BUFFER_BYTES the answer is
// built in memory and sent as one body, with an ETag, and kept by the response cache like any
// other answer; a larger one streams batch by batch, so memory stays bounded.
export const NDJSON_BUFFER_BYTES = 1024 * 1024

export function sendNdjson<T> (reply: FastifyReply, batches: Iterable<T[]>) {
  reply.type('application/x-ndjson; charset=utf-8')
  const chunks = (function * () {
    for (const batch of batches) yield batch.map((item) => JSON.stringify(item) + '\n').join('')
  })()
  const head: string[] = []
  let length = 0
  for (let next = chunks.next(); next.done !== true; next = chunks.next()) {
    head.push(next.value)
    length += next.value.length
    if (length > NDJSON_BUFFER_BYTES) {
      const rest = (function * () {
        yield * head
        yield * chunks
      })()
      // A stream is sent as is; the route's response schema documents its lines.
      return reply.send(Readable.from(rest) as never)
    }
  }
  return reply.send(head.join(''))
}

// The Content-Type of each export, as its writer defines it.
const MEDIA_TYPES: Record<string, string> = {
  csv: CSV_MEDIA_TYPE,
  'csv-excel': CSV_MEDIA_TYPE,
  vcard: VCARD_MEDIA_TYPE,
  ics: ICAL_MEDIA_TYPE,
  geojson: GEOJSON_MEDIA_TYPE,
  jsonld: JSONLD_MEDIA_TYPE
}

const EXTENSIONS: Record<string, string> = { csv: 'csv', 'csv-excel': 'csv', vcard: 'vcf', ics: 'ics', geojson: 'geojson', jsonld: 'jsonld' }

// An export (CSV, vCard, iCalendar, GeoJSON, JSON-LD) with its media type and a file name for
// people who save it.
export function sendExport (reply: FastifyReply, format: string, name: string, body: string) {
  return reply
    .type(MEDIA_TYPES[format] ?? 'application/octet-stream')
    .header('content-disposition', `inline; filename="${name}.${EXTENSIONS[format] ?? format}"`)
    .send(body)
}

// Every record of a list (all pages), for exports that are one document.
export function collect<T> (batches: Iterable<T[]>): T[] {
  const all: T[] = []
  for (const batch of batches) all.push(...batch)
  return all
}

// Documents that describe what exists (a calendar) leave deleted records out.
export function withoutTombstones<T extends object> (entries: T[]): Exclude<T, { deleted: true }>[] {
  return entries.filter((e) => !('deleted' in e && e.deleted === true)) as Exclude<T, { deleted: true }>[]
}

// A page of services is built from the services on it, their facilities (name and slug), and
// the labels of categories and target groups: the response cache keeps it across other writes
// while the query selects the same rows (reply.cacheRecheck). Tombstones (updatedSince) may
// come from a facility or category that was deleted: such pages are built again after any write.
// `owner`: the facility whose services these are (its page depends on it even when empty: it may
// be deleted or give its slug to another).
export function keepServicePage (reply: FastifyReply, repository: ServicesRepository, query: Parameters<ServicesRepository['pageKey']>[0], page: ServicePage, owner?: string): ServicePage {
  const records: string[] = owner === undefined ? [] : [`facility:${owner}`]
  for (const entry of page.items) {
    if ('deleted' in entry) return page
    records.push(`service:${entry.id}`, `facility:${entry.facility.id}`)
  }
  reply.cacheDependsOn(...records, 'category:*', 'target_group:*')
    .cacheRecheck(['service', 'facility'], () => repository.pageKey(query), page.key)
  return page
}

// Events as iCalendar, each with its number of revisions as SEQUENCE.
export function sendCalendar (reply: FastifyReply, repository: AgreementsRepository, name: string, events: Event[], title: string) {
  const revisions = repository.eventRevisions(events.map((e) => e.id))
  return sendExport(reply, 'ics', name, eventsCalendar(events, { name: title, revisions }))
}
