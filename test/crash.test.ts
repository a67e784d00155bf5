import t, { type Test } from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { prepareDatabase, startServer, straceAttached, type ServerProcess } from './server-process.ts'
import {
  DELETED, KIND_PATHS, idsCreatedAs, invariantViolations, mulberry32, servedState, storedState, writeTrail,
  type FeedFacts, type Kind
} from './crash-support.ts'

// Crash test: the real server (the `npm start` bundle) as a child process on one database file,
// a burst of concurrent writes through the HTTP API (services, facilities, target groups,
// organisations, contacts, events), the server killed with SIGKILL during the burst, restart;
// many times. After every kill: each acknowledged (2xx) write is there with what it wrote, a
// write in flight at the kill is there completely (record, change, history entry) or not at all,
// the file passes integrity_check and foreign_key_check, the change feed has no gap, and data,
// change feed, history, stored Idempotency-Key responses and search index agree
// (test/crash-support.ts).
//
// Two ways to kill:
// - at a random moment of the burst (kill -9 from this test): where the server was is chance;
// - inside a write: strace, attached to the running server, delivers SIGKILL when the server
//   enters its N-th pwrite64 (WAL frames of a commit, or database pages of a checkpoint), its
//   N-th fsync/fdatasync (a checkpoint, which runs after the commit that filled the WAL, before
//   that write's answer) or its N-th writev (sending an answer, after the commit). The call is
//   not carried out. So the server dies inside a commit or between a commit and its answer, by
//   count, not by chance; strace's log tells which call and which file or answer it was, and the
//   test asserts what must follow: a write cut off in its commit got no answer, the write whose
//   commit ran the checkpoint or whose answer was cut off is wholly in the file. Skipped when
//   strace is missing or cannot attach (CI installs it: .ci/run).
//
// A normal run takes 25 to 35 s on a busy two-core machine, 11 server starts of 1 to 1.5 s among it.
//
// The seed of a run's choices (which writes, the kill moments, the injected calls) is fixed, so
// that CI runs the same test every time (the interleaving of the concurrent requests still
// depends on timing); CRASH_SEED=random picks a new one (printed), CRASH_SEED=<n> replays one,
// CRASH_CYCLES=100 CRASH_INJECT_CYCLES=100 for a long run; CRASH_KEEP=1 keeps the database folder
// (under tmp/, with the strace logs) for a post-mortem.

const SEED = (process.env.CRASH_SEED === 'random' ? Date.now() : Number(process.env.CRASH_SEED ?? 20180627)) >>> 0
// 4 timed kills and 6 injected ones in a normal run (CI).
const CYCLES = Number(process.env.CRASH_CYCLES ?? 4)
const INJECT_CYCLES = Number(process.env.CRASH_INJECT_CYCLES ?? 6)
// Concurrent writers; each owns one seeded facility and the records it creates, so the order of
// the writes to one record is the order this test sent and acknowledged them in.
const LANES = 6
// The timed kill comes this long after the burst started (uniformly, from the seeded PRNG).
const KILL_WITHIN_MS = 250
// An injection that has not fired this long after its burst started (the server did not make
// that many of those calls) is replaced by a kill -9 from the test.
const INJECT_WITHIN_MS = 10_000

// The injected kills in turn, each at a seeded invocation number from 1 to `upTo`. A commit
// writes two pwrite64 per page (frame header, page), some 10 to 60 for one write of this
// workload. With synchronous = NORMAL only a checkpoint syncs (the WAL, then the database), one
// every few dozen writes here; SQLite calls fsync or fdatasync depending on how it was built,
// so both are injected (each counts its own calls).
type Syscall = 'pwrite64' | 'fsync' | 'writev'
const INJECTED: Record<Syscall, string[]> = { pwrite64: ['pwrite64'], fsync: ['fdatasync', 'fsync'], writev: ['writev'] }
// The first six make a normal run: fsync #1 or #2 is a checkpoint's (the WAL's, the database's,
// or the folder's after a new WAL's first sync); a long run also gets #3 and later, which may be
// the sync of the header of a WAL started anew, inside a commit.
const INJECTIONS: Array<{ syscall: Syscall, upTo: number }> = [
  { syscall: 'pwrite64', upTo: 40 },
  { syscall: 'writev', upTo: 40 },
  { syscall: 'pwrite64', upTo: 400 },
  { syscall: 'fsync', upTo: 2 },
  { syscall: 'pwrite64', upTo: 200 },
  { syscall: 'writev', upTo: 40 },
  { syscall: 'fsync', upTo: 6 },
  { syscall: 'pwrite64', upTo: 2000 }
]

const CATEGORIES = ['beratung', 'bildung', 'begegnung', 'kultur', 'selbsthilfe']
const TARGET_GROUPS = ['kinder', 'familien', 'senioren', 'nachbarschaft']
const SERVICE_STATUSES = ['active', 'historic', 'unverified']
const SOURCE = { url: 'https://example.org/crashtest', title: 'Crashtest (synthetisch)', facts: ['name'] }
// Kinds a lane creates, changes and deletes besides its services and facilities; nothing links
// to these records, so each can be deleted at any time.
const OTHER_KINDS: Kind[] = ['target_group', 'organisation', 'contact', 'event']

