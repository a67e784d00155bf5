import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import Database from 'better-sqlite3'

function tempDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'mpd-cli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const run = (script: string, args: string[], env: Record<string, string>) => spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
  env: { ...process.env, ...env, LOG_LEVEL: 'silent' }, encoding: 'utf8', timeout: 60_000
})

t.test('npm run apikey: create shows the secret once, list shows no secret, revoke', async (t) => {
  const env = { DATABASE_PATH: join(tempDir(t), 'keys.db') }
  const created = run('src/cli/apikey.ts', ['create', '--name', 'SPK', '--scope', 'directory:write', '--scope', 'contacts:read-internal'], env)
  t.equal(created.status, 0, created.stderr)
  const key = created.stdout.trim().split('\n').at(-1)!
  t.match(key, /^mpd_[A-Za-z0-9]{10}_[A-Za-z0-9_-]{43}$/)
  const list = run('src/cli/apikey.ts', ['list'], env)
  t.match(list.stdout, /SPK\tdirectory:write,contacts:read-internal\tactive/)
  t.notMatch(list.stdout, key.slice('mpd_'.length + 11), 'the secret is never shown again')
  const db = new Database(env.DATABASE_PATH, { readonly: true })
  const stored = db.prepare('select secret_hash from api_keys').pluck().get() as string
  db.close()
  t.match(stored, /^[0-9a-f]{64}$/, 'only a hash is stored')
  const prefix = key.split('_')[1]!
  const revoked = run('src/cli/apikey.ts', ['revoke', prefix], env)
  t.equal(revoked.status, 0)
  t.match(run('src/cli/apikey.ts', ['list'], env).stdout, /\trevoked /)
  const bad = run('src/cli/apikey.ts', ['create', '--name', 'x', '--scope', 'everything'], env)
  t.equal(bad.status, 2)
  t.match(bad.stderr, /unknown scope\(s\): everything/)
})

t.test('the server shuts down gracefully on SIGTERM and npm run backup copies a consistent database', async (t) => {
  const dir = tempDir(t)
  const env = { DATABASE_PATH: join(dir, 'directory.db'), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' }
  const server = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { env: { ...process.env, ...env } })
  let output = ''
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 30_000)
    server.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (match) { clearTimeout(timer); resolve(match[1]!) }
    })
  })
  const res = await fetch(`${address}/v1/facilities?limit=1`)
  t.equal(res.status, 200)
  const backup = run('src/cli/backup.ts', [join(dir, 'backup.db')], { DATABASE_PATH: env.DATABASE_PATH })
  t.equal(backup.status, 0, backup.stderr)
  const copy = new Database(join(dir, 'backup.db'), { readonly: true })
  t.equal(copy.pragma('integrity_check', { simple: true }), 'ok')
  t.equal(copy.prepare('select count(*) from facilities').pluck().get(), 14)
  copy.close()
  const exit = new Promise<number | null>((resolve) => server.on('exit', resolve))
  server.kill('SIGTERM')
  t.equal(await exit, 0, 'exits cleanly')
  t.match(output, /shutting down/)
  t.notOk(existsSync(`${env.DATABASE_PATH}-wal`), 'the database was closed (WAL checkpointed and removed)')
})
