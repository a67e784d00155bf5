import { readFileSync } from 'node:fs'
import { Agent, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import t from 'tap'
import fc from 'fast-check'
import { parse as parseCsv } from 'csv-parse/sync'
import ICAL from 'ical.js'
import { check as checkGeoJson } from '@placemarkio/check-geojson'
import { Ajv2020 } from 'ajv/dist/2020.js'
import * as formats from 'ajv-formats'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { OPENAPI_FILE } from '../openapi/document.ts'
import { bearer, buildTestApp, createKey } from './helper.ts'
import { PROBLEM_TYPES } from '../src/lib/problem.ts'

const MAX_ERROR_BYTES = 64 * 1024

// Property-based fuzzing of every operation in the OpenAPI document, run by test/fuzz.test.ts in
// two parts with different seeds, each on a fresh app. The seeds are fixed so a run is
// reproducible; FUZZ_SEED and FUZZ_RUNS change them (e.g. FUZZ_RUNS=50000 per part for a long run).

const doc = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'))
const METHODS = ['get', 'post', 'patch', 'put', 'delete']

interface Operation {
  method: string
  path: string
  operationId: string
  parameters: any[]
  body: Record<string, any> | undefined
  responses: Record<string, any>
}

const operations: Operation[] = []
for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
  for (const [method, op] of Object.entries<any>(item)) {
    if (!METHODS.includes(method)) continue
    operations.push({ method: method.toUpperCase(), path, operationId: op.operationId, parameters: op.parameters ?? [], body: op.requestBody?.content, responses: op.responses })
  }
}

// --- response validation (components loaded as in suites/openapi.ts) ---
const ajv = new Ajv2020({ strict: false, allErrors: false })
// ajv-formats is CommonJS; its function is the default export's default under ESM.
const addFormats = ((formats as { default: unknown }).default as { default?: unknown }).default ?? (formats as { default: unknown }).default
;(addFormats as (ajv: Ajv2020) => void)(ajv)
ajv.addSchema({ $id: 'doc', components: doc.components })
const resolve = (schema: unknown): object => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/'))
const deref = (schema: any): any => typeof schema?.$ref === 'string' ? deref(doc.components.schemas[schema.$ref.split('/').pop()]) : schema

// What one line of a list's NDJSON is: an item of its JSON page (`items`, HSDS `contents`).
function itemSchemaOf (op: Operation): object | undefined {
  const page = deref(op.responses['200']?.content?.['application/json']?.schema)
  return (page?.properties?.items ?? page?.properties?.contents)?.items
}

// A successful body checked against what its media type promises: JSON against its declared
// schema, NDJSON line by line against the list's item schema, the text formats by independent
// parsers (csv-parse strict about quotes and column counts, ical.js for iCalendar and vCard,
// check-geojson for RFC 7946). Returns what is wrong, or null.
type BodyCheck = (body: string) => string | null
const validators = new Map<string, BodyCheck>()
function jsonCheck (schema: object): BodyCheck {
  const validate = ajv.compile(resolve(schema))
  return (body) => {
    let value: unknown
    try { value = JSON.parse(body) } catch (err) { return `not JSON: ${String(err)}` }
    return validate(value) ? null : ajv.errorsText(validate.errors)
  }
}
function textCheck (op: Operation, mediaType: string, schema: any): BodyCheck | undefined {
  switch (mediaType) {
    case 'application/x-ndjson': {
      const item = itemSchemaOf(op)
      if (item === undefined) return undefined
      const line = jsonCheck(item)
      return (body) => {
        if (body !== '' && !body.endsWith('\n')) return 'the last line is not terminated'
        const lines = body.split('\n').slice(0, -1)
        for (const [i, text] of lines.entries()) {
          const wrong = line(text)
          if (wrong !== null) return `line ${i + 1}: ${wrong}`
        }
        return null
      }
    }
    case 'text/csv':
      return (body) => {
        try {
          // German Excel's variant starts with a byte order mark and separates with semicolons.
          const rows = parseCsv(body, { bom: true, delimiter: body.startsWith('\uFEFF') ? ';' : ',' }) as string[][]
          return rows.length === 0 || rows[0]!.length === 0 ? 'no header row' : null
        } catch (err) { return String(err) }
      }
    case 'text/calendar':
    case 'text/vcard': {
      const component = mediaType === 'text/calendar' ? 'vcalendar' : 'vcard'
      return (body) => {
        try {
          const parsed = ICAL.parse(body) as unknown[]
          const all = (parsed.length > 0 && Array.isArray(parsed[0]) ? parsed : [parsed]) as unknown[][]
          return body === '' && component === 'vcard' ? null : all.length > 0 && all.every((c) => c[0] === component) ? null : `not ${component} components`
        } catch (err) { return String(err) }
      }
    }
    case 'application/geo+json':
      return (body) => {
        try {
          checkGeoJson(body)
          return null
        } catch (err) { return String(err) }
      }
    case 'application/ld+json':
      return (body) => {
        const wrong = jsonCheck(schema)(body)
        if (wrong !== null) return wrong
        return '@context' in JSON.parse(body) ? null : 'no @context'
      }
  }
  return schema.type === 'string' ? undefined : jsonCheck(schema)
}
function validatorFor (op: Operation, status: number, mediaType: string): BodyCheck | undefined {
  const key = `${op.operationId} ${status} ${mediaType}`
  if (!validators.has(key)) {
    const media = op.responses[String(status)]?.content?.[mediaType]
    if (media === undefined) return undefined
    const check = mediaType === 'application/json' || mediaType === 'application/problem+json' ? jsonCheck(media.schema) : textCheck(op, mediaType, media.schema)
    if (check === undefined) return undefined
    validators.set(key, check)
  }
  return validators.get(key)
}

