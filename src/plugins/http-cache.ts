import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { Database } from 'better-sqlite3'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { dataGeneration, untrackedWrites } from '../db/client.ts'
import type { ChangeRow, ChangesRepository } from '../repositories/changes-repository.ts'
import { codedEtag, compress, compressAsync, compressStream, MIN_COMPRESSED_BYTES, negotiateCoding, type Coding } from '../lib/content-coding.ts'

declare module 'fastify' {
  interface FastifyRequest {
    // The response cache's lookup for this request (undefined: not looked up yet; null: none).
    cacheEntry: Entry | null | undefined
    // The data version seen before the handler read anything; a response is cached under it, so a
    // write that commits while the response is being built makes the entry stale, never wrong.
    cacheSeq: number | undefined
    // The newest change of the change feed at that moment (see ChangeLog).
    cacheChangeSeq: number
  }
  interface FastifyReply {
    // For answers that also depend on the clock: the cached answer is used until this moment (and
    // while the data stays the same); without it, until the data changes.
    cacheUntil: (until: Date) => FastifyReply
    cacheExpiresAt: number | undefined
    // The records an answer is built from, as change-feed entities ('facility:<id>' for one
    // record, 'contact:*' for any record of a kind): a facility by id, the records on a page, the
    // kinds a list of contacts reads. The cached answer then outlives writes to other records; see
    // ChangeLog.
    cacheDependsOn: (...records: string[]) => FastifyReply
    cacheRecords: string[] | null
    // What else of records of these kinds the answer shows, as how to compute a key of it (and the
    // key now, when the answer already has it): for a page, which rows its query selects (the
    // records on it are its cacheDependsOn); for a list of contacts, the slugs and names of the
    // facilities they can show. After writes to records of these kinds, the kept answer is still
    // current if the key is the same; checking costs a query, not building the answer.
    cacheRecheck: (kinds: string[], current: () => string, key?: string) => FastifyReply
    cacheMembership: Membership | null
  }
  interface FastifyInstance {
    // The clock of answers that depend on time (data-quality's due verifications) and of how long
    // such an answer is kept; tests set their own.
    clock: { now: () => number }
    dataVersion: () => DataVersion
    responseCache: ResponseCache
  }
  interface FastifyContextConfig {
    // false: the response depends on more than the data (the clock, the caller) and is never reused.
    cache?: boolean
  }
}

export interface DataVersion {
  // Sequence number of the last change; every write through the repositories advances it (change
  // triggers).
  seq: number
  changedAt: Date
  // Moves with seq and with every write the change feed does not show (SQL to a link table, a
  // commit of another process): what is derived from the data is current while this is the same.
  key: string
}

interface Entry {
  key: string
  // The data generation the response was built from (dataGeneration in db/client.ts).
  seq: number
  // Epoch ms from which the answer is no longer valid (reply.cacheUntil), if it depends on the clock.
  expiresAt: number | undefined
  // The records the answer was built from (reply.cacheDependsOn), null for any record; with the
  // change-feed position and the change log's epoch when it was built.
  records: string[] | null
  membership: Membership | null
  changeSeq: number
  epoch: number
  etag: string
  lastModified: string
  // The answer as built (identity) and, made on first use, compressed (lib/content-coding.ts).
  payload: Buffer
  identity: Representation
  coded: Partial<Record<Coding, Representation>>
  // Every header of the first response but those that differ per request (see NOT_REPLAYED):
  // content type, paging, caching, CORS and security headers.
  headers: Record<string, string | string[]>
  // Its CORS headers alone, for 304 answers.
  cors: Record<string, string | string[]>
}

interface Membership {
  kinds: string[]
  key: string
  current: () => string
}

// One content coding of an answer, with its own ETag; made once, sent as it is.
interface Representation {
  body: Buffer
  etag: string
  coding: Coding | null
}

