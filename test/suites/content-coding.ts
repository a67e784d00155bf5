import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { Readable } from 'node:stream'
import t from 'tap'
import { codedEtag, compressStream, identityEtag, MIN_COMPRESSED_BYTES, negotiateCoding } from '../../src/lib/content-coding.ts'
import { bearer, buildTestApp, createKey, insertTestFacility, readOnlyApp } from '../helper.ts'

const decode = (body: Buffer, coding: string | undefined): Buffer =>
  coding === 'br' ? brotliDecompressSync(body) : coding === 'gzip' ? gunzipSync(body) : body

t.test('negotiateCoding follows Accept-Encoding: q-values, Brotli before gzip, none when neither is acceptable', async (t) => {
  const cases: [string | string[] | undefined, string | null][] = [
    [undefined, null],
    ['', null],
    ['gzip, deflate, br', 'br'],
    ['gzip, deflate', 'gzip'],
    ['gzip', 'gzip'],
    ['br;q=0, gzip', 'gzip'],
    ['gzip;q=0.5, br;q=0.9', 'br'],
    ['gzip;q=1, br;q=0.5', 'gzip'],
    ['GZIP', 'gzip'],
    ['identity', null],
    ['deflate', null],
    ['*', 'br'],
    ['*;q=0', null],
    ['br;q=0, gzip;q=0', null],
    ['br;q=0, *', 'gzip'],
    [',,;;q=x, ü', null],
    [['gzip', 'br;q=0'], 'gzip']
  ]
  for (const [header, expected] of cases) t.equal(negotiateCoding(header), expected, JSON.stringify(header))
  // Asked again: the kept answer.
  t.equal(negotiateCoding('gzip;q=0.5, br;q=0.9'), 'br')
})

t.test('a compressed answer has its own strong ETag; the identity ETag is recovered for If-Match', async (t) => {
  t.equal(codedEtag('"abc"', 'br'), '"abc.br"')
  t.equal(codedEtag('"abc"', 'gzip'), '"abc.gzip"')
  t.equal(codedEtag('"abc"', null), '"abc"')
  t.equal(identityEtag('"abc.br"'), '"abc"')
  t.equal(identityEtag('"abc.gzip"'), '"abc"')
  t.equal(identityEtag('"abc-br"'), '"abc-br"', 'base64url ETags may end in -br: only the dot suffix is a coding')
  t.equal(identityEtag('*'), '*')
})

t.test('compressStream compresses a stream that decompresses to the same bytes', async (t) => {
  const text = Array.from({ length: 2000 }, (_, i) => `{"n":${i}}\n`).join('')
  for (const coding of ['br', 'gzip'] as const) {
    const chunks: Buffer[] = []
    for await (const chunk of compressStream(Readable.from([text.slice(0, 5000), text.slice(5000)]), coding)) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    t.ok(body.length < text.length / 3, `${coding} is smaller`)
    t.equal(decode(body, coding).toString(), text, coding)
  }
})

t.test('compressStream passes an error of its source on instead of throwing it', async (t) => {
  const failing = Readable.from((function * () {
    yield 'first line\n'
    throw new Error('the database went away')
  })())
  const compressed = compressStream(failing, 'gzip')
  await t.rejects((async () => { for await (const chunk of compressed) t.ok(chunk) })(), /the database went away/)
  t.ok(failing.destroyed, 'the source is destroyed too')
})

