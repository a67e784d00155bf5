import t from 'tap'
import type { InjectOptions } from 'fastify'
import { PROBLEM_TYPES } from '../../src/lib/problem.ts'
import { PROBLEM_JSON, bearer, createKey, buildTestApp, getJson, readOnlyApp } from '../helper.ts'

t.test('GET /problems lists every problem type; /problems/{slug} describes one, 404 for others', async (t) => {
  const app = await readOnlyApp(t)
  const list = await getJson<{ items: Array<{ type: string, status: number, title: string, description: string }> }>(app, '/problems')
  t.equal(list.res.statusCode, 200)
  t.same(list.body.items.map((p) => p.type).sort(), Object.keys(PROBLEM_TYPES).map((slug) => `/problems/${slug}`).sort())
  t.same(list.body.items.map((p) => p.status), list.body.items.map((p) => p.status).sort((a, b) => a - b), 'by status')
  for (const entry of list.body.items) {
    const one = await getJson(app, entry.type)
    t.equal(one.res.statusCode, 200, entry.type)
    t.same(one.body, entry)
    t.ok(entry.description.length > 20, `${entry.type} says what it means`)
  }
  for (const slug of ['nothing-like-this', '__proto__', 'constructor']) {
    const missing = await app.inject(`/problems/${slug}`)
    t.equal(missing.statusCode, 404, slug)
    t.equal(missing.headers['content-type'], PROBLEM_JSON)
    t.equal(missing.json().type, '/problems/not-found')
  }
})

t.test('the type of every kind of error answer leads to its documentation, with the same status and title', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const readOnly = createKey(app, ['contacts:read-internal']).key
  const etag = String((await app.inject('/v1/facilities/kreativhaus')).headers.etag)
  await app.inject({ method: 'PATCH', url: '/v1/facilities/kreativhaus', headers: { ...bearer(key), 'content-type': 'application/merge-patch+json', 'if-match': etag }, payload: { notes: ['geändert'] } })
  const requests: Array<[string, string | InjectOptions]> = [
    ['validation', '/v1/facilities?limit=1000'],
    ['cursor', '/v1/facilities?cursor=nonsense'],
    ['malformed URL', '/v1/facilities/%E0%A4%A'],
    ['no key', { method: 'POST', url: '/v1/facilities', payload: {} }],
    ['unknown key', { url: '/v1/facilities', headers: bearer('mpd_AAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA') }],
    ['scope', { method: 'POST', url: '/v1/facilities', headers: bearer(readOnly), payload: {} }],
    ['not found', '/v1/facilities/gibt-es-nicht'],
    ['method', { method: 'PUT', url: '/v1/facilities/kreativhaus' }],
    ['format', '/v1/facilities?format=xml'],
    ['in use', { method: 'DELETE', url: '/v1/organisations/stadtrand', headers: { ...bearer(key), 'if-match': '*' } }],
    ['stale', { method: 'PATCH', url: '/v1/facilities/kreativhaus', headers: { ...bearer(key), 'content-type': 'application/merge-patch+json', 'if-match': etag }, payload: { notes: [] } }],
    ['too large', { method: 'POST', url: '/v1/facilities', headers: { ...bearer(key), 'content-type': 'application/json' }, payload: JSON.stringify({ description: 'x'.repeat(2 * 1024 * 1024) }) }],
    ['media type', { method: 'POST', url: '/v1/facilities', headers: { ...bearer(key), 'content-type': 'text/plain' }, payload: 'x' }],
    ['invalid record', { method: 'PATCH', url: '/v1/facilities/kreativhaus', headers: { ...bearer(key), 'content-type': 'application/merge-patch+json', 'if-match': '*' }, payload: { operator: 'gibt-es-nicht' } }],
    ['no If-Match', { method: 'DELETE', url: '/v1/facilities/kreativhaus', headers: bearer(key) }]
  ]
  const seen = new Set<number>()
  for (const [name, request] of requests) {
    const res = await app.inject(request)
    t.ok(res.statusCode >= 400, `${name}: ${res.statusCode}`)
    t.equal(res.headers['content-type'], PROBLEM_JSON, name)
    const problem = res.json()
    const doc = await getJson(app, problem.type)
    t.equal(doc.res.statusCode, 200, `${name}: ${problem.type} is documented`)
    t.equal(doc.body.status, res.statusCode, `${name}: status`)
    t.equal(doc.body.title, problem.title, `${name}: title`)
    seen.add(res.statusCode)
  }
  // The static files of the docs page honour Range: one past the end is 416.
  const range = await app.inject({ url: '/docs/static/swagger-ui.css', headers: { range: 'bytes=99999999-' } })
  t.equal(range.statusCode, 416)
  t.equal(range.json().type, '/problems/range-not-satisfiable')
  t.equal((await getJson(app, range.json().type)).body.status, 416)
  t.same([...seen].sort(), [400, 401, 403, 404, 405, 406, 409, 412, 413, 415, 422, 428])
})
