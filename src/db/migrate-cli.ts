import { loadConfig } from '../config.ts'
import { migrateDatabase, openDatabase } from './client.ts'

const config = loadConfig()
const db = openDatabase(config.DATABASE_PATH)
migrateDatabase(db)
db.$client.close()
console.log(`Migrated ${config.DATABASE_PATH}`)
