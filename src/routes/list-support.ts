import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { pageUrl } from '../lib/cursor.ts'

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

// format=ndjson: every record, one JSON object per line, streamed batch by batch.
// Up to this size an NDJSON answer is built in memory and sent as one body, with an ETag, and kept
// by the response cache like any other answer; a larger one streams, so memory stays bounded.
export const NDJSON_BUFFER_BYTES = 1024 * 1024

export function sendNdjson<T> (reply: FastifyReply, batches: Iterable<T[]>) {
  reply.type('application/x-ndjson; charset=utf-8')
  const iterator = batches[Symbol.iterator]()
  const head: string[] = []
  let length = 0
  for (let next = iterator.next(); next.done !== true; next = iterator.next()) {
    const chunk = next.value.map((item) => JSON.stringify(item) + '\n').join('')
    head.push(chunk)
    length += chunk.length
    if (length > NDJSON_BUFFER_BYTES) {
      const rest = (function * () {
        yield * head
        for (let more = iterator.next(); more.done !== true; more = iterator.next()) {
          yield more.value.map((item) => JSON.stringify(item) + '\n').join('')
        }
      })()
      // A stream is sent as is; the route's response schema documents its lines.
      return reply.send(Readable.from(rest) as never)
    }
  }
  return reply.send(head.join(''))
}

const MEDIA_TYPES: Record<string, string> = {
  csv: 'text/csv; charset=utf-8; header=present',
  'csv-excel': 'text/csv; charset=utf-8; header=present',
  vcard: 'text/vcard; charset=utf-8',
  ics: 'text/calendar; charset=utf-8',
  geojson: 'application/geo+json',
  jsonld: 'application/ld+json'
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