// Sparse fieldsets: a list answer without `fields` has every required member of the record.
const FULL_RECORDS: Record<string, string[]> = { listFacilities: deref(doc.components.schemas.Facility).required ?? [] }

// --- generators ---
const NASTY_STRINGS = [
  '', ' ', 'null', 'undefined', 'true', '0', '-1', '1e309', 'NaN', 'Infinity', '0x10', '１２３',
  '..%2F..%2Fetc%2Fpasswd', '%2e%2e%2f', '%00', '%', '%zz', '%E0%A4%A', '../../', '\\..\\', '\u0000', 'a\u0000b',
  '\u202Eevil\u202C', 'مرحبا', 'שלום', '👩‍👩‍👧‍👦', '🏳️‍🌈', 'Z\u0351\u0352\u0353a\u0354l\u0355g\u0356o', '\uFEFF', '\uD800', 'ß', 'Straße',
  "' or 1=1 --", '"; drop table facilities; --', '<script>alert(1)</script>', '$' + '{7*7}', '{{7*7}}', '*', '?', '#', '&', '=', '+', ',',
  'a'.repeat(201), 'x'.repeat(5000), '9'.repeat(400), '-'.repeat(300)
]
// Path tricks are sent raw (already percent-encoded or deliberately broken). Dot segments (`.`,
// `..`, `%2E`, `%2e%2e`) are left out: the URL parser of app.inject resolves them (WHATWG URL)
// before the request reaches the server, so they would test another operation; test/suites/
// protection.ts sends them over a real socket.
const RAW_PATH_TRICKS = ['..%2F..%2Fhealth', '%00', 'a%00b', '%', '%zz', '%C0%AF', 'kreativhaus%2Fservices', 'a%20b', '%F0%9F%98%80']

// encodeURIComponent throws on lone surrogates, which no client could send anyway.
const encode = (s: string) => encodeURIComponent(s.replace(/\p{Cs}/gu, '\uFFFD'))

const nastyString = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 201, max: 3000 }).map((n) => 'é'.repeat(n)) }
)

// Strings an HTTP header can actually carry (visible ASCII, space, tab, obs-text).
const headerString = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
  fc.string({ unit: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 10 }),
  fc.constantFrom('', ' ', '\t', 'x'.repeat(8000))
)

function validValue (schema: any, pools: Pools, name = ''): fc.Arbitrary<string> {
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum.map(String))
  const choices = schema.anyOf ?? schema.oneOf
  if (Array.isArray(choices)) return fc.oneof(...choices.map((choice: any) => validValue(choice, pools, name)))
  // A sparse fieldset: names of the record's members, as its description lists them.
  if (name === 'fields' && pools.fields.length > 0) return fc.subarray(pools.fields, { minLength: 1, maxLength: 5 }).map((names) => names.join(','))
  switch (schema.type) {
    case 'integer': return fc.integer({ min: schema.minimum ?? 0, max: Math.min(schema.maximum ?? 1e6, 1e6) }).map(String)
    case 'number': return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true }).map(String)
    case 'boolean': return fc.constantFrom('true', 'false')
  }
  if (schema.format === 'date-time') return fc.date({ min: new Date('2000-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString())
  if (schema.format === 'date') return fc.date({ min: new Date('2000-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10))
  if (schema.pattern !== undefined) {
    const max = schema.maxLength ?? 200
    const pattern = new RegExp(schema.pattern)
    return fc.oneof(fc.constantFrom(...pools.slugs), fc.stringMatching(pattern)).filter((s) => s.length <= max && pattern.test(s))
  }
  return fc.oneof(
    fc.constantFrom(...pools.slugs, ...pools.ids, 'Mitte', 'Wedding', 'Familie', 'senioren'),
    fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 50, 50) })
  )
}

function invalidValue (schema: any): fc.Arbitrary<string> {
  const outOfRange: string[] = []
  if (schema.maximum !== undefined) outOfRange.push(String(schema.maximum + 1), String(Number.MAX_SAFE_INTEGER * 10))
  if (schema.minimum !== undefined) outOfRange.push(String(schema.minimum - 1), '-999999999999')
  if (schema.type === 'integer') outOfRange.push('1.5', '1e3', ' 7', '007')
  if (schema.maxLength !== undefined) outOfRange.push('a'.repeat(schema.maxLength + 1))
  return outOfRange.length > 0 ? fc.oneof(fc.constantFrom(...outOfRange), nastyString) : nastyString
}

interface Pools { slugs: string[], ids: string[], byPath: Map<string, string[]>, fields: string[] }

// Building string arbitraries is costly in fast-check (it precomputes shrink slices), and many
// parameters share a schema: one arbitrary per schema.
const paramCache = new Map<string, fc.Arbitrary<string[]>>()
function paramValues (param: any, pools: Pools, clean: boolean): fc.Arbitrary<string[]> {
  const key = `${clean} ${param.name === 'fields' ? 'fields ' : ''}${JSON.stringify(param.schema)}`
  let arbitrary = paramCache.get(key)
  if (arbitrary === undefined) {
    arbitrary = buildParamValues(param, pools, clean)
    paramCache.set(key, arbitrary)
  }
  return arbitrary
}

function buildParamValues (param: any, pools: Pools, clean: boolean): fc.Arbitrary<string[]> {
  const schema = param.schema ?? {}
  const item = schema.type === 'array' ? schema.items : schema
  // The document's example of a parameter is valid in context too (coordinates within range,
  // a bbox with min <= max), where values made from the schema alone often are not.
  const example = param.example === undefined ? [] : (Array.isArray(param.example) ? param.example : [param.example]).map(String)
  const valid = example.length > 0
    ? fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...example) }, { weight: 1, arbitrary: validValue(item, pools, param.name) })
    : validValue(item, pools, param.name)
  const one = clean ? valid : fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: invalidValue(item) })
  if (clean) return schema.type === 'array' ? fc.array(one, { minLength: 1, maxLength: 2 }) : one.map((v) => [v])
  // Arrays become repeated parameters; scalars are sometimes repeated too.
  return schema.type === 'array'
    ? fc.oneof(fc.array(one, { minLength: 1, maxLength: 3 }), fc.constant(Array.from({ length: 60 }, () => 'senioren')))
    : fc.oneof({ weight: 9, arbitrary: one.map((v) => [v]) }, { weight: 1, arbitrary: fc.array(one, { minLength: 2, maxLength: 3 }) })
}

