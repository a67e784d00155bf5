import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync, statfsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'

// What SQLite's errors say about the storage under the database, for answers a client can act on
// (503 with Retry-After instead of 500) and for a clear message when the service cannot start.
//
// better-sqlite3 throws a SqliteError whose `code` is SQLite's extended result code. A full disk
// is SQLITE_FULL (write() failed with ENOSPC); a file-size limit (EFBIG), a file system that
// turned read-only under an open file (EROFS) and failing hardware are all SQLITE_IOERR_* with the
// errno hidden, so for those the location of the database is examined to tell which it is.

export type StorageCondition = 'full' | 'read-only' | 'busy' | 'unavailable'

export interface StorageFault {
  condition: StorageCondition
  code: string
}

// Below this much free space an I/O error while writing is taken as a full disk.
const LOW_SPACE_BYTES = 1024 * 1024

export function sqliteErrorCode (error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' && /^SQLITE_[A-Z_]+$/.test(code) ? code : undefined
}

// The storage condition behind an SQLite error, or undefined for errors that are not about the
// storage (constraint violations, misuse, corruption: those stay 500s). `databaseFile` is the
// database's path, for telling the causes of an I/O error apart.
export function classifySqliteError (error: unknown, databaseFile?: string): StorageFault | undefined {
  const code = sqliteErrorCode(error)
  if (code === undefined) return undefined
  if (code === 'SQLITE_FULL') return { condition: 'full', code }
  if (code.startsWith('SQLITE_READONLY')) return { condition: 'read-only', code }
  if (code.startsWith('SQLITE_BUSY')) return { condition: 'busy', code }
  if (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PROTOCOL') {
    return { condition: diagnoseLocation(databaseFile) ?? 'unavailable', code }
  }
  return undefined
}

const isFile = (file: string | undefined): file is string => file !== undefined && file !== '' && file !== ':memory:'

// Read-only (EROFS, or no permission) or full (no free space, or a file-size limit reached) —
// or undefined when the location looks fine. Only runs after an error, so synchronous calls are
// fine.
export function diagnoseLocation (databaseFile: string | undefined): 'full' | 'read-only' | undefined {
  if (!isFile(databaseFile)) return undefined
  const file = resolve(databaseFile)
  const dir = dirname(file)
  for (const path of [file, dir]) {
    try {
      accessSync(path, constants.W_OK)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return 'read-only'
    }
  }
  try {
    const space = statfsSync(dir)
    if (space.bavail * space.bsize < LOW_SPACE_BYTES) return 'full'
  } catch {}
  const limit = fileSizeLimit()
  if (limit !== undefined) {
    const largest = Math.max(...[file, `${file}-wal`].map((path) => { try { return statSync(path).size } catch { return 0 } }))
    if (largest + LOW_SPACE_BYTES >= limit) return 'full'
  }
  return undefined
}

// The soft RLIMIT_FSIZE of this process in bytes (Linux), or undefined when there is none.
function fileSizeLimit (): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max file size'))
    const soft = line?.slice('Max file size'.length).trim().split(/\s+/)[0]
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft)
  } catch {
    return undefined
  }
}

// A database that cannot be used, found at start: the message is one line for the operator.
export class DatabaseStartError extends Error {
  override name = 'DatabaseStartError'
}

function reason (error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException
  switch (code) {
    case 'EROFS': return 'the file system is read-only (EROFS)'
    case 'EACCES':
    case 'EPERM': return `permission denied for this user (${code}${typeof process.getuid === 'function' ? `, uid ${process.getuid()}` : ''})`
    case 'ENOSPC': return 'the disk is full (ENOSPC)'
    case 'ENOTDIR': return 'a part of the path is not a folder (ENOTDIR)'
    default: return message.split('\n')[0] ?? message
  }
}

// A recursive mkdir reports ENOENT for the folder it wanted; the cause is usually that the nearest
// existing parent is not writable (EROFS, EACCES).
function creationError (dir: string, error: unknown): unknown {
  let parent = dir
  while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent)
  try {
    accessSync(parent, constants.W_OK)
  } catch (parentError) {
    return parentError
  }
  return error
}

const ADVICE = 'Make it writable or set DATABASE_PATH to a writable place, then start again.'

// The service writes (migrations, the first seed, every API write, SQLite's -wal and -shm files
// next to the database), so it starts only on a writable database in a writable folder. Fails
// with a DatabaseStartError naming the path and the cause; creates a missing folder.
export function assertWritableLocation (databaseFile: string | Buffer): void {
  if (typeof databaseFile !== 'string' || !isFile(databaseFile)) return
  const file = resolve(databaseFile)
  const dir = dirname(file)
  try {
    mkdirSync(dir, { recursive: true })
  } catch (error) {
    throw new DatabaseStartError(`Cannot start: the folder ${dir} for the database ${file} cannot be created: ${reason(creationError(dir, error))}. ${ADVICE}`)
  }
  if (existsSync(file)) {
    try {
      accessSync(file, constants.R_OK | constants.W_OK)
    } catch (error) {
      throw new DatabaseStartError(`Cannot start: the database ${file} is not writable: ${reason(error)}. ${ADVICE}`)
    }
  }
  try {
    accessSync(dir, constants.W_OK)
  } catch (error) {
    throw new DatabaseStartError(`Cannot start: the folder ${dir} of the database ${file} is not writable (SQLite keeps its -wal and -shm files there): ${reason(error)}. ${ADVICE}`)
  }
}

const START_CONDITIONS: Record<StorageCondition, string> = {
  full: 'its storage is full',
  'read-only': 'its storage is read-only',
  busy: 'it is locked by another process',
  unavailable: 'its storage reported an I/O error'
}

// One line for an error that stopped the start because of the database, or undefined for
// anything else (which keeps its stack trace: it is a bug). The SQLite error may be the cause of
// another (drizzle's migrator wraps it, or even replaces it with the failure of its ROLLBACK after
// SQLite rolled back by itself), so the location is examined too.
export function startFailureMessage (error: unknown, databaseFile: string): string | undefined {
  if (error instanceof DatabaseStartError) return error.message
  const chain: unknown[] = []
  for (let e: unknown = error; e !== undefined && e !== null && chain.length < 5; e = (e as { cause?: unknown }).cause) chain.push(e)
  const sqliteErrors = chain.filter((e) => sqliteErrorCode(e) !== undefined)
  const first = sqliteErrors[0]
  if (first === undefined) return undefined
  const file = isFile(databaseFile) ? resolve(databaseFile) : databaseFile
  const fault = sqliteErrors.map((e) => classifySqliteError(e, databaseFile)).find((f) => f !== undefined)
  let cause: string
  if (fault !== undefined) cause = `${START_CONDITIONS[fault.condition]} (${fault.code})`
  else {
    const condition = diagnoseLocation(databaseFile)
    cause = condition !== undefined
      ? START_CONDITIONS[condition]
      : `SQLite: ${(first as Error).message.split('\n')[0]} (${sqliteErrorCode(first)})`
  }
  const advice = fault?.condition === 'busy' ? ' Wait for the other process to finish, then start again.' : ''
  return `Cannot start: the database ${file} cannot be used: ${cause}.${advice}`
}
