import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IdParams, listResponse, problemResponses, ref } from '../schemas/common.ts'
import { ContactListQuery, ContactPageSchema, ContactSchema } from '../schemas/contacts.ts'
import { notFound } from '../lib/problem.ts'
import { sendNdjson, sendPage } from './list-support.ts'

const contactsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/contacts', {
    schema: {
      tags: ['contacts'],
      operationId: 'listContacts',
      summary: 'List public contacts',
      description: [
        'Contact persons whose contact data a public source published, by default sorted by name. Filters: `organisation` and `facility` take a UUID or slug; repeating one parameter means OR, different parameters combine with AND. Internal contacts are neither listed nor counted.',
        '',
        '**Pages**: `limit` and the opaque `cursor` of `links.next` (also in the `Link` header); the total is in `total` and `X-Total-Count`. A cursor stays valid while records change. **Sync**: `updatedSince` lists changes including tombstones of deleted records; `format=ndjson` streams the full result without pages.',
        '',
        'For a reader an internal contact does not exist: with `updatedSince`, a contact that was made internal (or deleted) since then is a tombstone `{ id, deleted: true, deletedAt }`, where `deletedAt` is the time of that change, so copies that hold it delete it. Its fields are never served.'
      ].join('\n'),
      querystring: ContactListQuery,
      response: { 200: listResponse(ContactPageSchema), 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const { format, ...query } = request.query
    if (format === 'ndjson') return sendNdjson(reply, app.repos.contacts.iterate(query))
    return sendPage(request, reply, app.repos.contacts.list(query))
  })

  app.get('/v1/contacts/:id', {
    schema: {
      tags: ['contacts'],
      operationId: 'getContact',
      summary: 'Get a public contact',
      description: 'One public contact by UUID. An internal contact answers 404, like a missing one.',
      params: IdParams,
      response: { 200: ref(ContactSchema), 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const contact = app.repos.contacts.find(request.params.id)
    if (contact === undefined) throw notFound('contact', request.params.id)
    return contact
  })
}

export default contactsRoutes
