#!/usr/bin/env node
// Keeps a local copy of the directory's facilities in step, deletes included, using only Node.
//
//   BASE_URL=http://127.0.0.1:3000 node src/examples/sync-directory.mjs facilities.json
//
// The first run takes a full copy (format=ndjson) and remembers where the change feed stood;
// every later run asks the feed what happened since and applies it: changed facilities are
// fetched again (each once per page of the feed), deleted ones removed. A facility's
// `serviceCount` and `categories` come from its services, whose changes are not the facility's
// own: the copy also remembers which facility each service belongs to, and a service's change
// refreshes the facility it left and the one it is at. Progress is saved after every page, a
// `429` or `503` is retried after its `Retry-After`, and a feed position the server does not
// know (after a restore from an older backup, while the restored feed is behind it) starts a
// full copy again. Run it from cron as often as you like.
import { readFile, rename, writeFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'

const base = process.env.BASE_URL ?? 'http://127.0.0.1:3000'
const file = process.argv[2] ?? 'facilities.json'
const FEED = '/v1/changes?entityType=facility&entityType=service&limit=1000'

// The server does not know this feed position: the copy has to start again.
class UnknownPosition extends Error {}

async function get (path, accept = 'application/json') {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(new URL(path, base), { headers: { accept } })
    if ((res.status === 429 || res.status === 503) && attempt < 6) {
      await res.arrayBuffer()
      const seconds = Number(res.headers.get('retry-after')) || 2 ** attempt
      await sleep(Math.min(seconds, 120) * 1000)
      continue
    }
    if (res.status === 404) return null
    if (!res.ok) {
      const text = await res.text()
      if (res.status === 400 && path.startsWith('/v1/changes') && text.includes('"query.since"')) throw new UnknownPosition(text)
      throw new Error(`GET ${path}: ${res.status} ${text}`)
    }
    return accept === 'application/json' ? res.json() : res.text()
  }
}

const ndjson = (text) => text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line))

// Where the feed stands now: page through it to its end.
async function feedHead () {
  let seq = 0
  for (;;) {
    const page = await get(`${FEED}&since=${seq}`)
    seq = page.lastSeq
    if (!page.hasMore) return seq
  }
}

async function load () {
  try {
    return JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    if (error.code === 'ENOENT') return null
    throw error
  }
}

async function save (state) {
  // Write-then-rename, so an interrupted run never leaves half a file.
  await writeFile(`${file}.tmp`, JSON.stringify(state, null, 2))
  await rename(`${file}.tmp`, file)
}

async function fullCopy () {
  // The feed position first: what changes while the copy is taken comes again next time.
  const lastSeq = await feedHead()
  const facilities = {}
  for (const facility of ndjson(await get('/v1/facilities?format=ndjson', 'application/x-ndjson'))) facilities[facility.id] = facility
  const services = {}
  for (const service of ndjson(await get('/v1/services?format=ndjson', 'application/x-ndjson'))) services[service.id] = service.facility.id
  return { lastSeq, facilities, services }
}

async function catchUp (state) {
  const stats = { updated: 0, deleted: 0 }
  for (;;) {
    const page = await get(`${FEED}&since=${state.lastSeq}`)
    // Which facilities to read again: those that changed, and those whose services did.
    const stale = new Set()
    for (const change of page.items) {
      if (change.entityType === 'facility') {
        stale.add(change.entityId)
        continue
      }
      const before = state.services[change.entityId]
      if (before !== undefined) stale.add(before)
      const service = change.action === 'delete' ? null : await get(`/v1/services/${change.entityId}`)
      if (service === null) {
        delete state.services[change.entityId]
      } else {
        state.services[service.id] = service.facility.id
        stale.add(service.facility.id)
      }
    }
    for (const id of stale) {
      const facility = await get(`/v1/facilities/${id}`)
      if (facility === null) {
        if (state.facilities[id] !== undefined) stats.deleted++
        delete state.facilities[id]
      } else {
        state.facilities[id] = facility
        stats.updated++
      }
    }
    state.lastSeq = page.lastSeq
    await save(state)
    if (!page.hasMore) return stats
  }
}

async function copyAgain (why) {
  const state = await fullCopy()
  await save(state)
  console.log(`${why}copied ${Object.keys(state.facilities).length} facilities (feed at ${state.lastSeq})`)
}

const previous = await load()
if (previous === null || previous.services === undefined) {
  await copyAgain('')
} else {
  try {
    const stats = await catchUp(previous)
    console.log(`updated ${stats.updated}, deleted ${stats.deleted}; ${Object.keys(previous.facilities).length} facilities (feed at ${previous.lastSeq})`)
  } catch (error) {
    if (!(error instanceof UnknownPosition)) throw error
    await copyAgain(`the server does not know feed position ${previous.lastSeq}: `)
  }
}
