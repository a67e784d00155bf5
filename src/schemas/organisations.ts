// PLACEHOLDER: replaced by the real schemas.
export const organisationSchemas: never[] = []
