import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.ts'
import { ConfigError, loadConfig } from './config.ts'
import { startFailureMessage } from './lib/sqlite-errors.ts'

let config
try {
  config = loadConfig()
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message)
    process.exit(1)
  }
  throw error
}

let app
try {
  app = await buildApp({ config })
} catch (error) {
  // A database that cannot be used (read-only place, full disk, locked, not a database) is an
  // operator's problem: one line naming the path and the cause, no stack trace.
  const message = startFailureMessage(error, config.DATABASE_PATH)
  if (message === undefined) throw error
  console.error(message)
  process.exit(1)
}

// On SIGINT/SIGTERM stop accepting connections, let in-flight requests finish, then close the
// database (the onClose hook), so the WAL is checkpointed and nothing is half-written.
closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
  if (err) app.log.error({ err }, 'shutting down after an error')
  else app.log.info({ signal }, 'shutting down')
  await app.close()
})

await app.listen({ port: config.PORT, host: config.HOST })
