import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.ts'

t.test('defaults', async (t) => {
  t.same(loadConfig({}), { PORT: 3000, HOST: '127.0.0.1', DATABASE_PATH: 'data/partner-directory.db', LOG_LEVEL: 'info', RATE_LIMIT_MAX: 600, CORS_WRITE_ORIGINS: '', TRUST_PROXY: '', DATABASE_SYNCHRONOUS: 'normal' })
})

t.test('values from the environment', async (t) => {
  t.same(loadConfig({ PORT: '8080', HOST: '0.0.0.0', DATABASE_PATH: '/tmp/x.db', LOG_LEVEL: 'debug', RATE_LIMIT_MAX: '0', CORS_WRITE_ORIGINS: 'https://a.example.org,http://localhost:5173', TRUST_PROXY: '127.0.0.1,10.0.0.0/8', DATABASE_SYNCHRONOUS: 'full' }),
    { PORT: 8080, HOST: '0.0.0.0', DATABASE_PATH: '/tmp/x.db', LOG_LEVEL: 'debug', RATE_LIMIT_MAX: 0, CORS_WRITE_ORIGINS: 'https://a.example.org,http://localhost:5173', TRUST_PROXY: '127.0.0.1,10.0.0.0/8', DATABASE_SYNCHRONOUS: 'full' })
  t.throws(() => loadConfig({ DATABASE_SYNCHRONOUS: 'off' }), /DATABASE_SYNCHRONOUS="off" is invalid: expected normal .* or full/)
})

t.test('DATABASE_SYNCHRONOUS sets SQLite\'s synchronous mode of the server\'s connection', async (t) => {
  const { buildApp } = await import('../../src/app.ts')
  for (const [setting, pragma] of [['normal', 1], ['full', 2]] as const) {
    const app = await buildApp({ config: { DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent', DATABASE_SYNCHRONOUS: setting }, seed: false })
    t.equal(app.db.$client.pragma('synchronous', { simple: true }), pragma, setting)
    await app.close()
  }
})

t.test('a bad value stops the start with a message naming the setting', async (t) => {
  t.throws(() => loadConfig({ PORT: 'eighty' }), new ConfigError('Invalid configuration: PORT="eighty" is invalid: expected an integer from 0 to 65535'))
  t.throws(() => loadConfig({ PORT: '70000' }), /PORT=70000 is invalid/)
  t.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL="loud" is invalid: expected one of fatal, error, warn, info, debug, trace, silent/)
  t.throws(() => loadConfig({ RATE_LIMIT_MAX: 'lots' }), /RATE_LIMIT_MAX="lots" is invalid/)
  t.throws(() => loadConfig({ CORS_WRITE_ORIGINS: 'example.org' }), /CORS_WRITE_ORIGINS="example.org" is invalid/)
  t.throws(() => loadConfig({ TRUST_PROXY: '10.0.0.1, evil' }), /TRUST_PROXY="10.0.0.1, evil" is invalid/)
  // Only addresses, subnets and the named ranges: anything else would stop the start with a stack trace.
  for (const bad of ['evil', 'true', '1', '10.0.0.0/33', '::1/129', '10.0.0.1/8/8', '256.0.0.1']) {
    t.throws(() => loadConfig({ TRUST_PROXY: bad }), new RegExp(`TRUST_PROXY=${JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is invalid`), bad)
  }
  for (const good of ['loopback', '::1', '127.0.0.1,::1', '10.0.0.0/8', 'uniquelocal,fd00::/8']) {
    t.equal(loadConfig({ TRUST_PROXY: good }).TRUST_PROXY, good, good)
  }
  const error = t.throws(() => loadConfig({ PORT: '-1', LOG_LEVEL: 'x' })) as Error
  t.match(error.message, /PORT/)
  t.match(error.message, /LOG_LEVEL/)
})

t.test('the server refuses to start with a bad setting and names it', async (t) => {
  const { spawnSync } = await import('node:child_process')
  const { serverBundle } = await import('../server-process.ts')
  // The server as `npm start` runs it (the bundle), without tap's loader.
  const result = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, serverBundle()], {
    env: { ...process.env, PORT: 'not-a-port', DATABASE_PATH: ':memory:' },
    encoding: 'utf8',
    timeout: 30_000
  })
  t.equal(result.status, 1)
  t.match(result.stderr, /Invalid configuration: PORT="not-a-port" is invalid/)
})
