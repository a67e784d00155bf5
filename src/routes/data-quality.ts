import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { problemResponses, ref } from '../schemas/common.ts'
import { DataQualitySchema } from '../schemas/data-quality.ts'
import { dataQualityReport, dataQualityValidUntil } from '../repositories/data-quality.ts'
import type { Facility } from '../schemas/facilities.ts'

const dataQualityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/data-quality', {
    schema: {
      tags: ['data-quality'],
      operationId: 'getDataQuality',
      summary: 'Data-quality report',
      description: 'What the directory does not know yet: per facility the fields no source gives (address parts, coordinates, hours, contact channels, services), facilities not verified by a person in the last 12 months, and the agreement\'s coverage: partner facilities known by name versus the declared counts (19 in 2020, 17 in 2023), with the evidence for each.',
      response: { 200: ref(DataQualitySchema), 500: problemResponses[500] }
    }
  }, async (_request, reply) => {
    const facilities: Facility[] = []
    for (const batch of app.repos.facilities.iterate({ limit: 500, offset: 0 })) {
      for (const entry of batch) if (!('deleted' in entry)) facilities.push(entry)
    }
    // Entries of the list are whole agreements (with parties and events), as find gives them.
    const agreements = [...app.repos.agreements.iterate({ limit: 500, offset: 0 })].flat()
      .filter((a): a is Exclude<typeof a, { deleted: true }> => !('deleted' in a && a.deleted === true))
    // The report depends on the clock as well as the data (a verification becomes due): the
    // response cache keeps it until the next such moment, or the next write.
    const now = new Date(app.clock.now())
    const until = dataQualityValidUntil(facilities, now)
    if (until !== null) reply.cacheUntil(until)
    return dataQualityReport(facilities, agreements, now)
  })
}

export default dataQualityRoutes
