import { parseArgs } from 'node:util'
import { loadConfig } from '../config.ts'
import { migrateDatabase, openDatabase } from '../db/client.ts'
import { isValidScope } from '../lib/api-keys.ts'
import { createApiKeysRepository } from '../repositories/api-keys-repository.ts'

const USAGE = `Usage:
  npm run apikey -- create --name <name> --scope <scope> [--scope <scope> ...]
  npm run apikey -- list
  npm run apikey -- revoke <id or prefix>

Scopes: directory:write, facility:<facility uuid>:write, contacts:read-internal, admin`

function fail (message: string): never {
  console.error(`${message}\n\n${USAGE}`)
  process.exit(2)
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { name: { type: 'string' }, scope: { type: 'string', multiple: true } }
})
const [command, argument] = positionals

const db = openDatabase(loadConfig().DATABASE_PATH)
migrateDatabase(db)
const keys = createApiKeysRepository(db)

try {
  if (command === 'create') {
    const name = values.name?.trim()
    const scopes = values.scope ?? []
    if (!name) fail('create needs --name')
    if (scopes.length === 0) fail('create needs at least one --scope')
    const invalid = scopes.filter((scope) => !isValidScope(scope))
    if (invalid.length > 0) fail(`unknown scope(s): ${invalid.join(', ')}`)
    const { key, info } = keys.create(name, scopes)
    console.log(`Created key ${info.id} (${info.name}) with scopes ${info.scopes.join(', ')}.`)
    console.log('The secret is shown only now; store it safely:')
    console.log(key)
  } else if (command === 'list') {
    for (const key of keys.list()) {
      console.log([key.id, key.prefix, key.name, key.scopes.join(','), key.revokedAt === null ? 'active' : `revoked ${key.revokedAt}`, key.lastUsedAt ?? 'never used'].join('\t'))
    }
  } else if (command === 'revoke') {
    if (!argument) fail('revoke needs the key id or prefix')
    const revoked = keys.revoke(argument)
    if (revoked === undefined) fail(`no key ${argument}`)
    console.log(`Revoked key ${revoked.id} (${revoked.name}).`)
  } else {
    fail(command === undefined ? 'a command is needed' : `unknown command ${command}`)
  }
} finally {
  db.$client.close()
}