t.test('GET answers of 1 KB and more are compressed as the client accepts, from the cache and when rebuilt', async (t) => {
  const app = await readOnlyApp(t)
  const url = '/v1/facilities'
  const plain = await app.inject(url)
  t.equal(plain.headers['content-encoding'], undefined, 'no Accept-Encoding: identity')
  t.ok(plain.rawPayload.length >= MIN_COMPRESSED_BYTES)
  t.match(String(plain.headers.vary), /Accept-Encoding/)
  const identityTag = String(plain.headers.etag)
  for (const [accept, coding] of [['gzip, deflate, br', 'br'], ['gzip', 'gzip']] as const) {
    for (const headers of [{}, { 'cache-control': 'no-cache' }]) {
      const label = `${accept}${'cache-control' in headers ? ', rebuilt' : ''}`
      const res = await app.inject({ url, headers: { 'accept-encoding': accept, ...headers } })
      t.equal(res.statusCode, 200, label)
      t.equal(res.headers['content-encoding'], coding, label)
      t.equal(res.headers.etag, codedEtag(identityTag, coding), `${label}: ETag of the ${coding} representation`)
      t.equal(res.headers['content-length'], String(res.rawPayload.length), `${label}: length of the compressed body`)
      t.ok(res.rawPayload.length < plain.rawPayload.length / 2, `${label}: smaller`)
      t.same(decode(res.rawPayload, coding), plain.rawPayload, `${label}: the same answer`)
      t.match(String(res.headers.vary), /Accept-Encoding/)
      t.equal(res.headers['content-type'], plain.headers['content-type'])
    }
    const hit = await app.inject({ url, headers: { 'accept-encoding': accept } })
    t.equal(hit.headers['x-cache'], 'hit', `${accept}: from the cache`)
    t.equal(hit.headers['content-encoding'], coding)
    t.same(decode(hit.rawPayload, coding), plain.rawPayload)
  }
  // Exports too: CSV, vCard, iCalendar, GeoJSON.
  for (const exportUrl of ['/v1/facilities?format=csv', '/v1/contacts?format=vcard', '/v1/facilities?format=geojson']) {
    const identity = await app.inject(exportUrl)
    const res = await app.inject({ url: exportUrl, headers: { 'accept-encoding': 'gzip' } })
    t.equal(res.headers['content-encoding'], 'gzip', exportUrl)
    t.same(gunzipSync(res.rawPayload), identity.rawPayload, exportUrl)
  }
  // HEAD says what GET would send.
  const head = await app.inject({ method: 'HEAD', url, headers: { 'accept-encoding': 'br' } })
  t.equal(head.headers['content-encoding'], 'br')
  t.equal(head.headers.etag, codedEtag(identityTag, 'br'))
})

t.test('small answers and errors are sent as they are', async (t) => {
  const app = await readOnlyApp(t)
  const small = await app.inject({ url: '/v1/facilities?fields=id&limit=1', headers: { 'accept-encoding': 'br' } })
  t.equal(small.statusCode, 200)
  t.ok(small.rawPayload.length < MIN_COMPRESSED_BYTES, 'a small answer')
  t.equal(small.headers['content-encoding'], undefined)
  t.match(String(small.headers.etag), /^"[A-Za-z0-9_-]{32}"$/, 'the identity ETag')
  const missing = await app.inject({ url: '/v1/facilities/nope', headers: { 'accept-encoding': 'br' } })
  t.equal(missing.statusCode, 404)
  t.equal(missing.headers['content-encoding'], undefined)
  t.equal(missing.json().status, 404)
  const refused = await app.inject({ url: '/v1/facilities', headers: { 'accept-encoding': 'br;q=0, gzip;q=0' } })
  t.equal(refused.headers['content-encoding'], undefined, 'both refused: identity')
})

t.test('revalidation compares the ETag of the representation asked for', async (t) => {
  const app = await readOnlyApp(t)
  const url = '/v1/facilities?type=familienzentrum'
  const br = await app.inject({ url, headers: { 'accept-encoding': 'br' } })
  const brTag = String(br.headers.etag)
  for (const headers of [{}, { 'cache-control': 'no-cache' }]) {
    const again = await app.inject({ url, headers: { 'accept-encoding': 'br', 'if-none-match': brTag, ...headers } })
    t.equal(again.statusCode, 304)
    t.equal(again.headers.etag, brTag)
    t.equal(again.rawPayload.length, 0)
  }
  const otherCoding = await app.inject({ url, headers: { 'accept-encoding': 'gzip', 'if-none-match': brTag } })
  t.equal(otherCoding.statusCode, 200, 'a gzip client holding the Brotli ETag gets the gzip answer')
  t.equal(otherCoding.headers['content-encoding'], 'gzip')
  const identity = await app.inject({ url, headers: { 'if-none-match': identityEtag(brTag) } })
  t.equal(identity.statusCode, 304, 'the identity ETag revalidates the identity answer')
})

