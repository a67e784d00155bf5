import { HttpProblem } from './problem.ts'

// Opaque keyset cursors: the sort key of the last record of a page. Paging by key instead of by
// position keeps pages free of duplicates and gaps while records are inserted or deleted.

export type CursorKey = (string | number | null)[]

export function encodeCursor (sort: string, key: CursorKey): string {
  return Buffer.from(JSON.stringify([sort, ...key]), 'utf8').toString('base64url')
}

// Sorts whose keys (but the final id) are numbers.
const NUMERIC_SORTS = new Set(['distance', 'relevance'])

export function decodeCursor (cursor: string, sort: string, length: number): CursorKey {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    parsed = undefined
  }
  // Keys of the types a sort can give them: numbers (or null) for distance and relevance, text,
  // numbers or null for the others (a date and whether there is one), and the id last, which is
  // always text. Numbers are finite: JSON reads 1e999 as Infinity, which no key is.
  const numeric = NUMERIC_SORTS.has(sort)
  const wellFormed = Array.isArray(parsed) && parsed.length >= 2 && typeof parsed[0] === 'string' &&
    (parsed[0] !== sort || (parsed.slice(1, -1).every((v) => v === null || (typeof v === 'number' && Number.isFinite(v)) || (!numeric && typeof v === 'string')) && typeof parsed.at(-1) === 'string'))
  if (!wellFormed || !Array.isArray(parsed) || (parsed[0] === sort && parsed.length !== length + 1)) {
    throw new HttpProblem(400, 'The cursor is not valid. Use the `next` link of a previous page.', {
      type: '/problems/invalid-cursor', errors: [{ field: 'query.cursor', message: 'is not a cursor issued by this API' }]
    })
  }
  if (parsed[0] !== sort) {
    throw new HttpProblem(400, `The cursor belongs to sort=${String(parsed[0])}, not sort=${sort}.`, {
      type: '/problems/invalid-cursor', errors: [{ field: 'query.cursor', message: 'was issued for another sort order' }]
    })
  }
  return parsed.slice(1) as CursorKey
}

// Query string of the next/first page: the request's own parameters with cursor (and offset)
// replaced, in a stable order.
export function pageUrl (path: string, query: Record<string, unknown>, cursor: string | null): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) {
    if (name === 'cursor' || name === 'offset' || value === undefined) continue
    for (const item of Array.isArray(value) ? value : [value]) params.append(name, String(item))
  }
  if (cursor !== null) params.set('cursor', cursor)
  const text = params.toString()
  return text === '' ? path : `${path}?${text}`
}
