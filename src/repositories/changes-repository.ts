import type { Db } from '../db/client.ts'
import type { Change, ChangeFeedQuery } from '../schemas/changes.ts'
import { EVER_PUBLIC_CONTACT } from './contacts-repository.ts'

// The feed without the acting key. For the public, a contact that is internal now (or gone) is a
// delete, so public copies drop it and never learn its data; the changes of a contact that was
// never public (internal since its creation, or seeded internal) are left out altogether: its id,
// derived from the person's name, would tell that the directory knows the person.
const LIVE_PUBLIC_CONTACT = 'EXISTS (SELECT 1 FROM contacts k WHERE k.id = c.entity_id AND k.visibility = \'public\' AND k.deleted_at IS NULL)'
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
    AND NOT (c.entity_type = 'contact' AND @internal = 0 AND NOT ${LIVE_PUBLIC_CONTACT} AND NOT ${EVER_PUBLIC_CONTACT('c.entity_id')})
  ORDER BY c.seq
  LIMIT @limit`

export function createChangesRepository (db: Db) {
  const feed = db.$client.prepare(FEED)
  return {
    // includeInternal: the caller may read internal contacts, so their changes are real ones.
    after (query: ChangeFeedQuery, includeInternal = false): { items: Change[], hasMore: boolean } {
      const types = query.entityType?.length ? JSON.stringify(query.entityType) : null
      const rows = feed.all({ internal: includeInternal ? 1 : 0, since: query.since, types, limit: query.limit + 1 }) as Change[]
      const hasMore = rows.length > query.limit
      const items = (hasMore ? rows.slice(0, query.limit) : rows)
        .map((row) => (row.action === 'delete' ? { ...row, href: null } : row))
      return { items, hasMore }
    }
  }
}
