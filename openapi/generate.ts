import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { OPENAPI_FILE, generateOpenApiDocument } from './document.ts'

writeFileSync(OPENAPI_FILE, await generateOpenApiDocument())
console.log(`Wrote ${fileURLToPath(OPENAPI_FILE)}`)
