import t from 'tap'
import Database from 'better-sqlite3'
import { prepareDatabase, startServer, type ServerProcess } from './server-process.ts'
import { DELETED, facilityState, idsCreatedAs, invariantViolations, mulberry32, serviceState, storedState, type FeedFacts } from './crash-support.ts'

// Crash test: the real server (the `npm start` bundle) as a child process on one database file,
// a burst of concurrent writes through the HTTP API, SIGKILL at a random moment of the burst,
// restart; many times. After every kill: each acknowledged (2xx) write is there with what it
// wrote, a write in flight at the kill is there completely or not at all, the file passes
// integrity_check and foreign_key_check, the change feed has no gap, and data, change feed,
// history, stored Idempotency-Key responses and search index agree (test/crash-support.ts).
//
// The seed of a run's choices (which writes, the kill moments) is fixed, so that CI runs the same
// test every time (the interleaving of the concurrent requests still depends on timing);
// CRASH_SEED=random picks a new one (printed), CRASH_SEED=<n> replays one, CRASH_CYCLES=100 for
// a long run; CRASH_KEEP=1 keeps the database folder (under tmp/) for a post-mortem.

const SEED = (process.env.CRASH_SEED === 'random' ? Date.now() : Number(process.env.CRASH_SEED ?? 20180627)) >>> 0
// 4 cycles in a normal run (CI); CRASH_CYCLES=100 for the long run.
const CYCLES = Number(process.env.CRASH_CYCLES ?? 4)
// Concurrent writers; each owns one seeded facility and the records it creates, so the order of
// the writes to one record is the order this test sent and acknowledged them in.
const LANES = 6
// The kill comes this long after the burst started (uniformly, from the seeded PRNG).
const KILL_WITHIN_MS = 250

const CATEGORIES = ['beratung', 'bildung', 'begegnung', 'kultur', 'selbsthilfe']
const TARGET_GROUPS = ['kinder', 'familien', 'senioren', 'nachbarschaft']
const SERVICE_STATUSES = ['active', 'historic', 'unverified']
const SOURCE = { url: 'https://example.org/crashtest', title: 'Crashtest (synthetisch)', facts: ['name'] }

type Kind = 'service' | 'facility'

// A record this test writes: the acknowledged state of the fields it writes (crash-support's
// serviceState/facilityState, or DELETED) and, after a kill, the state a write then in flight
// would have left.
interface Tracked {
  kind: Kind
  id: string
  state: string
  inFlight?: { state: string, action: 'update' | 'delete' }
  etag?: string
}

interface PendingCreate {
  kind: Kind
  lane: Lane
  key: string
  path: string
  body: Record<string, unknown>
  // The service's name or the facility's slug, unique in this run.
  name: string
  state: string
  committedId?: string
}

interface Lane {
  facility: Tracked
  services: Tracked[]
  facilities: Tracked[]
  random: () => number
}

const { dir, file, key, internalKey, cleanup } = prepareDatabase(['directory:write'])
const random = mulberry32(SEED)
const seedTag = SEED.toString(36)
const pending = new Set<PendingCreate>()
let server: ServerProcess | undefined
let counter = 0

// A long run needs more than the suite's 120 s per file (a busy machine starts the server slowly).
t.setTimeout(Math.max(120_000, CYCLES * 15_000))

t.teardown(async () => {
  await server?.stop('SIGKILL')
  if (process.env.CRASH_KEEP === '1') console.error(`crash test: the database is kept in ${dir}`)
  else cleanup()
})

const pick = <T>(rnd: () => number, items: T[]): T => items[Math.floor(rnd() * items.length)]!
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const idFromLocation = (res: Response) => (res.headers.get('location') ?? '').split('/').at(-1)!

interface Burst {
  stopping: boolean
  sent: number
  acknowledged: number
  inFlight: number
  unexpected: string[]
}

const newBurst = (): Burst => ({ stopping: false, sent: 0, acknowledged: 0, inFlight: 0, unexpected: [] })

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
    if (burst !== undefined && !burst.stopping) burst.unexpected.push(`${method} ${path} failed before the kill: ${String(error)}`)
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