// A record this test writes: the acknowledged state of the fields it writes (crash-support's
// recordState, or DELETED), the number of history entries acknowledged writes made and, after a
// kill, the state a write then in flight would have left.
interface Tracked {
  kind: Kind
  id: string
  state: string
  history: number
  inFlight?: { state: string, action: 'update' | 'delete' }
  etag?: string
}

interface PendingCreate {
  kind: Kind
  lane: Lane
  key: string
  body: Record<string, unknown>
  // The service's or contact's name, the slug of the others; unique in this run.
  name: string
  state: string
  committedId?: string
}

interface Lane {
  // Seeded; its services and contacts belong to it.
  facility: Tracked
  // Created by this lane.
  records: Tracked[]
  random: () => number
}

const { dir, file, key, internalKey, cleanup } = prepareDatabase(['directory:write'])
const random = mulberry32(SEED)
const seedTag = SEED.toString(36)
const pending = new Set<PendingCreate>()
const helpers = new Set<ChildProcess>()
let server: ServerProcess | undefined
let lanes: Lane[] = []
let counter = 0

// A long run needs more than the suite's 120 s per file (a busy machine starts the server slowly).
t.setTimeout(Math.max(120_000, (CYCLES + INJECT_CYCLES) * 15_000))

// Never leave a server or a strace behind, whatever failed.
process.on('exit', () => {
  for (const child of [...helpers, ...(server === undefined ? [] : [server.child])]) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
})
t.teardown(async () => {
  for (const helper of helpers) await stopHelper(helper)
  await server?.stop('SIGKILL')
  if (process.env.CRASH_KEEP === '1') console.error(`crash test: the database is kept in ${dir}`)
  else cleanup()
})

const pick = <T>(rnd: () => number, items: T[]): T => items[Math.floor(rnd() * items.length)]!
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const idFromLocation = (res: Response) => (res.headers.get('location') ?? '').split('/').at(-1)!
const pathOf = (record: { kind: Kind, id: string }) => `${KIND_PATHS[record.kind]}/${record.id}`

async function stopHelper (helper: ChildProcess): Promise<void> {
  if (helper.exitCode === null && helper.signalCode === null) {
    const exited = new Promise((resolve) => helper.once('exit', resolve))
    helper.kill('SIGTERM')
    await exited
  }
  helpers.delete(helper)
}

interface Burst {
  stopping: boolean
  // An injected kill is coming: a request that fails is its sign, not an error of its own.
  killExpected: boolean
  failed: number
  sent: number
  acknowledged: number
  inFlight: number
  unexpected: string[]
}

const newBurst = (killExpected = false): Burst => ({ stopping: false, killExpected, failed: 0, sent: 0, acknowledged: 0, inFlight: 0, unexpected: [] })

