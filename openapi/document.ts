import { buildApp } from '../src/app.ts'

// The OpenAPI document exactly as the running service serves it at /openapi.json.
export async function generateOpenApiDocument (): Promise<string> {
  const app = await buildApp({ config: { DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent' }, seed: false, logger: false })
  try {
    await app.ready()
    return JSON.stringify(app.swagger(), null, 2) + '\n'
  } finally {
    await app.close()
  }
}

export const OPENAPI_FILE = new URL('./openapi.json', import.meta.url)
