import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { bearer, buildTestApp, createKey } from '../helper.ts'

const run = promisify(execFile)

t.test('the example sync script keeps a copy in step, deletes included', async (t) => {
  const app = await buildTestApp(t)
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const dir = mkdtempSync(join(tmpdir(), 'mpd-sync-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'facilities.json')
  const sync = async () => (await run(process.execPath, ['src/examples/sync-directory.mjs', file], { env: { ...process.env, BASE_URL: base } })).stdout
  const copy = () => JSON.parse(readFileSync(file, 'utf8')).facilities as Record<string, any>

  t.match(await sync(), /copied 14 facilities/)
  t.equal(Object.keys(copy()).length, 14)
  t.equal(Object.values(copy()).find((f) => f.slug === 'kreativhaus').address.street, 'Fischerinsel 3')

  const { key } = createKey(app, ['directory:write'])
  const etagOf = async (url: string) => String((await app.inject(url)).headers.etag)
  const patched = await app.inject({ method: 'PATCH', url: '/v1/facilities/shk-mitte', headers: { ...bearer(key), 'if-match': await etagOf('/v1/facilities/shk-mitte') }, payload: { phone: '030 999 999' } })
  t.equal(patched.statusCode, 200)
  const deleted = await app.inject({ method: 'DELETE', url: '/v1/facilities/familienzentrum-moabit-ost', headers: { ...bearer(key), 'if-match': await etagOf('/v1/facilities/familienzentrum-moabit-ost') } })
  t.equal(deleted.statusCode, 204)

  t.match(await sync(), /updated 1, deleted 1; 13 facilities/)
  const after = copy()
  t.equal(Object.keys(after).length, 13)
  t.notOk(Object.values(after).some((f) => f.slug === 'familienzentrum-moabit-ost'))
  t.equal(Object.values(after).find((f) => f.slug === 'shk-mitte').phone, '030 999 999')
  t.match(await sync(), /updated 0, deleted 0; 13 facilities/, 'nothing new, nothing done')

  // Counts derived from services: a new service, and one moved to another facility.
  const counts = async () => Object.fromEntries((await app.inject('/v1/facilities?limit=500')).json().items.map((f: any) => [f.id, [f.serviceCount, f.categories]]))
  const copied = () => Object.fromEntries(Object.values(copy()).map((f) => [f.id, [f.serviceCount, f.categories]]))
  const created = await app.inject({ method: 'POST', url: '/v1/services', headers: bearer(key), payload: { facility: 'meerbaum-haus', name: 'Synchrontest', description: null, category: 'kultur', scheduleNote: null, feeNote: null, asOf: null, status: 'active', targetGroups: [], sources: [{ url: 'https://example.org/test', title: 'Test', facts: ['name'] }] } })
  t.equal(created.statusCode, 201)
  t.match(await sync(), /updated 1, deleted 0; 13 facilities/, 'the facility with the new service')
  t.same(copied(), await counts(), 'serviceCount and categories as the server has them')
  const moved = await app.inject({ method: 'PATCH', url: `/v1/services/${created.json().id}`, headers: { ...bearer(key), 'if-match': '*', 'content-type': 'application/merge-patch+json' }, payload: { facility: 'shk-mitte' } })
  t.equal(moved.statusCode, 200)
  t.match(await sync(), /updated 2, deleted 0; 13 facilities/, 'the facility the service left and the one it is at')
  t.same(copied(), await counts(), 'and after the move')

  // A feed position the server never had (its database restored from an older backup): a full copy again.
  const state = JSON.parse(readFileSync(file, 'utf8'))
  writeFileSync(file, JSON.stringify({ ...state, lastSeq: state.lastSeq + 1000 }))
  t.match(await sync(), /the server does not know feed position \d+: copied 13 facilities/)
  t.same(copied(), await counts())
  t.match(await sync(), /updated 0, deleted 0; 13 facilities/)
})
