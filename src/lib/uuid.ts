import { createHash, randomUUID } from 'node:crypto'

// Namespace of this directory for name-based (RFC 9562 version 5) ids: the same seed key always
// gives the same UUID, so reseeding a database reproduces every id.
export const DIRECTORY_NAMESPACE = '6f1b7c52-8a3e-5d0b-9a61-3c2f4e7d1b90'

export function uuidV5 (name: string, namespace = DIRECTORY_NAMESPACE): string {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest()
  hash[6] = (hash[6]! & 0x0f) | 0x50
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

export function seedId (entity: string, key: string): string {
  return uuidV5(`${entity}:${key}`)
}

export const newId = randomUUID

export const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
const uuidRegex = new RegExp(UUID_PATTERN)

export function isUuid (value: string): boolean {
  return uuidRegex.test(value)
}
