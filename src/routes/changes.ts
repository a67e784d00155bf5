import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { problemResponses } from '../schemas/common.ts'
import { ChangeFeedQuery, ChangeFeedSchema } from '../schemas/changes.ts'
import { pageUrl } from '../lib/cursor.ts'
import { canReadInternalContacts } from '../lib/api-keys.ts'

// Entity types whose feed entries read the current record (FEED in changes-repository.ts).
const LIVE_READ = new Set(['contact', 'organisation_unit', 'organisation_site', 'agreement_party'])

const changesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/changes', {
    schema: {
      tags: ['sync'],
      operationId: 'listChanges',
      summary: 'Change feed',
      description: 'Every create, update and delete of every record, oldest first, by a strictly increasing sequence number. The feed is written by database triggers in the same transaction as the data, so no change can bypass it. Keep `lastSeq` and ask for `since=lastSeq` next time; a delete means: remove the record from your copy. Changes of internal contacts read as deletes, except for keys with `contacts:read-internal`.',
      querystring: ChangeFeedQuery,
      response: { 200: ChangeFeedSchema, 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const { items, hasMore } = app.repos.changes.after(request.query, canReadInternalContacts(request.principal))
    // Entries of the feed are never changed, and new ones come after the last: a full page
    // (hasMore) stays as it is, but for what an entry reads from the records now: a contact's
    // visibility (its action) and the parent of a unit, site or party (its href). Any other page is
    // built again after every write.
    if (hasMore) reply.cacheDependsOn(...new Set(items.flatMap((item) => LIVE_READ.has(item.entityType) ? [`${item.entityType}:*`] : [])))
    const lastSeq = items.at(-1)?.seq ?? request.query.since
    return {
      items,
      lastSeq,
      hasMore,
      links: {
        self: request.url,
        next: pageUrl('/v1/changes', { ...request.query, since: lastSeq }, null)
      }
    }
  })
}

export default changesRoutes