export interface ResponseCache {
  // The first onRequest hook after the Host check (app.ts), before CORS, authentication and rate
  // limiting: answers anonymous conditional GETs that are still current with 304, so revalidation
  // costs (and counts) nothing; without a rate limit (answerFirst) also replays stored answers to
  // anonymous GETs.
  first: (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void
  // onRequest, after rate limiting: answers anonymous GETs from the serialised response of the
  // same URL at the same data version, before the other onRequest hooks run.
  serve: (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void
  clear: () => void
}

// Revalidation is cheap (a hash of the response or a 304), so clients may keep a response for a
// minute and must then ask again; the directory changes a few times a day.
export const CACHE_CONTROL = 'public, max-age=60, must-revalidate'
const PRIVATE_CACHE_CONTROL = 'private, no-cache'
const VARY = 'Accept, Accept-Encoding, Authorization'
// Bounded by count and by bytes: URLs that change (cursors, feed positions, search words) must
// not grow the process.
const MAX_ENTRIES = 2000
const MAX_BYTES = 64 * 1024 * 1024
const MAX_PAYLOAD = 2 * 1024 * 1024
// From this size a new answer is compressed off the event loop (a 2 MB export takes ~13 ms).
const ASYNC_COMPRESS_BYTES = 256 * 1024
// Per request (rate limit state, framing) or set again by the cache itself.
const NOT_REPLAYED = new Set(['content-length', 'content-encoding', 'date', 'connection', 'keep-alive', 'transfer-encoding', 'x-cache',
  'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-policy', 'retry-after'])

const isStream = (payload: unknown): boolean =>
  typeof payload === 'object' && payload !== null && typeof (payload as { pipe?: unknown }).pipe === 'function'

export function strongEtag (payload: string | Buffer): string {
  return `"${createHash('sha256').update(payload).digest('base64url').slice(0, 32)}"`
}

function matchesIfNoneMatch (header: string, etag: string): boolean {
  if (header.trim() === '*') return true
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag)
}

// An HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, or one of the obsolete forms (RFC 850, asctime,
// whose time is GMT without saying so). Anything else in If-Modified-Since is ignored (§13.1.3):
// Date.parse would read '3000' as the year 3000 and answer 304.
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)'
const TIME = '\\d{2}:\\d{2}:\\d{2}'
const IMF_FIXDATE = new RegExp(`^${DAY}, \\d{2} ${MONTH} \\d{4} ${TIME} GMT$`)
const RFC850_DATE = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \\d{2}-${MONTH}-\\d{2} ${TIME} GMT$`)
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} [ \\d]\\d ${TIME} \\d{4}$`)
export function parseHttpDate (text: string): number {
  const value = text.trim()
  if (IMF_FIXDATE.test(value) || RFC850_DATE.test(value)) return Date.parse(value)
  if (ASCTIME_DATE.test(value)) return Date.parse(`${value} GMT`)
  return Number.NaN
}

function notModifiedSince (request: FastifyRequest, lastModified: string): boolean {
  const header = request.headers['if-modified-since']
  if (header === undefined || request.headers['if-none-match'] !== undefined) return false
  const since = parseHttpDate(header)
  return !Number.isNaN(since) && Date.parse(lastModified) <= since
}

function isNotModified (request: FastifyRequest, etag: string, lastModified: string): boolean {
  const ifNoneMatch = request.headers['if-none-match']
  return (ifNoneMatch !== undefined && matchesIfNoneMatch(ifNoneMatch, etag)) || notModifiedSince(request, lastModified)
}

// openNow answers change with the clock, not with the data.
// The same URL answers in another format for another Accept header.
const cacheKey = (request: FastifyRequest) => `${request.headers.accept ?? ''}\u0000${request.url}`

const wantsFresh = (request: FastifyRequest) => {
  const directives = request.headers['cache-control']
  return directives !== undefined && /(?:^|,)\s*(?:no-cache|no-store|max-age\s*=\s*0)\s*(?:,|$)/i.test(directives)
}

// Anonymous requests only: no key, and no Authorization header (a bad key gets its 401).
const cacheable = (request: FastifyRequest) =>
  (request.method === 'GET' || request.method === 'HEAD') && request.principal === null && request.headers.authorization === undefined &&
  request.routeOptions.config.cache !== false &&
  (request.query as Record<string, unknown> | undefined)?.openNow === undefined