// Parameters that are valid only together with others (each answers 400 otherwise, as
// documented): clean requests leave such a parameter out when its partner is missing.
const NEEDS: Record<string, (names: Set<string>, pairs: [string, string][]) => boolean> = {
  radius: (names) => names.has('near'),
  openNow: (names) => !names.has('openAt'),
  match: (names) => ['type', 'targetGroup', 'category'].some((name) => names.has(name)),
  sort: (names, pairs) => {
    const sort = pairs.find(([name]) => name === 'sort')?.[1]
    return sort === 'relevance' ? names.has('q') : sort === 'distance' ? names.has('near') : true
  }
}
const consistent = (pairs: [string, string][]): [string, string][] => {
  const names = new Set(pairs.map(([name]) => name))
  return pairs.filter(([name]) => NEEDS[name]?.(names, pairs) ?? true)
}

// clean: only valid values of declared parameters, so that success paths are reached too.
function queryArb (op: Operation, pools: Pools, clean: boolean): fc.Arbitrary<string> {
  const query = op.parameters.filter((p) => p.in === 'query')
  // Clean requests name a few parameters each (a quarter of them on average), so that fewer of
  // them combine filters that exclude each other (openNow with openAt, radius without near).
  const perParam = query.map((p) => {
    const values = paramValues(p, pools, clean).map((list) => list.map((v) => [p.name, v] as [string, string]))
    return clean ? fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: values }) : fc.option(values, { freq: 3 })
  })
  const junk = clean ? fc.constant(null) : fc.option(fc.tuple(fc.constantFrom('foo', 'limit[]', '__proto__', 'constructor', 'q%00', ''), nastyString).map(([k, v]) => [[k, v] as [string, string]]), { freq: 8 })
  return fc.tuple(fc.tuple(...perParam, junk), fc.boolean()).map(([lists, encodeAll]) => {
    const generated = lists.flatMap((l) => l ?? [])
    const pairs = clean ? consistent(generated) : generated
    if (pairs.length === 0) return ''
    // Mostly properly encoded; sometimes raw so the server sees broken percent-encoding too.
    return '?' + pairs.map(([k, v]) => encodeAll || /[^\x21-\x7e]/.test(v) ? `${encode(k)}=${encode(v)}` : `${k}=${v}`).join('&')
  })
}

function pathValue (op: Operation, pools: Pools): fc.Arbitrary<string> {
  const collection = op.path.slice(0, op.path.indexOf('{'))
  const known = pools.byPath.get(collection) ?? []
  return fc.oneof(
    { weight: 6, arbitrary: known.length > 0 ? fc.constantFrom(...known).map(encode) : fc.constant('unknown') },
    { weight: 1, arbitrary: fc.constantFrom(...pools.ids).map(encode) },
    { weight: 1, arbitrary: fc.uuid().map(String) },
    { weight: 2, arbitrary: nastyString.filter((s) => s !== '').map(encode) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_PATH_TRICKS) },
    { weight: 1, arbitrary: fc.integer({ min: 101, max: 5000 }).map((n) => 'a'.repeat(n)) }
  )
}

// A JSON value of any shape, for replacing a field of a valid body.
const garbageValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null), fc.boolean(), fc.integer(), fc.double(), nastyString,
  fc.constantFrom([], {}, [null], ['x'], { a: 1 }, -1, 1e308, 'x'.repeat(100000)),
  fc.integer({ min: 1000, max: 10000 }).map((n) => Array.from({ length: n }, () => 'x')),
  fc.jsonValue({ maxDepth: 3 })
)

