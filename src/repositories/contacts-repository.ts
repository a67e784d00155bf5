import type { Db } from '../db/client.ts'

// PLACEHOLDER: replaced by the real repository.
export function createContactsRepository (_db: Db) {
  return {
    list (query: { facility?: string[], limit: number, offset: number }) {
      return { total: 0, limit: query.limit, offset: query.offset, items: [] as Record<string, never>[] }
    }
  }
}
