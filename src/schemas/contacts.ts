import { Type } from 'typebox'
// PLACEHOLDER: replaced by the real schemas.
export const ContactListSchema = Type.Object({ total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer(), items: Type.Array(Type.Object({})) })
export const contactSchemas: never[] = []
