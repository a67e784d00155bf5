import t from 'tap'
import { PROBLEM_JSON, buildTestApp } from '../helper.ts'

t.test('format= and Accept choose the format; anything unsupported is 406 problem+json', async (t) => {
  const app = await buildTestApp(t)
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
  const app = await buildTestApp(t)
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
