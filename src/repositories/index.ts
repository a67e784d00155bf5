import type { Db } from '../db/client.ts'
import { createFacilitiesRepository } from './facilities-repository.ts'
import { createServicesRepository } from './services-repository.ts'
import { createVocabulariesRepository } from './vocabularies-repository.ts'
import { createOrganisationsRepository } from './organisations-repository.ts'
import { createContactsRepository } from './contacts-repository.ts'
import { createAgreementsRepository } from './agreements-repository.ts'
import { createChangesRepository } from './changes-repository.ts'
import { createApiKeysRepository } from './api-keys-repository.ts'
import { createIdempotencyRepository } from './idempotency-repository.ts'
import { createWriter } from './writer.ts'
import { createHistoryRepository } from './history-repository.ts'
import { createHealthRepository } from './health-repository.ts'

export function createRepositories (db: Db) {
  const writer = createWriter(db)
  const services = createServicesRepository(db, writer)
  return {
    writer,
    facilities: createFacilitiesRepository(db, writer, { services }),
    services,
    vocabularies: createVocabulariesRepository(db, writer),
    organisations: createOrganisationsRepository(db, writer),
    contacts: createContactsRepository(db, writer),
    agreements: createAgreementsRepository(db, writer),
    changes: createChangesRepository(db),
    apiKeys: createApiKeysRepository(db),
    idempotency: createIdempotencyRepository(db),
    history: createHistoryRepository(db),
    health: createHealthRepository(db)
  }
}

export type Repositories = ReturnType<typeof createRepositories>
