import t, { type Test } from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { PROJECT_ROOT } from '../src/lib/paths.ts'
import { prepareDatabase, serverBundle, startServer, straceAttached, type ServerProcess } from './server-process.ts'

// Storage faults with the real server (the `npm start` bundle) on a real file system:
//
// - read-only storage at start: the start fails with one line naming the path and the cause;
// - full disk while running: writes answer 503 /problems/storage-full, reads keep working, and
//   writes work again once space is freed, without a restart;
// - storage turning read-only while running: writes answer 503 /problems/storage-read-only,
//   reads keep working, writes work again when it is writable;
// - afterwards the file passes integrity_check, every acknowledged write is there and no
//   refused one is.
//
// As root the database lives on a small tmpfs of its own (mount -t tmpfs), filled up with a
// filler file. Without the right to mount (or with FAULTS_FORCE_FALLBACK=1) the full disk is a
// file-size limit instead: the soft RLIMIT_FSIZE of the running server, set with prlimit (the
// hard limit stays, so it can be raised again; write() fails with EFBIG, SIGXFSZ is ignored);
// and the read-only start uses file permissions (only without root, which ignores them).
//
// Linux refuses `mount -o remount,ro` (EBUSY) while a process holds a file of that file system
// open for writing, as the server does with its database, so a file system cannot turn
// read-only under the running server by remount. What a file system forced read-only by the
// kernel (after I/O errors) looks like to the process is injected with strace instead: pwrite64
// fails with EROFS and access() reports EROFS; detaching strace clears it.

const isRoot = process.getuid?.() === 0
const forceFallback = process.env.FAULTS_FORCE_FALLBACK === '1'
const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0
const run = (command: string, args: string[]) => spawnSync(command, args, { encoding: 'utf8' })

mkdirSync(join(PROJECT_ROOT, 'tmp'), { recursive: true })
const root = mkdtempSync(join(PROJECT_ROOT, 'tmp', 'faults-'))
const storage = join(root, 'storage')
mkdirSync(storage)
const prepared = prepareDatabase()

let mounted = false
let mountProblem = forceFallback ? 'FAULTS_FORCE_FALLBACK=1' : ''
if (!forceFallback) {
  const result = run('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0755', 'tmpfs', storage])
  mounted = result.status === 0
  if (!mounted) mountProblem = (result.stderr || result.error?.message || 'mount failed').trim()
}
// On the tmpfs: a copy of the prepared (migrated, unseeded) database; otherwise the prepared file.
const databaseFile = mounted ? join(storage, 'directory.db') : prepared.file
if (mounted) copyFileSync(prepared.file, databaseFile)

// The server as `npm start` runs it: without tap's NODE_OPTIONS, which tap's process tracking
// puts back into the environment of every child it spawns. Its loader installs signal-exit
// handlers, which turn SIGXFSZ (ignored by Node, so that write() fails with EFBIG) into a fatal
// signal. startServer drops it (env -u); the direct spawn below does the same.
const WITHOUT_TAP = ['env', '-u', 'NODE_OPTIONS']

const servers = new Set<ServerProcess>()
const helpers = new Set<ChildProcess>()
let cleanedUp = false

function cleanupNow (): void {
  if (cleanedUp) return
  cleanedUp = true
  for (const child of [...helpers, ...[...servers].map((s) => s.child)]) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  if (mounted) {
    // The killed processes may still hold files for a moment: detach lazily then.
    if (run('umount', [storage]).status !== 0) run('umount', ['-l', storage])
    mounted = false
  }
  rmSync(root, { recursive: true, force: true })
  prepared.cleanup()
}

// Never leave a server, a strace or a mount behind, whatever failed.
process.on('exit', cleanupNow)
t.teardown(async () => {
  for (const helper of helpers) {
    if (helper.exitCode === null && helper.signalCode === null) {
      const exited = new Promise((resolve) => helper.once('exit', resolve))
      helper.kill('SIGTERM')
      await exited
    }
  }
  for (const server of servers) await server.stop('SIGKILL')
  cleanupNow()
})

