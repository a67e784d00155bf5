import type { Db } from '../db/client.ts'

export function createHealthRepository (db: Db) {
  return {
    // Throws when the database does not answer. Prepared anew each time: a statement kept from
    // before would not notice a connection that can no longer compile one.
    ping (): void {
      db.$client.prepare('SELECT 1').get()
    }
  }
}
