#!/usr/bin/env node
// Keeps a local copy of the directory's facilities in step, deletes included, using only Node.
//
//   BASE_URL=http://127.0.0.1:3000 node src/examples/sync-directory.mjs facilities.json
//
// The first run takes a full copy (format=ndjson) and remembers where the change feed stood;
// every later run asks the feed what happened since and applies it: creates and updates are
// fetched again, deletes are removed. Run it from cron as often as you like.
import { readFile, rename, writeFile } from 'node:fs/promises'

const base = process.env.BASE_URL ?? 'http://127.0.0.1:3000'
const file = process.argv[2] ?? 'facilities.json'

async function get (path, accept = 'application/json') {
  const res = await fetch(new URL(path, base), { headers: { accept } })
  if (res.status === 404) return null
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`)
  return accept === 'application/json' ? res.json() : res.text()
}

// Where the feed stands now: page through it to its end.
async function feedHead (since = 0) {
  let seq = since
  for (;;) {
    const page = await get(`/v1/changes?entityType=facility&limit=1000&since=${seq}`)
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
  const lastSeq = await feedHead()
  const text = await get('/v1/facilities?format=ndjson', 'application/x-ndjson')
  const facilities = {}
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const facility = JSON.parse(line)
    facilities[facility.id] = facility
  }
  return { lastSeq, facilities }
}

async function catchUp (state) {
  let { lastSeq } = state
  const stats = { updated: 0, deleted: 0 }
  for (;;) {
    const page = await get(`/v1/changes?entityType=facility&limit=1000&since=${lastSeq}`)
    for (const change of page.items) {
      const facility = change.action === 'delete' ? null : await get(`/v1/facilities/${change.entityId}`)
      if (facility === null) {
        if (state.facilities[change.entityId] !== undefined) stats.deleted++
        delete state.facilities[change.entityId]
      } else {
        state.facilities[facility.id] = facility
        stats.updated++
      }
    }
    lastSeq = page.lastSeq
    if (!page.hasMore) break
  }
  return { state: { ...state, lastSeq }, stats }
}

const previous = await load()
if (previous === null) {
  const state = await fullCopy()
  await save(state)
  console.log(`copied ${Object.keys(state.facilities).length} facilities (feed at ${state.lastSeq})`)
} else {
  const { state, stats } = await catchUp(previous)
  await save(state)
  console.log(`updated ${stats.updated}, deleted ${stats.deleted}; ${Object.keys(state.facilities).length} facilities (feed at ${state.lastSeq})`)
}
