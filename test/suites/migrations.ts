import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import { MIGRATIONS_FOLDER, migrateDatabase, openDatabase } from '../../src/db/client.ts'
import { buildApp } from '../../src/app.ts'

// A database that was created by the first migration and holds data must upgrade to the
// latest schema with every record kept, its change feed backfilled and its search index built.

function firstMigrationOnly (dir: string): string {
  const folder = join(dir, 'migrations-0000')
  mkdirSync(join(folder, 'meta'), { recursive: true })
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8'))
  const first = journal.entries[0]
  copyFileSync(join(MIGRATIONS_FOLDER, `${first.tag}.sql`), join(folder, `${first.tag}.sql`))
  writeFileSync(join(folder, 'meta/_journal.json'), JSON.stringify({ ...journal, entries: [first] }))
  return folder
}

t.test('a database of the first migration upgrades to the latest with all data kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mpd-migrate-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'old.db')
  const old = openDatabase(file)
  migrate(old, { migrationsFolder: firstMigrationOnly(dir) })
  const tables = old.$client.prepare("select name from sqlite_master where type = 'table'").pluck().all()
  t.notOk(tables.includes('changes'), 'the old schema has no change feed yet')
  const at = '2019-01-01T00:00:00.000Z'
  const sql = old.$client
  sql.prepare(`insert into organisations (id, slug, kind, name, alternate_names, notes, sources, created_at, updated_at)
    values ('00000000-0000-4000-8000-000000000001', 'alter-traeger', 'operator', 'Alter Träger e.V.', '[]', '[]', '[]', ?, ?)`).run(at, at)
  sql.prepare(`insert into facilities (id, slug, name, alternate_names, operator_id, street, postcode, city, ortsteil, partnership_status,
    partnership_evidence, status, notes, sources, created_at, updated_at)
    values ('00000000-0000-4000-8000-000000000002', 'alter-treff', 'Alter Nachbarschaftstreff', '["Treff"]', '00000000-0000-4000-8000-000000000001',
    'Altstraße 1', '10115', 'Berlin', 'Mitte', 'unknown', 'Test', 'active', '[]', '[{"url":"https://example.org","title":"Alt","facts":["name"]}]', ?, ?)`).run(at, at)
  sql.prepare("insert into facility_types (facility_id, type) values ('00000000-0000-4000-8000-000000000002', 'nachbarschaftstreff')").run()
  sql.prepare(`insert into categories (id, slug, label_de, label_en, description, created_at, updated_at)
    values ('00000000-0000-4000-8000-000000000003', 'begegnung', 'Begegnung', 'Meeting', 'Treffen.', ?, ?)`).run(at, at)
  sql.prepare(`insert into services (id, facility_id, name, category_id, status, sources, created_at, updated_at)
    values ('00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000002', 'Kaffeerunde für Ältere', '00000000-0000-4000-8000-000000000003', 'active', '[]', ?, ?)`).run(at, at)
  const contact = sql.prepare(`insert into contacts (id, name, role, organisation_id, facility_id, visibility, sources, created_at, updated_at)
    values (?, ?, 'Test', '00000000-0000-4000-8000-000000000001', null, ?, '[]', ?, ?)`)
  contact.run('00000000-0000-4000-8000-000000000005', 'Öffentliche Testperson', 'public', at, at)
  contact.run('00000000-0000-4000-8000-000000000006', 'Interne Testperson', 'internal', at, at)
  // Changed since it was created, without a history (the seed or SQL): it may have been public.
  contact.run('00000000-0000-4000-8000-000000000007', 'Geänderte Testperson', 'internal', at, '2026-01-02T00:00:00.000Z')
  old.$client.close()

  const db = openDatabase(file)
  migrateDatabase(db)
  const count = (table: string) => db.$client.prepare(`select count(*) from ${table}`).pluck().get()
  t.equal(count('facilities'), 1)
  t.equal(count('services'), 1)
  t.equal(count('organisations'), 1)
  t.same(db.$client.prepare('select entity_type, action, changed_at from changes order by seq').all().map((c: any) => [c.entity_type, c.action]),
    [['category', 'create'], ['contact', 'create'], ['contact', 'create'], ['facility', 'create'], ['organisation', 'create'], ['service', 'create'], ['contact', 'create']],
    'existing records are in the change feed (in the order they were last written)')
  t.equal(db.$client.prepare('select opening_hours from facilities').pluck().get(), null, 'new columns start empty')
  t.same(db.$client.prepare('select contact_id from contacts_ever_public order by contact_id').pluck().all(),
    ['00000000-0000-4000-8000-000000000005', '00000000-0000-4000-8000-000000000007'], 'public contacts, and changed ones that may have been, are known to have been public')
  t.equal(db.$client.pragma('integrity_check', { simple: true }), 'ok')
  db.$client.close()

  const app = await buildApp({ config: { DATABASE_PATH: file, LOG_LEVEL: 'silent', RATE_LIMIT_MAX: 0 }, logger: false })
  t.teardown(() => app.close())
  const facility = (await app.inject('/v1/facilities/alter-treff')).json()
  t.equal(facility.name, 'Alter Nachbarschaftstreff')
  t.same(facility.alternateNames, ['Treff'])
  t.equal(facility.operator.name, 'Alter Träger e.V.')
  t.equal(facility.address.street, 'Altstraße 1')
  t.equal(facility.serviceCount, 1)
  t.same(facility.openingHours, { osm: null, note: null })
  const found = (await app.inject('/v1/facilities?q=kaffeerunde')).json()
  t.same(found.items.map((f: any) => f.slug), ['alter-treff'], 'the search index is built at start-up')
  t.equal((await app.inject('/v1/facilities')).json().total, 1, 'an upgraded database with data is not seeded over')
  const feed = (await app.inject('/v1/changes?entityType=contact')).body
  t.ok(feed.includes('00000000-0000-4000-8000-000000000005') && !feed.includes('00000000-0000-4000-8000-000000000006'), 'the internal contact stays out of the public feed')
})