const garbageJson = fc.oneof(
  fc.constantFrom('{', '}', '{"a":', 'null', '[]', '"x"', '123', 'true', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', '\u0000', '{"a":1,"a":2}', ' ', '\uFEFF{}', 'NaN'),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 100 })
)

function deepJson (depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
}

interface BodyChoice { payload?: string, contentType?: string, label: string }

function inputExample (op: Operation): Record<string, any> | undefined {
  if (op.operationId === 'verifyFacility') return { verifiedBy: 'Bezirksamt Mitte, Fuzz' }
  const name = op.operationId.replace(/^(create|update)/, '') + 'Input'
  return doc.components.schemas[name]?.examples?.[0]
}

let unique = 0
function bodyArb (op: Operation): fc.Arbitrary<BodyChoice> {
  const declared = Object.keys(op.body ?? {})
  const example = inputExample(op)
  const contentType = declared.length > 0 ? fc.constantFrom(...declared) : fc.constant('application/json')
  const base = (): Record<string, any> => {
    const value = structuredClone(example ?? {})
    // Unique slugs so that some creates succeed rather than all conflicting with the example.
    if ('slug' in value) value.slug = `fuzz-${++unique}`
    return value
  }
  const keys = Object.keys(example ?? { x: 1 })
  const valid = fc.tuple(contentType, op.method === 'PATCH' ? fc.subarray(keys, { minLength: 1 }) : fc.constant(keys)).map(([ct, picked]) => {
    const full = base()
    const body = Object.fromEntries(picked.map((k) => [k, full[k]]))
    return { payload: JSON.stringify(body), contentType: ct, label: `example(${picked.join(',')})` }
  })
  const mutated = fc.tuple(contentType, fc.constantFrom(...keys), fc.constantFrom('replace', 'delete', 'extra'), garbageValue).map(([ct, key, how, value]) => {
    const body = base()
    if (how === 'replace') body[key] = value
    else if (how === 'delete') delete body[key]
    else body.unexpectedField = value
    const payload = JSON.stringify(body)
    return { payload, contentType: ct, label: `mutated ${how} ${key}` }
  })
  const garbage = fc.tuple(contentType, garbageJson).map(([ct, payload]) => ({ payload, contentType: ct, label: 'garbage json' }))
  const wrongType = fc.tuple(fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/jsonx', 'json', ''), fc.constantFrom('{}', 'a=1', '<a/>'))
    .map(([ct, payload]) => ({ payload, contentType: ct, label: 'wrong content type' }))
  const empty = fc.constantFrom<BodyChoice>({ label: 'no body' }, { payload: '', contentType: 'application/json', label: 'empty json body' }, { payload: '', contentType: 'application/merge-patch+json', label: 'empty merge-patch body' })
  const deep = fc.tuple(contentType, fc.integer({ min: 100, max: 200000 }), fc.constantFrom('array' as const, 'object' as const))
    .map(([ct, depth, kind]) => ({ payload: deepJson(depth, kind), contentType: ct, label: `deep ${kind} ${depth}` }))
  const deepField = fc.tuple(contentType, fc.constantFrom(...keys), fc.integer({ min: 100, max: 50000 }))
    .map(([ct, key, depth]) => {
      const body = base()
      const payload = JSON.stringify(body).replace(/}$/, `${Object.keys(body).length > 0 ? ',' : ''}"${key}x":${deepJson(depth, 'array')}}`)
      return { payload, contentType: ct, label: `deep field ${depth}` }
    })
  const huge = fc.tuple(contentType, fc.constantFrom(...keys), fc.integer({ min: 5000, max: 100000 })).map(([ct, key, n]) => {
    const body = base()
    body[key] = Array.from({ length: n }, () => 1)
    return { payload: JSON.stringify(body), contentType: ct, label: `huge array ${key}[${n}]` }
  })
  const tooLarge = contentType.map((ct) => ({ payload: JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10) }), contentType: ct, label: 'over 1 MiB' }))
  return fc.oneof(
    // The heavy bodies (deep, huge, too large) are rarer: each costs as much as dozens of others.
    { weight: 18, arbitrary: valid },
    { weight: 24, arbitrary: mutated },
    { weight: 6, arbitrary: garbage },
    { weight: 3, arbitrary: wrongType },
    { weight: 3, arbitrary: empty },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: deepField },
    { weight: 1, arbitrary: huge },
    { weight: 1, arbitrary: tooLarge }
  )
}

const acceptArb = fc.option(fc.constantFrom('application/json', '*/*', 'text/html', 'application/xml', 'application/problem+json', 'text/csv', 'application/ld+json', 'application/json;q=0', 'garbage', '', 'application/*, text/*;q=0.5', 'text/calendar', 'application/x-ndjson'), { freq: 2 })

type Auth = 'none' | 'write' | 'internal' | 'admin' | 'revoked' | 'garbage'
type IfMatch = 'none' | 'current' | 'star' | 'stale' | 'garbage'