t.comment(mounted
  ? `full disk: a real 16 MiB tmpfs at ${storage}, filled with a filler file`
  : `full disk: no tmpfs (${mountProblem}); RLIMIT_FSIZE fallback (prlimit on the server: EFBIG)`)

interface Answer { status: number, headers: Headers, body: any }

async function request (server: ServerProcess, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      // A read built from the database, not from the response cache.
      'cache-control': 'no-cache',
      ...(body === undefined ? {} : { 'content-type': 'application/json', authorization: `Bearer ${prepared.key}` })
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text === '' ? null : JSON.parse(text) }
}

const acknowledged: string[] = []
const refused: string[] = []

async function create (server: ServerProcess, slug: string): Promise<Answer> {
  const answer = await request(server, 'POST', '/v1/target-groups', {
    slug, labelDe: `Fehlertest ${slug}`, labelEn: `Fault test ${slug}`, description: 'Angelegt vom Speicherfehler-Test.'
  })
  if (answer.status === 201) acknowledged.push(slug)
  else refused.push(slug)
  return answer
}

// Skips the rest of a scenario, with the reason in the TAP output.
function skipped (t: Test, reason: string): void {
  t.pass('scenario skipped', { skip: reason })
}

function isStorageProblem (t: Test, answer: Answer, type: string, what: RegExp): void {
  t.equal(answer.status, 503, `${type}: 503`)
  t.match(answer.headers.get('content-type'), /^application\/problem\+json/, 'problem+json')
  t.ok(Number(answer.headers.get('retry-after')) > 0, `Retry-After: ${answer.headers.get('retry-after')}`)
  t.equal(answer.body?.type, type)
  t.equal(answer.body?.status, 503)
  t.match(answer.body?.detail, what, 'the detail says what happened')
  t.match(answer.body?.detail, /Nothing was written/, 'the detail says that nothing was written')
  t.notMatch(JSON.stringify(answer.body), /\bat .+:\d+:\d+|SqliteError|SQLITE_/, 'no stack or internals')
}

async function readsWork (t: Test, server: ServerProcess): Promise<void> {
  const list = await request(server, 'GET', '/v1/target-groups?limit=500')
  t.equal(list.status, 200, 'a list read answers 200')
  const slugs = (list.body?.items ?? []).map((item: { slug: string }) => item.slug)
  t.ok(acknowledged.every((slug) => slugs.includes(slug)), 'it has every acknowledged write')
  t.equal((await request(server, 'GET', '/v1/facilities/kreativhaus')).status, 200, 'an item read answers 200')
  t.equal((await request(server, 'GET', '/ready')).status, 200, '/ready answers 200: the service still serves reads')
}

// The server's log lines (pino JSON) about storage faults.
function storageLog (server: ServerProcess): Array<Record<string, any>> {
  return server.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line))
    .filter((entry) => entry.storage !== undefined)
}

