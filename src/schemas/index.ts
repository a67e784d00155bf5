import { facilitySchemas } from './facilities.ts'
import { serviceSchemas } from './services.ts'
import { vocabularySchemas } from './vocabularies.ts'
import { organisationSchemas } from './organisations.ts'
import { contactSchemas } from './contacts.ts'
import { agreementSchemas } from './agreements.ts'

// Every schema with an $id, registered once so routes can reference it with ref().
export const allSharedSchemas = [
  ...facilitySchemas,
  ...serviceSchemas,
  ...vocabularySchemas,
  ...organisationSchemas,
  ...contactSchemas,
  ...agreementSchemas
]
