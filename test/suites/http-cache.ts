import t from 'tap'
import { seedId } from '../../src/lib/uuid.ts'
import { buildTestApp, softDeleteFacility, readOnlyApp } from '../helper.ts'

t.test('GET item and list carry a strong ETag, Last-Modified and Cache-Control', async (t) => {
  const app = await readOnlyApp(t)
  for (const url of ['/v1/facilities/kreativhaus', '/v1/facilities', '/v1/services?limit=5', '/v1/agreements', '/']) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 200, url)
    t.match(res.headers.etag, /^"[A-Za-z0-9_-]{32}"$/, `${url} strong ETag`)
    t.ok(Date.parse(String(res.headers['last-modified'])) > 0, `${url} Last-Modified`)
    t.equal(res.headers['cache-control'], 'public, max-age=60, must-revalidate')
  }
})

t.test('If-None-Match with the current ETag gives 304 without a body (items and lists)', async (t) => {
  const app = await readOnlyApp(t)
  for (const url of ['/v1/facilities/kreativhaus', '/v1/facilities?type=familienzentrum']) {
    const first = await app.inject(url)
    const etag = String(first.headers.etag)
    const again = await app.inject({ url, headers: { 'if-none-match': etag } })
    t.equal(again.statusCode, 304, url)
    t.equal(again.body, '')
    t.equal(again.headers.etag, etag)
    const list = await app.inject({ url, headers: { 'if-none-match': `"other", ${etag}` } })
    t.equal(list.statusCode, 304, 'any listed ETag matches')
    const stale = await app.inject({ url, headers: { 'if-none-match': '"something-else"' } })
    t.equal(stale.statusCode, 200)
    t.equal(stale.body, first.body)
  }
})

t.test('a change gives a new ETag: no stale 304 after a write', async (t) => {
  const app = await buildTestApp(t)
  const before = await app.inject('/v1/facilities')
  softDeleteFacility(app, seedId('facility', 'kreativhaus'))
  const after = await app.inject({ url: '/v1/facilities', headers: { 'if-none-match': String(before.headers.etag) } })
  t.equal(after.statusCode, 200)
  t.not(after.headers.etag, before.headers.etag)
  t.equal(after.json().total, 13)
})

t.test('If-Modified-Since answers 304 until the data changes', async (t) => {
  const app = await readOnlyApp(t)
  const first = await app.inject('/v1/facilities')
  const lastModified = String(first.headers['last-modified'])
  const same = await app.inject({ url: '/v1/facilities', headers: { 'if-modified-since': lastModified } })
  t.equal(same.statusCode, 304)
  const earlier = await app.inject({ url: '/v1/facilities', headers: { 'if-modified-since': 'Mon, 01 Jan 2018 00:00:00 GMT' } })
  t.equal(earlier.statusCode, 200)
  const garbage = await app.inject({ url: '/v1/facilities', headers: { 'if-modified-since': 'yesterday' } })
  t.equal(garbage.statusCode, 200, 'an unparsable date is ignored')
  const both = await app.inject({ url: '/v1/facilities', headers: { 'if-modified-since': lastModified, 'if-none-match': '"x"' } })
  t.equal(both.statusCode, 200, 'If-None-Match takes precedence (RFC 9110)')
})

t.test('errors are not cached and carry no ETag', async (t) => {
  const app = await readOnlyApp(t)
  const res = await app.inject('/v1/facilities/nope')
  t.equal(res.statusCode, 404)
  t.equal(res.headers.etag, undefined)
})

t.test('CORS is open for reads and exposes the caching and paging headers', async (t) => {
  const app = await readOnlyApp(t)
  const res = await app.inject({ url: '/v1/facilities', headers: { origin: 'https://example.org' } })
  t.equal(res.headers['access-control-allow-origin'], '*')
  t.match(String(res.headers['access-control-expose-headers']), /ETag.*Link.*X-Total-Count/)
  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/v1/facilities',
    headers: { origin: 'https://example.org', 'access-control-request-method': 'GET' }
  })
  t.equal(preflight.statusCode, 204)
  t.equal(preflight.headers['access-control-allow-origin'], '*')
  t.match(String(preflight.headers['access-control-allow-methods']), /GET/)
})

t.test('a 304 from the cache has the CORS headers of the read; a request with a key is never answered by it', async (t) => {
  const app = await buildTestApp(t)
  const first = await app.inject({ url: '/v1/facilities', headers: { origin: 'https://example.org' } })
  const etag = String(first.headers.etag)
  const viaCors = await app.inject({ url: '/v1/facilities', headers: { origin: 'https://other.example', 'if-none-match': etag } })
  t.equal(viaCors.statusCode, 304)
  t.equal(viaCors.headers['access-control-allow-origin'], '*')
  t.equal(viaCors.headers['access-control-expose-headers'], first.headers['access-control-expose-headers'])
  t.equal(viaCors.headers['x-ratelimit-limit'], undefined)
  const badKey = await app.inject({ url: '/v1/facilities', headers: { 'if-none-match': etag, authorization: 'Bearer nope' } })
  t.equal(badKey.statusCode, 401, 'a bad key is refused, even for a current ETag')
  t.equal(badKey.json().type, '/problems/invalid-api-key')
  t.equal(badKey.headers['access-control-allow-origin'], '*', 'the error is readable by a browser')
  const { createKey, bearer } = await import('../helper.ts')
  const { key } = createKey(app, ['contacts:read-internal'])
  const withKey = await app.inject({ url: '/v1/facilities', headers: { 'if-none-match': etag, ...bearer(key) } })
  t.equal(withKey.statusCode, 304, 'with a valid key, revalidated against the answer built for it')
  t.equal(withKey.headers['cache-control'], 'private, no-cache')
})

t.test('a stored answer is replayed with every header of the first one, with and without a rate limit', async (t) => {
  for (const rateLimitMax of [0, 1000]) {
    const app = await buildTestApp(t, { rateLimitMax })
    const first = await app.inject({ url: '/v1/facilities/kreativhaus', headers: { origin: 'https://example.org' } })
    const hit = await app.inject({ url: '/v1/facilities/kreativhaus', headers: { origin: 'https://other.example' } })
    t.equal(hit.headers['x-cache'], 'hit', `rate limit ${rateLimitMax}`)
    t.equal(hit.body, first.body)
    for (const name of ['content-type', 'etag', 'last-modified', 'cache-control', 'vary', 'access-control-allow-origin', 'access-control-expose-headers',
      'content-security-policy', 'x-content-type-options', 'strict-transport-security', 'cross-origin-resource-policy']) {
      t.equal(hit.headers[name], first.headers[name], `${name} (rate limit ${rateLimitMax})`)
    }
    t.equal(hit.headers['ratelimit-remaining'] === undefined, rateLimitMax === 0, 'a limited hit is counted and says so')
  }
})
