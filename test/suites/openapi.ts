import { readFileSync } from 'node:fs'
import t from 'tap'
import { Ajv2020 } from 'ajv/dist/2020.js'
import * as formats from 'ajv-formats'
import { OPENAPI_FILE, generateOpenApiDocument } from '../../openapi/document.ts'
import { buildTestApp } from '../helper.ts'

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
