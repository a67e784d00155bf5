import { pipeline, type Readable } from 'node:stream'
import zlib from 'node:zlib'

// Content codings (RFC 9110 §8.4, §12.5.3): answers of 1 KB and more go out compressed with
// Brotli or gzip when the client's Accept-Encoding allows it (browsers, fetch, curl --compressed
// and most HTTP libraries send it). A list of 14 facilities is about 59 KB as JSON and 16 KB as
// Brotli; at 100,000 facilities a page of 50 is 80-200 KB.

export type Coding = 'br' | 'gzip'

// Below this the framing costs about what compression saves.
export const MIN_COMPRESSED_BYTES = 1024

// The fastest settings: cached answers are compressed once per data version, but after a write
// every answer is built (and compressed) again, so compression must cost little next to building
// it. On the 59 KB list of the 14 facilities (session 5, this machine): Brotli quality 1 0.28 ms
// and 15.9 KB, gzip level 1 0.57 ms and 16.3 KB, gzip's default level 1.19 ms and 14.0 KB.
const BROTLI_OPTIONS = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } }
// Telling Brotli the size lets it size its buffers to the answer (about 30 % faster here).
const brotliOptionsFor = (size: number) => ({
  params: {
    ...BROTLI_OPTIONS.params,
    [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size,
    [zlib.constants.BROTLI_PARAM_LGWIN]: Math.min(22, Math.max(16, Math.ceil(Math.log2(size + 1))))
  }
})
const GZIP_OPTIONS = { level: 1 }

const negotiated = new Map<string, Coding | null>()
const NEGOTIATIONS_KEPT = 200

// The coding to use for a request: the client's preference by q-value, Brotli before gzip when it
// likes both equally, none when it names neither (or forbids them with q=0). Clients send a few
// distinct headers, so the answer is kept per header value (bounded).
export function negotiateCoding (acceptEncoding: string | string[] | undefined): Coding | null {
  if (acceptEncoding === undefined) return null
  const header = Array.isArray(acceptEncoding) ? acceptEncoding.join(', ') : acceptEncoding
  const known = negotiated.get(header)
  if (known !== undefined) return known
  const coding = choose(header)
  if (negotiated.size >= NEGOTIATIONS_KEPT) negotiated.clear()
  negotiated.set(header, coding)
  return coding
}

// RFC 9110 §12.5.3: a coding is acceptable when named (or matched by "*") with a q-value above
// 0; the order of the list carries no preference, so equal q-values go to the smaller coding.
// "x-gzip" is gzip (§8.4.1.3).
function choose (header: string): Coding | null {
  const q: Record<string, number> = {}
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase())
    if (name === '') continue
    const qParam = params.find((p) => p.startsWith('q='))
    const value = qParam === undefined ? 1 : Number(qParam.slice(2))
    if (!Number.isFinite(value) || value < 0 || value > 1) continue
    q[name === 'x-gzip' ? 'gzip' : name] = value
  }
  const weight = (coding: Coding) => q[coding] ?? q['*'] ?? 0
  const br = weight('br')
  const gzip = weight('gzip')
  if (br <= 0 && gzip <= 0) return null
  return br >= gzip ? 'br' : 'gzip'
}

export function compress (body: Buffer, coding: Coding): Buffer {
  return coding === 'br' ? zlib.brotliCompressSync(body, brotliOptionsFor(body.length)) : zlib.gzipSync(body, GZIP_OPTIONS)
}

// pipeline, not pipe: an error of the source (a failing query while an export streams) reaches
// the compressed stream, which fastify listens to, and both are destroyed; with pipe it would be
// an unhandled 'error' event.
export function compressStream (stream: Readable, coding: Coding): Readable {
  return pipeline(stream, coding === 'br' ? zlib.createBrotliCompress(BROTLI_OPTIONS) : zlib.createGzip(GZIP_OPTIONS), () => {})
}

// The same, off the event loop (zlib runs in libuv's thread pool): for large answers, so that
// compressing them does not hold up other requests.
export function compressAsync (body: Buffer, coding: Coding, callback: (error: Error | null, result: Buffer) => void): void {
  if (coding === 'br') zlib.brotliCompress(body, brotliOptionsFor(body.length), callback)
  else zlib.gzip(body, GZIP_OPTIONS, callback)
}

// A compressed answer is another representation, so it has its own strong ETag (RFC 9110
// §8.8.3): the identity ETag with the coding appended inside the quotes ("…" → "….br"). The dot
// never occurs in the directory's ETags (base64url), so the suffix is unambiguous.
export function codedEtag (etag: string, coding: Coding | null): string {
  return coding === null || !etag.endsWith('"') ? etag : `${etag.slice(0, -1)}.${coding}"`
}

// The identity ETag of an ETag a client sends back (If-Match after a compressed GET).
export function identityEtag (etag: string): string {
  return etag.replace(/\.(?:br|gzip)"$/, '"')
}