// A database at migration 0007 (before a facility's delete took its services with it).
function migrationsUpTo (dir: string, last: number): string {
  const folder = join(dir, `migrations-${last}`)
  mkdirSync(join(folder, 'meta'), { recursive: true })
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8'))
  const entries = journal.entries.slice(0, last + 1)
  for (const entry of entries) copyFileSync(join(MIGRATIONS_FOLDER, `${entry.tag}.sql`), join(folder, `${entry.tag}.sql`))
  writeFileSync(join(folder, 'meta/_journal.json'), JSON.stringify({ ...journal, entries }))
  return folder
}

t.test('0008: services of facilities deleted before are deleted at their facility\'s time, with feed deletes', async (t) => {
  const { seedDatabase } = await import('../../seed/seed.ts')
  const { seedId } = await import('../../src/lib/uuid.ts')
  const dir = mkdtempSync(join(tmpdir(), 'mpd-migrate-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'old.db')
  const old = openDatabase(file)
  migrate(old, { migrationsFolder: migrationsUpTo(dir, 7) })
  seedDatabase(old)
  const facility = seedId('facility', 'familienzentrum-moabit-ost')
  // A delete as the code before 0008 made it: the facility only.
  old.$client.prepare("update facilities set deleted_at = '2026-05-01T10:00:00.000Z', updated_at = '2026-05-01T10:00:00.000Z' where id = ?").run(facility)
  const services = old.$client.prepare('select id from services where facility_id = ? and deleted_at is null order by id').pluck().all(facility) as string[]
  t.ok(services.length > 0)
  const others = old.$client.prepare('select count(*) from services where deleted_at is null').pluck().get() as number - services.length
  const before = old.$client.prepare('select max(seq) from changes').pluck().get() as number
  old.$client.close()

  const db = openDatabase(file)
  t.teardown(() => db.$client.close())
  migrateDatabase(db)
  t.same(db.$client.prepare('select distinct deleted_at, updated_at from services where facility_id = ?').all(facility), [{ deleted_at: '2026-05-01T10:00:00.000Z', updated_at: '2026-05-01T10:00:00.000Z' }])
  t.equal(db.$client.prepare('select count(*) from services where deleted_at is null').pluck().get(), others, 'no other service touched')
  const feed = db.$client.prepare('select entity_type, entity_id, action from changes where seq > ? order by entity_id').all(before) as { entity_type: string, entity_id: string, action: string }[]
  t.same(feed, services.map((id) => ({ entity_type: 'service', entity_id: id, action: 'delete' })), 'a feed delete for each')
})