function serviceBody (lane: Lane, n: number): Record<string, unknown> {
  return {
    facility: lane.facility.id,
    name: `Crashtest-Angebot ${seedTag}-${n}`,
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

function facilityBody (lane: Lane, n: number): Record<string, unknown> {
  return {
    slug: `crashtest-${seedTag}-${n}`,
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

async function create (burst: Burst, lane: Lane, kind: Kind): Promise<void> {
  const n = ++counter
  const body = kind === 'service' ? serviceBody(lane, n) : facilityBody(lane, n)
  const p: PendingCreate = {
    kind,
    lane,
    key: `crashtest-${seedTag}-${n}`,
    path: kind === 'service' ? '/v1/services' : '/v1/facilities',
    body,
    name: String(kind === 'service' ? body.name : body.slug),
    state: kind === 'service'
      ? serviceState(body as never)
      : facilityState({ description: body.description as string, phone: body.phone as string | null, openingHoursNote: `Öffnungszeiten ${n}` })
  }
  pending.add(p)
  const res = await write(burst, 'POST', p.path, body, { 'idempotency-key': p.key }, 201)
  if (res === undefined) return
  pending.delete(p)
  if (res.status !== 201) return
  const record: Tracked = { kind, id: idFromLocation(res), state: p.state, etag: res.headers.get('etag') ?? undefined }
  if (kind === 'service') lane.services.push(record)
  else lane.facilities.push(record)
}

// PATCH or DELETE with If-Match: the ETag of the last write or a fresh GET, sometimes `*`.
async function change (burst: Burst, lane: Lane, record: Tracked, action: 'update' | 'delete', patch?: Record<string, unknown>, next?: string): Promise<Response | undefined> {
  const path = `/v1/${record.kind === 'service' ? 'services' : 'facilities'}/${record.id}`
  let etag = record.etag
  if (etag === undefined) {
    etag = await read(burst, path)
    if (etag === undefined || burst.stopping) return undefined
  }
  const ifMatch = action === 'update' && lane.random() < 0.2 ? '*' : etag
  const state = action === 'delete' ? DELETED : next!
  record.inFlight = { state, action }
  record.etag = undefined
  const res = action === 'delete'
    ? await write(burst, 'DELETE', path, undefined, { 'if-match': ifMatch }, 204)
    : await write(burst, 'PATCH', path, patch, { 'if-match': ifMatch }, 200)
  if (res === undefined) return undefined
  record.inFlight = undefined
  if (res.ok) {
    record.state = state
    record.etag = res.headers.get('etag') ?? undefined
  }
  return res
}

async function patchService (burst: Burst, lane: Lane, service: Tracked): Promise<void> {
  const n = ++counter
  const patch = {
    description: `Geändert als Nummer ${n}.`,
    scheduleNote: lane.random() < 0.3 ? null : `mittwochs ${n % 12 + 8} Uhr`,
    feeNote: lane.random() < 0.5 ? null : `${n % 20} Euro`,
    status: pick(lane.random, SERVICE_STATUSES)
  }
  await change(burst, lane, service, 'update', patch, serviceState(patch))
}

async function patchFacility (burst: Burst, lane: Lane, facility: Tracked): Promise<void> {
  const n = ++counter
  const patch = {
    description: `Crashtest-Beschreibung ${n}.`,
    phone: lane.random() < 0.3 ? null : `030 ${n}`,
    openingHours: { note: `Crashtest-Öffnungszeiten ${n}` }
  }
  // Services embed their facility (name, updatedAt), so their ETags change with it.
  for (const service of lane.services) service.etag = undefined
  facility.etag = undefined
  await change(burst, lane, facility, 'update', patch, facilityState({ description: patch.description, phone: patch.phone, openingHoursNote: patch.openingHours.note }))
}

async function step (burst: Burst, lane: Lane): Promise<void> {
  const liveServices = lane.services.filter((s) => s.state !== DELETED)
  const liveFacilities = lane.facilities.filter((f) => f.state !== DELETED)
  const r = lane.random()
  // Services are created for the lane's seeded facility only, so deleting a created facility
  // never turns live services into tombstones behind the model's back.
  if (r < 0.3 || liveServices.length === 0) await create(burst, lane, 'service')
  else if (r < 0.55) await patchService(burst, lane, pick(lane.random, liveServices))
  else if (r < 0.65) await change(burst, lane, pick(lane.random, liveServices), 'delete')
  else if (r < 0.85) await patchFacility(burst, lane, lane.facility)
  else if (r < 0.95 || liveFacilities.length === 0) await create(burst, lane, 'facility')
  else await change(burst, lane, pick(lane.random, liveFacilities), 'delete')
}

const tracked = (lanes: Lane[]) => lanes.flatMap((lane) => [lane.facility, ...lane.services, ...lane.facilities])

// Reads the file the killed process left (nothing has opened it since): invariants, and every
// record against what was acknowledged. Resolves the writes that were in flight.
function checkFile (lanes: Lane[], label: string): { problems: string[], lost: string[], feed: FeedFacts, committed: Array<{ kind: Kind, id: string, action: string }> } {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    const { problems, feed } = invariantViolations(db)
    const lost: string[] = []
    const committed: Array<{ kind: Kind, id: string, action: string }> = []
    for (const record of tracked(lanes)) {
      const stored = storedState(db, record.kind, record.id)
      if (record.inFlight !== undefined && stored === record.inFlight.state && stored !== record.state) {
        committed.push({ kind: record.kind, id: record.id, action: record.inFlight.action })
      } else if (stored !== record.state) {
        lost.push(`${label}: ${record.kind} ${record.id} is ${stored ?? 'missing'}, acknowledged ${record.state}` +
          (record.inFlight === undefined ? '' : ` (in flight: ${record.inFlight.state})`))
      }
      if (stored !== undefined) record.state = stored
      record.inFlight = undefined
      record.etag = undefined
    }
    for (const p of pending) {
      const ids = idsCreatedAs(db, p.kind, p.name)
      if (ids.length > 1) problems.push(`${label}: the create ${p.key} in flight left ${ids.length} records`)
      p.committedId = ids[0]
      if (p.committedId !== undefined) committed.push({ kind: p.kind, id: p.committedId, action: 'create' })
    }
    return { problems, lost, feed, committed }
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

// Every service and facility through the API, live records and tombstones (format=ndjson).
async function readStates (): Promise<Map<string, string>> {
  const states = new Map<string, string>()
  for (const kind of ['services', 'facilities'] as const) {
    const res = await call(undefined, 'GET', `/v1/${kind}?updatedSince=1970-01-01T00:00:00Z&format=ndjson`)
    for (const line of (await res!.text()).split('\n').filter(Boolean)) {
      const item = JSON.parse(line)
      states.set(item.id, item.deleted === true
        ? DELETED
        : kind === 'services' ? serviceState(item) : facilityState({ description: item.description, phone: item.phone, openingHoursNote: item.openingHours.note }))
    }
  }
  return states
}

// A server compiles each route's validators and serializers on its first request (some hundred
// milliseconds each on a busy machine). One write of each kind after every start, so that in
// the burst that follows the writes flow, and the kill comes among them.
async function warmUp (lane: Lane): Promise<Burst> {
  const burst = newBurst()
  await create(burst, lane, 'service')
  const service = lane.services.at(-1)
  if (burst.unexpected.length > 0 || service === undefined) return burst
  service.etag = undefined
  await patchService(burst, lane, service)
  await change(burst, lane, service, 'delete')
  await patchFacility(burst, lane, lane.facility)
  await create(burst, lane, 'facility')
  const facility = lane.facilities.at(-1)
  if (burst.unexpected.length === 0 && facility !== undefined) await change(burst, lane, facility, 'delete')
  return burst
}

t.test(`kill -9 during bursts of writes, ${CYCLES} cycles`, async (t) => {
  t.comment(`CRASH_SEED=${SEED} CRASH_CYCLES=${CYCLES}`)
  const started = Date.now()
  const totals = { acknowledged: 0, warmUp: 0, inFlight: 0, committed: 0, midBurst: 0, retried: 0, startMs: 0 }
  const start = async () => {
    const starting = Date.now()
    server = await startServer({ databasePath: file })
    totals.startMs += Date.now() - starting
  }
  await start()
  // Every lane owns one seeded facility, in a seeded order.
  const facilities = await (await call(undefined, 'GET', '/v1/facilities?limit=100'))!.json() as { items: Array<Record<string, any>> }
  const seeded = facilities.items.map((f) => ({ f, r: random() })).sort((a, b) => a.r - b.r).map(({ f }) => f)
  const lanes: Lane[] = seeded.slice(0, LANES).map((f, i) => ({
    facility: { kind: 'facility', id: f.id, state: facilityState({ description: f.description, phone: f.phone, openingHoursNote: f.openingHours.note }) },
    services: [],
    facilities: [],
    random: mulberry32(SEED + 7919 * (i + 1))
  }))
  const warm = await warmUp(lanes[0]!)
  t.same(warm.unexpected, [], 'the warm-up writes succeed')
  totals.warmUp += warm.acknowledged

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
    t.same(burst.unexpected, [], `${label}: every write before the kill succeeded`)

    const found = checkFile(lanes, label)
    t.same(found.problems, [], `${label}: the file is consistent (integrity, feed without gaps, data = feed = history = idempotency = search index)`)
    t.same(found.lost, [], `${label}: every acknowledged write is in the file; writes in flight completely or not at all`)

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
      const history = await (await call(undefined, 'GET', `/v1/${kind === 'service' ? 'services' : 'facilities'}/${id}/history`))!.json() as { items: Array<{ action: string }> }
      if (history.items.at(-1)?.action !== action) wrong.push(`${kind} ${id}: committed in flight as ${action}, history ends with ${history.items.at(-1)?.action}`)
    }
    t.same(wrong, [], `${label}: after the restart the API serves every record as stored, deletes as tombstones and in the feed`)

    // A create in flight is retried with its Idempotency-Key: replayed if it had committed,
    // created now if not, never twice.
    const retries: string[] = []
    for (const p of [...pending]) {
      const res = await call(undefined, 'POST', p.path, p.body, { 'idempotency-key': p.key })
      await res!.arrayBuffer()
      const replayed = res!.headers.get('idempotent-replayed') === 'true'
      const id = idFromLocation(res!)
      if (res!.status !== 201 || replayed !== (p.committedId !== undefined) || (p.committedId !== undefined && id !== p.committedId)) {
        retries.push(`${p.key}: ${res!.status}, replayed ${replayed}, ${id}; in the file: ${p.committedId ?? 'nothing'}`)
      }
      const record: Tracked = { kind: p.kind, id, state: p.state, etag: res!.headers.get('etag') ?? undefined }
      if (p.kind === 'service') p.lane.services.push(record)
      else p.lane.facilities.push(record)
      pending.delete(p)
      totals.retried++
    }
    t.same(retries, [], `${label}: creates in flight retried with their Idempotency-Key: one record each`)

    if (cycle < CYCLES) {
      const warm = await warmUp(lanes[cycle % LANES]!)
      t.same(warm.unexpected, [], `${label}: the warm-up writes after the restart succeed`)
      totals.warmUp += warm.acknowledged
    }
    totals.acknowledged += burst.acknowledged
    totals.inFlight += burst.inFlight
    totals.committed += found.committed.length
    if (burst.inFlight > 0) totals.midBurst++
    t.comment(`${label}: killed ${killAfter} ms into the burst; ${burst.sent} writes sent, ${burst.acknowledged} acknowledged, ` +
      `${burst.inFlight} in flight (${found.committed.length} of them committed); feed at seq ${found.feed.lastSeq}`)
  }

  // The test proves nothing if no write was acknowledged or none was cut off by a kill.
  t.ok(totals.acknowledged > 0 && totals.midBurst > 0, 'writes were acknowledged, and kills came with writes in flight')
  t.equal(await server!.stop('SIGTERM'), 0, 'the last server stops cleanly on SIGTERM')
  const last = checkFile(lanes, 'after SIGTERM')
  t.same([...last.problems, ...last.lost], [], 'after a clean stop the file is consistent and holds every write')
  const records = tracked(lanes)
  t.comment(`${CYCLES} cycles in ${((Date.now() - started) / 1000).toFixed(1)} s: ${totals.acknowledged} writes acknowledged in bursts ` +
    `(and ${totals.warmUp} in warm-ups), ${totals.inFlight} in flight at a kill (${totals.committed} of them committed, ${totals.retried} creates retried), ` +
    `${totals.midBurst} of ${CYCLES} kills with writes in flight; ${records.length} records tracked (${records.filter((r) => r.state === DELETED).length} deleted), ` +
    `feed at seq ${last.feed.lastSeq}; ${CYCLES + 1} server starts took ${(totals.startMs / 1000).toFixed(1)} s`)
})
