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
export function sendNdjson<T> (reply: FastifyReply, batches: Iterable<T[]>) {
  const lines = (function * () {
    for (const batch of batches) yield batch.map((item) => JSON.stringify(item) + '\n').join('')
  })()
  // A stream is sent as is; the route's response schema documents its lines.
  return reply.type('application/x-ndjson; charset=utf-8').send(Readable.from(lines) as never)
}
