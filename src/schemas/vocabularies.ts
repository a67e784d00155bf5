// PLACEHOLDER: replaced by the real schemas.
export const vocabularySchemas: never[] = []
