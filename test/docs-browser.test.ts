import { existsSync, mkdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import t from 'tap'
import { chromium } from 'playwright-core'
import { PROJECT_ROOT } from '../src/lib/paths.ts'
import { prepareDatabase, startServer } from './server-process.ts'

// A person in a browser: Debian's chromium (.ci/run installs it) opens /docs on a real server
// process, under the Content-Security-Policy the site sends, and uses "Try it out".

const CHROMIUM = '/usr/bin/chromium'
const SCREENSHOT = join(PROJECT_ROOT, 'tmp', 'artifacts', 'docs-try-it-out.png')
const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'])

interface OpenApiDocument {
  paths: Record<string, Record<string, { operationId?: string }>>
}

const missing = !existsSync(CHROMIUM)
if (missing && process.env.CI) {
  t.fail(`${CHROMIUM} is missing: CI installs Debian's chromium before the tests (.ci/run: apt-get install -y --no-install-recommends chromium)`)
} else {
  const skip = missing ? `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser test of /docs` : false
  t.test('/docs in a browser: loads cleanly, lists every operation, "Try it out" on the facilities list shows data', { skip }, async (t) => {
    // The browser starts while the server is built and seeded.
    const launching = chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // The machine's network is closed: no sandbox (containers) and nothing that phones home.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
    t.teardown(async () => { await (await launching.catch(() => undefined))?.close() })
    const database = prepareDatabase()
    t.teardown(database.cleanup)
    const server = await startServer({ databasePath: database.file })
    t.teardown(() => server.stop())

    const document = await (await fetch(`${server.url}/openapi.json`)).json() as OpenApiDocument
    const expected = new Set<string>()
    let listFacilities: string | undefined
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (!HTTP_METHODS.has(method)) continue
        expected.add(`${method.toUpperCase()} ${path}`)
        if (method === 'get' && path === '/v1/facilities') listFacilities = operation.operationId
      }
    }
    t.ok(expected.size >= 20, `the OpenAPI document has ${expected.size} operations`)
    t.ok(listFacilities, 'the OpenAPI document has GET /v1/facilities with an operationId')
    const first = await (await fetch(`${server.url}/v1/facilities?limit=1`)).json() as { items: Array<{ name: string }> }
    const facilityName = first.items[0]?.name ?? ''
    t.ok(facilityName, `the seeded directory has a facility ("${facilityName}")`)

    const browser = await launching
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.setDefaultTimeout(20_000)

    // Everything that goes wrong in the page: script errors, console errors (CSP violations are
    // reported there), requests that fail, are blocked or leave the site, and error answers.
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
    page.on('console', (message) => { if (message.type() === 'error') problems.push(`console error: ${message.text()}`) })
    page.on('request', (request) => {
      if (!request.url().startsWith(`${server.url}/`) && !request.url().startsWith('data:')) problems.push(`request outside the site: ${request.method()} ${request.url()}`)
    })
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText ?? 'unknown'})`))
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.request().method()} ${response.url()}`)
    })

    try {
      const docs = await page.goto(`${server.url}/docs`, { waitUntil: 'load' })
      t.equal(docs?.status(), 200, '/docs answers 200')
      t.match(await docs?.headerValue('content-security-policy'), /script-src 'self'/, '/docs is served under the site\'s Content-Security-Policy')

      // uiConfig.docExpansion 'list' opens every tag with its operations collapsed; open any tag
      // that is closed, as a person would. An operation with several tags is listed once per tag:
      // compare the sets of "METHOD /path".
      await page.locator('.opblock-tag-section').first().waitFor()
      for (const tag of await page.locator('.opblock-tag-section:not(.is-open) .opblock-tag').all()) await tag.click()
      await page.locator('.opblock').first().waitFor()
      const shown = await page.locator('.opblock').evaluateAll((blocks) => blocks.map((block) => {
        const method = block.querySelector('.opblock-summary-method')?.textContent ?? ''
        const path = block.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? ''
        return `${method.trim().toUpperCase()} ${path}`
      }))
      const listed = new Set(shown)
      t.same([...expected].filter((operation) => !listed.has(operation)), [], 'every operation of the OpenAPI document is listed in Swagger UI')
      t.same([...listed].filter((operation) => !expected.has(operation)), [], 'Swagger UI lists no operation the document lacks')
      t.comment(`Swagger UI lists ${listed.size} of ${expected.size} operations (${shown.length} entries, one per tag)`)

      // The facilities list, used as a person would: open it, "Try it out", "Execute".
      const operation = page.locator(`.opblock[id$="-${listFacilities}"]`).first()
      await operation.locator('.opblock-summary-control').click()
      const tryOut = operation.locator('.try-out__btn')
      await tryOut.waitFor()
      // uiConfig.tryItOutEnabled opens the form at once; the button then reads "Cancel".
      if ((await tryOut.textContent())?.trim() === 'Try it out') await tryOut.click()
      const answered = page.waitForResponse((response) => new URL(response.url()).pathname === '/v1/facilities' && response.request().method() === 'GET')
      await operation.locator('button.execute').click()
      t.equal((await answered).status(), 200, 'the browser\'s request GET /v1/facilities answers 200')

      const live = operation.locator('.live-responses-table .response').first()
      await live.waitFor()
      t.equal((await live.locator('.response-col_status').textContent())?.trim(), '200', 'the live response shown is 200')
      const requestUrl = (await operation.locator('.request-url pre').textContent())?.trim() ?? ''
      t.ok(requestUrl.startsWith(`${server.url}/v1/facilities`), `the request went to this server: ${requestUrl}`)
      const body = await live.locator('.response-col_description .microlight, .response-col_description pre').first().textContent() ?? ''
      t.match(body, /"total":\s*[1-9]/, 'the live response body counts facilities')
      t.ok(body.includes(facilityName), `the live response body shows the seeded facility "${facilityName}"`)

      t.same(problems, [], 'no page errors, console errors, failed, blocked or outside requests')
    } finally {
      mkdirSync(dirname(SCREENSHOT), { recursive: true })
      try {
        // The opened operation with its live response, not the whole 17,000-pixel page (whose
        // PNG alone took seconds).
        await page.locator('.opblock.is-open .live-responses-table, .opblock.is-open').first().scrollIntoViewIfNeeded({ timeout: 2000 }).catch(() => {})
        await page.screenshot({ path: SCREENSHOT })
        t.ok(statSync(SCREENSHOT).size > 0, `screenshot kept: ${SCREENSHOT}`)
      } catch (error) {
        t.fail(`no screenshot: ${(error as Error).message}`)
      }
    }
  })
}
