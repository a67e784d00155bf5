import type { Db } from '../db/client.ts'

// PLACEHOLDER: replaced by the real repository.
export function createAgreementsRepository (_db: Db) {
  return {}
}
