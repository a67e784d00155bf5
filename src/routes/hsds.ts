import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { TSchema } from 'typebox'
import {
  createHsdsDirectory, hsdsPage, hsdsProfile, hsdsRoot, matchesSearch, serviceAtLocationIdOf, TARGET_GROUP_TAXONOMY_ID, type HsdsDetail,
  type HsdsDirectory
} from '../formats/hsds.ts'
import { HttpProblem } from '../lib/problem.ts'
import { idParams, problemResponses, ref, type Tombstone } from '../schemas/common.ts'
import type { OrganisationSite } from '../schemas/organisations.ts'
import {
  HsdsOrganizationListQuery, HsdsOrganizationPageSchema, HsdsOrganizationQuery, HsdsOrganizationSchema, HsdsProfileSchema,
  HsdsRootSchema, HsdsServiceAtLocationPageSchema, HsdsServiceAtLocationSchema, HsdsServiceListQuery, HsdsServicePageSchema,
  HsdsServiceSchema, HsdsTaxonomyListQuery, HsdsTaxonomyPageSchema, HsdsTaxonomySchema, HsdsTaxonomyTermListQuery,
  HsdsTaxonomyTermPageSchema, HsdsTaxonomyTermSchema
} from '../schemas/hsds.ts'
import { sendNdjson } from './list-support.ts'

// Open Referral HSDS 3.0 read API over the directory. It reads the whole directory through the
// repositories and maps it in memory (src/formats/hsds.ts): the directory has some hundred records,
// and HSDS filters (taxonomy terms, organizations, last_modified over embedded records) cut across
// what the repositories' paged queries select. Services are searched with the repositories'
// full-text search; organizations, taxonomies and terms in memory (matchesSearch).

const TAGS = ['hsds']
const ALL = { limit: 500, offset: 0 }

const live = <T extends object>(entries: Iterable<(T | Tombstone)[]>): T[] =>
  [...entries].flat().filter((e): e is T => !('deleted' in e))

const hsdsList = (page: TSchema) => ({
  description: 'An HSDS page (JSON), or with `format=ndjson` (or `Accept: application/x-ndjson`) every matching object, one JSON object per line, without pages.',
  content: {
    'application/json': { schema: ref(page) },
    'application/x-ndjson': { schema: { type: 'string', description: 'One HSDS object per line.' } }
  }
})

const listErrors = { 400: problemResponses[400], 500: problemResponses[500] }
const itemErrors = { 400: problemResponses[400], 404: problemResponses[404], 500: problemResponses[500] }

// Examples that exist: the Kreativhaus's Baby-Treff, the Kreativhaus e. V., the target groups
// and one of their terms (senioren).
const BABY_TREFF = 'a8e095f8-0cb1-53c7-b9b9-dc606141d122'
const HSDS_SERVICE = idParams(BABY_TREFF)
const HSDS_SERVICE_AT_LOCATION = idParams(serviceAtLocationIdOf(BABY_TREFF))
const HSDS_ORGANIZATION = idParams('f35497e0-b495-54d7-9cff-bb9559a72a37')
const HSDS_TAXONOMY = idParams(TARGET_GROUP_TAXONOMY_ID)
const HSDS_TERM = idParams('af53712b-0dce-5d7c-addf-a2bd2498ab49')

const notFound = (what: string, id: string) => new HttpProblem(404, `No HSDS ${what} with id '${id}' exists.`)

function detailOf (query: { full?: boolean, minimal?: boolean }): HsdsDetail {
  if (query.full === true && query.minimal === true) {
    throw new HttpProblem(400, 'The request is invalid: full and minimal exclude each other.', {
      type: '/problems/validation-error',
      errors: [{ field: 'query.minimal', message: 'cannot be combined with full' }]
    })
  }
  if (query.full === true) return 'full'
  if (query.minimal === true) return 'minimal'
  return 'list'
}

// The directory is rebuilt only when the data changed: app.dataVersion().key moves with every
// write, through the API or not (SQL to a link table, a commit of another process).
const directories = new WeakMap<FastifyInstance, Map<boolean, { seq: string, directory: HsdsDirectory }>>()

