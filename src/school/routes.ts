import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Db } from '../db/index.ts';
import { ROLES, toPublicUser, viewerOf, type UserRow } from '../auth/index.ts';
import { forbidden, invalid, notFound } from '../shared/errors.ts';
import { PublicUserSchema, StudentIdParams } from '../shared/schemas.ts';
import {
  assertCanViewStudent,
  assertPremiumPlus,
  currentEnrollment,
  enrollmentsOfStudent,
  getPath,
  listPaths,
  progressOf,
  studentsOfMentor,
} from './service.ts';
import { canonicalZone } from './timezones.ts';
import { preferencesOf, unsubscribeByToken, updatePreferences } from './preferences.ts';
import {
  EnrollmentListSchema,
  MeBodySchema,
  MentorParams,
  MentorStudentsSchema,
  PathListSchema,
  PathParams,
  PathSchema,
  PeopleQuery,
  PreferencesBodySchema,
  PreferencesSchema,
  PublicUserListSchema,
  UnsubscribeParams,
} from './schemas.ts';

const UNSUBSCRIBED_PAGE = (done: boolean) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>Mentor Live</title></head><body style="font-family:sans-serif">${
    done
      ? '<p>Reminder e-mails are off. Invitations and changes to your sessions still reach you.</p>'
      : '<form method="post"><p>Stop reminder e-mails from Mentor Live?</p><button type="submit">Unsubscribe</button></form>'
  }</body></html>`;

async function userById(db: Db, id: string): Promise<UserRow> {
  const user = await db.one<UserRow>('SELECT id, email, name, role, time_zone, locale FROM users WHERE id = $1', [id]);
  if (!user) throw notFound('user_not_found', 'No such user');
  return user;
}

/**
 * The caller, their preferences, the unsubscribe link, paths and people: one
 * small plugin per resource, registered in this order (the OpenAPI document
 * lists paths in registration order).
 */
export const schoolRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Mail clients post `List-Unsubscribe=One-Click` form-encoded; its content is fixed, so it is not read.
  // Added here, for every route of the school (as before the routes were split), not only unsubscribe's.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_request, _body, done) => done(null, undefined));
  await app.register(meRoutes);
  await app.register(unsubscribeRoutes);
  await app.register(pathRoutes);
  await app.register(peopleRoutes);
};

/** The caller and their reminder preferences. */
const meRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app;

  app.get('/me', { config: { access: ROLES }, schema: { tags: ['people'], summary: 'The caller', response: { 200: PublicUserSchema } } }, async (request) =>
    toPublicUser(await userById(db, request.user.sub)),
  );

  app.patch(
    '/me',
    {
      config: { access: ROLES },
      schema: {
        tags: ['people'],
        summary: "Change one's time zone or language",
        body: MeBodySchema,
        response: { 200: PublicUserSchema },
      },
    },
    async (request) => {
      const { locale } = request.body;
      // Stored in its IANA spelling ("europe/paris" → "Europe/Paris"), as scheduling does.
      const timeZone = request.body.timeZone === undefined ? undefined : canonicalZone(request.body.timeZone);
      if (request.body.timeZone !== undefined && timeZone === undefined) throw invalid('unknown_time_zone', `"${request.body.timeZone}" is not an IANA time zone`);
      await db.execute('UPDATE users SET time_zone = COALESCE($2, time_zone), locale = COALESCE($3, locale) WHERE id = $1', [
        request.user.sub,
        timeZone ?? null,
        locale ?? null,
      ]);
      return toPublicUser(await userById(db, request.user.sub));
    },
  );

  app.get(
    '/me/preferences',
    { config: { access: ROLES }, schema: { tags: ['people'], summary: 'Which reminders reach the caller, by channel', response: { 200: PreferencesSchema } } },
    async (request) => preferencesOf(db, request.user.sub),
  );

  app.patch(
    '/me/preferences',
    {
      config: { access: ROLES },
      schema: {
        tags: ['people'],
        summary: 'Change which reminders reach the caller (invitations, updates and cancellations are always e-mailed)',
        body: PreferencesBodySchema,
        response: { 200: PreferencesSchema },
      },
    },
    async (request) => updatePreferences(db, request.user.sub, request.body, app.clock.now()),
  );
};

/**
 * The link in every mail. GET shows a confirmation (mail scanners follow links);
 * POST is the one-click unsubscribe of RFC 8058 (List-Unsubscribe-Post).
 */
const unsubscribeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app;
  app.get(
    '/unsubscribe/:token',
    { config: { access: 'public' }, schema: { tags: ['people'], summary: 'Confirm turning reminder e-mails off', params: UnsubscribeParams } },
    async (_request, reply) => reply.type('text/html; charset=utf-8').send(UNSUBSCRIBED_PAGE(false)),
  );
  app.post(
    '/unsubscribe/:token',
    { config: { access: 'public' }, schema: { tags: ['people'], summary: 'One-click unsubscribe from reminder e-mails (RFC 8058)', params: UnsubscribeParams } },
    async (request, reply) => {
      if (!(await unsubscribeByToken(db, request.params.token, app.clock.now()))) throw notFound('unsubscribe_link_unknown', 'This unsubscribe link is not valid');
      return reply.type('text/html; charset=utf-8').send(UNSUBSCRIBED_PAGE(true));
    },
  );
};

/** Learning paths and a student's enrollments in them. */
const pathRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app;

  app.get('/paths', { config: { access: ROLES }, schema: { tags: ['paths'], summary: 'Learning paths and their projects', response: { 200: PathListSchema } } }, async () =>
    listPaths(db),
  );

  app.get(
    '/paths/:pathId',
    { config: { access: ROLES }, schema: { tags: ['paths'], params: PathParams, response: { 200: PathSchema } } },
    async (request) => getPath(db, request.params.pathId),
  );

  app.get(
    '/students/:studentId/enrollments',
    {
      config: { access: ROLES },
      schema: {
        tags: ['paths'],
        summary: "A student's enrollments with the state of each project",
        description: 'The student, their mentor, a jury member of their defence, or a coordinator.',
        params: StudentIdParams,
        response: { 200: EnrollmentListSchema },
      },
    },
    async (request) => {
      const { studentId } = request.params;
      await assertCanViewStudent(db, viewerOf(request), studentId);
      const enrollments = await enrollmentsOfStudent(db, studentId);
      return Promise.all(
        enrollments.map(async (e) => ({
          id: e.id,
          pathId: e.pathId,
          mentorId: e.mentorId,
          tier: e.tier,
          startedAt: e.startedAt.toISOString(),
          status: e.status,
          projects: (await progressOf(db, e.id)).map((p) => ({ ...p, updatedAt: p.updatedAt.toISOString() })),
        })),
      );
    },
  );
};

/** The people around a student: their mentor; the school's people by role; a mentor's students. */
const peopleRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app;

  app.get(
    '/students/:studentId/mentor',
    {
      config: { access: ROLES },
      schema: {
        tags: ['people'],
        summary: "The student's assigned mentor (premium_plus only)",
        params: StudentIdParams,
        response: { 200: PublicUserSchema },
      },
    },
    async (request) => {
      const { studentId } = request.params;
      await assertCanViewStudent(db, viewerOf(request), studentId);
      const enrollment = await currentEnrollment(db, studentId);
      assertPremiumPlus(enrollment);
      if (!enrollment.mentorId) throw notFound('mentor_not_assigned', 'No mentor is assigned yet');
      return toPublicUser(await userById(db, enrollment.mentorId));
    },
  );

  // Coordinators choose a defence's candidate and jury, and whose attendance to read, from these lists.
  app.get(
    '/people',
    {
      config: { access: ['coordinator'] },
      schema: {
        tags: ['people'],
        summary: 'The people of the school with one role, by name',
        querystring: PeopleQuery,
        response: { 200: PublicUserListSchema },
      },
    },
    async (request) =>
      (await db.query<UserRow>('SELECT id, email, name, role, time_zone, locale FROM users WHERE role = $1 ORDER BY name, id', [request.query.role])).map(toPublicUser),
  );

  app.get(
    '/mentors/:mentorId/students',
    {
      config: { access: ['mentor', 'coordinator'] },
      schema: {
        tags: ['people'],
        summary: "A mentor's students",
        params: MentorParams,
        response: { 200: MentorStudentsSchema },
      },
    },
    async (request) => {
      const { mentorId } = request.params;
      if (request.user.role === 'mentor' && request.user.sub !== mentorId) throw forbidden('not_your_students', 'A mentor sees only their own students');
      return studentsOfMentor(db, mentorId);
    },
  );
};