t.test('If-Match accepts the ETag of a compressed GET (it names the same record)', async (t) => {
  const app = await buildTestApp(t)
  const { key } = createKey(app, ['directory:write'])
  const read = await app.inject({ url: '/v1/facilities/kreativhaus', headers: { 'accept-encoding': 'gzip, br' } })
  t.equal(read.headers['content-encoding'], 'br', 'a facility is more than 1 KB')
  const etag = String(read.headers.etag)
  t.match(etag, /\.br"$/)
  const patched = await app.inject({
    method: 'PATCH',
    url: '/v1/facilities/kreativhaus',
    headers: { ...bearer(key), 'if-match': etag, 'content-type': 'application/merge-patch+json', 'accept-encoding': 'br' },
    payload: { description: 'Neue Beschreibung.' }
  })
  t.equal(patched.statusCode, 200)
  t.equal(patched.json().description, 'Neue Beschreibung.')
  const stale = await app.inject({
    method: 'PATCH',
    url: '/v1/facilities/kreativhaus',
    headers: { ...bearer(key), 'if-match': etag, 'content-type': 'application/merge-patch+json' },
    payload: { description: 'Noch eine.' }
  })
  t.equal(stale.statusCode, 412, 'the old ETag, compressed or not, is stale after the write')
})

t.test('a streamed NDJSON export is compressed as it streams', async (t) => {
  const app = await buildTestApp(t)
  const description = 'Synthetischer Testdatensatz für die Kompression. '.repeat(60)
  for (let i = 0; i < 400; i++) insertTestFacility(app, { slug: `test-${i}`, name: `Testtreff ${i}`, description })
  const identity = await app.inject('/v1/facilities?format=ndjson')
  t.equal(identity.headers['content-length'], undefined, 'more than NDJSON_BUFFER_BYTES: streamed')
  t.equal(identity.headers['cache-control'], 'public, max-age=60, must-revalidate')
  const { key } = createKey(app, ['contacts:read-internal'])
  const forKey = await app.inject({ url: '/v1/facilities?format=ndjson', headers: bearer(key) })
  t.equal(forKey.headers['content-length'], undefined, 'streamed')
  t.equal(forKey.headers['cache-control'], 'private, no-cache', 'a streamed answer for a key holder is private too')
  const res = await app.inject({ url: '/v1/facilities?format=ndjson', headers: { 'accept-encoding': 'gzip' } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-encoding'], 'gzip')
  t.equal(res.headers['content-length'], undefined)
  t.ok(res.rawPayload.length < identity.rawPayload.length / 5, 'smaller')
  const lines = gunzipSync(res.rawPayload).toString().trimEnd().split('\n')
  t.equal(lines.length, 414, 'every facility, one per line')
  t.same(gunzipSync(res.rawPayload), identity.rawPayload)

  // A large answer that is kept (the CSV of these facilities, 256 KB to 2 MB) is compressed in
  // the thread pool once and then replayed.
  const first = await app.inject({ url: '/v1/facilities?format=csv', headers: { 'accept-encoding': 'br' } })
  t.equal(first.headers['content-encoding'], 'br')
  t.equal(first.headers['x-cache'], undefined, 'built by this request')
  const csv = await app.inject('/v1/facilities?format=csv')
  t.ok(csv.rawPayload.length > 256 * 1024 && csv.rawPayload.length < 2 * 1024 * 1024, `a large CSV (${csv.rawPayload.length} bytes)`)
  t.same(brotliDecompressSync(first.rawPayload), csv.rawPayload, 'the same CSV')
  const again = await app.inject({ url: '/v1/facilities?format=csv', headers: { 'accept-encoding': 'br' } })
  t.equal(again.headers['x-cache'], 'hit')
  t.same(again.rawPayload, first.rawPayload, 'the kept compressed bytes')
  t.equal(again.headers.etag, first.headers.etag)
})
