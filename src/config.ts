import { Type, type Static, type TUnsafe } from 'typebox'
import { Value } from 'typebox/value'
import { isIP } from 'node:net'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  DATABASE_PATH: Type.String({ minLength: 1, default: 'data/partner-directory.db' }),
  LOG_LEVEL: Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)), { default: 'info' }) as unknown as TUnsafe<typeof LOG_LEVELS[number]>,
  RATE_LIMIT_MAX: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 600 }),
  CORS_WRITE_ORIGINS: Type.String({ default: '', pattern: '^(https?://[^\\s,]+(,https?://[^\\s,]+)*)?$' }),
  TRUST_PROXY: Type.String({ default: '', pattern: '^([0-9A-Za-z.:/]+(,[0-9A-Za-z.:/]+)*)?$' }),
  DATABASE_SYNCHRONOUS: Type.Union([Type.Literal('normal'), Type.Literal('full')], { default: 'normal' }) as unknown as TUnsafe<'normal' | 'full'>
})

export type Config = Static<typeof ConfigSchema>

// TRUST_PROXY: addresses (IPv4 or IPv6), subnets in CIDR notation, or the named ranges of
// Fastify's trustProxy (loopback, linklocal, uniquelocal).
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal'])
function isProxyAddress (value: string): boolean {
  if (PROXY_RANGES.has(value)) return true
  const [address = '', prefix, ...rest] = value.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128))
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const settingNames = Object.keys(ConfigSchema.properties) as (keyof Config)[]

export function loadConfig (env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, unknown> = {}
  for (const name of settingNames) {
    const value = env[name]
    if (value !== undefined && value !== '') raw[name] = value
  }
  for (const name of ['PORT', 'RATE_LIMIT_MAX'] as const) {
    if (raw[name] === undefined) continue
    const text = String(raw[name])
    raw[name] = /^\d+$/.test(text) ? Number(text) : text
  }
  const withDefaults = Value.Default(ConfigSchema, raw)
  const trustProxy = (withDefaults as { TRUST_PROXY?: unknown }).TRUST_PROXY
  const proxies = typeof trustProxy === 'string' && trustProxy !== '' ? trustProxy.split(',') : []
  if (!Value.Check(ConfigSchema, withDefaults) || !proxies.every(isProxyAddress)) {
    const names = [...Value.Errors(ConfigSchema, withDefaults)].map((error) => error.instancePath.replace(/^\//, '') as keyof Config)
    if (!proxies.every(isProxyAddress)) names.push('TRUST_PROXY')
    const problems = names.map((name) => `${name}=${JSON.stringify(raw[name])} is invalid: ${describe(name)}`)
    throw new ConfigError(`Invalid configuration: ${[...new Set(problems)].join('; ')}`)
  }
  return withDefaults as Config
}

function describe (name: keyof Config): string {
  switch (name) {
    case 'PORT': return 'expected an integer from 0 to 65535'
    case 'HOST': return 'expected a host name or address'
    case 'DATABASE_PATH': return 'expected a file path or :memory:'
    case 'LOG_LEVEL': return `expected one of ${LOG_LEVELS.join(', ')}`
    case 'RATE_LIMIT_MAX': return 'expected requests per minute per client, 0 to switch the limit off'
    case 'CORS_WRITE_ORIGINS': return 'expected comma-separated origins like https://app.example.org'
    case 'DATABASE_SYNCHRONOUS': return 'expected normal (an acknowledged write survives a crash of the process) or full (also a power loss or a crash of the system)'
    case 'TRUST_PROXY': return 'expected comma-separated proxy addresses or subnets like 127.0.0.1,10.0.0.0/8 (or loopback)'
  }
}