export interface HttpCacheOptions {
  // No rate limit runs (RATE_LIMIT_MAX=0, e.g. behind a gateway that limits): stored answers are
  // replayed by the first hook. With a rate limit they are replayed after it (protection.ts),
  // which counts them.
  answerFirst?: boolean
}

export default fp(async function httpCache (app: FastifyInstance, options: HttpCacheOptions) {
  const answerFirst = options.answerFirst === true
  const sqlite = app.db.$client
  const generation = () => dataGeneration(sqlite)
  const startedAt = new Date()
  // A write the change feed does not show (SQL to a link table, another process's commit) has no
  // time of its own: it counts as made when it was first noticed, so that Last-Modified moves
  // with it and If-Modified-Since does not answer 304 for what changed. One made while the server
  // was stopped is not noticed at all: so nothing is older than the start of this process.
  let untrackedSeen = untrackedWrites(sqlite)
  let untrackedAt = startedAt.getTime()
  const dataVersion = (): DataVersion => {
    const row = app.repos.changes.last()
    const seq = row?.seq ?? 0
    const untracked = untrackedWrites(sqlite)
    if (untracked !== untrackedSeen) {
      untrackedSeen = untracked
      untrackedAt = app.clock.now()
    }
    const changedAt = Math.max(row === undefined ? startedAt.getTime() : Date.parse(row.changedAt), untrackedAt)
    return { seq, changedAt: new Date(changedAt), key: `${seq}.${untracked}` }
  }
  // The Last-Modified of what the public (no key) sees: the newest change it can see. An edit of a contact
  // that is hidden from it changes none of its answers, and its time must not show in them.
  // Kept as of a feed position, and advanced by reading only the entries after it (entries never
  // become hidden); a feed that moved back (a restore) is read again.
  let publicSeq = 0
  let publicAt = 0
  const publicChangedAt = (version: DataVersion): Date => {
    if (version.seq < publicSeq) {
      publicSeq = 0
      publicAt = 0
    }
    if (version.seq > publicSeq) {
      const row = app.repos.changes.lastPublicAfter(publicSeq)
      if (row !== undefined) publicAt = Math.max(publicAt, Date.parse(row.changedAt))
      publicSeq = version.seq
    }
    return new Date(Math.max(publicAt, startedAt.getTime(), untrackedAt))
  }
  app.decorate('clock', { now: () => Date.now() })
  app.decorate('dataVersion', dataVersion)
  app.decorateRequest('cacheEntry', undefined)
  app.decorateRequest('cacheSeq', undefined)
  app.decorateRequest('cacheChangeSeq', 0)
  app.decorateReply('cacheExpiresAt', undefined)
  app.decorateReply('cacheUntil', function (this: FastifyReply, until: Date) {
    this.cacheExpiresAt = until.getTime()
    return this
  })
  app.decorateReply('cacheRecords', null)
  app.decorateReply('cacheDependsOn', function (this: FastifyReply, ...records: string[]) {
    this.cacheRecords = records
    return this
  })
  app.decorateReply('cacheMembership', null)
  app.decorateReply('cacheRecheck', function (this: FastifyReply, kinds: string[], current: () => string, key: string = current()) {
    this.cacheMembership = { kinds, key, current }
    return this
  })
  const changes = changeLog(sqlite, app.repos.changes)
  const builds = buildQueue()

  const entries = new Map<string, Entry>()
  let bytes = 0
  // The generation of the stored entries: a newer one drops those that depend on any record
  // (they can never be served again); those built from a few records are checked when asked for.
  let storedSeq = -1
  const sizeOf = (entry: Entry) => entry.payload.length + (entry.coded.br?.body.length ?? 0) + (entry.coded.gzip?.body.length ?? 0)
  const drop = (key: string) => {
    const entry = entries.get(key)
    if (entry === undefined) return
    bytes -= sizeOf(entry)
    entries.delete(key)
  }
  const store = (entry: Entry) => {
    const key = entry.key
    if (entry.seq !== storedSeq) {
      // (Those that name records are checked when asked for, or make room in turn: checking
      // them all here would cost every write the records of every kept page.)
      for (const [key, stored] of entries) if (stored.records === null) drop(key)
      storedSeq = entry.seq
    }
    drop(key)
    while (entries.size > 0 && (entries.size >= MAX_ENTRIES || bytes + entry.payload.length > MAX_BYTES)) drop(entries.keys().next().value!)
    entries.set(key, entry)
    bytes += sizeOf(entry)
  }
  // A kept page whose kind of records had changes since (none of them on the page): the query
  // must still select the same records.
  const sameMembers = (entry: Entry): boolean => {
    const membership = entry.membership
    if (membership === null || !membership.kinds.some((kind) => changes.changedKind(kind, entry.changeSeq))) return true
    try {
      return membership.current() === membership.key
    } catch {
      return false
    }
  }
  const codingFor = (request: FastifyRequest, entry: Entry): Coding | null =>
    entry.payload.length < MIN_COMPRESSED_BYTES ? null : negotiateCoding(request.headers['accept-encoding'])
  // Keeps a compressed representation with its entry; a stored entry counts its bytes, and older
  // entries make room for them.
  const addRepresentation = (entry: Entry, coding: Coding, body: Buffer): Representation => {
    // A request that came while this one compressed in the thread pool may have made it already.
    const made = entry.coded[coding]
    if (made !== undefined) return made
    const representation = { body, etag: codedEtag(entry.etag, coding), coding }
    entry.coded[coding] = representation
    if (entries.get(entry.key) === entry) {
      bytes += body.length
      for (const key of entries.keys()) {
        if (bytes <= MAX_BYTES) break
        if (key !== entry.key) drop(key)
      }
    }
    return representation
  }
  // The representation of an answer for the request's Accept-Encoding; a compressed one is made
  // once and kept with the entry.
  const represent = (request: FastifyRequest, entry: Entry): Representation => {
    const coding = codingFor(request, entry)
    if (coding === null) return entry.identity
    return entry.coded[coding] ?? addRepresentation(entry, coding, compress(entry.payload, coding))
  }
  const lookup = (request: FastifyRequest): Entry | null => {
    if (request.cacheEntry !== undefined) return request.cacheEntry
    let entry: Entry | null = null
    if (cacheable(request)) {
      const key = cacheKey(request)
      const seq = generation()
      request.cacheSeq = seq
      request.cacheChangeSeq = changes.at(seq)
      // A client that asks for a fresh answer (Cache-Control: no-cache, RFC 9111 §5.2.1.4) gets
      // one built from the database; it replaces the stored one.
      const found = wantsFresh(request) ? undefined : entries.get(key)
      if (found !== undefined) {
        // Built before the last write, from records that write did not change: still current.
        if (found.seq !== seq && found.records !== null && changes.unchanged(found) && sameMembers(found)) {
          found.seq = seq
          found.changeSeq = request.cacheChangeSeq
        }
        if (found.seq === seq && (found.expiresAt === undefined || app.clock.now() < found.expiresAt)) entry = found
        else drop(key)
      }
    }
    request.cacheEntry = entry
    return entry
  }

  const replay = (reply: FastifyReply, entry: Entry, representation: Representation) => {
    reply.headers(entry.headers).header('x-cache', 'hit').header('etag', representation.etag)
    if (representation.coding !== null) reply.header('content-encoding', representation.coding)
    reply.code(200).send(representation.body)
  }

  app.decorate('responseCache', {
    first (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) {
      // Runs first, before CORS and authentication: a request with a key is never answered from
      // the cache (and a bad key must still get its 401), so it is left to the later hooks.
      const conditional = request.headers['if-none-match'] !== undefined || request.headers['if-modified-since'] !== undefined
      if (request.headers.authorization !== undefined || (!conditional && !answerFirst)) {
        done()
        return
      }
      const entry = lookup(request)
      if (entry === null) {
        done()
        return
      }
      const representation = represent(request, entry)
      if (conditional && isNotModified(request, representation.etag, entry.lastModified)) {
        // The CORS headers of a read are the same for every origin (plugins/cors.ts): those of the
        // stored answer.
        // (A HEAD's route hook counts the payload for Content-Length and drops it: it gets the
        // body of the 200, so that a 304 names that length, never 0; RFC 9110 §8.6.)
        reply.code(304).headers(entry.cors).headers({ etag: representation.etag, 'last-modified': entry.lastModified, 'cache-control': CACHE_CONTROL, vary: VARY })
          .send(request.method === 'HEAD' ? representation.body : undefined)
        return
      }
      // Without a rate limit there is nothing to count: the stored answer, with the CORS and
      // security headers it was sent with, goes out at once.
      if (answerFirst) replay(reply, entry, representation)
      else done()
    },
    serve (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) {
      const entry = lookup(request)
      if (entry !== null) {
        replay(reply, entry, represent(request, entry))
        return
      }
      // An answer to build (request.cacheSeq: one the cache could keep) waits for the answers
      // that are ready; by then another request may have built it.
      if (request.cacheSeq === undefined) {
        done()
        return
      }
      builds.add(() => {
        let built: Entry | null
        try {
          request.cacheEntry = undefined
          built = lookup(request)
        } catch (error) {
          done(error as Error)
          return
        }
        if (built === null) done()
        else replay(reply, built, represent(request, built))
      })
    },
    clear: () => {
      entries.clear()
      bytes = 0
    }
  })
  // The first onRequest hook after the Host check (app.ts registers this plugin before CORS and
  // authentication).
  app.addHook('onRequest', app.responseCache.first)

  app.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: Error | null, payload?: unknown) => void) => {
    if (request.cacheEntry != null) {
      // Served from the cache: the replayed headers are complete.
      done(null, payload)
      return
    }
    // An answer for one origin (a write from an allowed origin) also varies by Origin (CORS sets
    // it); one for every origin (`*`) does not, as its 304s from the cache say.
    const vary = reply.getHeader('vary')
    const forOneOrigin = vary !== undefined && reply.getHeader('access-control-allow-origin') !== undefined && reply.getHeader('access-control-allow-origin') !== '*'
    reply.header('vary', forOneOrigin ? `${VARY}, ${String(vary)}` : VARY)
    if ((request.method !== 'GET' && request.method !== 'HEAD') || reply.statusCode !== 200) {
      done(null, payload)
      return
    }
    // A route may say otherwise (the health probes: no-store). An answer for a key holder (internal
    // contacts) is private, streamed or not.
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', request.principal === null ? CACHE_CONTROL : PRIVATE_CACHE_CONTROL)
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) {
      // A streamed answer (large NDJSON exports) is compressed as it streams.
      const coding = isStream(payload) ? negotiateCoding(request.headers['accept-encoding']) : null
      if (coding === null) {
        done(null, payload)
        return
      }
      reply.header('content-encoding', coding)
      reply.removeHeader('content-length')
      done(null, compressStream(payload as Readable, coding))
      return
    }
    // Item routes set the ETag of the record (see write-support.ts) so that If-Match agrees.
    const etag = (reply.getHeader('etag') as string | undefined) ?? strongEtag(payload)
    // An answer that also depends on the clock was last modified when it was built.
    const version = dataVersion()
    // Readers with a key may see internal data in some answers (a contact's history for
    // directory:write, internal contacts for contacts:read-internal): the newest change of any kind.
    const changedAt = request.principal !== null ? version.changedAt : publicChangedAt(version)
    const lastModified = reply.cacheExpiresAt === undefined ? changedAt.toUTCString() : new Date(app.clock.now()).toUTCString()
    reply.header('etag', etag)
    reply.header('last-modified', lastModified)
    const body = typeof payload === 'string' ? Buffer.from(payload) : payload
    // Only an answer built from the current data is kept (a write may have committed meanwhile).
    const kept = request.cacheSeq !== undefined && request.cacheSeq === generation() && body.length <= MAX_PAYLOAD &&
      (reply.cacheExpiresAt === undefined || app.clock.now() < reply.cacheExpiresAt)
    const headers: Record<string, string | string[]> = {}
    if (kept) {
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined && !NOT_REPLAYED.has(name)) headers[name] = typeof value === 'number' ? String(value) : value
      }
    }
    const cors = Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('access-control-')))
    // An answer that is not kept still gets an entry: its compressed representation is made the same way.
    const entry: Entry = {
      key: cacheKey(request),
      seq: request.cacheSeq ?? -1,
      expiresAt: reply.cacheExpiresAt,
      records: reply.cacheRecords,
      membership: reply.cacheRecords === null ? null : reply.cacheMembership,
      changeSeq: request.cacheChangeSeq,
      epoch: changes.epoch,
      etag,
      lastModified,
      payload: body,
      identity: { body, etag, coding: null },
      coded: {},
      headers,
      cors
    }
    if (kept) store(entry)
    const coding = codingFor(request, entry)
    const sentEtag = coding === null ? etag : codedEtag(etag, coding)
    reply.header('etag', sentEtag)
    if (isNotModified(request, sentEtag, lastModified)) {
      reply.code(304)
      reply.removeHeader('content-type')
      reply.removeHeader('content-length')
      // A 304 carries no Content-Length, or the length of the 200 (RFC 9110 §8.6): a GET gets no
      // payload at all (an empty one would say 0). A HEAD's route hook (fastify) counts the payload
      // and drops it: it gets the body a 200 would have had.
      if (request.method !== 'HEAD') done(null, null)
      else done(null, coding === null ? entry.identity.body : (entry.coded[coding] ?? addRepresentation(entry, coding, compress(body, coding))).body)
      return
    }
    const send = (representation: Representation) => {
      if (representation.coding !== null) reply.header('content-encoding', representation.coding)
      done(null, representation.body)
    }
    if (coding === null) {
      send(entry.identity)
    } else if (body.length < ASYNC_COMPRESS_BYTES) {
      send(addRepresentation(entry, coding, compress(body, coding)))
    } else {
      // A large answer (exports) is compressed in the thread pool, so other requests go on.
      compressAsync(body, coding, (error, compressed) => {
        if (error === null) send(addRepresentation(entry, coding, compressed))
        else {
          reply.header('etag', etag)
          send(entry.identity)
        }
      })
    }
  })
}, { name: 'http-cache', dependencies: ['database', 'repositories'] })

