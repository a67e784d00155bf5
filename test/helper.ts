import type { Test } from 'tap'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../src/app.ts'

export interface TestAppOptions {
  // false: an empty, migrated database (for tests that build their own data)
  seed?: boolean
}

// Builds the app on a fresh in-memory database, seeded with the real directory by default.
export async function buildTestApp (t: Test, options: TestAppOptions = {}): Promise<FastifyInstance> {
  const app = await buildApp({
    config: { DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent' },
    seed: options.seed ?? true,
    logger: false
  })
  t.teardown(() => app.close())
  return app
}

export async function getJson<T = any> (app: FastifyInstance, url: string, options: Omit<InjectOptions, 'url' | 'method'> = {}): Promise<{ res: LightMyRequestResponse, body: T }> {
  const res = await app.inject({ method: 'GET', url, ...options })
  return { res, body: res.json() as T }
}

export const PROBLEM_JSON = 'application/problem+json; charset=utf-8'
