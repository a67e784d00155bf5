import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

// PLACEHOLDER: replaced by the real routes.
const routes: FastifyPluginAsyncTypebox = async () => {}

export default routes
