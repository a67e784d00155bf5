import { readFileSync } from 'node:fs'
import t from 'tap'
import { Ajv2020 } from 'ajv/dist/2020.js'
import * as formats from 'ajv-formats'
import { OPENAPI_FILE, generateOpenApiDocument } from '../../openapi/document.ts'
import { bearer, buildTestApp, createKey } from '../helper.ts'

t.test('openapi/openapi.json is what the code generates (run `npm run openapi` after changing routes)', async (t) => {
  const committed = readFileSync(OPENAPI_FILE, 'utf8')
  const generated = await generateOpenApiDocument()
  t.equal(committed, generated, 'committed OpenAPI document is stale')
})

t.test('every operation is documented', async (t) => {
  const doc = JSON.parse(await generateOpenApiDocument())
  t.equal(doc.openapi, '3.1.0')
  const operationIds = new Set<string>()
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const name = `${method.toUpperCase()} ${path}`
      t.ok(op.operationId, `${name} has an operationId`)
      t.notOk(operationIds.has(op.operationId), `${name} operationId ${op.operationId} is unique`)
      operationIds.add(op.operationId)
      t.ok(op.summary, `${name} has a summary`)
      t.ok(op.description, `${name} has a description`)
      t.ok(op.tags?.length > 0, `${name} has tags`)
      t.ok(['200', '201', '204'].some((code) => op.responses[code]), `${name} documents its success`)
      const errors = Object.keys(op.responses).filter((code) => Number(code) >= 400)
      t.ok(errors.length > 0, `${name} documents its errors`)
      for (const code of errors) {
        t.ok(op.responses[code].content?.['application/problem+json'], `${name} ${code} is problem+json`)
      }
    }
  }
  t.ok(operationIds.size >= 20, `at least 20 operations (${operationIds.size})`)
})

t.test('the document names what each kind of operation sends and takes', async (t) => {
  const doc = JSON.parse(await generateOpenApiDocument())
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const name = `${method.toUpperCase()} ${path}`
      const headers = (op.parameters ?? []).filter((p: any) => p.in === 'header').map((p: any) => p.name)
      t.ok(op.responses['503'], `${name}: 503 (storage) is documented`)
      if (op.responses['429']) t.ok(op.responses['429'].headers?.['RateLimit-Remaining'] && op.responses['429'].headers?.['Retry-After'], `${name}: 429 names its headers`)
      if (op.responses['304']) t.equal(op.responses['304'].content, undefined, `${name}: a 304 has no body`)
      if (method === 'get') continue
      if (op.responses['201']) {
        t.same(Object.keys(op.responses['201'].headers ?? {}).sort(), ['ETag', 'Idempotent-Replayed', 'Location'], `${name}: 201 headers`)
        t.same(headers, ['idempotency-key'], `${name}: a create takes Idempotency-Key, not If-Match`)
      }
      if (op.responses['200']) t.ok(op.responses['200'].headers?.ETag, `${name}: 200 names the ETag of the record`)
      if (method === 'patch' || method === 'delete') {
        t.same(headers, ['if-match', 'if-none-match'], `${name}: conditional headers only`)
        t.ok(op.responses['428'] && op.responses['412'], `${name}: 428 and 412`)
      }
      if (method === 'delete') t.notOk(op.responses['422'], `${name}: a DELETE has no record to reject`)
    }
  }
})

t.test('every path parameter has an example that names a real record', async (t) => {
  const app = await buildTestApp(t)
  // The history of contacts needs a key that may read internal contacts.
  const { key } = createKey(app, ['contacts:read-internal'])
  const doc = JSON.parse(await generateOpenApiDocument())
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    const op = item.get
    if (op === undefined || !path.includes('{')) continue
    let url = path
    for (const parameter of (op.parameters ?? []).filter((p: any) => p.in === 'path')) {
      t.ok(parameter.schema?.examples?.[0] ?? parameter.example ?? parameter.examples, `${path}: {${parameter.name}} has an example`)
      url = url.replace(`{${parameter.name}}`, encodeURIComponent(String(parameter.schema?.examples?.[0] ?? parameter.example)))
    }
    t.equal((await app.inject({ url, headers: bearer(key) })).statusCode, 200, `GET ${url}`)
  }
})

t.test('GET /openapi.json and /openapi.yaml serve the document; /docs is browsable', async (t) => {
  const app = await buildTestApp(t, { seed: false })
  const json = await app.inject('/openapi.json')
  t.equal(json.statusCode, 200)
  t.equal(json.json().info.title, 'Mitte Partner Directory')
  const yaml = await app.inject('/openapi.yaml')
  t.equal(yaml.statusCode, 200)
  t.match(yaml.headers['content-type'], /yaml/)
  t.match(yaml.body, /openapi: 3\.1\.0/)
  const docs = await app.inject('/docs/')
  t.equal(docs.statusCode, 200)
  t.match(docs.headers['content-type'], /text\/html/)
  t.match(docs.body, /swagger/i)
})

t.test('every example in the OpenAPI document is valid against its own schema', async (t) => {
  const doc = JSON.parse(await generateOpenApiDocument())
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  // ajv-formats is CommonJS; its function is the default export's default under ESM.
  const addFormats = ((formats as { default: unknown }).default as { default?: unknown }).default ?? (formats as { default: unknown }).default
  ;(addFormats as (ajv: Ajv2020) => void)(ajv)
  ajv.addSchema({ $id: 'doc', components: doc.components })
  const resolve = (schema: unknown): unknown => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/'))
  let checked = 0
  for (const [name, schema] of Object.entries<any>(doc.components.schemas)) {
    t.ok(Array.isArray(schema.examples) && schema.examples.length > 0, `${name} has examples`)
    const validate = ajv.compile(resolve({ ...schema, examples: undefined }) as object)
    for (const example of schema.examples ?? []) {
      t.ok(validate(example), `${name} example is valid: ${ajv.errorsText(validate.errors)}`)
      checked++
    }
  }
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      const success = op.responses['200'] ?? op.responses['201'] ?? op.responses['204']
      // Examples document the JSON representations; exports (CSV, vCard, …) are described in words.
      for (const media of Object.entries<any>(success.content ?? {}).filter(([type]) => type === 'application/json').map(([, m]) => m)) {
        const schema = media.schema
        if (schema.type === 'string') continue
        const target = schema.$ref ? doc.components.schemas[schema.$ref.split('/').at(-1)] : schema
        // @fastify/swagger moves a response schema's examples to the media type's `example`.
        const examples = [
          ...(media.example === undefined ? [] : [media.example]),
          ...Object.values<any>(media.examples ?? {}).map((e) => e.value),
          ...(target.examples ?? [])
        ]
        t.ok(examples.length > 0, `${method.toUpperCase()} ${path} 200 has an example`)
        const validate = ajv.compile(resolve({ ...target, examples: undefined }) as object)
        for (const example of examples) {
          t.ok(validate(example), `${method.toUpperCase()} ${path} example is valid: ${ajv.errorsText(validate.errors)}`)
          checked++
        }
      }
    }
  }
  t.ok(checked > 40, `checked ${checked} examples`)
})
