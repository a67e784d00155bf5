import { trackedWrite, type Db } from '../db/client.ts'

// Every write runs through here: one transaction that records the actor for the change-feed
// triggers, the field-level history and the data itself, so they commit (or fail) together.

export interface WriteContext {
  actor: string
  now: string
}

export type FieldChanges = Record<string, { old: unknown, new: unknown }>
export type HistoryAction = 'create' | 'update' | 'delete' | 'verify'

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

export function diff (before: Record<string, unknown> | null, after: Record<string, unknown> | null): FieldChanges {
  const changes: FieldChanges = {}
  const names = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])
  for (const name of names) {
    const old = before?.[name] ?? null
    const value = after?.[name] ?? null
    if (!same(old, value)) changes[name] = { old, new: value }
  }
  return changes
}

export function createWriter (db: Db) {
  const sqlite = db.$client
  const setActor = sqlite.prepare('INSERT INTO write_context (id, actor) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET actor = excluded.actor')
  const clearActor = sqlite.prepare('DELETE FROM write_context WHERE id = 1')
  const touchFacilities = sqlite.prepare('UPDATE facilities SET updated_at = ? WHERE deleted_at IS NULL AND id IN (SELECT value FROM json_each(?))')
  // Live services only: with their facility and category live (others are not shown at all).
  const touchServices = sqlite.prepare(`UPDATE services SET updated_at = ? WHERE deleted_at IS NULL AND id IN (SELECT value FROM json_each(?))
    AND EXISTS (SELECT 1 FROM facilities f WHERE f.id = services.facility_id AND f.deleted_at IS NULL)
    AND EXISTS (SELECT 1 FROM categories c WHERE c.id = services.category_id AND c.deleted_at IS NULL)`)
  const insertHistory = sqlite.prepare('INSERT INTO history (entity_type, entity_id, action, actor, changed_at, changes) VALUES (?, ?, ?, ?, ?, ?)')

  return {
    // Runs fn in one immediate transaction with the actor set for the triggers.
    write<T> (actor: string, fn: (context: WriteContext) => T): T {
      return trackedWrite(sqlite, () => sqlite.transaction(() => {
        setActor.run(actor)
        try {
          return fn({ actor, now: new Date().toISOString() })
        } finally {
          clearActor.run()
        }
      }).immediate())
    },

    // Facilities embed names and labels of other records (operator, target groups, categories);
    // when those change, the facilities' representation changes, so sync by updatedSince must
    // see them (the triggers add them to the change feed as updates).
    touchFacilities (context: WriteContext, facilityIds: string[]): void {
      if (facilityIds.length > 0) touchFacilities.run(context.now, JSON.stringify(facilityIds))
    },

    // The same for live services whose facility, category or target groups changed what they
    // show of them (a service's updatedAt already counts theirs; the feed needs an entry).
    touchServices (context: WriteContext, serviceIds: string[]): void {
      if (serviceIds.length > 0) touchServices.run(context.now, JSON.stringify(serviceIds))
    },

    recordHistory (context: WriteContext, entityType: string, entityId: string, action: HistoryAction, changes: FieldChanges): void {
      insertHistory.run(entityType, entityId, action, context.actor, context.now, JSON.stringify(changes))
    }
  }
}

export type Writer = ReturnType<typeof createWriter>
