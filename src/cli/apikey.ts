import { loadConfig } from '../config.ts'
import { apikeyCommand } from './apikey-command.ts'

// npm run apikey -- create|list|revoke (see apikey-command.ts)
process.exitCode = apikeyCommand(process.argv.slice(2), loadConfig().DATABASE_PATH, {
  out: (line) => console.log(line),
  err: (line) => console.error(line)
})