// Which records changed since when, from the change feed: the triggers add a row per changed
// record (entity type and id) in the same transaction as the change, and its sequence number only
// grows. Read once per data generation (a query for the rows since the last one); an answer that
// names the records it was built from (reply.cacheDependsOn) is still current after a write if
// none of them has a change newer than the answer.
// A facility shows names and labels of other records; when those change, the facility's row is
// touched (writer.touchFacilities) and has a change of its own. It also shows its services' count
// and categories, which change without touching it: a service created or deleted counts as a
// change of its facility, and any other change of a service (it may have moved to another
// facility) as a change of every facility ('facility:*').
export interface ChangeLog {
  // The feed position for the data of this generation (reads the new changes when it moved).
  at: (generation: number) => number
  // No change of the entry's records since it was built (and no other process wrote since).
  unchanged: (entry: { records: string[] | null, changeSeq: number, epoch: number }) => boolean
  // A change of any record of this kind since then.
  changedKind: (kind: string, since: number) => boolean
  // Grows when the log starts afresh (another process wrote, a change it cannot account for, a
  // burst beyond its bounds): nothing kept from before is vouched for.
  readonly epoch: number
}

// Facilities show their operator, their target groups' labels and their services' categories by
// slug. The repositories touch the facilities when those change (a change of each facility);
// these kinds also count as a change of every facility, so nothing depends on that alone (and
// filters on them see changes that touch no live facility, e.g. of deleted ones in a sync page).
const SHOWN_BY_FACILITIES = new Set(['organisation', 'category', 'target_group'])

