import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { HttpProblem, PROBLEM_TYPES, type ProblemSlug } from '../lib/problem.ts'
import { problemResponses } from '../schemas/common.ts'

// The documentation of the problem types: the `type` of every problem+json answer is the path of
// its entry here (RFC 9457 §3.1.1).

const ProblemTypeSchema = Type.Object({
  type: Type.String({ description: 'The type URI as sent in `type` (relative to the service root).' }),
  status: Type.Integer({ description: 'The HTTP status sent with it.' }),
  title: Type.String({ description: 'The `title` sent with it.' }),
  description: Type.String({ description: 'What it means and what to do.' })
}, {
  description: 'A problem type of this API.',
  examples: [{ type: '/problems/stale-etag', ...PROBLEM_TYPES['stale-etag'] }]
})

const ProblemTypeListSchema = Type.Object({
  items: Type.Array(ProblemTypeSchema)
}, {
  description: 'Every problem type of this API, by status.',
  examples: [{ items: [{ type: '/problems/validation-error', ...PROBLEM_TYPES['validation-error'] }] }]
})

const entryOf = (slug: ProblemSlug) => ({ type: `/problems/${slug}`, ...PROBLEM_TYPES[slug] })
const ENTRIES = (Object.keys(PROBLEM_TYPES) as ProblemSlug[]).map(entryOf).sort((a, b) => a.status - b.status)

const problemRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/problems', {
    schema: {
      tags: ['meta'],
      operationId: 'listProblemTypes',
      summary: 'Problem types',
      description: 'Every `type` an error answer (`application/problem+json`, RFC 9457) can carry, with its status, title and meaning.',
      response: { 200: ProblemTypeListSchema, 500: problemResponses[500] }
    }
  }, async () => ({ items: ENTRIES }))

  app.get('/problems/:slug', {
    schema: {
      tags: ['meta'],
      operationId: 'getProblemType',
      summary: 'One problem type',
      description: 'What an error answer with this `type` means and what to do about it: the `type` of a problem+json answer is this path.',
      params: Type.Object({
        slug: Type.String({ minLength: 1, maxLength: 100, description: 'The last segment of the type URI.', examples: ['stale-etag'] })
      }, { additionalProperties: false }),
      response: { 200: ProblemTypeSchema, 404: problemResponses[404], 500: problemResponses[500] }
    }
  }, async (request) => {
    const { slug } = request.params
    if (!Object.hasOwn(PROBLEM_TYPES, slug)) throw new HttpProblem(404, `No problem type '${slug}' exists; GET /problems lists them.`)
    return entryOf(slug as ProblemSlug)
  })
}

export default problemRoutes
