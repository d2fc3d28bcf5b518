import { Type } from 'typebox';

/** Schemas shared by several capabilities' routes. */
export const Uuid = Type.String({ format: 'uuid' });
/** `schema` or null. */
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
/** Params of the routes under /sessions/:sessionId. */
export const SessionIdParams = Type.Object({ sessionId: Uuid });
/** Params of the routes under /students/:studentId. */
export const StudentIdParams = Type.Object({ studentId: Uuid });
/** Params of the routes under /users/:userId. */
export const UserIdParams = Type.Object({ userId: Uuid });
/** An instant in requests and answers; in requests, years 1900–2999 only (no absurd dates reach PostgreSQL). */
export const IsoDateTime = Type.String({ format: 'date-time', pattern: '^(19|2[0-9])[0-9]{2}-' });
export const RoleSchema = Type.Union([Type.Literal('student'), Type.Literal('mentor'), Type.Literal('jury'), Type.Literal('coordinator')]);
export const LocaleSchema = Type.Union([Type.Literal('en'), Type.Literal('fr'), Type.Literal('es')]);

export const PublicUserSchema = Type.Object({
  id: Uuid,
  email: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  timeZone: Type.String(),
  locale: LocaleSchema,
});

export const ProblemSchema = Type.Object(
  { type: Type.String(), title: Type.String(), status: Type.Integer(), code: Type.String(), detail: Type.String() },
  { additionalProperties: true },
);
