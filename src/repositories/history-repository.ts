import type { Db } from '../db/client.ts'

export interface HistoryEntry {
  seq: number
  action: 'create' | 'update' | 'delete' | 'verify'
  actor: { keyId: string, name: string | null }
  changedAt: string
  changes: Record<string, { old: unknown, new: unknown }>
}

export function createHistoryRepository (db: Db) {
  const statement = db.$client.prepare(`
    SELECT h.seq, h.action, h.actor, k.name AS actorName, h.changed_at AS changedAt, h.changes
    FROM history h LEFT JOIN api_keys k ON k.id = h.actor
    WHERE h.entity_type = ? AND h.entity_id = ?
    ORDER BY h.seq`)
  return {
    of (entityType: string, entityId: string): HistoryEntry[] {
      const rows = statement.all(entityType, entityId) as { seq: number, action: HistoryEntry['action'], actor: string, actorName: string | null, changedAt: string, changes: string }[]
      return rows.map((r) => ({
        seq: r.seq,
        action: r.action,
        actor: { keyId: r.actor, name: r.actorName },
        changedAt: r.changedAt,
        changes: JSON.parse(r.changes) as HistoryEntry['changes']
      }))
    }
  }
}
