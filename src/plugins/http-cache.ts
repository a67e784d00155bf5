import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    dataVersion: () => DataVersion
  }
}

export interface DataVersion {
  // Sequence number of the last change; every write advances it (change triggers).
  seq: number
  changedAt: Date
}

// Revalidation is cheap (a hash of the response or a 304), so clients may keep a response for a
// minute and must then ask again; the directory changes a few times a day.
export const CACHE_CONTROL = 'public, max-age=60, must-revalidate'

export function strongEtag (payload: string | Buffer): string {
  return `"${createHash('sha256').update(payload).digest('base64url').slice(0, 32)}"`
}

function matchesIfNoneMatch (header: string, etag: string): boolean {
  if (header.trim() === '*') return true
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag)
}

function notModifiedSince (request: FastifyRequest, lastModified: Date): boolean {
  const header = request.headers['if-modified-since']
  if (header === undefined || request.headers['if-none-match'] !== undefined) return false
  const since = Date.parse(header)
  // HTTP dates have whole seconds.
  return !Number.isNaN(since) && Math.floor(lastModified.getTime() / 1000) * 1000 <= since
}

export default fp(async function httpCache (app: FastifyInstance) {
  const lastChange = app.db.$client.prepare('select seq, changed_at as changedAt from changes order by seq desc limit 1')
  const startedAt = new Date()
  app.decorate('dataVersion', () => {
    const row = lastChange.get() as { seq: number, changedAt: string } | undefined
    return row === undefined ? { seq: 0, changedAt: startedAt } : { seq: row.seq, changedAt: new Date(row.changedAt) }
  })

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if ((request.method !== 'GET' && request.method !== 'HEAD') || reply.statusCode !== 200) return payload
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload
    const etag = strongEtag(payload)
    const lastModified = app.dataVersion().changedAt
    reply.header('etag', etag)
    reply.header('last-modified', lastModified.toUTCString())
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', CACHE_CONTROL)
    const ifNoneMatch = request.headers['if-none-match']
    if ((ifNoneMatch !== undefined && matchesIfNoneMatch(ifNoneMatch, etag)) || notModifiedSince(request, lastModified)) {
      reply.code(304)
      reply.removeHeader('content-type')
      reply.removeHeader('content-length')
      return ''
    }
    return payload
  })
}, { name: 'http-cache', dependencies: ['database'] })
