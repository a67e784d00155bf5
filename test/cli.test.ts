import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import Database from 'better-sqlite3'
import { apikeyCommand } from '../src/cli/apikey-command.ts'
import { startServer } from './server-process.ts'

function tempDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'mpd-cli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const run = (script: string, args: string[], env: Record<string, string>) => spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
  env: { ...process.env, ...env, LOG_LEVEL: 'silent' }, encoding: 'utf8', timeout: 60_000
})

// The command runs in-process (apikeyCommand); one real `npm run apikey` process checks the
// entry point, its output and exit codes.
function apikey (args: string[], databasePath: string) {
  const out: string[] = []
  const err: string[] = []
  const status = apikeyCommand(args, databasePath, { out: (line) => out.push(line), err: (line) => err.push(line) })
  return { status, stdout: out.join('\n'), stderr: err.join('\n') }
}

t.test('npm run apikey: create shows the secret once, list shows no secret, revoke', async (t) => {
  const env = { DATABASE_PATH: join(tempDir(t), 'keys.db') }
  const created = run('src/cli/apikey.ts', ['create', '--name', 'SPK', '--scope', 'directory:write', '--scope', 'contacts:read-internal'], env)
  t.equal(created.status, 0, created.stderr)
  const key = created.stdout.trim().split('\n').at(-1)!
  t.match(key, /^mpd_[A-Za-z0-9]{10}_[A-Za-z0-9_-]{43}$/)
  const list = apikey(['list'], env.DATABASE_PATH)
  t.match(list.stdout, /SPK\tdirectory:write,contacts:read-internal\tactive/)
  t.notMatch(list.stdout, key.slice('mpd_'.length + 11), 'the secret is never shown again')
  const db = new Database(env.DATABASE_PATH, { readonly: true })
  const stored = db.prepare('select secret_hash from api_keys').pluck().get() as string
  db.close()
  t.match(stored, /^[0-9a-f]{64}$/, 'only a hash is stored')
  const prefix = key.split('_')[1]!
  const revoked = apikey(['revoke', prefix], env.DATABASE_PATH)
  t.equal(revoked.status, 0)
  t.match(revoked.stdout, /Revoked key .* \(SPK\)/)
  t.match(apikey(['list'], env.DATABASE_PATH).stdout, /\trevoked /)
  const bad = apikey(['create', '--name', 'x', '--scope', 'everything'], env.DATABASE_PATH)
  t.equal(bad.status, 2)
  t.match(bad.stderr, /unknown scope\(s\): everything/)
  t.equal(apikey(['revoke', 'nosuchkey'], env.DATABASE_PATH).status, 2)
  t.equal(apikey(['create', '--scope', 'admin'], env.DATABASE_PATH).status, 2, 'a name is required')
  t.equal(apikey(['frobnicate'], env.DATABASE_PATH).status, 2)
  t.equal(apikey(['list', '--colour'], env.DATABASE_PATH).status, 2, 'unknown options are usage errors')
})

t.test('the server shuts down gracefully on SIGTERM and npm run backup copies a consistent database', async (t) => {
  const dir = tempDir(t)
  const env = { DATABASE_PATH: join(dir, 'directory.db') }
  // The server as `npm start` runs it (the esbuild bundle), a real process.
  const server = await startServer({ databasePath: env.DATABASE_PATH, env: { LOG_LEVEL: 'info' } })
  t.teardown(() => server.stop('SIGKILL'))
  const address = server.url
  const res = await fetch(`${address}/v1/facilities?limit=1`)
  t.equal(res.status, 200)
  const backup = run('src/cli/backup.ts', [join(dir, 'backup.db')], { DATABASE_PATH: env.DATABASE_PATH })
  t.equal(backup.status, 0, backup.stderr)
  const copy = new Database(join(dir, 'backup.db'), { readonly: true })
  t.equal(copy.pragma('integrity_check', { simple: true }), 'ok')
  t.equal(copy.prepare('select count(*) from facilities').pluck().get(), 14)
  copy.close()
  t.equal(await server.stop('SIGTERM'), 0, 'exits cleanly')
  t.match(server.output(), /shutting down/)
  t.notOk(existsSync(`${env.DATABASE_PATH}-wal`), 'the database was closed (WAL checkpointed and removed)')
})

t.test('npm run seed:validate checks the seed files (and finds a broken one)', async (t) => {
  const ok = run('seed/validate-data.ts', [], {})
  t.equal(ok.status, 0, ok.stderr)
  t.match(ok.stdout, /seed data ok: \d+ sources, \d+ organisations, 14 facilities/)
  // A copy of the seed files with one facility's slug broken must fail, naming the file.
  const { cpSync, readFileSync, writeFileSync } = await import('node:fs')
  const dir = join(tempDir(t), 'data')
  cpSync(new URL('../seed/data/', import.meta.url), dir, { recursive: true })
  const file = join(dir, 'facilities.json')
  const facilities = JSON.parse(readFileSync(file, 'utf8'))
  facilities[0].slug = 'Not A Slug'
  writeFileSync(file, JSON.stringify(facilities))
  const broken = run('seed/validate-data.ts', [], { SEED_DATA_DIR: dir })
  t.equal(broken.status, 1)
  t.match(broken.stdout + broken.stderr, /facilities\.json/)
})
