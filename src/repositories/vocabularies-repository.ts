import type { Db } from '../db/client.ts'

// PLACEHOLDER: replaced by the real repository.
export function createVocabulariesRepository (_db: Db) {
  return {}
}