// The recovery is logged when the response has been sent, so it may arrive just after it.
async function recoveryLogged (server: ServerProcess, after: string): Promise<Record<string, any> | undefined> {
  for (let i = 0; i < 100; i++) {
    const entry = storageLog(server).find((e) => e.storage === 'ok' && e.after === after)
    if (entry !== undefined) return entry
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return undefined
}

// The WAL emptied (by a connection of this process), so the next write needs new space.
function truncateWal (): void {
  const db = new Database(databaseFile)
  try {
    db.pragma('wal_checkpoint(TRUNCATE)')
  } finally {
    db.close()
  }
}

function fillUp (path: string): number {
  const fd = openSync(path, 'w')
  const chunk = Buffer.alloc(1024 * 1024, 0x5a)
  let size = chunk.length
  let written = 0
  try {
    for (;;) {
      try {
        written += writeSync(fd, chunk, 0, size)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
        if (size === 512) break
        size = Math.max(512, size >> 2)
      }
    }
  } finally {
    closeSync(fd)
  }
  return written
}

t.test('a database in a read-only place: the start fails with one line naming the path and the cause', async (t) => {
  let cause: RegExp
  let restore: () => void
  if (mounted) {
    const result = run('mount', ['-o', 'remount,ro', storage])
    t.equal(result.status, 0, `the tmpfs remounted read-only ${result.stderr.trim()}`.trim())
    t.comment('read-only start: the tmpfs remounted read-only')
    cause = /read-only \(EROFS\)/
    restore = () => { run('mount', ['-o', 'remount,rw', storage]) }
  } else if (!isRoot) {
    chmodSync(prepared.dir, 0o555)
    chmodSync(databaseFile, 0o444)
    t.comment('read-only start: no tmpfs; the file and its folder made read-only with chmod')
    cause = /permission denied/
    restore = () => { chmodSync(prepared.dir, 0o755); chmodSync(databaseFile, 0o644) }
  } else {
    skipped(t, `needs a read-only file system: mounting is not permitted (${mountProblem}) and root ignores file permissions`)
    return
  }
  try {
    const started = spawnSync(WITHOUT_TAP[0]!, [...WITHOUT_TAP.slice(1), process.execPath, serverBundle()], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, DATABASE_PATH: databaseFile, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 20_000,
      killSignal: 'SIGKILL'
    })
    const output = `${started.stdout}${started.stderr}`.trim()
    t.equal(started.status, 1, 'the process exits with 1')
    t.equal(output.split('\n').length, 1, `one line: ${output}`)
    t.match(output, databaseFile, 'it names the database path')
    t.match(output, cause, 'it names the cause')
    t.notMatch(output, /\n\s+at |SqliteError/, 'no stack trace')
  } finally {
    restore()
  }
})

