import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IdOrSlugParams, listResponse, problemResponses, ref } from '../schemas/common.ts'
import { EventListQuery, EventListSchema, EventSchema } from '../schemas/agreements.ts'
import { notFound } from '../lib/problem.ts'
import { sendNdjson, sendPage } from './list-support.ts'

const eventsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/events', {
    schema: {
      tags: ['events'],
      operationId: 'listEvents',
      summary: 'List events',
      description: [
        'Events of the cooperation, by default sorted by the instant they start. Filters: repeating `agreement` means OR; `from` and `to` are inclusive local dates (Europe/Berlin) of the start; different parameters combine with AND.',
        '',
        '**Pages**: `limit` and the opaque `cursor` of `links.next` (also in the `Link` header); the total is in `total` and `X-Total-Count`. A cursor stays valid while records change. **Sync**: `updatedSince` lists changes including tombstones of deleted records; `format=ndjson` streams the full result without pages.'
      ].join('\n'),
      querystring: EventListQuery,
      response: { 200: listResponse(EventListSchema), 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const { format, ...query } = request.query
    if (format === 'ndjson') return sendNdjson(reply, app.repos.agreements.iterateEvents(query))
    return sendPage(request, reply, app.repos.agreements.listEvents(query))
  })

  app.get('/v1/events/:idOrSlug', {
    schema: {
      tags: ['events'],
      operationId: 'getEvent',
      summary: 'Get an event',
      description: 'One event by UUID or slug: time with its offset and time zone, location linked to the organisation\'s site, the agreement, and the participants in the order the source lists them.',
      params: IdOrSlugParams,
      response: { 200: ref(EventSchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const event = app.repos.agreements.findEvent(request.params.idOrSlug)
    if (event === undefined) throw notFound('event', request.params.idOrSlug)
    return event
  })
}

export default eventsRoutes
