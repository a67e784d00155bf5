// JSON Merge Patch (RFC 7386): objects merge recursively, null removes a member, anything else
// (arrays included) replaces it.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

export function applyMergePatch (target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {}
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete result[name]
    else result[name] = applyMergePatch(result[name], value)
  }
  return result
}

// Members removed by the patch come back as null, because a record's fields are nullable, not
// optional: {"phone": null} means "phone unknown".
export function withNulls (template: Record<string, unknown>, value: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...value }
  for (const [name, original] of Object.entries(template)) {
    if (!(name in result)) result[name] = null
    else if (isObject(original) && isObject(result[name])) result[name] = withNulls(original, result[name] as Record<string, unknown>)
  }
  return result
}

export type { Json }
