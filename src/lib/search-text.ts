// Text folding for German-friendly search: case- and diacritic-insensitive, ß = ss, and the
// transliterations people type without umlaut keys (ä = ae, ö = oe, ü = ue).

export const MAX_QUERY_TOKENS = 12

export function fold (text: string): string {
  return text.replace(/ẞ/g, 'ss').replace(/ß/g, 'ss').normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase()
}

export function transliterate (text: string): string {
  // Composed first: a decomposed ä (a + U+0308) is the same letter.
  return fold(text.normalize('NFC').toLowerCase().replace(/ä/g, 'ae').replace(/ö/g, 'oe').replace(/ü/g, 'ue'))
}

// Extra spellings indexed beside the original text so both `Wattstrasse` and `Luetzow` match.
export function spellingVariants (texts: (string | null | undefined)[]): string {
  const joined = texts.filter((t): t is string => typeof t === 'string' && t.length > 0).join(' ')
  return `${fold(joined)} ${transliterate(joined)}`
}

// Words of the user's query: letters and digits only, so quotes, *, -, NEAR, parentheses and
// any other FTS5 syntax are never interpreted.
export function queryTokens (query: string): string[] {
  const words = fold(query).match(/[\p{L}\p{N}]+/gu) ?? []
  return [...new Set(words)].slice(0, MAX_QUERY_TOKENS)
}

// An FTS5 MATCH expression: every token must occur, each as a prefix (search as you type).
export function matchExpression (tokens: string[]): string {
  return tokens.map((token) => `"${token}"*`).join(' AND ')
}

export interface FieldText { field: string, text: string | null | undefined }

export interface MatchExplanation {
  fields: string[]
  snippet: string | null
}

const SNIPPET_RADIUS = 40

// Says which fields of a result contain a word starting with one of the tokens, and shows the
// first such place in its original spelling.
export function explainMatch (tokens: string[], fields: FieldText[]): MatchExplanation {
  const matched: string[] = []
  let snippet: string | null = null
  for (const { field, text } of fields) {
    if (typeof text !== 'string' || text.length === 0) continue
    const position = firstMatch(tokens, text)
    if (position === -1) continue
    if (!matched.includes(field)) matched.push(field)
    if (snippet === null) snippet = cut(text, position)
  }
  return { fields: matched, snippet }
}

// The folded forms of a word (as typed, transliterated). Every search result's fields are
// scanned word by word, and the directory's words repeat: non-ASCII words are kept (bounded);
// an ASCII word's forms are its lower case.
const ASCII = /^[ -~]*$/
const FORMS_KEPT = 20_000
const formsOfWord = new Map<string, string[]>()
export function wordForms (word: string): string[] {
  if (ASCII.test(word)) return [word.toLowerCase()]
  let forms = formsOfWord.get(word)
  if (forms === undefined) {
    forms = [fold(word), transliterate(word)]
    if (formsOfWord.size >= FORMS_KEPT) formsOfWord.clear()
    formsOfWord.set(word, forms)
  }
  return forms
}

function firstMatch (tokens: string[], text: string): number {
  let best = -1
  // Folding keeps string length for most Latin text, except ß → ss; map positions per word instead.
  for (const word of text.matchAll(/[\p{L}\p{N}]+/gu)) {
    const forms = wordForms(word[0])
    if (tokens.some((token) => forms.some((form) => form.startsWith(token)))) {
      best = word.index
      break
    }
  }
  return best
}

function cut (text: string, position: number): string {
  const start = Math.max(0, position - SNIPPET_RADIUS)
  const end = Math.min(text.length, position + SNIPPET_RADIUS * 2)
  return `${start > 0 ? '…' : ''}${text.slice(start, end).trim()}${end < text.length ? '…' : ''}`
}
