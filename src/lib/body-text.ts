import { HttpProblem } from './problem.ts'

// Text a JSON body may not carry: control characters other than tab, line feed and carriage
// return (C0, DEL and C1: U+0000 ends strings in C, and vCard, iCalendar and XML have no place
// for the others), and lone UTF-16 surrogates (no character at all: stored as UTF-8 they would
// turn into U+FFFD, so the record read back would differ from the one written). JSON.parse
// refuses raw C0 characters, so they come in as escapes (\u…, \b, \f); DEL and C1 may also come
// raw. Bidirectional embeddings and overrides (U+202A–U+202E) are refused too: invisible, they
// make a name display as other text than it is (spoofing in every app that shows it). The
// isolates (U+2066–U+2069), which W3C recommends for embedding right-to-left text, are allowed.
// A body with none of these is not walked.
const SUSPECT = /\\u|\\[bf]|[\u007f-\u009f\u202a-\u202e]/
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

const BIDI_CONTROL = /[\u202a-\u202e]/
const codePoint = (c: string) => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`

function flaw (text: string): string | null {
  const control = CONTROL.exec(text)
  if (control !== null) return `contains the control character ${codePoint(control[0])}`
  const bidi = BIDI_CONTROL.exec(text)
  if (bidi !== null) return `contains the bidirectional control ${codePoint(bidi[0])} (it makes text display as other text)`
  if (LONE_SURROGATE.test(text)) return 'contains a lone UTF-16 surrogate (not a character)'
  return null
}

// The first member (as `body.a.0.b`) whose name or text has such a character, and why.
function find (value: unknown, path: string): { field: string, message: string } | null {
  if (typeof value === 'string') {
    const message = flaw(value)
    return message === null ? null : { field: path, message }
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = find(value[i], `${path}.${i}`)
      if (found !== null) return found
    }
    return null
  }
  if (value !== null && typeof value === 'object') {
    for (const [name, member] of Object.entries(value)) {
      const message = flaw(name)
      if (message !== null) return { field: path, message: `has a member name that ${message}` }
      const found = find(member, `${path}.${name}`)
      if (found !== null) return found
    }
  }
  return null
}

// A 400 for a parsed JSON body (`raw`: its text) that carries such text, else null.
export function invalidBodyText (raw: string, parsed: unknown): HttpProblem | null {
  if (!SUSPECT.test(raw)) return null
  const found = find(parsed, 'body')
  if (found === null) return null
  return new HttpProblem(400, `The request is invalid: ${found.field} ${found.message}.`, {
    type: '/problems/validation-error',
    errors: [found]
  })
}
