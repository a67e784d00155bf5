import { parseArgs } from 'node:util'
import { migrateDatabase, openDatabase } from '../db/client.ts'
import { isValidScope } from '../lib/api-keys.ts'
import { createApiKeysRepository } from '../repositories/api-keys-repository.ts'

export const USAGE = `Usage:
  npm run apikey -- create --name <name> --scope <scope> [--scope <scope> ...]
  npm run apikey -- list
  npm run apikey -- revoke <id or prefix>

Scopes: directory:write, facility:<facility uuid>:write, contacts:read-internal, admin

The name is public (the actor of the key's writes in the histories, and verifiedBy when a
verification names no one): name the organisation or office that holds the key, not a person.`

export interface Output {
  out: (line: string) => void
  err: (line: string) => void
}

class UsageError extends Error {}

// `npm run apikey`: the command itself, separate from process handling (src/cli/apikey.ts), so
// that tests run it in-process. Returns the exit code: 0 done, 2 wrong usage.
export function apikeyCommand (argv: string[], databasePath: string, output: Output): number {
  let parsed
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { name: { type: 'string' }, scope: { type: 'string', multiple: true } } })
  } catch (error) {
    output.err(`${(error as Error).message}\n\n${USAGE}`)
    return 2
  }
  const { positionals, values } = parsed
  const [command, argument] = positionals
  const fail = (message: string): never => { throw new UsageError(message) }

  const db = openDatabase(databasePath)
  try {
    migrateDatabase(db)
    const keys = createApiKeysRepository(db)
    if (command === 'create') {
      const name = values.name?.trim()
      const scopes = values.scope ?? []
      if (!name) fail('create needs --name')
      if (scopes.length === 0) fail('create needs at least one --scope')
      const invalid = scopes.filter((scope) => !isValidScope(scope))
      if (invalid.length > 0) fail(`unknown scope(s): ${invalid.join(', ')}`)
      const { key, info } = keys.create(name!, scopes)
      output.out(`Created key ${info.id} (${info.name}) with scopes ${info.scopes.join(', ')}.`)
      output.out('The secret is shown only now; store it safely:')
      output.out(key)
    } else if (command === 'list') {
      for (const key of keys.list()) {
        output.out([key.id, key.prefix, key.name, key.scopes.join(','), key.revokedAt === null ? 'active' : `revoked ${key.revokedAt}`, key.lastUsedAt ?? 'never used'].join('\t'))
      }
    } else if (command === 'revoke') {
      if (!argument) fail('revoke needs the key id or prefix')
      const revoked = keys.revoke(argument!)
      if (revoked === undefined) fail(`no key ${argument}`)
      output.out(`Revoked key ${revoked!.id} (${revoked!.name}).`)
    } else {
      fail(command === undefined ? 'a command is needed' : `unknown command ${command}`)
    }
    return 0
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    output.err(`${error.message}\n\n${USAGE}`)
    return 2
  } finally {
    db.$client.close()
  }
}