async function call (burst: Burst | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response | undefined> {
  try {
    return await fetch(`${server!.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }),
        ...headers
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
  } catch (error) {
    if (burst !== undefined && !burst.stopping) {
      if (burst.killExpected) {
        burst.failed++
        burst.stopping = true
      } else {
        burst.unexpected.push(`${method} ${path} failed before the kill: ${String(error)}`)
      }
    }
    return undefined
  }
}

async function read (burst: Burst, path: string): Promise<string | undefined> {
  const res = await call(burst, 'GET', path)
  if (res === undefined) return undefined
  const text = await res.text().catch(() => '')
  if (res.status !== 200) {
    burst.unexpected.push(`GET ${path}: ${res.status} ${text}`)
    return undefined
  }
  return res.headers.get('etag') ?? undefined
}

// A write: undefined when no response came (the server was killed: the outcome is unknown).
async function write (burst: Burst, method: string, path: string, body: unknown, headers: Record<string, string>, expected: number): Promise<Response | undefined> {
  burst.sent++
  const res = await call(burst, method, path, body, headers)
  if (res === undefined) {
    burst.inFlight++
    return undefined
  }
  // The handler commits before it answers, so a status line means the write is acknowledged.
  const text = await res.text().catch(() => '')
  if (res.status === expected) burst.acknowledged++
  else burst.unexpected.push(`${method} ${path}: ${res.status} (expected ${expected}) ${text}`)
  return res
}

// The body of a create, with the name it is found by after a kill.
function createBody (kind: Kind, lane: Lane, n: number): { body: Record<string, unknown>, name: string } {
  const slug = `crashtest-${seedTag}-${n}`
  switch (kind) {
    case 'service': {
      const name = `Crashtest-Angebot ${seedTag}-${n}`
      return {
        name,
        body: {
          facility: lane.facility.id,
          name,
          description: `Angelegt als Nummer ${n}.`,
          category: pick(lane.random, CATEGORIES),
          scheduleNote: lane.random() < 0.5 ? null : `dienstags ${n % 12 + 8} Uhr`,
          feeNote: null,
          asOf: null,
          status: 'active',
          targetGroups: lane.random() < 0.5 ? [] : [{ targetGroup: pick(lane.random, TARGET_GROUPS), originalWording: `Zielgruppe ${n}` }],
          sources: [SOURCE]
        }
      }
    }
    case 'facility':
      return {
        name: slug,
        body: {
          slug,
          name: `Crashtest-Treff ${n}`,
          alternateNames: [],
          types: ['nachbarschaftstreff'],
          operator: null,
          operatorNote: null,
          address: { street: null, postcode: null, city: 'Berlin', ortsteil: null, bezirksregion: null, note: null },
          geo: null,
          phone: lane.random() < 0.5 ? null : `030 ${n}`,
          fax: null,
          email: null,
          website: null,
          openingHours: { osm: null, note: `Öffnungszeiten ${n}` },
          description: `Synthetischer Treff Nummer ${n}.`,
          partnership: { status: 'unknown', evidence: 'Synthetischer Datensatz des Crashtests.' },
          status: 'active',
          notes: [],
          targetGroups: [],
          sources: [SOURCE]
        }
      }
    case 'target_group':
      return { name: slug, body: { slug, labelDe: `Crashtest-Zielgruppe ${n}`, labelEn: `Crash test group ${n}`, description: `Angelegt als Nummer ${n}.` } }
    case 'organisation':
      return {
        name: slug,
        body: {
          slug,
          kind: 'operator',
          name: `Crashtest-Verein ${n} e.V.`,
          alternateNames: [],
          description: `Synthetischer Träger Nummer ${n}.`,
          legalForm: 'e.V.',
          website: null,
          email: null,
          phone: lane.random() < 0.5 ? null : `030 ${n}`,
          address: { street: null, postcode: null, city: 'Berlin', ortsteil: null },
          notes: [],
          sources: [SOURCE]
        }
      }
    case 'contact': {
      const name = `Crashtest-Person ${seedTag}-${n}`
      return {
        name,
        body: {
          name,
          role: `Ansprechperson Nummer ${n}`,
          organisation: null,
          facility: lane.facility.id,
          phone: lane.random() < 0.5 ? null : `030 ${n}`,
          email: lane.random() < 0.5 ? null : `person-${n}@example.org`,
          visibility: 'public',
          asOf: null,
          sources: [SOURCE]
        }
      }
    }
    case 'event':
      return {
        name: slug,
        body: {
          agreement: null,
          slug,
          title: `Crashtest-Treffen ${n}`,
          description: `Angelegt als Nummer ${n}.`,
          startsAt: `2021-01-${String(n % 28 + 1).padStart(2, '0')}T10:00:00+01:00`,
          endsAt: null,
          timeZone: 'Europe/Berlin',
          location: { name: `Raum ${n}`, street: null, postcode: null, city: 'Berlin', site: null },
          participants: [],
          sources: [SOURCE]
        }
      }
  }
}

// A merge patch that sets every field of the kind's state.
function patchBody (kind: Kind, lane: Lane, n: number): Record<string, unknown> {
  switch (kind) {
    case 'service':
      return {
        description: `Geändert als Nummer ${n}.`,
        scheduleNote: lane.random() < 0.3 ? null : `mittwochs ${n % 12 + 8} Uhr`,
        feeNote: lane.random() < 0.5 ? null : `${n % 20} Euro`,
        status: pick(lane.random, SERVICE_STATUSES)
      }
    case 'facility':
      return { description: `Crashtest-Beschreibung ${n}.`, phone: lane.random() < 0.3 ? null : `030 ${n}`, openingHours: { note: `Crashtest-Öffnungszeiten ${n}` } }
    case 'target_group':
      return { labelDe: `Crashtest-Zielgruppe geändert ${n}`, description: `Geändert als Nummer ${n}.` }
    case 'organisation':
      return { description: `Geändert als Nummer ${n}.`, phone: lane.random() < 0.3 ? null : `030 ${n}` }
    case 'contact':
      return { role: `Geändert als Nummer ${n}`, phone: lane.random() < 0.3 ? null : `030 ${n}`, email: lane.random() < 0.5 ? null : `geaendert-${n}@example.org` }
    case 'event':
      return { title: `Crashtest-Treffen geändert ${n}`, description: `Geändert als Nummer ${n}.`, location: { name: `Saal ${n}` } }
  }
}

async function create (burst: Burst, lane: Lane, kind: Kind): Promise<void> {
  const n = ++counter
  const { body, name } = createBody(kind, lane, n)
  const p: PendingCreate = { kind, lane, key: `crashtest-${seedTag}-${n}`, body, name, state: servedState(kind, body) }
  pending.add(p)
  const res = await write(burst, 'POST', KIND_PATHS[kind], body, { 'idempotency-key': p.key }, 201)
  if (res === undefined) return
  pending.delete(p)
  if (res.status !== 201) return
  lane.records.push({ kind, id: idFromLocation(res), state: p.state, history: 1, etag: res.headers.get('etag') ?? undefined })
}

// PATCH or DELETE with If-Match: the ETag of the last write or a fresh GET, sometimes `*`.
async function change (burst: Burst, lane: Lane, record: Tracked, action: 'update' | 'delete', patch?: Record<string, unknown>): Promise<Response | undefined> {
  const path = pathOf(record)
  let etag = record.etag
  if (etag === undefined) {
    etag = await read(burst, path)
    if (etag === undefined || burst.stopping) return undefined
  }
  const ifMatch = action === 'update' && lane.random() < 0.2 ? '*' : etag
  const state = action === 'delete' ? DELETED : servedState(record.kind, patch!)
  record.inFlight = { state, action }
  record.etag = undefined
  const res = action === 'delete'
    ? await write(burst, 'DELETE', path, undefined, { 'if-match': ifMatch }, 204)
    : await write(burst, 'PATCH', path, patch, { 'if-match': ifMatch }, 200)
  if (res === undefined) return undefined
  record.inFlight = undefined
  if (res.ok) {
    record.state = state
    record.history++
    record.etag = res.headers.get('etag') ?? undefined
  }
  return res
}

async function update (burst: Burst, lane: Lane, record: Tracked): Promise<void> {
  // Services and contacts embed their facility, so their ETags may change with it.
  if (record === lane.facility) {
    for (const other of lane.records) if (other.kind === 'service' || other.kind === 'contact') other.etag = undefined
    record.etag = undefined
  }
  await change(burst, lane, record, 'update', patchBody(record.kind, lane, ++counter))
}

const live = (lane: Lane, kind: Kind) => lane.records.filter((r) => r.kind === kind && r.state !== DELETED)

async function step (burst: Burst, lane: Lane): Promise<void> {
  const services = live(lane, 'service')
  const facilities = live(lane, 'facility')
  const r = lane.random()
  // Services and contacts are created for the lane's seeded facility only, so deleting a created
  // facility never turns live records into tombstones behind the model's back.
  if (r < 0.2 || services.length === 0) await create(burst, lane, 'service')
  else if (r < 0.36) await update(burst, lane, pick(lane.random, services))
  else if (r < 0.42) await change(burst, lane, pick(lane.random, services), 'delete')
  else if (r < 0.54) await update(burst, lane, lane.facility)
  else if (r < 0.6) {
    if (r < 0.58 || facilities.length === 0) await create(burst, lane, 'facility')
    else await change(burst, lane, pick(lane.random, facilities), 'delete')
  } else {
    const kind = pick(lane.random, OTHER_KINDS)
    const records = live(lane, kind)
    const r2 = lane.random()
    if (records.length === 0 || r2 < 0.35) await create(burst, lane, kind)
    else if (r2 < 0.85) await update(burst, lane, pick(lane.random, records))
    else await change(burst, lane, pick(lane.random, records), 'delete')
  }
}

const tracked = (lanes: Lane[]) => lanes.flatMap((lane) => [lane.facility, ...lane.records])

interface FileCheck {
  problems: string[]
  lost: string[]
  halfWritten: string[]
  feed: FeedFacts
  committed: Array<{ kind: Kind, id: string, action: string }>
}

// Reads the file the killed process left (nothing has opened it since): invariants, and every
// record against what was acknowledged. Resolves the writes that were in flight: each is there
// with its change and its (one more) history entry, or none of them is.
function checkFile (lanes: Lane[], label: string): FileCheck {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    const { problems, feed } = invariantViolations(db)
    const lost: string[] = []
    const halfWritten: string[] = []
    const committed: FileCheck['committed'] = []
    for (const record of tracked(lanes)) {
      const stored = storedState(db, record.kind, record.id)
      const trail = writeTrail(db, record.kind, record.id)
      const name = `${label}: ${record.kind} ${record.id}`
      if (record.inFlight !== undefined && stored === record.inFlight.state && stored !== record.state) {
        committed.push({ kind: record.kind, id: record.id, action: record.inFlight.action })
        if (trail.history !== record.history + 1 || trail.lastHistory !== record.inFlight.action || trail.lastChange !== record.inFlight.action) {
          halfWritten.push(`${name}: the ${record.inFlight.action} in flight is stored, but history has ${trail.history} entries ` +
            `(acknowledged ${record.history}, then ${trail.lastHistory}) and the last change is ${trail.lastChange}`)
        }
      } else if (stored !== record.state) {
        lost.push(`${name} is ${stored ?? 'missing'}, acknowledged ${record.state}` + (record.inFlight === undefined ? '' : ` (in flight: ${record.inFlight.state})`))
      } else if (trail.history !== record.history) {
        halfWritten.push(`${name}: history has ${trail.history} entries, the acknowledged writes made ${record.history}` +
          (record.inFlight === undefined ? '' : ` (a ${record.inFlight.action} in flight is not stored)`))
      }
      if (stored !== undefined) record.state = stored
      record.history = trail.history
      record.inFlight = undefined
      record.etag = undefined
    }
    for (const p of pending) {
      const ids = idsCreatedAs(db, p.kind, p.name)
      if (ids.length > 1) problems.push(`${label}: the create ${p.key} in flight left ${ids.length} records`)
      p.committedId = ids[0]
      if (p.committedId === undefined) continue
      committed.push({ kind: p.kind, id: p.committedId, action: 'create' })
      const stored = storedState(db, p.kind, p.committedId)
      const trail = writeTrail(db, p.kind, p.committedId)
      if (stored !== p.state || trail.history !== 1 || trail.lastHistory !== 'create' || trail.lastChange !== 'create') {
        halfWritten.push(`${label}: the create ${p.key} in flight left ${p.kind} ${p.committedId} as ${stored}, expected ${p.state}; ` +
          `history ${trail.history} entries ending with ${trail.lastHistory}, last change ${trail.lastChange}`)
      }
    }
    return { problems, lost, halfWritten, feed, committed }
  } finally {
    db.close()
  }
}

// The change feed through the API, page by page: seq 1, 2, … without a gap; the last action
// of every record.
async function readFeed (): Promise<{ problems: string[], count: number, lastSeq: number, lastAction: Map<string, string> }> {
  const problems: string[] = []
  const lastAction = new Map<string, string>()
  let count = 0
  let expected = 1
  let since = 0
  for (let page = 0; page < 1000; page++) {
    // With a key that reads internal contacts: the public feed leaves out contacts that were never public.
    const res = await call(undefined, 'GET', `/v1/changes?since=${since}&limit=1000`, undefined, { authorization: `Bearer ${internalKey}` })
    const body = await res!.json() as { items: Array<{ seq: number, entityId: string, action: string }>, lastSeq: number, hasMore: boolean }
    for (const item of body.items) {
      if (item.seq !== expected) problems.push(`change feed: seq ${item.seq} where ${expected} was due`)
      expected = item.seq + 1
      count++
      lastAction.set(item.entityId, item.action)
    }
    since = body.lastSeq
    if (!body.hasMore) break
  }
  return { problems, count, lastSeq: since, lastAction }
}

// Every record of the kinds this test writes through the API, live records and tombstones
// (format=ndjson).
async function readStates (): Promise<Map<string, string>> {
  const states = new Map<string, string>()
  for (const kind of Object.keys(KIND_PATHS) as Kind[]) {
    const res = await call(undefined, 'GET', `${KIND_PATHS[kind]}?updatedSince=1970-01-01T00:00:00Z&format=ndjson`)
    for (const line of (await res!.text()).split('\n').filter(Boolean)) {
      const item = JSON.parse(line)
      states.set(item.id, servedState(kind, item))
    }
  }
  return states
}

// A server compiles each route's validators and serializers on its first request (some hundred
// milliseconds each on a busy machine). One write of each kind after every start, so that in
// the burst that follows the writes flow, and the kill comes among them.
async function warmUp (lane: Lane): Promise<Burst> {
  const burst = newBurst()
  await update(burst, lane, lane.facility)
  for (const kind of Object.keys(KIND_PATHS) as Kind[]) {
    await create(burst, lane, kind)
    const record = lane.records.at(-1)
    if (burst.unexpected.length > 0 || record?.kind !== kind) return burst
    // Through a GET for the ETag, as after a restart.
    record.etag = undefined
    await update(burst, lane, record)
    await change(burst, lane, record, 'delete')
  }
  return burst
}

const totals = { acknowledged: 0, warmUp: 0, inFlight: 0, committed: 0, retried: 0, starts: 0, startMs: 0 }

async function start (): Promise<void> {
  const starting = Date.now()
  server = await startServer({ databasePath: file })
  totals.starts++
  totals.startMs += Date.now() - starting
}

// After a kill: the file as the killed server left it, then a restart and the same through the
// API; creates in flight are retried with their Idempotency-Key. Returns the file's findings.
async function recover (t: Test, label: string, burst: Burst): Promise<FileCheck> {
  t.same(burst.unexpected, [], `${label}: every write before the kill succeeded`)

  const found = checkFile(lanes, label)
  t.same(found.problems, [], `${label}: the file is consistent (integrity, feed without gaps, data = feed = history = idempotency = search index)`)
  t.same(found.lost, [], `${label}: every acknowledged write is in the file`)
  t.same(found.halfWritten, [], `${label}: nothing half-written: a write in flight is there with its change and history entry, or none of them is`)

  await start()
  const feed = await readFeed()
  t.same(feed.problems, [], `${label}: GET /v1/changes has strictly consecutive seq`)
  t.same([feed.count, feed.lastSeq], [found.feed.count, found.feed.lastSeq], `${label}: the API serves the whole feed, 1 to ${found.feed.lastSeq}`)
  const states = await readStates()
  const wrong: string[] = []
  for (const record of tracked(lanes)) {
    if (states.get(record.id) !== record.state) wrong.push(`${record.kind} ${record.id}: API ${states.get(record.id) ?? 'missing'}, file ${record.state}`)
    const action = feed.lastAction.get(record.id)
    if (action === undefined || (action === 'delete') !== (record.state === DELETED)) wrong.push(`${record.kind} ${record.id}: last change ${action}, state ${record.state}`)
  }
  for (const { kind, id, action } of found.committed) {
    const history = await (await call(undefined, 'GET', `${pathOf({ kind, id })}/history`))!.json() as { items: Array<{ action: string }> }
    if (history.items.at(-1)?.action !== action) wrong.push(`${kind} ${id}: committed in flight as ${action}, history ends with ${history.items.at(-1)?.action}`)
  }
  t.same(wrong, [], `${label}: after the restart the API serves every record as stored, deletes as tombstones and in the feed`)

  // A create in flight is retried with its Idempotency-Key: replayed if it had committed,
  // created now if not, never twice.
  const retries: string[] = []
  for (const p of [...pending]) {
    const res = await call(undefined, 'POST', KIND_PATHS[p.kind], p.body, { 'idempotency-key': p.key })
    await res!.arrayBuffer()
    const replayed = res!.headers.get('idempotent-replayed') === 'true'
    const id = idFromLocation(res!)
    if (res!.status !== 201 || replayed !== (p.committedId !== undefined) || (p.committedId !== undefined && id !== p.committedId)) {
      retries.push(`${p.key}: ${res!.status}, replayed ${replayed}, ${id}; in the file: ${p.committedId ?? 'nothing'}`)
    }
    p.lane.records.push({ kind: p.kind, id, state: p.state, history: 1, etag: res!.headers.get('etag') ?? undefined })
    pending.delete(p)
    totals.retried++
  }
  t.same(retries, [], `${label}: creates in flight retried with their Idempotency-Key: one record each`)

  totals.acknowledged += burst.acknowledged
  totals.inFlight += burst.inFlight
  totals.committed += found.committed.length
  return found
}

async function warmUpAfterStart (t: Test, lane: Lane, label: string): Promise<void> {
  const warm = await warmUp(lane)
  t.same(warm.unexpected, [], `${label}: the warm-up writes succeed`)
  totals.warmUp += warm.acknowledged
}

t.test(`kill -9 at random moments of bursts of writes, ${CYCLES} cycles`, async (t) => {
  t.comment(`CRASH_SEED=${SEED} CRASH_CYCLES=${CYCLES} CRASH_INJECT_CYCLES=${INJECT_CYCLES}`)
  const started = Date.now()
  let midBurst = 0
  await start()
  // Every lane owns one seeded facility, in a seeded order.
  const facilities = await (await call(undefined, 'GET', '/v1/facilities?limit=100'))!.json() as { items: Array<Record<string, any>> }
  const seeded = facilities.items.map((f) => ({ f, r: random() })).sort((a, b) => a.r - b.r).map(({ f }) => f)
  lanes = []
  for (const [i, f] of seeded.slice(0, LANES).entries()) {
    const history = await (await call(undefined, 'GET', `/v1/facilities/${f.id}/history`))!.json() as { items: unknown[] }
    lanes.push({ facility: { kind: 'facility', id: f.id, state: servedState('facility', f), history: history.items.length }, records: [], random: mulberry32(SEED + 7919 * (i + 1)) })
  }
  await warmUpAfterStart(t, lanes[0]!, 'first start')

  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    const label = `cycle ${cycle}`
    const burst = newBurst()
    const killAfter = Math.floor(random() * KILL_WITHIN_MS)
    const writers = lanes.map(async (lane) => { while (!burst.stopping) await step(burst, lane) })
    await sleep(killAfter)
    burst.stopping = true
    server!.child.kill('SIGKILL')
    t.equal(await server!.exited, 'SIGKILL', `${label}: the server was killed`)
    await Promise.all(writers)
    const found = await recover(t, label, burst)
    if (cycle < CYCLES) await warmUpAfterStart(t, lanes[cycle % LANES]!, label)
    if (burst.inFlight > 0) midBurst++
    t.comment(`${label}: killed ${killAfter} ms into the burst; ${burst.sent} writes sent, ${burst.acknowledged} acknowledged, ` +
      `${burst.inFlight} in flight (${found.committed.length} of them committed); feed at seq ${found.feed.lastSeq}`)
  }

  // The test proves nothing if no write was acknowledged or none was cut off by a kill.
  t.ok(totals.acknowledged > 0 && midBurst > 0, 'writes were acknowledged, and kills came with writes in flight')
  const records = tracked(lanes)
  t.comment(`${CYCLES} cycles in ${((Date.now() - started) / 1000).toFixed(1)} s: ${totals.acknowledged} writes acknowledged in bursts ` +
    `(and ${totals.warmUp} in warm-ups), ${totals.inFlight} in flight at a kill (${totals.committed} of them committed, ${totals.retried} creates retried), ` +
    `${midBurst} of ${CYCLES} kills with writes in flight; ${records.length} records tracked (${records.filter((r) => r.state === DELETED).length} deleted); ` +
    `${totals.starts} server starts took ${(totals.startMs / 1000).toFixed(1)} s`)
  // The server started after the last kill goes on to the injected kills, then stops cleanly.
})

// The server's last calls as strace logged them (a call another thread's line interrupted is
// logged in two parts, `name(… <unfinished ...>` and `<... name resumed>…`), and the index of the
// one it was killed in: the last of `names` that never returned (`= ?`).
interface Call { tid: string, text: string }

function killedIn (log: string, names: string[]): { calls: Call[], index: number } | undefined {
  if (!/\+\+\+ killed by SIGKILL \+\+\+/.test(log)) return undefined
  const calls: Call[] = []
  const unfinished = new Map<string, string>()
  for (const entry of log.split('\n')) {
    const [, tid = '', rest = ''] = /^(\d+) +(.*)$/.exec(entry) ?? []
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(rest)
    if (rest.endsWith(' <unfinished ...>')) unfinished.set(tid, rest.slice(0, -' <unfinished ...>'.length))
    else if (resumed !== null) calls.push({ tid, text: `${unfinished.get(tid) ?? ''}${resumed[1]}` })
    else if (/^\w+\(/.test(rest)) calls.push({ tid, text: rest })
  }
  const index = calls.findLastIndex((c) => names.some((name) => c.text.startsWith(`${name}(`)) && /\) += \?$/.test(c.text))
  return index < 0 ? undefined : { calls, index }
}

// Where in a write the server died, from the killed call and the file it was about (-y): inside a
// commit (WAL frames, or the header of a WAL started anew and its sync), in the checkpoint that a
// commit runs once the WAL is long (after the commit, before its answer: the WAL's sync, database
// pages, the database's sync), or sending an answer (identified by its Location or the body's
// first id; answers of reads may be compressed).
interface KillPoint {
  where: string
  insideCommit: boolean
  checkpoint: boolean
  answer?: { status: string, id?: string }
}

function killPoint (calls: Call[], index: number): KillPoint {
  const call = calls[index]!
  const [, name = '', file = ''] = /^(\w+)\(\d+<([^>]*)>/.exec(call.text) ?? []
  const short = `${name} on ${file.split('/').at(-1)}`
  const unknown = { where: short, insideCommit: false, checkpoint: false }
  const previous = calls.slice(0, index).findLastIndex((c) => c.tid === call.tid)
  const walHeader = (i: number) => i >= 0 && /^pwrite64\(\d+<[^>]*-wal>, .*, 32, 0\)/.test(calls[i]!.text)
  if (name === 'writev') {
    const status = /HTTP\/1\.1 (\d{3})/.exec(call.text)?.[1] ?? '?'
    const id = (/location: \/v1\/[a-z-]+\/([0-9a-f-]{36})/i.exec(call.text) ?? /\{\\"id\\":\\"([0-9a-f-]{36})\\"/.exec(call.text))?.[1]
    return { ...unknown, where: `${short} sending a ${status} for ${id ?? 'a compressed body'}`, answer: { status, id } }
  }
  if (name === 'pwrite64') {
    if (file.endsWith('-wal')) return { where: `${short} (${walHeader(index) ? 'the header of a WAL started anew' : 'a frame'}, in a commit)`, insideCommit: true, checkpoint: false }
    if (file.endsWith('.db')) return { where: `${short} (a checkpoint)`, insideCommit: false, checkpoint: true }
    return unknown
  }
  if (file.endsWith('-wal') && walHeader(previous)) return { where: `${short} (the header of a WAL started anew, in a commit)`, insideCommit: true, checkpoint: false }
  if (file.endsWith('-wal') || file.endsWith('.db')) return { where: `${short} (a checkpoint)`, insideCommit: false, checkpoint: true }
  // The folder, synced after the first sync of a file SQLite created: part of what that sync was.
  if (previous >= 0 && /^f(data)?sync\(/.test(calls[previous]!.text)) {
    const after = killPoint(calls, previous)
    return { ...after, where: `${short}, the folder, after ${after.where}` }
  }
  return unknown
}

const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0

// strace attached to the server's threads, to kill it at the `when`-th call of `syscall` (each
// thread counts its own calls; the database is written by the main thread only). The log names
// each call's file (-y); for writev it shows the beginning of the answers (headers, the body's
// first bytes). Resolves with the strace process once it has attached, or with why it could not.
async function attachStrace (syscall: Syscall, when: number, log: string): Promise<ChildProcess | string> {
  const strace = spawn('strace', [
    '-f', '-y', '-o', log,
    ...(syscall === 'writev' ? ['-s', '2048', '-e', 'trace=writev,fdatasync,fsync'] : ['-s', '16', '-e', 'trace=pwrite64,fdatasync,fsync']),
    '-e', `inject=${INJECTED[syscall].join(',')}:signal=SIGKILL:when=${when}`,
    '-p', String(server!.child.pid)
  ], { stdio: ['ignore', 'ignore', 'pipe'] })
  helpers.add(strace)
  const { attached, output } = await straceAttached(strace)
  if (attached) return strace
  await stopHelper(strace)
  return output.trim() || 'no output'
}

t.test(`kill -9 inside writes: strace injects SIGKILL into the server's syscalls, ${INJECT_CYCLES} cycles`, async (t) => {
  if (!has('strace')) {
    // .ci/run installs strace: in CI its absence is a failure, not a skip.
    if (process.env.CI) t.fail('strace is missing: CI installs it before the tests (.ci/run)')
    t.pass('skipped', { skip: 'needs strace to kill the server inside its writes' })
    return
  }
  if (lanes.length === 0) {
    t.fail('the test above set up no writers')
    return
  }
  const started = Date.now()
  const before = { ...totals }
  const kills = { injected: 0, insideCommit: 0, checkpoint: 0, answerOfWrite: 0 }
  // The server started after the last timed kill (no warm-up: the kill is counted in calls, not time).
  if (server === undefined || server.child.exitCode !== null || server.child.signalCode !== null) await start()

  for (let cycle = 1; cycle <= INJECT_CYCLES; cycle++) {
    const { syscall, upTo } = INJECTIONS[(cycle - 1) % INJECTIONS.length]!
    const when = 1 + Math.floor(random() * upTo)
    const label = `injected cycle ${cycle} (${INJECTED[syscall].join('/')} #${when})`
    const log = join(dir, `strace-${cycle}.log`)
    const strace = await attachStrace(syscall, when, log)
    if (typeof strace === 'string') {
      if (process.env.CI) t.fail(`strace could not attach to the server in CI: ${strace}`)
      t.pass('skipped', { skip: `strace could not attach to the server: ${strace}` })
      return
    }
    const burst = newBurst(true)
    const burstStarted = Date.now()
    const writers = lanes.map(async (lane) => { while (!burst.stopping) await step(burst, lane) })
    let timer: NodeJS.Timeout | undefined
    const outcome = await Promise.race([
      server!.exited.then(() => 'died'),
      new Promise<string>((resolve) => { timer = setTimeout(() => resolve('no injection'), INJECT_WITHIN_MS) })
    ])
    clearTimeout(timer)
    const killedAfter = Date.now() - burstStarted
    burst.stopping = true
    if (outcome !== 'died') {
      server!.child.kill('SIGKILL')
      // A request that failed while the server still ran was not cut off by the injection.
      if (burst.failed > 0) burst.unexpected.push(`${burst.failed} request(s) failed, but the server ran until the test killed it after ${INJECT_WITHIN_MS} ms`)
    }
    t.equal(await server!.exited, 'SIGKILL', `${label}: the server died of SIGKILL`)
    await Promise.all(writers)
    await stopHelper(strace)
    const killed = outcome === 'died' ? killedIn(readFileSync(log, 'utf8'), INJECTED[syscall]) : undefined
    if (outcome === 'died') t.ok(killed, `${label}: it died in the injected call (strace's log ends with the call unfinished)`)

    // Before recover() resolves them: the records with a write in flight.
    const writing = new Set(tracked(lanes).filter((r) => r.inFlight !== undefined).map((r) => r.id))
    const found = await recover(t, label, burst)
    for (const c of found.committed) if (c.action === 'create') writing.add(c.id)

    let where = `no ${syscall} #${when} within ${INJECT_WITHIN_MS} ms: killed by the test`
    if (killed !== undefined) {
      const point = killPoint(killed.calls, killed.index)
      where = point.where
      kills.injected++
      if (point.insideCommit) {
        // Nothing of a write is answered before its commit is complete.
        if (t.ok(burst.inFlight > 0, `${label}: killed inside a commit, and that write got no answer`)) kills.insideCommit++
      }
      if (point.checkpoint) {
        // The commit that ran the checkpoint is complete, its answer not sent.
        if (t.ok(found.committed.length > 0, `${label}: killed in a checkpoint: the write whose commit ran it is wholly in the file, though unanswered`)) kills.checkpoint++
      }
      const answer = point.answer
      if (answer !== undefined && (answer.status === '201' || (answer.id !== undefined && writing.has(answer.id)))) {
        // An answer of a write is sent after its commit.
        if (t.ok(found.committed.some((c) => c.id === answer.id), `${label}: killed sending the answer of a write: ${answer.id} is wholly in the file, though unanswered`)) kills.answerOfWrite++
      }
    }
    t.comment(`${label}: killed ${killedAfter} ms into the burst at ${where}; ${burst.sent} writes sent, ${burst.acknowledged} acknowledged, ` +
      `${burst.inFlight} in flight (committed: ${found.committed.map((c) => `${c.action} ${c.kind}`).join(', ') || 'none'}); feed at seq ${found.feed.lastSeq}`)
  }

  // What the injected kills must have covered, so that the checks above are not vacuous: a kill
  // inside a commit (a WAL write, counted in calls: it does not depend on timing). Kills after a
  // commit, before its answer (a checkpoint, or sending it), depend on how full the WAL is and
  // how the writers interleave: reported, and checked above whenever they happen.
  t.ok(kills.insideCommit > 0, `kills inside a commit, with the write in flight: ${kills.insideCommit}`)
  t.comment(`kills after a commit, before its answer (a checkpoint, or sending it): ${kills.checkpoint + kills.answerOfWrite}`)
  t.comment(`${INJECT_CYCLES} injected cycles in ${((Date.now() - started) / 1000).toFixed(1)} s: ${kills.injected} injected kills fired: ` +
    `${kills.insideCommit} inside a commit, ${kills.checkpoint} in a checkpoint, ${kills.answerOfWrite} sending the answer of a committed write; ` +
    `${totals.acknowledged - before.acknowledged} writes acknowledged in bursts, ${totals.inFlight - before.inFlight} in flight at a kill ` +
    `(${totals.committed - before.committed} of them committed, ${totals.retried - before.retried} creates retried)`)
})

t.test('a clean stop at the end', async (t) => {
  if (server === undefined || server.child.exitCode !== null || server.child.signalCode !== null) await start()
  t.equal(await server!.stop('SIGTERM'), 0, 'the last server stops cleanly on SIGTERM')
  const last = checkFile(lanes, 'after SIGTERM')
  t.same([...last.problems, ...last.lost, ...last.halfWritten], [], 'after a clean stop the file is consistent and holds every write')
  const records = tracked(lanes)
  t.comment(`${records.length} records tracked (${records.filter((r) => r.state === DELETED).length} deleted), feed at seq ${last.feed.lastSeq}; ` +
    `${totals.starts} server starts took ${(totals.startMs / 1000).toFixed(1)} s`)
})
