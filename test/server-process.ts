import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, relative } from 'node:path'
import { openDatabase, migrateDatabase } from '../src/db/client.ts'
import { PROJECT_ROOT } from '../src/lib/paths.ts'
import { createApiKeysRepository } from '../src/repositories/api-keys-repository.ts'

// Real server processes for the tests that need one (crash, faults, soak, browser, cli): the same
// bundle that `npm start` runs (esbuild.config.mjs). It is built once for all test processes of a
// run into tmp/server-bundle-<hash of what goes into it>/ and reused while that is unchanged.

const BUNDLE_INPUTS = ['src', 'seed', 'package.json', 'package-lock.json', 'tsconfig.json', 'esbuild.config.mjs']

function inputsHash (): string {
  const hash = createHash('sha256')
  const add = (path: string) => {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) add(join(path, name))
    } else {
      hash.update(relative(PROJECT_ROOT, path)).update('\0').update(readFileSync(path)).update('\0')
    }
  }
  for (const input of BUNDLE_INPUTS) add(join(PROJECT_ROOT, input))
  return hash.digest('hex').slice(0, 16)
}

let bundle: string | undefined

export function serverBundle (): string {
  if (bundle !== undefined) return bundle
  const tmp = join(PROJECT_ROOT, 'tmp')
  mkdirSync(tmp, { recursive: true })
  const name = `server-bundle-${inputsHash()}`
  const outfile = join(tmp, name, 'server.mjs')
  if (!existsSync(outfile)) {
    // Built beside and renamed into place: a process that finds the directory finds it complete.
    // When two build at once, the second rename fails and that build is dropped.
    const building = mkdtempSync(join(tmp, 'server-building-'))
    const result = spawnSync(process.execPath, ['esbuild.config.mjs', '--outfile', join(building, 'server.mjs')], { cwd: PROJECT_ROOT, encoding: 'utf8' })
    if (result.status !== 0) {
      rmSync(building, { recursive: true, force: true })
      throw new Error(`building the server bundle failed: ${result.stderr}`)
    }
    try {
      renameSync(building, join(tmp, name))
      // Bundles of other sources are removed once they are a day old (another test process of
      // the same run may still start servers from one built before a file changed).
      const dayAgo = Date.now() - 86_400_000
      for (const old of readdirSync(tmp)) {
        if (/^server-(bundle|building)-/.test(old) && old !== name && statSync(join(tmp, old)).mtimeMs < dayAgo) rmSync(join(tmp, old), { recursive: true, force: true })
      }
    } catch {
      rmSync(building, { recursive: true, force: true })
    }
    if (!existsSync(outfile)) throw new Error(`the server bundle ${outfile} is missing after the build`)
  }
  bundle = outfile
  return outfile
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    }).on('error', reject)
  })
}

export interface ServerProcess {
  url: string
  port: number
  child: ChildProcess
  // Everything the process wrote to stdout and stderr (pino lines, errors).
  output: () => string
  // Resolves with the exit code (or signal name) when the process has ended.
  exited: Promise<number | string>
  stop: (signal?: NodeJS.Signals) => Promise<number | string>
}

export interface StartOptions {
  databasePath: string
  env?: Record<string, string>
  port?: number
  // The command prefix, e.g. ['bash', '-c', 'ulimit -f 100; exec "$0" "$@"'] to run the server
  // under a shell that sets limits first.
  wrapper?: string[]
  // Options for node itself that NODE_OPTIONS does not take, e.g. ['--cpu-prof', '--cpu-prof-dir=…'].
  nodeArgs?: string[]
  readyTimeoutMs?: number
}

export async function startServer (options: StartOptions): Promise<ServerProcess> {
  const port = options.port ?? await freePort()
  // tap puts its own loader into NODE_OPTIONS of every child (even when cleared through env);
  // that loader installs signal handlers (SIGTERM, SIGXFSZ, …), so the server would not behave
  // as under `npm start`. env -u removes it.
  const command = ['env', '-u', 'NODE_OPTIONS', ...(options.wrapper ?? []), process.execPath, ...(options.nodeArgs ?? []), serverBundle()]
  const child = spawn(command[0]!, command.slice(1), {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_PATH: options.databasePath, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const chunks: string[] = []
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => chunks.push(chunk.toString()))
  let ended = false
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => {
    ended = true
    resolve(code ?? signal ?? 'unknown')
  }))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000)
  for (;;) {
    if (ended) throw new Error(`the server exited before it was ready: ${chunks.join('')}`)
    try {
      const res = await fetch(`${url}/ready`)
      await res.arrayBuffer()
      if (res.ok) break
    } catch {}
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`the server was not ready in time: ${chunks.join('')}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return {
    url,
    port,
    child,
    output: () => chunks.join(''),
    exited,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (!ended) child.kill(signal)
      return await exited
    }
  }
}

// A migrated (and, unless seed is false, seeded on first start) database file in a fresh folder,
// with an API key of the given scopes and one that reads internal contacts (the whole change
// feed); the folder is removed by the returned cleanup.
export function prepareDatabase (scopes: string[] = ['directory:write']): { dir: string, file: string, key: string, internalKey: string, cleanup: () => void } {
  mkdirSync(join(PROJECT_ROOT, 'tmp'), { recursive: true })
  const dir = mkdtempSync(join(PROJECT_ROOT, 'tmp', 'db-'))
  const file = join(dir, 'directory.db')
  const db = openDatabase(file)
  migrateDatabase(db)
  const key = createApiKeysRepository(db).create('test writer', scopes).key
  const internalKey = createApiKeysRepository(db).create('test reader', ['contacts:read-internal']).key
  db.$client.close()
  return { dir, file, key, internalKey, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

// Resolves once strace (spawned with stderr piped) has attached to its process, with what it
// printed; not attached after the timeout or when it exits first (no ptrace rights, no process).
export async function straceAttached (strace: ChildProcess, timeoutMs = 5000): Promise<{ attached: boolean, output: string }> {
  let output = ''
  const attached = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs)
    strace.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (/attached/.test(output)) { clearTimeout(timer); resolve(true) }
    })
    strace.once('exit', () => { clearTimeout(timer); resolve(false) })
  })
  return { attached, output }
}
