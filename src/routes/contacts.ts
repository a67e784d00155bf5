import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  BEARER_AUTH, CreateHeaders, ConditionalHeaders, deleteProblemResponses, HistorySchema, idParams, conditionalProblemResponses, listResponse, problemResponse,
  problemResponses, ref, writeProblemResponses, PAGING_DESCRIPTION
} from '../schemas/common.ts'
import {
  ContactInputSchema, ContactListQuery, ContactPageSchema, ContactPatchSchema, ContactSchema, type Contact, type ContactInput
} from '../schemas/contacts.ts'
import { applyMergePatch, withNulls } from '../lib/merge-patch.ts'
import { canReadInternalContacts, canWriteDirectory, canWriteFacility, type Principal } from '../lib/api-keys.ts'
import { HttpProblem, notFound } from '../lib/problem.ts'
import { facilityWrite, requirePrincipal, requireScope } from '../plugins/auth.ts'
import { writableOf, type AuthoriseContact, type ContactAccess } from '../repositories/contacts-repository.ts'
import type { EntityRef } from '../repositories/shared.ts'
import { collect, sendExport, sendNdjson, sendPage } from './list-support.ts'
import { contactsCsv } from '../formats/csv.ts'
import { contactVcard, vcards } from '../formats/vcard.ts'
import { checkIfMatch, entityTag, idempotentCreate, sendItem, validateRecord } from './write-support.ts'

// What a read may show: internal contacts only to keys with contacts:read-internal.
export const contactAccess = (request: FastifyRequest): ContactAccess => ({ includeInternal: canReadInternalContacts(request.principal) })

// Reads need no key; one with contacts:read-internal also shows internal contacts.
const OPTIONAL_BEARER_AUTH = [{}, ...BEARER_AUTH]
const invalidKeyResponse = problemResponse('An unknown, malformed or revoked API key was sent (reads need no key).')

const canWriteContactOf = (p: Principal, facility: EntityRef | null) => (facility === null ? canWriteDirectory(p) : canWriteFacility(p, facility.id))

// A facility's own key may write the contacts of that facility; directory:write may write any,
// including those that belong to no facility.
const authorise = (request: FastifyRequest): AuthoriseContact => (facility) => {
  if (facility === null) requireScope(request, canWriteDirectory, 'write contacts that belong to no facility (needs directory:write)')
  else requireScope(request, (p) => canWriteFacility(p, facility.id), `write the contacts of the facility ${facility.slug}`)
}

// For a key that may neither read nor write an internal contact, it does not exist: a 403 would
// confirm an id, and the ids of seeded contacts derive from their names.
function revealOrNotFound (request: FastifyRequest, principal: Principal, current: Contact, id: string): void {
  if (current.visibility === 'internal' && !canReadInternalContacts(principal) && !canWriteContactOf(principal, current.facility)) {
    throw notFound('contact', id)
  }
}

// Reads internal contacts: their lists and items (contacts:read-internal), their history and what a
// write answers (also directory:write, which writes every contact).
const readsInternal = (p: Principal): boolean => canReadInternalContacts(p) || canWriteDirectory(p)
// A key that may write an internal contact but not read it (its facility's key) writes it blind:
// only with If-Match: * and without If-None-Match. An ETag in either would answer whether a
// guessed version of the record (and so of fields other keys wrote) is the current one.
function requireBlindConditions (request: FastifyRequest, principal: Principal, current: Contact): void {
  if (current.visibility !== 'internal' || readsInternal(principal)) return
  if (request.headers['if-match']?.trim() !== '*' || request.headers['if-none-match'] !== undefined) {
    throw new HttpProblem(412, 'This key writes this contact without reading it: send If-Match: * and no If-None-Match. Nothing was written.', { type: '/problems/precondition-failed' })
  }
}

// A public contact (Ephraim Gothe, district councillor, named in PM 067/2020).
const ContactParams = idParams('96c25015-825d-5341-bd33-d24bcf3534a9')

const contactsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/contacts', {
    config: { formats: ['json', 'ndjson', 'csv', 'csv-excel', 'vcard'] },
    schema: {
      tags: ['contacts'],
      operationId: 'listContacts',
      summary: 'List contacts',
      description: [
        'Contact persons, by default sorted by name: those whose contact data a public source published; with an API key that has `contacts:read-internal` the internal ones too (each says its `visibility`). Filters: `organisation` and `facility` take a UUID or slug; repeating one parameter means OR, different parameters combine with AND. Internal contacts are neither listed nor counted for anyone else.',
        '',
        PAGING_DESCRIPTION,
        '',
        'For a reader without `contacts:read-internal` an internal contact does not exist: with `updatedSince`, a contact that was made internal (or deleted) since then is a tombstone `{ id, deleted: true, deletedAt }`, where `deletedAt` is the time of that change, so copies that hold it delete it. Its fields are never served.'
      ].join('\n'),
      security: OPTIONAL_BEARER_AUTH,
      querystring: ContactListQuery,
      response: { 200: listResponse(ContactPageSchema), 400: problemResponses[400], 401: invalidKeyResponse, 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const { format, ...query } = request.query
    const access = contactAccess(request)
    // A contact shows its organisation and its facility (slug and name): the answer is kept across
    // other writes, and across writes to facilities while the facilities contacts can show stay the
    // same (reply.cacheRecheck).
    reply.cacheDependsOn('contact:*', 'organisation:*').cacheRecheck(['facility'], () => app.repos.contacts.facilityRefsKey())
    if (request.format === 'ndjson') return sendNdjson(reply, app.repos.contacts.iterate(query, access))
    if (request.format === 'csv' || request.format === 'csv-excel') {
      return sendExport(reply, request.format, 'contacts', contactsCsv(collect(app.repos.contacts.iterate(query, access)), { excel: request.format === 'csv-excel' }))
    }
    if (request.format === 'vcard') return sendExport(reply, 'vcard', 'contacts', vcards(collect(app.repos.contacts.iterate(query, access))))
    return sendPage(request, reply, app.repos.contacts.list(query, access))
  })

  app.get('/v1/contacts/:id', {
    config: { formats: ['json', 'vcard'] },
    schema: {
      tags: ['contacts'],
      operationId: 'getContact',
      summary: 'Get a contact',
      description: 'One contact by UUID. An internal contact is served only to API keys with `contacts:read-internal`; for anyone else it answers 404, like a missing one.',
      security: OPTIONAL_BEARER_AUTH,
      params: ContactParams,
      response: { 200: ref(ContactSchema), 400: problemResponses[400], 401: invalidKeyResponse, 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request, reply) => {
    const contact = app.repos.contacts.find(request.params.id, contactAccess(request))
    if (contact === undefined) throw notFound('contact', request.params.id)
    if (request.format === 'vcard') return sendExport(reply, 'vcard', `contact-${contact.id}`, contactVcard(contact))
    return sendItem(reply, contact)
  })

  app.post('/v1/contacts', {
    config: { access: facilityWrite('create contacts') },
    schema: {
      tags: ['contacts'],
      operationId: 'createContact',
      summary: 'Create a contact',
      description: 'Adds a contact person of an organisation, a facility or both. Needs a key with `directory:write`, or `facility:<id>:write` for the facility named in `facility`. `visibility: internal` keeps the contact from everyone without `contacts:read-internal`. Send `Idempotency-Key` to make retries safe. The new contact is in the change feed (an internal one as a delete, so public copies never hold it) and in its history.',
      security: BEARER_AUTH,
      headers: CreateHeaders,
      body: ContactInputSchema,
      response: {
        201: { ...ref(ContactSchema), description: 'Created; `Location` and `ETag` headers are set.' },
        400: problemResponses[400],
        ...writeProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    // A key that may write no facility at all is refused before the body is looked at.
    const principal = requirePrincipal(request)
    return idempotentCreate(app.repos.idempotency, request, reply, principal, () => {
      const created = app.repos.contacts.create(request.body, principal.keyId, authorise(request))
      return { status: 201, headers: { location: `/v1/contacts/${created.id}`, etag: entityTag(created) }, body: created }
    })
  })

  app.patch('/v1/contacts/:id', {
    config: { access: facilityWrite('change contacts') },
    schema: {
      tags: ['contacts'],
      operationId: 'updateContact',
      summary: 'Change a contact (JSON Merge Patch)',
      description: 'A JSON Merge Patch (RFC 7386): send only the members to change, `null` clears one. Needs `If-Match` with the ETag you read (missing: 428, stale: 412 — nothing is written) and a key with `directory:write`, or `facility:<id>:write` for the contact\'s facility — before and after the change, so moving a contact to another facility needs the scope of both. An internal contact that the key may neither read nor write answers 404; one that it may write but not read (its facility\'s key) answers 204 without its fields or an ETag: that key writes it with `If-Match: *` and no `If-None-Match` (any ETag is 412, which would otherwise confirm a guessed version); making it public needs `contacts:read-internal` or `directory:write`.',
      security: BEARER_AUTH,
      headers: ConditionalHeaders,
      params: ContactParams,
      body: ContactPatchSchema,
      response: {
        200: ref(ContactSchema),
        204: { type: 'null', description: 'Changed; the contact is internal and the key may write it (its facility\'s key) but not read it, so neither its fields nor an ETag are sent (an ETag is a hash of the record: with it, guesses of what other keys wrote could be checked offline). Such a key writes with `If-Match: *`.' },
        400: problemResponses[400],
        404: problemResponses[404],
        ...writeProblemResponses,
        ...conditionalProblemResponses,
        500: problemResponses[500]
      }
    }
  }, async (request, reply) => {
    const principal = requirePrincipal(request)
    const updated = app.repos.contacts.update(request.params.id, principal.keyId, (current) => {
      revealOrNotFound(request, principal, current, request.params.id)
      authorise(request)(current.facility)
      requireBlindConditions(request, principal, current)
      checkIfMatch(request, current)
      const before = writableOf(current) as unknown as Record<string, unknown>
      const merged = withNulls(before, applyMergePatch(before, request.body) as Record<string, unknown>)
      validateRecord(ContactInputSchema, merged)
      // Making an internal contact public publishes what the key may not read (what other keys
      // wrote into it): only keys that may read internal contacts do that.
      if (current.visibility === 'internal' && merged.visibility === 'public') {
        requireScope(request, readsInternal, 'make an internal contact public (needs contacts:read-internal or directory:write)')
      }
      return merged as unknown as ContactInput
    }, authorise(request))
    if (updated === undefined) throw notFound('contact', request.params.id)
    // A facility's key writes the internal contacts of its facility without reading them (GET
    // answers it 404): the answer has neither the fields nor an ETag (a hash of the record, with
    // which guesses of the fields could be checked offline).
    if (updated.visibility === 'internal' && !readsInternal(principal)) {
      return reply.code(204).send(null)
    }
    return sendItem(reply, updated)
  })

  app.delete('/v1/contacts/:id', {
    config: { access: facilityWrite('delete contacts') },
    schema: {
      tags: ['contacts'],
      operationId: 'deleteContact',
      summary: 'Delete a contact',
      description: 'A soft delete: the contact leaves every list, and appears as a tombstone with `updatedSince` and as a delete in the change feed. Needs `If-Match` and a key with `directory:write`, or `facility:<id>:write` for the contact\'s facility. An internal contact that the key may neither read nor write answers 404; one that it may write but not read (its facility\'s key) is deleted with `If-Match: *` only (any ETag is 412).',
      security: BEARER_AUTH,
      headers: ConditionalHeaders,
      params: ContactParams,
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
    const deleted = app.repos.contacts.softDelete(request.params.id, principal.keyId, (current) => {
      revealOrNotFound(request, principal, current, request.params.id)
      authorise(request)(current.facility)
      requireBlindConditions(request, principal, current)
      checkIfMatch(request, current)
    })
    if (deleted === undefined) throw notFound('contact', request.params.id)
    return reply.code(204).send(null)
  })

  app.get('/v1/contacts/:id/history', {
    schema: {
      tags: ['contacts'],
      operationId: 'getContactHistory',
      summary: 'History of a contact',
      description: 'Who changed which fields when, with old and new values, for every write through the API (deleted and internal contacts included). The history may hold internal contact data, so it needs a key with `contacts:read-internal` or `directory:write`. The seeded facts have no entries; their provenance is in `sources`.',
      security: BEARER_AUTH,
      params: ContactParams,
      response: {
        200: HistorySchema,
        400: problemResponses[400],
        401: writeProblemResponses[401],
        403: writeProblemResponses[403],
        404: problemResponses[404],
        500: problemResponses[500]
      }
    }
  }, async (request) => {
    requireScope(request, readsInternal, 'read the history of contacts (needs contacts:read-internal or directory:write)')
    const id = app.repos.contacts.resolveAnyId(request.params.id)
    if (id === undefined) throw notFound('contact', request.params.id)
    return { id, items: app.repos.history.of('contact', id) }
  })
}

export default contactsRoutes
