import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { IdParams, problemResponses, ref } from '../schemas/common.ts'
import { ContactListQuery, ContactListSchema, ContactSchema } from '../schemas/contacts.ts'
import { notFound } from '../lib/problem.ts'

const contactsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/contacts', {
    schema: {
      tags: ['contacts'],
      operationId: 'listContacts',
      summary: 'List public contacts',
      description: 'Contact persons whose contact data a public source published, sorted by name. Filters: `organisation` and `facility` take a UUID or slug; repeating one parameter means OR, different parameters combine with AND. Internal contacts are neither listed nor counted.',
      querystring: ContactListQuery,
      response: { 200: ContactListSchema, 400: problemResponses[400], 500: problemResponses[500] }
    }
  }, async (request) => app.repos.contacts.list(request.query))

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
