import { facilitySchemas, facilityWriteSchemas } from './facilities.ts'
import { serviceSchemas } from './services.ts'
import { vocabularySchemas } from './vocabularies.ts'
import { organisationSchemas } from './organisations.ts'
import { contactSchemas } from './contacts.ts'
import { agreementSchemas } from './agreements.ts'
import { changeSchemas } from './changes.ts'
import { dataQualitySchemas } from './data-quality.ts'

// Every schema with an $id, registered once so routes can reference it with ref().
export const allSharedSchemas = [
  ...facilitySchemas,
  ...facilityWriteSchemas,
  ...serviceSchemas,
  ...vocabularySchemas,
  ...organisationSchemas,
  ...contactSchemas,
  ...agreementSchemas,
  ...changeSchemas,
  ...dataQualitySchemas
]