// Headers of caching, compression, CORS and content coding, valid and not: each request carries a
// few of them (the cache, the content negotiation and the CORS plugin must take any of them).
const HEADER_VALUES: Record<string, string[]> = {
  'accept-encoding': ['gzip', 'br', 'gzip, deflate, br', 'br;q=0', '*', 'identity;q=0, *;q=0', 'x-gzip', 'gzip;q=abc', ',,', 'compress'],
  'if-none-match': ['*', '"0123456789abcdef"', 'W/"abc"', '"a", "b"', 'abc', '""'],
  'if-modified-since': ['Sun, 06 Nov 1994 08:49:37 GMT', 'Fri, 31 Dec 2100 23:59:59 GMT', '3000', 'yesterday', ''],
  'cache-control': ['no-cache', 'max-age=0', 'no-store', 'garbage'],
  origin: ['https://example.org', 'null', 'http://localhost:5173', 'not a url'],
  'content-encoding': ['gzip', 'br', 'identity', 'bogus']
}
const extraHeadersArb: fc.Arbitrary<Record<string, string>> = fc.subarray(Object.keys(HEADER_VALUES), { maxLength: 3 })
  .chain((names) => fc.tuple(...names.map((name) => fc.oneof(fc.constantFrom(...HEADER_VALUES[name]!), headerString)))
    .map((values) => Object.fromEntries(names.map((name, i) => [name, values[i]!]))))

interface Plan {
  op: Operation
  extraHeaders: Record<string, string>
  path: string
  query: string
  auth: Auth
  authGarbage: string
  accept: string | null
  ifMatch: IfMatch
  ifMatchGarbage: string
  idempotencyKey: string | null
  body: BodyChoice | null
}

function planArb (op: Operation, pools: Pools, clean: boolean): fc.Arbitrary<Plan> {
  const isWrite = op.method !== 'GET'
  const collection = op.path.includes('{') ? pools.byPath.get(op.path.slice(0, op.path.indexOf('{'))) ?? [] : []
  const pathParam = clean && collection.length > 0 ? fc.constantFrom(...collection).map(encode) : pathValue(op, pools)
  const pathArb = op.path.includes('{') ? pathParam.map((v) => op.path.replace(/\{[^}]+\}/, v)) : fc.constant(op.path)
  // Writes are mostly sent with a directory:write key so that the write paths are reached.
  const auth = isWrite
    ? fc.constantFrom<Auth>('write', 'write', 'write', 'write', 'admin', 'none', 'internal', 'revoked', 'garbage')
    : fc.constantFrom<Auth>('none', 'none', 'none', 'none', 'internal', 'write', 'garbage')
  return fc.record({
    op: fc.constant(op),
    path: pathArb,
    query: queryArb(op, pools, clean),
    auth: clean && !isWrite ? fc.constantFrom<Auth>('none', 'internal') : auth,
    authGarbage: fc.oneof(headerString, fc.constantFrom('Bearer', 'Bearer ', 'Bearer  x y', 'Basic dXNlcjpwYXNz', 'bearer mpd_', 'Token abc', 'Bearer ' + 'A'.repeat(5000))),
    accept: clean ? fc.constantFrom(null, 'application/json', '*/*') : acceptArb,
    // A create has no current version: If-Match there is mostly absent, sometimes nonsense.
    ifMatch: op.method === 'POST'
      ? fc.constantFrom<IfMatch>('none', 'none', 'none', 'none', 'star', 'stale', 'garbage')
      : isWrite ? fc.constantFrom<IfMatch>('current', 'current', 'current', 'none', 'star', 'stale', 'garbage') : fc.constant<IfMatch>('none'),
    ifMatchGarbage: headerString,
    idempotencyKey: isWrite ? fc.option(fc.oneof(headerString, fc.uuid().map(String), fc.constant('fixed-key')), { freq: 3 }) : fc.constant(null),
    // Clean requests carry none, so that their success paths stay reachable.
    extraHeaders: clean ? fc.constant({}) : fc.oneof({ weight: 1, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: extraHeadersArb }),
    body: op.method === 'POST' || op.method === 'PATCH' ? bodyArb(op) : fc.option(fc.constant<BodyChoice>({ payload: '{}', contentType: 'application/json', label: 'body on ' + op.method }), { freq: 10 })
  })
}

interface Finding { kind: string, status: number, cause: string, request: string, detail: string, operations: Set<string>, count: number }

// Bugs this test found and that are fixed (router errors as problem+json, 400/401/406 documented
// on every GET) stay out of this list, so a regression fails the test. Add a known bug here as a
// tap todo only while it is being fixed.
const KNOWN_BUGS: Array<{ match: (f: Finding) => boolean, todo: string }> = []

// Over a real socket (node:http, the server listening on 127.0.0.1): what app.inject leaves out —
// Node's HTTP parser, connection handling, the raw path as sent. Requests the client itself
// refuses to send (characters no HTTP request line or header may carry) are counted apart;
// bodies over 64 KiB are left to the inject parts (the server answers 413 or 401 and closes the
// connection before reading them, which the client may see as a reset).
const SOCKET_BODY_LIMIT = 64 * 1024
interface SocketAnswer { statusCode: number, headers: Record<string, string | string[] | undefined>, rawPayload: Buffer, body: string }
function sendOverSocket (port: number, agent: Agent, options: InjectOptions): Promise<SocketAnswer> {
  // A body is framed by its Content-Length: node:http sends the body of a GET or DELETE without
  // one (no chunked encoding either), which the server would read as the start of the next request.
  const payload = options.payload as string | undefined
  const headers = { ...(options.headers as Record<string, string>), ...(payload === undefined ? {} : { 'content-length': String(Buffer.byteLength(payload)) }) }
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, agent, method: options.method, path: String(options.url), headers }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('error', reject)
      response.on('end', () => {
        const rawPayload = Buffer.concat(chunks)
        resolve({ statusCode: response.statusCode ?? 0, headers: response.headers, rawPayload, body: rawPayload.toString('utf8') })
      })
    })
    request.on('error', reject)
    request.end(payload)
  })
}

