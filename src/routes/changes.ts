import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { problemResponses } from '../schemas/common.ts'
import { ChangeFeedQuery, ChangeFeedSchema } from '../schemas/changes.ts'
import { pageUrl } from '../lib/cursor.ts'
import { canReadInternalContacts } from '../lib/api-keys.ts'

// Entity types whose feed entries read the current record (FEED in changes-repository.ts); every
// full page depends on contacts besides.
const LIVE_READ = new Set(['organisation_unit', 'organisation_site', 'agreement_party'])

const changesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/changes', {
    schema: {
      tags: ['sync'],
      operationId: 'listChanges',
      summary: 'Change feed',
      description: 'Every create, update and delete of every record, oldest first, by a strictly increasing sequence number. The feed is written by database triggers on the records\' tables in the same transaction as the data, so no write through the API can bypass it (SQL that only changes links between records, outside the API, has no entry). Keep `lastSeq` and ask for `since=lastSeq` next time; a delete means: remove the record from your copy. Without a key with `contacts:read-internal`, the changes of a contact that is internal now read as deletes if it was ever public (a copy may hold it), and those of a contact that never was are left out (the sequence numbers then skip them).',
      querystring: ChangeFeedQuery,
      response: { 200: ChangeFeedSchema, 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const { items, hasMore } = app.repos.changes.after(request.query, canReadInternalContacts(request.principal))
    // Entries of the feed are never changed, and new ones come after the last: a full page
    // (hasMore) stays as it is, but for what entries read from the records now: whether a contact
    // is public, or ever was (its entries' action, and whether they are listed at all), and the
    // parent of a unit, site or party (its href). Any other page is built again after every write.
    if (hasMore) reply.cacheDependsOn('contact:*', ...new Set(items.flatMap((item) => LIVE_READ.has(item.entityType) ? [`${item.entityType}:*`] : [])))
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
