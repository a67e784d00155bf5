import t from 'tap'
import { PROBLEM_JSON, buildTestApp, readOnlyApp } from '../helper.ts'

t.test('format= and Accept choose the format; anything unsupported is 406 problem+json', async (t) => {
  const app = await readOnlyApp(t)
  const json = await app.inject('/v1/facilities/kreativhaus?format=json')
  t.equal(json.statusCode, 200)
  t.equal(json.headers['content-type'], 'application/json; charset=utf-8')
  for (const request of [
    { url: '/v1/facilities?format=xml' },
    { url: '/v1/facilities/kreativhaus?format=ndjson' },
    { url: '/v1/agreements/kooperationsvereinbarung-2018', headers: { accept: 'text/csv' } },
    { url: '/v1/facilities', headers: { accept: 'application/xml' } }
  ]) {
    const res = await app.inject(request)
    t.equal(res.statusCode, 406, JSON.stringify(request))
    t.equal(res.headers['content-type'], PROBLEM_JSON)
    t.equal(res.json().type, '/problems/not-acceptable')
    t.match(res.json().detail, /available as json/)
  }
})

t.test('Accept negotiation with wildcards and q-values; the format parameter wins', async (t) => {
  const app = await readOnlyApp(t)
  const browser = await app.inject({ url: '/v1/facilities?limit=1', headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } })
  t.equal(browser.statusCode, 200)
  t.equal(browser.headers['content-type'], 'application/json; charset=utf-8')
  const ndjson = await app.inject({ url: '/v1/facilities', headers: { accept: 'application/x-ndjson' } })
  t.equal(ndjson.headers['content-type'], 'application/x-ndjson; charset=utf-8')
  t.equal(ndjson.body.trimEnd().split('\n').length, 14)
  const preferred = await app.inject({ url: '/v1/services?limit=1', headers: { accept: 'application/json;q=0.5, application/x-ndjson' } })
  t.equal(preferred.headers['content-type'], 'application/x-ndjson; charset=utf-8')
  const wins = await app.inject({ url: '/v1/services?limit=1&format=json', headers: { accept: 'application/x-ndjson' } })
  t.equal(wins.headers['content-type'], 'application/json; charset=utf-8')
  // The response cache keeps the formats apart.
  const again = await app.inject({ url: '/v1/facilities', headers: { accept: 'application/json' } })
  t.equal(again.headers['content-type'], 'application/json; charset=utf-8')
  t.match(String(again.headers.vary), /Accept/)
})

t.test('every GET documents format and 406 in the OpenAPI document', async (t) => {
  const app = await buildTestApp(t, { seed: false })
  const doc = (await app.inject('/openapi.json')).json()
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    const get = item.get
    if (get === undefined) continue
    t.ok(get.responses['406'], `GET ${path} documents 406`)
    t.ok(get.parameters?.some((p: any) => p.name === 'format' && p.in === 'query'), `GET ${path} takes format`)
  }
})

t.test('format=ndjson: a small answer is one body with an ETag, kept by the response cache', async (t) => {
  const app = await readOnlyApp(t)
  const first = await app.inject('/v1/services?format=ndjson')
  t.equal(first.statusCode, 200)
  t.equal(first.headers['content-length'], String(Buffer.byteLength(first.body)))
  t.match(String(first.headers.etag), /^"[\w-]+"$/)
  const again = await app.inject('/v1/services?format=ndjson')
  t.equal(again.headers['x-cache'], 'hit')
  t.equal(again.body, first.body)
  const revalidated = await app.inject({ url: '/v1/services?format=ndjson', headers: { 'if-none-match': first.headers.etag as string } })
  t.equal(revalidated.statusCode, 304)
})

t.test('sendNdjson streams an answer larger than NDJSON_BUFFER_BYTES, every line complete and in order', async (t) => {
  const { default: Fastify } = await import('fastify')
  const { NDJSON_BUFFER_BYTES, sendNdjson } = await import('../../src/routes/list-support.ts')
  const line = { text: 'x'.repeat(1000) }
  const batchCount = Math.ceil(NDJSON_BUFFER_BYTES / 1000 / 100) * 3
  let produced = 0
  const app = Fastify()
  t.teardown(() => app.close())
  app.get('/big', (_request, reply) => sendNdjson(reply, (function * () {
    for (let b = 0; b < batchCount; b++) {
      produced++
      yield Array.from({ length: 100 }, (_, i) => ({ n: b * 100 + i, ...line }))
    }
  })()))
  app.get('/small', (_request, reply) => sendNdjson(reply, [[{ n: 0 }], [{ n: 1 }]]))
  const big = await app.inject('/big')
  t.equal(big.statusCode, 200)
  t.equal(big.headers['content-type'], 'application/x-ndjson; charset=utf-8')
  t.equal(big.headers['content-length'], undefined, 'streamed, not one body')
  t.equal(big.headers['transfer-encoding'], 'chunked')
  const lines = big.body.trimEnd().split('\n').map((l) => JSON.parse(l) as { n: number })
  t.equal(lines.length, batchCount * 100)
  t.ok(lines.every((l, i) => l.n === i), 'every line, in order')
  t.equal(produced, batchCount)
  const small = await app.inject('/small')
  t.equal(small.body, '{"n":0}\n{"n":1}\n')
  t.equal(small.headers['content-length'], String(small.body.length))
})

t.test('media-type parameters in Accept (charset, version) name the same format', async (t) => {
  const app = await readOnlyApp(t)
  for (const [url, accept, type] of [
    ['/v1/facilities/kreativhaus', 'application/json; charset=utf-8', 'application/json; charset=utf-8'],
    ['/v1/facilities?limit=2', 'application/json;charset=UTF-8;q=0.9, text/csv;q=0.1', 'application/json; charset=utf-8'],
    ['/v1/contacts', 'text/vcard; version=4.0', 'text/vcard; charset=utf-8'],
    ['/v1/facilities', 'text/csv; charset=utf-8', 'text/csv; charset=utf-8; header=present']
  ] as const) {
    const res = await app.inject({ url, headers: { accept } })
    t.equal(res.statusCode, 200, `${url} with Accept: ${accept}`)
    t.equal(res.headers['content-type'], type)
  }
  const low = await app.inject({ url: '/v1/facilities?limit=1', headers: { accept: 'application/json; charset=utf-8; q=0.1, application/x-ndjson' } })
  t.equal(low.headers['content-type'], 'application/x-ndjson; charset=utf-8', 'the q-value of a range with parameters still counts')
  t.equal((await app.inject({ url: '/v1/facilities', headers: { accept: 'application/xml; charset=utf-8' } })).statusCode, 406)
})