export function fuzz (defaultSeed: number, defaultRuns: number, part: number, transport: 'inject' | 'socket' = 'inject'): void {
  // FUZZ_SEED=n runs the parts with the seeds n, n + 1, …
  const SEED = process.env.FUZZ_SEED === undefined ? defaultSeed : Number(process.env.FUZZ_SEED) + part
  const RUNS = Number(process.env.FUZZ_RUNS ?? defaultRuns)
  t.test(`fuzz (seed ${SEED}${transport === 'socket' ? ', over a real socket' : ''}): every operation answers every request within its documented contract`, async (t) => {
    t.comment(`fast-check seed ${SEED}, ${RUNS} runs (set FUZZ_SEED / FUZZ_RUNS to change)`)
    const app = await buildTestApp(t, { rateLimitMax: 0 })
    let port = 0
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    if (transport === 'socket') {
      await app.listen({ port: 0, host: '127.0.0.1' })
      port = (app.server.address() as AddressInfo).port
      t.teardown(() => agent.destroy())
    }
    let unsendable = 0
    const keys: Record<Exclude<Auth, 'none' | 'garbage'>, string> = {
      write: createKey(app, ['directory:write'], 'Fuzz write').key,
      internal: createKey(app, ['contacts:read-internal'], 'Fuzz internal').key,
      admin: createKey(app, ['admin'], 'Fuzz admin').key,
      revoked: ''
    }
    const revoked = createKey(app, ['directory:write'], 'Fuzz revoked')
    app.repos.apiKeys.revoke(revoked.id)
    keys.revoked = revoked.key

    // Known ids and slugs per collection, so that path parameters often name real records.
    const byPath = new Map<string, string[]>()
    const collect = async (prefix: string, url: string) => {
      const res = await app.inject({ url, headers: bearer(keys.internal) })
      const body = res.json()
      const items: any[] = body.items ?? body.contents ?? []
      byPath.set(prefix, items.flatMap((i) => [i.id, i.slug].filter((v) => typeof v === 'string')))
    }
    for (const prefix of ['facilities', 'services', 'target-groups', 'categories', 'organisations', 'contacts', 'agreements', 'events']) {
      await collect(`/v1/${prefix}/`, `/v1/${prefix}?limit=500`)
    }
    for (const prefix of ['services', 'service_at_locations', 'organizations', 'taxonomies', 'taxonomy_terms']) {
      await collect(`/hsds/${prefix}/`, `/hsds/${prefix}?per_page=500`)
    }
    byPath.set('/v1/agreement-parties/', app.db.$client.prepare('select id from agreement_parties').pluck().all() as string[])
    byPath.set('/problems/', Object.keys(PROBLEM_TYPES))
    const ids = [...byPath.values()].flat()
    const fields = Object.keys(deref(doc.components.schemas.FacilityListItem).properties)
    const pools: Pools = { ids, slugs: ids.filter((v) => !/^[0-9a-f-]{36}$/.test(v)), byPath, fields }
    for (const op of operations) {
      if (op.path.includes('{')) t.ok((byPath.get(op.path.slice(0, op.path.indexOf('{'))) ?? []).length > 0, `${op.operationId} has known ids`)
    }

    const findings = new Map<string, Finding>()
    const undocumentedGeneric = new Set<string>()
    const statusCount = new Map<number, number>()
    const succeeded = new Set<string>()
    const validatedOf = new Map<string, number>()
    // Generated requests; the GETs that fetch a current ETag for a conditional write are counted
    // apart (their answers are only checked for 5xx).
    let requests = 0
    let lookups = 0
    let validated = 0

    const describe = (options: InjectOptions, label: string) => {
      const headers = Object.entries(options.headers ?? {}).map(([k, v]) => `${k}: ${String(v).slice(0, 80)}`).join(' | ')
      const payload = typeof options.payload === 'string' ? options.payload.slice(0, 200) + (options.payload.length > 200 ? `… (${options.payload.length} chars)` : '') : ''
      return `${options.method} ${String(options.url).slice(0, 300)} [${headers}] ${label} ${payload}`
    }
    // Findings are grouped by what broke and why (the error code or problem type), with the first
    // request that showed it and every operation where it occurred.
    const report = (kind: string, op: Operation, res: LightMyRequestResponse, request: string, detail: string) => {
      let cause = ''
      try {
        const body = JSON.parse(res.body)
        cause = body.code ?? body.type ?? ''
      } catch {}
      const key = `${kind} ${res.statusCode} ${cause}`
      const existing = findings.get(key)
      if (existing !== undefined) {
        existing.operations.add(op.operationId)
        existing.count++
        return
      }
      findings.set(key, { kind, status: res.statusCode, cause, request: request.slice(0, 400), detail: detail.slice(0, 300), operations: new Set([op.operationId]), count: 1 })
    }

    // A compressed answer (Accept-Encoding) is checked as its client reads it: decoded.
    const decoded = (op: Operation, res: LightMyRequestResponse, request: string): LightMyRequestResponse => {
      const coding = res.headers['content-encoding']
      if (coding === undefined) return res
      let raw: Buffer
      try {
        if (coding === 'br') raw = brotliDecompressSync(res.rawPayload)
        else if (coding === 'gzip') raw = gunzipSync(res.rawPayload)
        else throw new Error(`unknown content coding ${String(coding)}`)
      } catch (err) {
        report('undecodable content coding', op, res, request, String(err))
        return res
      }
      return Object.create(res, { body: { value: raw.toString('utf8') }, rawPayload: { value: raw } }) as LightMyRequestResponse
    }

    const check = (op: Operation, sent: LightMyRequestResponse, request: string, url: string) => {
      const res = decoded(op, sent, request)
      const status = res.statusCode
      if (status < 300) succeeded.add(op.operationId)
      statusCount.set(status, (statusCount.get(status) ?? 0) + 1)
      const contentType = String(res.headers['content-type'] ?? '')
      if (status >= 500) report('5xx', op, res, request, res.body)
      if (status >= 400) {
        let problem: any
        try { problem = JSON.parse(res.body) } catch { problem = undefined }
        if (!contentType.startsWith('application/problem+json')) report('error not problem+json', op, res, request, `${contentType}: ${res.body}`)
        // An error answer is short whatever the request: a body of 100,000 wrong items once
        // answered with 321 MB (every item's error), after seconds of blocking.
        if (res.rawPayload.length > MAX_ERROR_BYTES) report('oversized error', op, res, request, `${res.rawPayload.length} bytes: ${res.body.slice(0, 300)}`)
        else if (typeof problem?.type !== 'string' || typeof problem?.title !== 'string' || problem?.status !== status || typeof problem?.detail !== 'string') {
          report('incomplete problem', op, res, request, res.body)
        } else {
          // Every type is documented at its URI (GET /problems/{slug}), with this status and title.
          const known = (PROBLEM_TYPES as Record<string, { status: number, title: string }>)[String(problem.type).replace(/^\/problems\//, '')]
          if (!String(problem.type).startsWith('/problems/') || known === undefined || known.status !== status || known.title !== problem.title) {
            report('undocumented problem type', op, res, request, res.body)
          }
        }
      }
      if (op.responses[String(status)] === undefined && status !== 304) {
      // 401 (a bad Authorization header is rejected on every route) and 429 are generic: noted, not
      // failed; so are 408 and 431, which Node's HTTP server gives before any route (a request line
      // and headers over 16 KiB). The document's description lists them for every operation.
        if (status === 401 || status === 429 || status === 408 || status === 431) undocumentedGeneric.add(`${op.operationId} ${status}`)
        else report('undocumented status', op, res, request, res.body)
      }
      if (status >= 200 && status < 300 && status !== 204) {
        const mediaType = contentType.split(';')[0]!.trim()
        if (op.responses[String(status)]?.content?.[mediaType] === undefined) {
          report('undocumented media type', op, res, request, mediaType)
          return
        }
        const validate = validatorFor(op, status, mediaType)
        if (validate === undefined) {
          report('no check for a declared media type', op, res, request, mediaType)
          return
        }
        validated++
        validatedOf.set(op.operationId, (validatedOf.get(op.operationId) ?? 0) + 1)
        const wrong = validate(res.body)
        if (wrong !== null) {
          report(`2xx ${mediaType} body does not match its declaration`, op, res, request, wrong)
          return
        }
        const required = FULL_RECORDS[op.operationId]
        if (required !== undefined && mediaType === 'application/json' && !/[?&]fields=/.test(url)) {
          const partial = (JSON.parse(res.body).items as Record<string, unknown>[]).find((item) => item.deleted !== true && required.some((key) => !(key in item)))
          if (partial !== undefined) report('2xx record without a required member (no fields asked for)', op, res, request, JSON.stringify(partial).slice(0, 300))
        }
      }
    }

    const send = async (plan: Plan) => {
      const { op } = plan
      const headers: Record<string, string> = {}
      if (plan.auth === 'garbage') headers.authorization = plan.authGarbage
      else if (plan.auth !== 'none') headers.authorization = `Bearer ${keys[plan.auth]}`
      if (plan.accept !== null) headers.accept = plan.accept
      if (plan.ifMatch === 'current') {
      // The ETag of the record as it is now, so that conditional writes can succeed.
        const current = await app.inject({ method: 'GET', url: plan.path, headers: bearer(keys.internal) })
        lookups++
        if (current.statusCode >= 500) report('5xx', op, current, `GET ${plan.path} (ETag lookup)`, current.body)
        if (typeof current.headers.etag === 'string') headers['if-match'] = current.headers.etag
      } else if (plan.ifMatch === 'star') headers['if-match'] = '*'
      else if (plan.ifMatch === 'stale') headers['if-match'] = '"0123456789abcdef"'
      else if (plan.ifMatch === 'garbage') headers['if-match'] = plan.ifMatchGarbage
      if (plan.idempotencyKey !== null) headers['idempotency-key'] = plan.idempotencyKey
      Object.assign(headers, plan.extraHeaders)
      const options: InjectOptions = { method: op.method as InjectOptions['method'], url: plan.path + plan.query, headers }
      if (plan.body?.payload !== undefined) options.payload = plan.body.payload
      if (plan.body?.contentType !== undefined) headers['content-type'] = plan.body.contentType
      let res: LightMyRequestResponse
      if (transport === 'socket') {
        if (typeof options.payload === 'string' && Buffer.byteLength(options.payload) > SOCKET_BODY_LIMIT) {
          unsendable++
          return
        }
        try {
          res = await sendOverSocket(port, agent, options) as unknown as LightMyRequestResponse
        } catch (err) {
          // node:http refuses invalid characters in the path or a header before sending anything.
          if (['ERR_UNESCAPED_CHARACTERS', 'ERR_INVALID_CHAR', 'ERR_INVALID_HTTP_TOKEN', 'ERR_HTTP_INVALID_HEADER_VALUE'].includes((err as NodeJS.ErrnoException).code ?? '')) {
            unsendable++
            return
          }
          findings.set(`transport ${String(err)}`, { kind: 'transport error', status: 0, cause: '', request: describe(options, plan.body?.label ?? ''), detail: String(err), operations: new Set([op.operationId]), count: 1 })
          return
        }
        requests++
        check(op, res, describe(options, plan.body?.label ?? ''), String(options.url))
        return
      }
      try {
        res = await app.inject(options)
      } catch (err) {
        findings.set(`inject threw ${String(err)}`, { kind: 'inject threw', status: 0, cause: '', request: describe(options, plan.body?.label ?? ''), detail: String(err), operations: new Set([op.operationId]), count: 1 })
        return
      }
      requests++
      check(op, res, describe(options, plan.body?.label ?? ''), String(options.url))
    }

    const started = Date.now()
    // Every operation is equally likely, whatever its number of parameters.
    // Arbitraries are built once per operation; building them per run costs more than the requests.
    const planArbs = new Map(operations.map((op) => [op, fc.oneof({ weight: 1, arbitrary: planArb(op, pools, true) }, { weight: 2, arbitrary: planArb(op, pools, false) })]))
    const plans = fc.constantFrom(...operations).chain((op) => planArbs.get(op)!)
    await fc.assert(fc.asyncProperty(plans, async (plan) => { await send(plan) }), { numRuns: RUNS, seed: SEED, endOnFailure: true })
    const seconds = (Date.now() - started) / 1000

    t.comment(`${requests} generated requests${transport === 'socket' ? ` over a real socket (${unsendable} more that node:http refuses to send or with a body over 64 KiB)` : ''} (and ${lookups} ETag look-ups) in ${seconds.toFixed(1)} s, ${validated} 2xx bodies validated against their declarations`)
    t.comment(`statuses: ${[...statusCount].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(', ')}`)
    t.comment(`undocumented generic statuses (401/408/429/431, not failed): ${[...undocumentedGeneric].sort().join(', ') || 'none'}`)
    t.comment(`operations never answered with 2xx: ${operations.map((op) => op.operationId).filter((id) => !succeeded.has(id)).join(', ') || 'none'}`)
    t.comment(`2xx bodies validated per operation: ${operations.map((op) => `${op.operationId} ${validatedOf.get(op.operationId) ?? 0}`).join(', ')}`)
    t.ok(requests >= (transport === 'socket' ? RUNS * 0.95 : RUNS), `at least ${transport === 'socket' ? `${RUNS * 0.95} (95 % of the)` : RUNS} generated requests sent`)
    // Every read reaches its success path with a body checked against its declaration (the
    // writes' success paths depend on the state earlier runs left; their suites test them). The
    // socket part is too short for that (~20 requests per operation): its count is reported.
    const unchecked = operations.filter((op) => op.method === 'GET' && (validatedOf.get(op.operationId) ?? 0) === 0).map((op) => op.operationId)
    if (transport === 'inject') {
      for (const op of operations) if (op.method === 'GET') t.ok((validatedOf.get(op.operationId) ?? 0) > 0, `${op.operationId}: a 2xx body validated`)
    } else {
      t.comment(`GET operations without a checked 2xx over the socket: ${unchecked.join(', ') || 'none'}`)
    }
    for (const finding of findings.values()) {
      const { operations, ...rest } = finding
      const summary = JSON.stringify({ ...rest, operations: [...operations].sort() })
      const known = KNOWN_BUGS.find((bug) => bug.match(finding))
      if (known !== undefined) t.fail(`${finding.kind} ${finding.status} ${finding.cause}: ${summary}`, { todo: known.todo })
      else t.fail(`${finding.kind} ${finding.status} ${finding.cause}: ${summary}`)
    }

    const integrity = app.db.$client.prepare('pragma integrity_check').pluck().all()
    t.same(integrity, ['ok'], 'database integrity')
    t.same(app.db.$client.prepare('pragma foreign_key_check').all(), [], 'no dangling foreign keys')
  })
}
