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

export function createRepositories (db: Db) {
  return {
    facilities: createFacilitiesRepository(db),
    services: createServicesRepository(db),
    vocabularies: createVocabulariesRepository(db),
    organisations: createOrganisationsRepository(db),
    contacts: createContactsRepository(db),
    agreements: createAgreementsRepository(db),
    changes: createChangesRepository(db),
    apiKeys: createApiKeysRepository(db),
    idempotency: createIdempotencyRepository(db)
  }
}

export type Repositories = ReturnType<typeof createRepositories>
