// PLACEHOLDER: replaced by the real schemas.
export const agreementSchemas: never[] = []
