import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    dataVersion: () => DataVersion
    responseCache: ResponseCache
  }
  interface FastifyContextConfig {
    // false: the response depends on more than the data (the clock, the caller) and is never reused.
    cache?: boolean
  }
}

export interface DataVersion {
  // Sequence number of the last change; every write advances it (change triggers).
  seq: number
  changedAt: Date
}

interface Entry {
  seq: number
  etag: string
  lastModified: string
  payload: string
  headers: Record<string, string>
}

export interface ResponseCache {
  // onRequest, before rate limiting: answers conditional GETs that are still current with 304,
  // so revalidation costs (and counts) nothing.
  revalidate: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>
  // onRequest, after rate limiting: answers anonymous GETs from the serialised response of the
  // same URL at the same data version.
  serve: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>
  clear: () => void
}

// Revalidation is cheap (a hash of the response or a 304), so clients may keep a response for a
// minute and must then ask again; the directory changes a few times a day.
export const CACHE_CONTROL = 'public, max-age=60, must-revalidate'
const PRIVATE_CACHE_CONTROL = 'private, no-cache'
const MAX_ENTRIES = 2000
const MAX_PAYLOAD = 2 * 1024 * 1024
const REPLAYED_HEADERS = ['content-type', 'link', 'x-total-count']

export function strongEtag (payload: string | Buffer): string {
  return `"${createHash('sha256').update(payload).digest('base64url').slice(0, 32)}"`
}

function matchesIfNoneMatch (header: string, etag: string): boolean {
  if (header.trim() === '*') return true
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag)
}

function notModifiedSince (request: FastifyRequest, lastModified: string): boolean {
  const header = request.headers['if-modified-since']
  if (header === undefined || request.headers['if-none-match'] !== undefined) return false
  const since = Date.parse(header)
  return !Number.isNaN(since) && Date.parse(lastModified) <= since
}

function isNotModified (request: FastifyRequest, etag: string, lastModified: string): boolean {
  const ifNoneMatch = request.headers['if-none-match']
  return (ifNoneMatch !== undefined && matchesIfNoneMatch(ifNoneMatch, etag)) || notModifiedSince(request, lastModified)
}

// openNow answers change with the clock, not with the data.
// The same URL answers in another format for another Accept header.
const cacheKey = (request: FastifyRequest) => `${request.headers.accept ?? ''}\u0000${request.url}`

const cacheable = (request: FastifyRequest) =>
  request.method === 'GET' && request.principal === null && request.routeOptions.config.cache !== false &&
  (request.query as Record<string, unknown> | undefined)?.openNow === undefined

export default fp(async function httpCache (app: FastifyInstance) {
  const lastChange = app.db.$client.prepare('select seq, changed_at as changedAt from changes order by seq desc limit 1')
  const startedAt = new Date()
  const dataVersion = (): DataVersion => {
    const row = lastChange.get() as { seq: number, changedAt: string } | undefined
    return row === undefined ? { seq: 0, changedAt: startedAt } : { seq: row.seq, changedAt: new Date(row.changedAt) }
  }
  app.decorate('dataVersion', dataVersion)

  const entries = new Map<string, Entry>()
  const current = (request: FastifyRequest): Entry | undefined => {
    if (!cacheable(request)) return undefined
    const entry = entries.get(cacheKey(request))
    if (entry === undefined) return undefined
    if (entry.seq !== dataVersion().seq) {
      entries.delete(cacheKey(request))
      return undefined
    }
    return entry
  }

  const notModified = (reply: FastifyReply, entry: Entry) => reply.code(304)
    .header('etag', entry.etag).header('last-modified', entry.lastModified).header('cache-control', CACHE_CONTROL)
    .send()

  app.decorate('responseCache', {
    async revalidate (request: FastifyRequest, reply: FastifyReply) {
      const entry = current(request)
      if (entry !== undefined && isNotModified(request, entry.etag, entry.lastModified)) return notModified(reply, entry)
      return undefined
    },
    async serve (request: FastifyRequest, reply: FastifyReply) {
      const entry = current(request)
      if (entry === undefined) return undefined
      reply.header('etag', entry.etag).header('last-modified', entry.lastModified).header('cache-control', CACHE_CONTROL)
      reply.header('x-cache', 'hit')
      for (const [name, value] of Object.entries(entry.headers)) reply.header(name, value)
      return reply.code(200).send(entry.payload)
    },
    clear: () => entries.clear()
  })

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    reply.header('vary', 'Accept, Authorization')
    if ((request.method !== 'GET' && request.method !== 'HEAD') || reply.statusCode !== 200) return payload
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload
    if (reply.getHeader('x-cache') === 'hit') return payload
    // Item routes set the ETag of the record (see write-support.ts) so that If-Match agrees.
    const etag = (reply.getHeader('etag') as string | undefined) ?? strongEtag(payload)
    const version = dataVersion()
    const lastModified = version.changedAt.toUTCString()
    reply.header('etag', etag)
    reply.header('last-modified', lastModified)
    reply.header('cache-control', request.principal === null ? CACHE_CONTROL : PRIVATE_CACHE_CONTROL)
    if (cacheable(request) && payload.length <= MAX_PAYLOAD) {
      if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!)
      const headers = Object.fromEntries(REPLAYED_HEADERS
        .map((name) => [name, reply.getHeader(name)])
        .filter((pair): pair is [string, string] => typeof pair[1] === 'string'))
      entries.set(cacheKey(request), { seq: version.seq, etag, lastModified, payload: payload.toString(), headers })
    }
    if (isNotModified(request, etag, lastModified)) {
      reply.code(304)
      reply.removeHeader('content-type')
      reply.removeHeader('content-length')
      return ''
    }
    return payload
  })
}, { name: 'http-cache', dependencies: ['database'] })
