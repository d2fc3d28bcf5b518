import { Type, type Static } from 'typebox';
import { PublicUserSchema, RoleSchema } from '../shared/schemas.ts';

/** Request and answer schemas of auth's routes (routes.ts). */

export const TokensSchema = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'Seconds until the access token expires' }),
  refreshToken: Type.String(),
  refreshExpiresAt: Type.String({ format: 'date-time' }),
  user: PublicUserSchema,
});
export type Tokens = Static<typeof TokensSchema>;

export const LoginBodySchema = Type.Object({ email: Type.String({ format: 'email', maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export type LoginBody = Static<typeof LoginBodySchema>;
/** The body of refresh and of logout. */
export const RefreshBodySchema = Type.Object({ refreshToken: Type.String({ minLength: 10, maxLength: 200 }) }, { additionalProperties: false });
export type RefreshBody = Static<typeof RefreshBodySchema>;
export const PasswordBodySchema = Type.Object(
  { currentPassword: Type.String({ minLength: 1, maxLength: 200 }), newPassword: Type.String({ minLength: 10, maxLength: 200 }) },
  { additionalProperties: false },
);
export type PasswordBody = Static<typeof PasswordBodySchema>;
export const UserChangeBodySchema = Type.Object({ role: Type.Optional(RoleSchema), disabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false, minProperties: 1 });
export type UserChangeBody = Static<typeof UserChangeBodySchema>;
export const UserStateSchema = Type.Object({ user: PublicUserSchema, disabled: Type.Boolean() });
export type UserStateJson = Static<typeof UserStateSchema>;
export const NoContentSchema = Type.Null();
