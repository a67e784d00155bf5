import { facilitySchemas, facilityWriteSchemas } from './facilities.ts'
import { serviceSchemas, serviceWriteSchemas } from './services.ts'
import { vocabularySchemas, vocabularyWriteSchemas } from './vocabularies.ts'
import { organisationSchemas, organisationWriteSchemas } from './organisations.ts'
import { contactSchemas, contactWriteSchemas } from './contacts.ts'
import { agreementSchemas, agreementWriteSchemas } from './agreements.ts'
import { changeSchemas } from './changes.ts'
import { dataQualitySchemas } from './data-quality.ts'
import { hsdsSchemas } from './hsds.ts'

// Every schema with an $id, registered once so routes can reference it with ref().
export const allSharedSchemas = [
  ...facilitySchemas,
  ...facilityWriteSchemas,
  ...serviceSchemas,
  ...serviceWriteSchemas,
  ...vocabularySchemas,
  ...vocabularyWriteSchemas,
  ...organisationSchemas,
  ...organisationWriteSchemas,
  ...contactSchemas,
  ...contactWriteSchemas,
  ...agreementSchemas,
  ...agreementWriteSchemas,
  ...changeSchemas,
  ...dataQualitySchemas,
  ...hsdsSchemas
]
