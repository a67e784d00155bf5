import { resolve } from 'node:path'
import { loadConfig } from '../config.ts'
import { openDatabase } from '../db/client.ts'

// SQLite's online backup API copies a consistent snapshot while the service keeps running.
const target = process.argv[2]
if (!target) {
  console.error('Usage: npm run backup -- <file>')
  process.exit(2)
}
const db = openDatabase(loadConfig().DATABASE_PATH)
try {
  await db.$client.backup(resolve(target))
  console.log(`Backed up to ${resolve(target)}`)
} finally {
  db.$client.close()
}