t.test('full disk, then storage turning read-only, while the server runs', async (t) => {
  // Also the recovery of the read-only start: the same database, writable again, starts (and seeds).
  const wrapper = mounted ? [] : ['bash', '-c', 'trap "" XFSZ; unset NODE_OPTIONS; exec "$0" "$@"']
  const server = await startServer({ databasePath: databaseFile, wrapper })
  servers.add(server)
  const pid = server.child.pid!

  t.test('full disk: writes answer 503 storage-full, reads work, writes work again when space is freed', async (t) => {
    if (!mounted && !has('prlimit')) {
      skipped(t, `needs a tmpfs (${mountProblem}) or prlimit for RLIMIT_FSIZE`)
      return
    }
    t.equal((await create(server, 'faults-before-full')).status, 201, 'a write before the disk is full')
    truncateWal()
    const filler = join(storage, 'filler')
    if (mounted) {
      const bytes = fillUp(filler)
      const { bavail, bsize } = statfsSync(storage)
      t.comment(`filler: ${bytes} bytes; ${bavail * bsize} bytes left on the tmpfs`)
    } else {
      const limited = run('prlimit', ['--pid', String(pid), '--fsize=4096:'])
      t.equal(limited.status, 0, `prlimit --fsize=4096: (the soft limit) ${limited.stderr.trim()}`)
    }

    isStorageProblem(t, await create(server, 'faults-while-full-1'), '/problems/storage-full', /storage is full/)
    isStorageProblem(t, await create(server, 'faults-while-full-2'), '/problems/storage-full', /storage is full/)
    await readsWork(t, server)

    if (mounted) rmSync(filler)
    else t.equal(run('prlimit', ['--pid', String(pid), '--fsize=unlimited:']).status, 0, 'prlimit --fsize=unlimited: (the soft limit)')
    t.equal((await create(server, 'faults-after-full')).status, 201, 'writes work again once space is freed, without a restart')
    await readsWork(t, server)

    const log = storageLog(server)
    const faults = log.filter((entry) => entry.storage === 'full')
    t.equal(faults.length, 1, 'the fault is logged once for both refused writes')
    t.equal(faults[0]?.level, 50, 'at error level')
    t.match(faults[0]?.code, mounted ? 'SQLITE_FULL' : /^SQLITE_IOERR/)
    t.equal((await recoveryLogged(server, 'full'))?.refused, 2, 'the recovery is logged with the number of refused writes')
  })

  t.test('storage turning read-only: writes answer 503 storage-read-only, reads work, writes work again', async (t) => {
    if (mounted) {
      const remount = run('mount', ['-o', 'remount,ro', storage])
      if (remount.status === 0) {
        // Not expected on Linux (see the top of this file), but then the real thing is tested.
        t.comment('the tmpfs remounted read-only under the running server')
        isStorageProblem(t, await create(server, 'faults-while-read-only'), '/problems/storage-read-only', /read-only/)
        await readsWork(t, server)
        t.equal(run('mount', ['-o', 'remount,rw', storage]).status, 0, 'remount,rw')
        t.equal((await create(server, 'faults-after-read-only')).status, 201, 'writes work again')
        return
      }
      t.match(remount.stderr, /busy/i, 'Linux refuses remount,ro while the server holds the database open for writing')
      t.comment(`remount,ro refused: ${remount.stderr.trim().split('\n')[0]}; injecting EROFS with strace instead`)
    }
    if (!has('strace')) {
      // .ci/run installs strace: in CI its absence is a failure, not a skip.
      if (process.env.CI) t.fail('strace is missing: CI installs it before the tests (.ci/run)')
      skipped(t, 'needs strace to inject EROFS into the running server (remount,ro is refused while it holds the file)')
      return
    }
    const injected = ['pwrite64', 'access', 'faccessat', 'faccessat2'].join(',')
    const strace = spawn('strace', ['-f', '-p', String(pid), '-o', '/dev/null', '-e', `trace=${injected}`, '-e', `inject=${injected}:error=EROFS`], { stdio: ['ignore', 'ignore', 'pipe'] })
    helpers.add(strace)
    const stopStrace = async () => {
      if (strace.exitCode !== null || strace.signalCode !== null) return
      const exited = new Promise((resolve) => strace.once('exit', resolve))
      strace.kill('SIGTERM')
      await exited
    }
    const { attached, output: straceOutput } = await straceAttached(strace)
    if (!attached) {
      await stopStrace()
      skipped(t, `strace could not attach to the server: ${straceOutput.trim()}`)
      return
    }
    try {
      isStorageProblem(t, await create(server, 'faults-while-read-only-1'), '/problems/storage-read-only', /read-only/)
      isStorageProblem(t, await create(server, 'faults-while-read-only-2'), '/problems/storage-read-only', /read-only/)
      await readsWork(t, server)
    } finally {
      await stopStrace()
    }
    t.equal((await create(server, 'faults-after-read-only')).status, 201, 'writes work again when the storage is writable, without a restart')
    const log = storageLog(server)
    const faults = log.filter((entry) => entry.storage === 'read-only')
    t.equal(faults.length, 1, 'the fault is logged once')
    t.match(faults[0]?.code, /^SQLITE_IOERR/, 'SQLite reports an I/O error; the read-only location tells the cause')
    t.ok(await recoveryLogged(server, 'read-only'), 'the recovery is logged')
  })

  t.test('the server never crashed, logged no stack and no key; the file is intact with exactly the acknowledged writes', async (t) => {
    if (!t.ok(server.child.exitCode === null && server.child.signalCode === null, 'the server still runs')) {
      t.comment(`server exit: ${server.child.exitCode ?? server.child.signalCode}; its output:\n${server.output().slice(-4000)}`)
    }
    const output = server.output()
    t.notMatch(output, /\n\s+at |"stack"/, 'no stack trace in the log')
    t.notMatch(output, prepared.key, 'the API key is not in the log')
    t.notMatch(output, /"msg":"request failed"/, 'no request failed with a 500')
    t.equal(await server.stop(), 0, 'a clean shutdown')
    servers.delete(server)

    t.notOk(existsSync(`${databaseFile}-wal`), 'the WAL was checkpointed at shutdown')
    const db = new Database(databaseFile, { readonly: true })
    try {
      t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'integrity_check')
      t.same(db.pragma('foreign_key_check'), [], 'foreign_key_check')
      const stored = db.prepare("select slug from target_groups where slug like 'faults-%'").pluck().all() as string[]
      t.ok(acknowledged.length >= 2, `acknowledged writes: ${acknowledged.join(', ')}`)
      t.same(stored.sort(), [...acknowledged].sort(), 'every acknowledged write is there, no refused one')
      t.ok(refused.length >= 2, `refused writes are absent: ${refused.join(', ')}`)
    } finally {
      db.close()
    }
  })
})
