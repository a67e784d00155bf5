import type { Db } from '../db/client.ts'
import { spellingVariants } from '../lib/search-text.ts'

// Keeps the FTS5 tables in step with the records. Called by the seed and by every write path
// with the ids of the facilities whose searchable text may have changed (a facility's document
// includes its services, target groups and categories).

interface FacilityDoc {
  id: string
  name: string
  alternate_names: string
  description: string | null
  services: string | null
  target_groups: string | null
  categories: string | null
}

interface ServiceDoc {
  id: string
  name: string
  description: string | null
  category: string | null
  target_groups: string | null
  facility: string | null
}

const FACILITY_DOCS = `
  select f.id, f.name, (select group_concat(value, ' ') from json_each(f.alternate_names)) as alternate_names, f.description,
    (select group_concat(s.name || ' ' || coalesce(s.description, ''), ' ') from services s where s.facility_id = f.id and s.deleted_at is null) as services,
    (select group_concat(distinct tg.label_de || ' ' || tg.label_en || ' ' || l.original_wording) from (
       select target_group_id, original_wording from facility_target_groups where facility_id = f.id
       union all
       select stg.target_group_id, stg.original_wording from service_target_groups stg join services s on s.id = stg.service_id where s.facility_id = f.id and s.deleted_at is null
     ) l join target_groups tg on tg.id = l.target_group_id) as target_groups,
    (select group_concat(distinct c.label_de || ' ' || c.label_en) from services s join categories c on c.id = s.category_id where s.facility_id = f.id and s.deleted_at is null) as categories
  from facilities f where f.deleted_at is null`

const SERVICE_DOCS = `
  select s.id, s.name, s.description, c.label_de || ' ' || c.label_en as category,
    (select group_concat(tg.label_de || ' ' || tg.label_en || ' ' || stg.original_wording, ' ') from service_target_groups stg join target_groups tg on tg.id = stg.target_group_id where stg.service_id = s.id) as target_groups,
    f.name as facility
  from services s join facilities f on f.id = s.facility_id join categories c on c.id = s.category_id
  where s.deleted_at is null and f.deleted_at is null`

function inList (column: string, ids: string[] | undefined): { clause: string, params: string[] } {
  if (ids === undefined) return { clause: '', params: [] }
  return { clause: ` and ${column} in (select value from json_each(?))`, params: [JSON.stringify(ids)] }
}

export function reindexFacilities (db: Db, facilityIds?: string[]): void {
  const sqlite = db.$client
  const facilityFilter = inList('f.id', facilityIds)
  const serviceFilter = inList('s.facility_id', facilityIds)
  sqlite.transaction(() => {
    if (facilityIds === undefined) {
      sqlite.prepare('delete from facility_search').run()
      sqlite.prepare('delete from service_search').run()
    } else {
      const ids = JSON.stringify(facilityIds)
      sqlite.prepare('delete from facility_search where facility_id in (select value from json_each(?))').run(ids)
      sqlite.prepare('delete from service_search where service_id in (select id from services where facility_id in (select value from json_each(?)))').run(ids)
    }
    const insertFacility = sqlite.prepare('insert into facility_search (facility_id, name, alternate_names, description, services, target_groups, categories, variants) values (?, ?, ?, ?, ?, ?, ?, ?)')
    for (const d of sqlite.prepare(FACILITY_DOCS + facilityFilter.clause).all(...facilityFilter.params) as FacilityDoc[]) {
      insertFacility.run(d.id, d.name, d.alternate_names, d.description, d.services, d.target_groups, d.categories,
        spellingVariants([d.name, d.alternate_names, d.description, d.services, d.target_groups, d.categories]))
    }
    const insertService = sqlite.prepare('insert into service_search (service_id, name, description, category, target_groups, facility, variants) values (?, ?, ?, ?, ?, ?, ?)')
    for (const d of sqlite.prepare(SERVICE_DOCS + serviceFilter.clause).all(...serviceFilter.params) as ServiceDoc[]) {
      insertService.run(d.id, d.name, d.description, d.category, d.target_groups, d.facility,
        spellingVariants([d.name, d.description, d.category, d.target_groups, d.facility]))
    }
  })()
}

// A database migrated from before the search index, or written by another tool, gets its index
// rebuilt at start-up.
export function ensureSearchIndex (db: Db): void {
  const sqlite = db.$client
  // FTS5 keeps one row per document in its docsize shadow table: counting those is a plain b-tree
  // count (~1 ms at 100,000 facilities), counting the FTS table reads every document (~120 ms),
  // which every start-up would pay.
  const stale = () => (sqlite.prepare('select count(*) from facility_search_docsize').pluck().get() as number) !==
    (sqlite.prepare('select count(*) from facilities where deleted_at is null').pluck().get() as number)
  if (!stale()) return
  // Counted again under the write lock: of two processes starting on the same file, the second
  // finds the index built by the first instead of building it again.
  sqlite.transaction(() => { if (stale()) reindexFacilities(db) }).immediate()
}