function loadDirectory (app: FastifyInstance, options: { sites?: boolean } = {}): HsdsDirectory {
  const seq = app.dataVersion().key
  const sites = options.sites === true
  let cached = directories.get(app)
  if (cached === undefined) directories.set(app, cached = new Map())
  const known = cached.get(sites)
  if (known !== undefined && known.seq === seq) return known.directory
  const directory = buildDirectory(app, options)
  cached.set(sites, { seq, directory })
  return directory
}

function buildDirectory (app: FastifyInstance, options: { sites?: boolean }): HsdsDirectory {
  const { repos } = app
  const organisations = live(repos.organisations.iterate(ALL))
  let sites: Map<string, OrganisationSite[]> | undefined
  if (options.sites === true) {
    // The list holds no sites; a dedicated query would select the live sites of all organisations at once.
    sites = new Map(organisations.map((o) => [o.id, repos.organisations.find(o.id)?.sites ?? []]))
  }
  return createHsdsDirectory({
    facilities: live(repos.facilities.iterate(ALL)),
    services: live(repos.services.iterate({})),
    organisations,
    targetGroups: repos.vocabularies.liveTerms('target_groups'),
    categories: repos.vocabularies.liveTerms('categories'),
    // Without a key: public contacts only.
    contacts: live(repos.contacts.iterate(ALL)),
    contactsRemovedAt: repos.contacts.publicRemovalsByFacility(),
    ...(sites === undefined ? {} : { sites })
  })
}

// The directory's full-text search (ranked), or every service in the directory's order.
function searchedServiceIds (app: FastifyInstance, directory: HsdsDirectory, search: string | undefined): string[] {
  if (search === undefined) return directory.serviceIds()
  return live(app.repos.services.iterate({ q: search })).map((s) => s.id)
}

function send<K, T> (request: FastifyRequest, reply: FastifyReply, keys: K[], query: { page: number, per_page: number }, render: (key: K) => T) {
  if (request.format === 'ndjson') return sendNdjson(reply, [keys.map(render)])
  return hsdsPage(keys, query.page, query.per_page, render)
}

const hsdsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/hsds/', {
    // The answer names the host the client asked, so it is not shared between requests.
    config: { cache: false },
    schema: {
      tags: TAGS,
      operationId: 'hsdsGetRoot',
      summary: 'HSDS API information',
      description: 'The HSDS version of this API (3.0), the URL of its HSDS profile and of its OpenAPI document (absolute, for the host the request was sent to).',
      response: { 200: ref(HsdsRootSchema), 500: problemResponses[500] }
    }
  }, async (request) => hsdsRoot(`${request.protocol}://${request.host}`))

  app.get('/hsds/profile', {
    schema: {
      tags: TAGS,
      operationId: 'hsdsGetProfile',
      summary: 'HSDS profile',
      description: 'How the directory maps onto HSDS 3.0 and what it adds: the partnership of each facility with the 2018 agreement, the sources of every record, notes, and the conventions for unknown facts.',
      response: { 200: ref(HsdsProfileSchema), 500: problemResponses[500] }
    }
  }, async () => {
    const agreements = live(app.repos.agreements.iterate(ALL))
    return hsdsProfile(agreements.map((a) => ({ id: a.id, slug: a.slug, title: a.title, signedDate: a.signed.date })))
  })

  app.get('/hsds/services', {
    config: { formats: ['json', 'ndjson'] },
    schema: {
      tags: TAGS,
      operationId: 'hsdsListServices',
      summary: 'List HSDS services',
      description: [
        'Services (offers) as HSDS 3.0 services in the HSDS page wrapper. Default: the one-to-one fields with the organization; `full=true`: fully nested (service_at_locations with their locations, schedules, attributes); `minimal=true`: HSDS core fields and `last_modified`.',
        '',
        'Filters combine with AND; repeating one means OR. `search` is the directory\'s full-text search (ranked by relevance); otherwise services are sorted by facility, category and name. `modified_after` compares `last_modified`, the latest change of the service or anything it embeds; deleted services are not listed (see /v1/changes).'
      ].join('\n'),
      querystring: HsdsServiceListQuery,
      response: { 200: hsdsList(HsdsServicePageSchema), ...listErrors }
    }
  }, async (request, reply) => {
    const { query } = request
    const detail = detailOf(query)
    const directory = loadDirectory(app)
    const filters = {
      taxonomyTermIds: query.taxonomy_term_id,
      taxonomyIds: query.taxonomy_id,
      organizationIds: query.organization_id,
      modifiedAfter: query.modified_after
    }
    const ids = searchedServiceIds(app, directory, query.search).filter((id) => directory.matchesServiceFilters(id, filters))
    return send(request, reply, ids, query, (id) => directory.service(id, detail)!)
  })

  app.get('/hsds/services/:id', {
    schema: {
      tags: TAGS,
      operationId: 'hsdsGetService',
      summary: 'Get an HSDS service',
      description: 'One service, fully nested: its organization, its service_at_location with the full location (address, phones, contacts, opening hours, target groups), schedules and attributes (target groups and category).',
      params: HSDS_SERVICE,
      response: { 200: ref(HsdsServiceSchema), ...itemErrors }
    }
  }, async (request) => {
    const service = loadDirectory(app).service(request.params.id, 'full')
    if (service === undefined) throw notFound('service', request.params.id)
    return service
  })

  app.get('/hsds/service_at_locations', {
    config: { formats: ['json', 'ndjson'] },
    schema: {
      tags: TAGS,
      operationId: 'hsdsListServiceAtLocations',
      summary: 'List HSDS service_at_locations',
      description: 'Each service at its facility (every service runs at exactly one), with the location and the service (one-to-one fields; `full=true`: fully nested; `minimal=true`: ids only). Filters as for /hsds/services, applied to the service.',
      querystring: HsdsServiceListQuery,
      response: { 200: hsdsList(HsdsServiceAtLocationPageSchema), ...listErrors }
    }
  }, async (request, reply) => {
    const { query } = request
    const detail = detailOf(query)
    const directory = loadDirectory(app)
    const filters = {
      taxonomyTermIds: query.taxonomy_term_id,
      taxonomyIds: query.taxonomy_id,
      organizationIds: query.organization_id,
      modifiedAfter: query.modified_after
    }
    const ids = searchedServiceIds(app, directory, query.search)
      .filter((id) => directory.matchesServiceFilters(id, filters))
      .map(serviceAtLocationIdOf)
    return send(request, reply, ids, query, (id) => directory.serviceAtLocation(id, detail)!)
  })

  app.get('/hsds/service_at_locations/:id', {
    schema: {
      tags: TAGS,
      operationId: 'hsdsGetServiceAtLocation',
      summary: 'Get an HSDS service_at_location',
      description: 'A service at its facility, fully nested: the full location and the full service.',
      params: HSDS_SERVICE_AT_LOCATION,
      response: { 200: ref(HsdsServiceAtLocationSchema), ...itemErrors }
    }
  }, async (request) => {
    const link = loadDirectory(app).serviceAtLocation(request.params.id, 'full')
    if (link === undefined) throw notFound('service_at_location', request.params.id)
    return link
  })

  app.get('/hsds/organizations', {
    config: { formats: ['json', 'ndjson'] },
    schema: {
      tags: TAGS,
      operationId: 'hsdsListOrganizations',
      summary: 'List HSDS organizations',
      description: 'The district office, the JobCenter and the operators (Träger), plus one organization for each facility whose operator the directory does not know (with the facility\'s id; kind `facility`). Sorted by name. `full=true`: with phones, contacts, locations (facilities and sites) and services (`full_service=true`: full services); `minimal=true`: HSDS core fields. `search` looks at names and descriptions (case-, umlaut- and ß-insensitive, every word a prefix).',
      querystring: HsdsOrganizationListQuery,
      response: { 200: hsdsList(HsdsOrganizationPageSchema), ...listErrors }
    }
  }, async (request, reply) => {
    const { query } = request
    const detail = detailOf(query)
    const directory = loadDirectory(app, { sites: detail === 'full' })
    const ids = directory.organizationIds().filter((id) => query.search === undefined || matchesSearch(query.search, directory.searchTexts(id)))
    return send(request, reply, ids, query, (id) => directory.organization(id, detail, query.full_service === true)!)
  })

  app.get('/hsds/organizations/:id', {
    schema: {
      tags: TAGS,
      operationId: 'hsdsGetOrganization',
      summary: 'Get an HSDS organization',
      description: 'One organization, fully nested: phones, public contacts, locations (the facilities it operates and its sites) and its services (one-to-one fields; `full_service=true`: full services).',
      params: HSDS_ORGANIZATION,
      querystring: HsdsOrganizationQuery,
      response: { 200: ref(HsdsOrganizationSchema), ...itemErrors }
    }
  }, async (request) => {
    const organization = loadDirectory(app, { sites: true }).organization(request.params.id, 'full', request.query.full_service === true)
    if (organization === undefined) throw notFound('organization', request.params.id)
    return organization
  })

  app.get('/hsds/taxonomies', {
    config: { formats: ['json', 'ndjson'] },
    schema: {
      tags: TAGS,
      operationId: 'hsdsListTaxonomies',
      summary: 'List HSDS taxonomies',
      description: 'The two taxonomies of the directory: Zielgruppen (target groups) and Angebotskategorien (service categories).',
      querystring: HsdsTaxonomyListQuery,
      response: { 200: hsdsList(HsdsTaxonomyPageSchema), ...listErrors }
    }
  }, async (request, reply) => {
    const { query } = request
    const directory = loadDirectory(app)
    const taxonomies = directory.taxonomies().filter((t) => query.search === undefined || matchesSearch(query.search, directory.searchTexts(t.id)))
    return send(request, reply, taxonomies, query, (t) => t)
  })

  app.get('/hsds/taxonomies/:id', {
    schema: {
      tags: TAGS,
      operationId: 'hsdsGetTaxonomy',
      summary: 'Get an HSDS taxonomy',
      description: 'One of the two taxonomies (target groups, service categories).',
      params: HSDS_TAXONOMY,
      response: { 200: ref(HsdsTaxonomySchema), ...itemErrors }
    }
  }, async (request) => {
    const taxonomy = loadDirectory(app).taxonomy(request.params.id)
    if (taxonomy === undefined) throw notFound('taxonomy', request.params.id)
    return taxonomy
  })

  app.get('/hsds/taxonomy_terms', {
    config: { formats: ['json', 'ndjson'] },
    schema: {
      tags: TAGS,
      operationId: 'hsdsListTaxonomyTerms',
      summary: 'List HSDS taxonomy terms',
      description: 'The target groups and service categories of the directory as taxonomy terms, with their ids, sorted by taxonomy and slug (`code`). `taxonomy_id` selects one taxonomy; both taxonomies are flat, so `top_only` keeps every term and `parent_id` matches none.',
      querystring: HsdsTaxonomyTermListQuery,
      response: { 200: hsdsList(HsdsTaxonomyTermPageSchema), ...listErrors }
    }
  }, async (request, reply) => {
    const { query } = request
    const directory = loadDirectory(app)
    const ids = directory.taxonomyTermIds().filter((id) => {
      const term = directory.taxonomyTerm(id)!
      if (query.taxonomy_id?.length && !query.taxonomy_id.includes(term.taxonomy_id)) return false
      if (query.parent_id !== undefined) return false
      return query.search === undefined || matchesSearch(query.search, directory.searchTexts(id))
    })
    return send(request, reply, ids, query, (id) => directory.taxonomyTerm(id)!)
  })

  app.get('/hsds/taxonomy_terms/:id', {
    schema: {
      tags: TAGS,
      operationId: 'hsdsGetTaxonomyTerm',
      summary: 'Get an HSDS taxonomy term',
      description: 'A target group or service category as a taxonomy term, with its taxonomy (`taxonomy_detail`).',
      params: HSDS_TERM,
      response: { 200: ref(HsdsTaxonomyTermSchema), ...itemErrors }
    }
  }, async (request) => {
    const term = loadDirectory(app).taxonomyTerm(request.params.id, true)
    if (term === undefined) throw notFound('taxonomy_term', request.params.id)
    return term
  })
}

export default hsdsRoutes
