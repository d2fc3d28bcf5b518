import { Type, type Static } from 'typebox';
import { IsoDateTime, LocaleSchema, PublicUserSchema, RoleSchema, Uuid } from '../shared/schemas.ts';

/** Request and answer schemas of the school's routes (routes.ts). */

export const ProjectSchema = Type.Object({ id: Uuid, position: Type.Integer(), title: Type.String(), description: Type.String() });
export const PathSchema = Type.Object({
  id: Uuid,
  slug: Type.String(),
  title: Type.String(),
  language: LocaleSchema,
  eqfLevel: Type.Integer(),
  durationMonths: Type.Integer(),
  projects: Type.Array(ProjectSchema),
});
export const TierSchema = Type.Union([Type.Literal('free'), Type.Literal('premium_solo'), Type.Literal('premium_plus')]);
export const ProgressStateSchema = Type.Union([
  Type.Literal('locked'),
  Type.Literal('in_progress'),
  Type.Literal('submitted'),
  Type.Literal('validated'),
  Type.Literal('needs_revision'),
]);
export const EnrollmentSchema = Type.Object({
  id: Uuid,
  pathId: Uuid,
  mentorId: Type.Union([Uuid, Type.Null()]),
  tier: TierSchema,
  startedAt: IsoDateTime,
  status: Type.String(),
  projects: Type.Array(Type.Object({ ...ProjectSchema.properties, state: ProgressStateSchema, updatedAt: IsoDateTime })),
});
export const PreferencesSchema = Type.Object({
  reminderEmail: Type.Boolean({ description: 'Reminders by e-mail' }),
  reminderBrowser: Type.Boolean({ description: 'Reminders in the browser' }),
});
export type PreferencesJson = Static<typeof PreferencesSchema>;

export const MeBodySchema = Type.Object({ timeZone: Type.Optional(Type.String({ maxLength: 64 })), locale: Type.Optional(LocaleSchema) }, { additionalProperties: false });
export type MeBody = Static<typeof MeBodySchema>;
export const PreferencesBodySchema = Type.Partial(PreferencesSchema, { additionalProperties: false });
export type PreferencesBody = Static<typeof PreferencesBodySchema>;
export const UnsubscribeParams = Type.Object({ token: Type.String({ maxLength: 80 }) });

export const PathListSchema = Type.Array(PathSchema);
export type PathJson = Static<typeof PathSchema>;
export const PathParams = Type.Object({ pathId: Uuid });
export const EnrollmentListSchema = Type.Array(EnrollmentSchema);
export type EnrollmentJson = Static<typeof EnrollmentSchema>;

export const MentorParams = Type.Object({ mentorId: Uuid });
export const MentorStudentsSchema = Type.Array(
  Type.Object({ id: Uuid, name: Type.String(), email: Type.String(), timeZone: Type.String(), enrollmentId: Uuid, pathId: Uuid, tier: TierSchema }),
);

export const PeopleQuery = Type.Object({ role: RoleSchema });
export const PublicUserListSchema = Type.Array(PublicUserSchema);
