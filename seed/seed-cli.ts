import { loadConfig } from '../src/config.ts'
import { migrateDatabase, openDatabase } from '../src/db/client.ts'
import { seedDatabase } from './seed.ts'

const config = loadConfig()
const db = openDatabase(config.DATABASE_PATH)
migrateDatabase(db)
const counts = seedDatabase(db)
db.$client.close()
console.log(`Seeded ${config.DATABASE_PATH}: ${counts.inserted} inserted, ${counts.updated} updated, ${counts.unchanged} unchanged`)
