import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  BEARER_AUTH, CreateHeaders, ConditionalHeaders, deleteProblemResponses, HistorySchema, idOrSlugParams, conditionalProblemResponses, listResponse, problemResponses,
  ref, writeProblemResponses, PAGING_DESCRIPTION
} from '../schemas/common.ts'
import { EventInputSchema, EventListQuery, EventListSchema, EventPatchSchema, EventSchema, type EventInput } from '../schemas/agreements.ts'
import { eventWritableOf } from '../repositories/agreements-repository.ts'
import { notFound } from '../lib/problem.ts'
import { agreementWrite, requirePrincipal } from '../plugins/auth.ts'
import { collect, sendCalendar, sendExport, sendNdjson, sendPage, withoutTombstones } from './list-support.ts'
import { eventsCsv } from '../formats/csv.ts'
import { CALENDAR_TITLE } from '../formats/ical.ts'
import { checkIfMatch, entityTag, idempotentCreate, sendItem } from './write-support.ts'
import { mergedInput } from './agreements.ts'

const EventParams = idOrSlugParams('voneinander-wissen-in-mitte-2020')

const TIME_RULES = 'Times are ISO 8601 with the offset Europe/Berlin has at that moment (`2020-03-11T09:00:00+01:00`; a wrong offset or a time skipped by the change of clocks is 422); `endsAt` must not be before `startsAt`; `timeZone` is `Europe/Berlin`.'

const eventsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/events', {
    config: { formats: ['json', 'ndjson', 'csv', 'csv-excel', 'ics'] },
    schema: {
      tags: ['events'],
      operationId: 'listEvents',
      summary: 'List events',
      description: [
        'Events of the cooperation, by default sorted by the instant they start. Filters: repeating `agreement` means OR; `from` and `to` are inclusive local dates (Europe/Berlin) of the start; different parameters combine with AND.',
        '',
        PAGING_DESCRIPTION
      ].join('\n'),
      querystring: EventListQuery,
      response: { 200: listResponse(EventListSchema), 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const { format, ...query } = request.query
    // An event shows its agreement, its location (a site of an organisation) and its participants
    // (organisations and facilities by name): the answer is kept across other writes, and across
    // writes to facilities while the facilities it can show stay the same (reply.cacheRecheck).
    reply.cacheDependsOn('event:*', 'agreement:*', 'organisation:*', 'organisation_site:*')
      .cacheRecheck(['facility'], () => app.repos.agreements.eventFacilityRefsKey())
    if (request.format === 'ndjson') return sendNdjson(reply, app.repos.agreements.iterateEvents(query))
    if (request.format === 'csv' || request.format === 'csv-excel') {
      return sendExport(reply, request.format, 'events', eventsCsv(collect(app.repos.agreements.iterateEvents(query)), { excel: request.format === 'csv-excel' }))
    }
    if (request.format === 'ics') return sendCalendar(reply, app.repos.agreements, 'events', withoutTombstones(collect(app.repos.agreements.iterateEvents(query))), CALENDAR_TITLE)
    return sendPage(request, reply, app.repos.agreements.listEvents(query))
  })

  app.get('/v1/events/:idOrSlug', {
    config: { formats: ['json', 'ics'] },
    schema: {
      tags: ['events'],
      operationId: 'getEvent',
      summary: 'Get an event',
      description: 'One event by UUID or slug: time with its offset and time zone, location linked to the organisation\'s site, the agreement, and the participants in the order the source lists them.',
      params: EventParams,
      response: { 200: ref(EventSchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const event = app.repos.agreements.findEvent(request.params.idOrSlug)
    if (event === undefined) throw notFound('event', request.params.idOrSlug)
    if (request.format === 'ics') return sendCalendar(reply, app.repos.agreements, event.slug, [event], event.title)
    return sendItem(reply, event)
  })

  app.post('/v1/events', {
    config: { access: agreementWrite('create events') },
    schema: {
      tags: ['events'],
      operationId: 'createEvent',
      summary: 'Create an event',
      description: [
        `Needs a key with \`admin\` or \`directory:write\`; facility keys get 403. Send \`Idempotency-Key\` to make retries safe. ${TIME_RULES}`,
        '',
        '`agreement`, `location.site` and each participant\'s `organisation` or `facility` (at most one of them) are ids or slugs of existing records (else 422). Participants keep their order. The agreement lists the event, so its `updatedAt` changes too.'
      ].join('\n'),
      security: BEARER_AUTH,
      headers: CreateHeaders,
      body: EventInputSchema,
      response: {
        201: { ...ref(EventSchema), description: 'Created; `Location` and `ETag` headers are set.' },
        400: problemResponses[400],
        ...writeProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    return idempotentCreate(app.repos.idempotency, request, reply, principal, () => {
      const created = app.repos.agreements.createEvent(request.body, principal.keyId)
      return { status: 201, headers: { location: `/v1/events/${created.id}`, etag: entityTag(created) }, body: created }
    })
  })

  app.patch('/v1/events/:idOrSlug', {
    config: { access: agreementWrite('change events') },
    schema: {
      tags: ['events'],
      operationId: 'updateEvent',
      summary: 'Change an event (JSON Merge Patch)',
      description: `A JSON Merge Patch (RFC 7386): send only the members to change, \`null\` clears one, \`location\` merges, \`participants\` is replaced whole. Needs \`If-Match\` with the ETag you read (missing: 428, stale: 412 — nothing is written) and a key with \`admin\` or \`directory:write\`. ${TIME_RULES}`,
      security: BEARER_AUTH,
      headers: ConditionalHeaders,
      params: EventParams,
      body: EventPatchSchema,
      response: {
        200: ref(EventSchema),
        400: problemResponses[400],
        404: problemResponses[404],
        ...writeProblemResponses,
        ...conditionalProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    const updated = app.repos.agreements.updateEvent(request.params.idOrSlug, principal.keyId, (current) => {
      checkIfMatch(request, current)
      return mergedInput<EventInput>(EventInputSchema, eventWritableOf(current), request.body)
    })
    if (updated === undefined) throw notFound('event', request.params.idOrSlug)
    return sendItem(reply, updated)
  })

  app.delete('/v1/events/:idOrSlug', {
    config: { access: agreementWrite('delete events') },
    schema: {
      tags: ['events'],
      operationId: 'deleteEvent',
      summary: 'Delete an event',
      description: 'A soft delete: the event leaves the lists and its agreement\'s `events`, and appears as a tombstone with `updatedSince` and as a delete in the change feed. Needs `If-Match` and a key with `admin` or `directory:write`.',
      security: BEARER_AUTH,
      headers: ConditionalHeaders,
      params: EventParams,
      response: {
        204: { type: 'null', description: 'Deleted.' },
        400: problemResponses[400],
        404: problemResponses[404],
        ...deleteProblemResponses,
        ...conditionalProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    const deleted = app.repos.agreements.softDeleteEvent(request.params.idOrSlug, principal.keyId, (current) => checkIfMatch(request, current))
    if (deleted === undefined) throw notFound('event', request.params.idOrSlug)
    return reply.code(204).send(null)
  })

  app.get('/v1/events/:idOrSlug/history', {
    schema: {
      tags: ['events'],
      operationId: 'getEventHistory',
      summary: 'History of an event',
      description: 'Who changed which fields when, with old and new values, for every write through the API (deleted events included). The seeded event has no entries; its provenance is in `sources`.',
      params: EventParams,
      response: { 200: HistorySchema, 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const id = app.repos.agreements.resolveAnyEventId(request.params.idOrSlug)
    if (id === undefined) throw notFound('event', request.params.idOrSlug)
    return { id, items: app.repos.history.of('event', id) }
  })
}

export default eventsRoutes
