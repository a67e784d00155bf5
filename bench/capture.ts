import { request } from 'node:http'
import { createRequire } from 'node:module'

// What the load generators send with every read, as browsers and most HTTP clients do: the
// server answers with Brotli (README "Compression"). `--accept-encoding ''` measures identity.
export const DEFAULT_ACCEPT_ENCODING = 'gzip, deflate, br'

// The headers every read sends: Accept-Encoding unless it is '' (or not given).
export function clientHeaders (acceptEncoding: string | undefined): Record<string, string> {
  return acceptEncoding === undefined || acceptEncoding === '' ? {} : { 'accept-encoding': acceptEncoding }
}

export interface Captured { status: number, headers: Record<string, string>, body: Buffer }

// Headers Node adds to every response by itself (date, framing): the ceiling's Node adds them too.
const PER_RESPONSE = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'])

// One response exactly as it went over the wire: the body as sent (compressed when the headers
// asked for it; fetch would decompress it) and every header but the per-response ones. The
// ceiling server sends these bytes and headers, so security, CORS, caching and coding headers
// cost it what they cost us.
export async function captureRaw (url: string, headers: Record<string, string> = {}): Promise<Captured> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        const kept: Record<string, string> = {}
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined && !PER_RESPONSE.has(name)) kept[name] = Array.isArray(value) ? value.join(', ') : value
        }
        resolve({ status: res.statusCode ?? 0, headers: kept, body: Buffer.concat(chunks) })
      })
    })
    req.on('error', reject)
    req.end()
  })
}

// autocannon appends every response body to a JavaScript string (`req.body += chunk` in
// lib/pipelinedRequestsQueue.js), to hand it to expectBody/verifyBody/onResponse, which no
// scenario here uses. Decoding costs the client little for ASCII JSON, but compressed (binary)
// bodies decode slowly: on this machine a plain Node server sending 31.6 KB took p50 25 ms as
// random bytes against 3 ms as text, at the same bytes per request. The load generator shares the
// cores with the servers, so that cost showed up as server latency. Bodies are counted, not kept.
export function countBodiesOnly (): void {
  const queue = createRequire(import.meta.url)('autocannon/lib/pipelinedRequestsQueue.js') as { prototype: { addBody: (data: Buffer) => void } }
  queue.prototype.addBody = () => {}
}