// Bounds: a burst of more new changes than this in one generation (an import), or more changed
// records remembered than this, and the log starts afresh (every kept answer is built again).
const LOG_BATCH = 10_000
const LOG_RECORDS = 100_000

// `sqlite`: the connection, whose writes outside the repositories (untrackedWrites) no change row
// accounts for; `feed`: the change rows themselves.
export function changeLog (sqlite: Database, feed: Pick<ChangesRepository, 'last' | 'rowsAfter' | 'facilityOfService'>): ChangeLog {
  const latest = new Map<string, number>()
  const latestOfKind = new Map<string, number>()
  let generation = -1
  let untracked = untrackedWrites(sqlite)
  // Every change since the epoch began, up to `seq`, is in `latest`.
  let epoch = 0
  const newestSeq = () => feed.last()?.seq ?? 0
  let seq = newestSeq()
  const mark = (record: string, kind: string, at: number) => {
    latest.set(record, at)
    latestOfKind.set(kind, at)
  }
  const record = (rows: ChangeRow[]) => {
    for (const row of rows) {
      mark(`${row.type}:${row.id}`, row.type, row.seq)
      if (row.type === 'service') {
        const facility = row.action === 'update' ? '*' : feed.facilityOfService(row.id) ?? '*'
        mark(`facility:${facility}`, 'facility', row.seq)
      } else if (SHOWN_BY_FACILITIES.has(row.type)) {
        mark('facility:*', 'facility', row.seq)
      }
    }
    seq = rows.at(-1)!.seq
  }
  const restart = () => {
    latest.clear()
    latestOfKind.clear()
    seq = newestSeq()
    epoch++
  }
  const log: ChangeLog = {
    at (now: number): number {
      if (now === generation) return seq
      const outside = untrackedWrites(sqlite)
      if (outside !== untracked) {
        // Another process wrote, or this one outside the repositories' writes (SQL): the change
        // rows, if any, need not say everything that changed.
        untracked = outside
        restart()
      } else {
        const rows = feed.rowsAfter(seq, LOG_BATCH + 1)
        // The data moved without a change of a record (a write that was rolled back): nothing
        // kept can be vouched for.
        if (rows.length === 0 || rows.length > LOG_BATCH || latest.size + 2 * rows.length > LOG_RECORDS) restart()
        else record(rows)
      }
      // Only after the read: if it failed, the next request reads again.
      generation = now
      return seq
    },
    unchanged (entry): boolean {
      if (entry.records === null || entry.epoch !== epoch) return false
      return entry.records.every((record) => {
        const kind = record.slice(0, record.indexOf(':'))
        if (record.endsWith(':*')) return (latestOfKind.get(kind) ?? 0) <= entry.changeSeq
        return (latest.get(record) ?? 0) <= entry.changeSeq && (latest.get(`${kind}:*`) ?? 0) <= entry.changeSeq
      })
    },
    changedKind (kind: string, since: number): boolean {
      return (latestOfKind.get(kind) ?? 0) > since
    },
    get epoch () { return epoch }
  }
  return log
}

// Building an answer takes milliseconds (queries, serialising, compressing), sending a kept one
// microseconds. After a write every answer of the data is built again, and on the one event loop
// the requests behind those builds would wait for all of them. So requests that must build an
// answer queue here and are let through one per turn of the event loop: between two builds, the
// requests that arrived meanwhile and are answered from the cache (or with 304) go out first.
// First in, first out: every queued request is let through, after at most the builds before it.
export interface BuildQueue {
  add: (build: () => void) => void
  readonly length: number
}

export function buildQueue (): BuildQueue {
  // As long as the connections (one request each), so shift() costs nothing worth a ring buffer.
  const waiting: Array<() => void> = []
  let scheduled = false
  const next = () => {
    const build = waiting.shift()!
    if (waiting.length > 0) setImmediate(next)
    else scheduled = false
    build()
  }
  return {
    add (build: () => void): void {
      waiting.push(build)
      if (!scheduled) {
        scheduled = true
        setImmediate(next)
      }
    },
    get length () { return waiting.length }
  }
}
