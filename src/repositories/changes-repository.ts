import type { Db } from '../db/client.ts'
import { InvalidQueryError } from '../lib/problem.ts'
import type { Change, ChangeFeedQuery } from '../schemas/changes.ts'
import { EVER_PUBLIC_CONTACT } from './contacts-repository.ts'

// The feed without the acting key. For the public, a contact that is internal now (or gone) is a
// delete, so public copies drop it and never learn its data; the changes of a contact that was
// never public (internal since its creation, or seeded internal) are left out altogether: its id,
// derived from the person's name, would tell that the directory knows the person. Nor are the
// changes made while it was not public.
const LIVE_PUBLIC_CONTACT = 'EXISTS (SELECT 1 FROM contacts k WHERE k.id = c.entity_id AND k.visibility = \'public\' AND k.deleted_at IS NULL)'
// A change made while the contact was not public (an edit of an internal contact): inside one of
// its hidden stretches, after the change that hid it and before the one that showed it again. The
// public sees it go and come back, never what happened, or when, in between.
const WHILE_HIDDEN = (change: string): string =>
  `EXISTS (SELECT 1 FROM contact_hidden_periods h WHERE h.contact_id = ${change}.entity_id AND ${change}.seq > h.from_seq AND (h.to_seq IS NULL OR ${change}.seq < h.to_seq))`
// Which entries the caller sees (@internal: whether it may read internal contacts).
const VISIBLE = `NOT (c.entity_type = 'contact' AND @internal = 0 AND NOT ${LIVE_PUBLIC_CONTACT} AND NOT ${EVER_PUBLIC_CONTACT('c.entity_id')})
    AND NOT (c.entity_type = 'contact' AND @internal = 0 AND ${WHILE_HIDDEN('c')})`
const FEED = `
  SELECT c.seq, c.entity_type AS entityType, c.entity_id AS entityId, c.changed_at AS changedAt,
    CASE WHEN c.entity_type = 'contact' AND @internal = 0 AND NOT ${LIVE_PUBLIC_CONTACT}
    THEN 'delete' ELSE c.action END AS action,
    CASE c.entity_type
      WHEN 'facility' THEN '/v1/facilities/' || c.entity_id
      WHEN 'service' THEN '/v1/services/' || c.entity_id
      WHEN 'organisation' THEN '/v1/organisations/' || c.entity_id
      WHEN 'organisation_unit' THEN (SELECT '/v1/organisations/' || organisation_id FROM organisation_units WHERE id = c.entity_id)
      WHEN 'organisation_site' THEN (SELECT '/v1/organisations/' || organisation_id FROM organisation_sites WHERE id = c.entity_id)
      WHEN 'contact' THEN '/v1/contacts/' || c.entity_id
      WHEN 'category' THEN '/v1/categories/' || c.entity_id
      WHEN 'target_group' THEN '/v1/target-groups/' || c.entity_id
      WHEN 'agreement' THEN '/v1/agreements/' || c.entity_id
      WHEN 'agreement_party' THEN (SELECT '/v1/agreements/' || agreement_id FROM agreement_parties WHERE id = c.entity_id)
      WHEN 'event' THEN '/v1/events/' || c.entity_id
    END AS href
  FROM changes c
  WHERE c.seq > @since AND (@types IS NULL OR c.entity_type IN (SELECT value FROM json_each(@types)))
    AND ${VISIBLE}
  ORDER BY c.seq
  LIMIT @limit`
// The newest entry after a position that the public sees (its time is the public's Last-Modified).
const NEWEST_PUBLIC_AFTER = `SELECT c.seq, c.changed_at AS changedAt FROM changes c WHERE c.seq > @after AND ${VISIBLE} ORDER BY c.seq DESC LIMIT 1`
// Whether the caller can see the entry at a position (entries never become hidden).
const VISIBLE_AT = `SELECT 1 FROM changes c WHERE c.seq = @since AND ${VISIBLE}`

// One row of the feed as the response cache reads it: which record changed, and how.
export interface ChangeRow { seq: number, type: string, id: string, action: string }

export function createChangesRepository (db: Db) {
  const feed = db.$client.prepare(FEED)
  const visibleAt = db.$client.prepare(VISIBLE_AT).pluck()
  const newestPublicAfter = db.$client.prepare(NEWEST_PUBLIC_AFTER)
  const last = db.$client.prepare('SELECT seq, changed_at AS changedAt FROM changes ORDER BY seq DESC LIMIT 1')
  const rowsAfter = db.$client.prepare('SELECT seq, entity_type AS type, entity_id AS id, action FROM changes WHERE seq > ? ORDER BY seq LIMIT ?')
  const facilityOfService = db.$client.prepare('SELECT facility_id FROM services WHERE id = ?').pluck()
  return {
    // The newest change (the data's version for the response cache), none in an empty database.
    last (): { seq: number, changedAt: string } | undefined {
      return last.get() as { seq: number, changedAt: string } | undefined
    },
    // The newest change after seq that the public sees (not the changes of contacts that are
    // hidden from it), if any.
    lastPublicAfter (seq: number): { seq: number, changedAt: string } | undefined {
      return newestPublicAfter.get({ after: seq, internal: 0 }) as { seq: number, changedAt: string } | undefined
    },
    // Every change after seq, in order, up to limit (all kinds, the acting key aside).
    rowsAfter (seq: number, limit: number): ChangeRow[] {
      return rowsAfter.all(seq, limit) as ChangeRow[]
    },
    // The facility a service belongs to (deleted ones included), if the service exists.
    facilityOfService (serviceId: string): string | undefined {
      return facilityOfService.get(serviceId) as string | undefined
    },
    // includeInternal: the caller may read internal contacts, so their changes are real ones.
    after (query: ChangeFeedQuery, includeInternal = false): { items: Change[], hasMore: boolean } {
      const internal = includeInternal ? 1 : 0
      const types = query.entityType?.length ? JSON.stringify(query.entityType) : null
      const rows = feed.all({ internal, since: query.since, types, limit: query.limit + 1 }) as Change[]
      // A page with nothing after a position the caller was never given (the database was
      // restored from an older backup, say): a copy that kept it would skip every change until
      // the feed got there, so it is refused. Every position the feed gives out (lastSeq) is an
      // entry the caller sees, or 0. (A restore shows only while the restored feed is behind the
      // position; the answer does not tell how far the feed is, nor how many hidden entries.)
      if (rows.length === 0 && query.since > 0 && visibleAt.get({ since: query.since, internal }) === undefined) {
        throw new InvalidQueryError('query.since', 'is not a position this feed gave out (was the directory restored from an older backup?). Take a full copy again (since=0) and go on from its lastSeq')
      }
      const hasMore = rows.length > query.limit
      const items = (hasMore ? rows.slice(0, query.limit) : rows)
        .map((row) => (row.action === 'delete' ? { ...row, href: null } : row))
      return { items, hasMore }
    }
  }
}

export type ChangesRepository = ReturnType<typeof createChangesRepository>
