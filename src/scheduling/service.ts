import type { Db, Queryable } from '../db/index.ts';
import { SqlState, sqlStateOf } from '../db/index.ts';
import type { DomainEventMap } from '../events/index.ts';
import type { Outbox } from '../outbox/index.ts';
import { assertPremiumPlus, currentEnrollment, projectStateOf } from '../school/index.ts';
import { assertDefenceEligible } from '../progression/index.ts';
import type { Clock } from '../shared/clock.ts';
import { conflict, forbidden, invalid, notFound, unprocessable } from '../shared/errors.ts';
import { parseIsoInstant } from '../shared/time.ts';
import {
  canonicalZoneOf,
  availabilityWindows,
  computeSlots,
  intersectAll,
  isSlotOffered,
  parseWallTime,
  renderInterval,
  validateAvailability,
  type DateOverride,
  type Interval,
  type RenderedSlot,
  type WeeklyRule,
} from './availability.ts';
import type { SchedulingConfig } from './config.ts';
import type { Notifier, Reminders } from './notifications.ts';
import { DETAIL_SELECT, changesOf, participantsOf, recordChange, sessionDetail, sessionsForUser, type ParticipantDetail, type SessionChange, type SessionDetail } from './sessions.ts';
import { busyOf, loadAvailability, saveAvailability, userBrief, type HostSettings, type UserBrief } from './store.ts';

import type { Viewer } from '../auth/index.ts';
export type { Viewer };

const MINUTE = 60_000;
const DAY = 86_400_000;

export interface AvailabilityView {
  hostId: string;
  timeZone: string;
  bufferMinutes: number;
  minimumNoticeMinutes: number;
  horizonDays: number;
  weekly: WeeklyRule[];
  overrides: DateOverride[];
}

export interface AvailabilityInput {
  timeZone: string;
  bufferMinutes?: number;
  minimumNoticeMinutes?: number | null;
  horizonDays?: number | null;
  weekly: WeeklyRule[];
  overrides?: DateOverride[];
}

export interface SlotSearchResult {
  hostIds: string[];
  durationMinutes: number;
  viewerTimeZone: string;
  slots: Array<RenderedSlot & { hosts: Array<{ userId: string; timeZone: string; startsAt: string; endsAt: string }> }>;
  /** Start of the last slot when more follow: ask again with `after` = this (null when complete). */
  next: string | null;
}

export interface SessionView {
  id: string;
  kind: 'mentoring' | 'defence';
  status: 'scheduled' | 'cancelled' | 'completed';
  startsAt: string;
  endsAt: string;
  durationMinutes: number;
  sequence: number;
  updatedAt: string;
  projectId: string | null;
  projectTitle: string | null;
  pathTitle: string;
  hostId: string;
  enrollmentId: string;
  studentId: string;
  createdBy: string | null;
  joinUrl: string;
  icsUrl: string;
  local: RenderedSlot['local'];
  participants: ParticipantDetail[];
  cancellation: { at: string; by: string | null; late: boolean; reason: string } | null;
}

/** A defence as a jury member's (or a coordinator's) list shows it. */
export interface DefenceListItem {
  id: string;
  startsAt: string;
  endsAt: string;
  durationMinutes: number;
  local: RenderedSlot['local'];
  pathTitle: string;
  candidate: { userId: string; name: string; timeZone: string };
  jury: Array<{ userId: string; name: string; timeZone: string }>;
  roomOpensAt: string;
  roomClosesAt: string;
  roomOpen: boolean;
  joinUrl: string;
}

/** Unsaved availability of one host, for the preview. */
interface AvailabilityDraft {
  hostId: string;
  timeZone: string;
  weekly: WeeklyRule[];
  overrides: DateOverride[];
  settings: HostSettings;
}

export interface ServiceLogger {
  error(obj: object, msg: string): void;
}

/** Where a panel of hosts (one mentor, or a jury) is available together, and their strictest rules. */
interface Panel {
  windows: Interval[];
  earliestStart: number;
  latestStart: number;
  bufferMinutes: number;
  zones: string[];
}

interface Party {
  userId: string;
  role: 'student' | 'mentor' | 'jury';
}

/**
 * Scheduling's use cases: availability, slot search, bookings of mentoring
 * sessions and defences, reschedule and cancel with history. The database has
 * the last word on double bookings: the exclusion constraint
 * session_participants_no_overlap (002_sessions.sql) refuses any overlapping
 * busy row of one person, whatever raced; SQLSTATE 23P01 becomes a 409.
 */
/**
 * Slots step from each availability window's start, so the windows must not be
 * cut at an arbitrary instant (a search "from 08:08:35" would otherwise offer
 * 08:08:35, which booking then refuses). Search and booking both cut them at
 * UTC midnights a day beyond what they look at: the same grid whatever the
 * range asked.
 */
function gridSpan(fromMs: number, toMs: number): { from: Date; to: Date } {
  return { from: new Date(Math.floor(fromMs / DAY) * DAY - DAY), to: new Date(Math.ceil(toMs / DAY) * DAY + DAY) };
}

export class SchedulingService {
  readonly #db: Db;
  readonly #config: SchedulingConfig;
  readonly #clock: Clock;
  readonly #outbox: Outbox;
  readonly #reminders: Reminders;
  readonly #notifier: Notifier;
  readonly #publicUrl: string;
  readonly #log: ServiceLogger;

  constructor(deps: { db: Db; config: SchedulingConfig; clock: Clock; outbox: Outbox; reminders: Reminders; notifier: Notifier; publicUrl: string; log: ServiceLogger }) {
    this.#db = deps.db;
    this.#config = deps.config;
    this.#clock = deps.clock;
    this.#outbox = deps.outbox;
    this.#reminders = deps.reminders;
    this.#notifier = deps.notifier;
    this.#publicUrl = deps.publicUrl;
    this.#log = deps.log;
  }

  joinUrl(sessionId: string): string {
    return `${this.#publicUrl}/#/sessions/${sessionId}`;
  }

  // ---------------------------------------------------------------- availability

  async #host(hostId: string, roles: Array<UserBrief['role']>): Promise<UserBrief> {
    const host = await userBrief(this.#db, hostId);
    if (!host || !roles.includes(host.role)) throw notFound('host_not_found', 'No such mentor or jury member');
    return host;
  }

  #assertManagesHost(viewer: Viewer, hostId: string): void {
    if (viewer.role === 'coordinator' || viewer.userId === hostId) return;
    throw forbidden('not_your_availability', 'Only the host or a coordinator may change this availability');
  }

  async getAvailability(viewer: Viewer, hostId: string): Promise<AvailabilityView> {
    const host = await this.#host(hostId, ['mentor', 'jury']);
    // Hosts read their own rules, students their mentor's, coordinators everyone's (issue 13).
    if (viewer.role === 'student') await this.#assertStudentsMentor(viewer, hostId);
    else if (viewer.role !== 'coordinator' && viewer.userId !== hostId) throw forbidden('not_your_availability', "A host reads only their own availability");
    const now = this.#clock.now();
    const { availability, settings } = await loadAvailability(this.#db, hostId, host.timeZone, now, now);
    return {
      hostId,
      timeZone: availability.timeZone,
      bufferMinutes: settings?.bufferMinutes ?? this.#config.defaultBufferMinutes,
      minimumNoticeMinutes: settings?.minimumNoticeMinutes ?? this.#config.minimumNoticeMinutes,
      horizonDays: settings?.horizonDays ?? this.#config.bookingHorizonDays,
      weekly: availability.weekly,
      overrides: availability.overrides,
    };
  }

  async putAvailability(viewer: Viewer, hostId: string, input: AvailabilityInput): Promise<AvailabilityView> {
    await this.#host(hostId, ['mentor', 'jury']);
    this.#assertManagesHost(viewer, hostId);
    const overrides = input.overrides ?? [];
    const timeZone = validateAvailability({ timeZone: input.timeZone, weekly: input.weekly, overrides });
    // Under the host's booking lock: a booking in flight either commits before the
    // change or is checked against the new availability, never against a stale one.
    await this.#db.tx(async (q) => {
      await lockPeople(q, [hostId]);
      await saveAvailability(
        q,
        hostId,
        {
          timeZone,
          bufferMinutes: input.bufferMinutes ?? this.#config.defaultBufferMinutes,
          minimumNoticeMinutes: input.minimumNoticeMinutes ?? null,
          horizonDays: input.horizonDays ?? null,
          weekly: input.weekly,
          overrides,
        },
        parseWallTime,
      );
    });
    return this.getAvailability(viewer, hostId);
  }

  async addTimeOff(viewer: Viewer, hostId: string, input: { startsAt: string; endsAt: string; reason?: string }) {
    await this.#host(hostId, ['mentor', 'jury']);
    this.#assertManagesHost(viewer, hostId);
    const { from, to } = parseRange(input.startsAt, input.endsAt, 366, ['startsAt', 'endsAt']);
    // Under the host's booking lock, like an availability change (see putAvailability).
    const row = await this.#db.tx(async (q) => {
      await lockPeople(q, [hostId]);
      return q.one<{ id: string }>('INSERT INTO time_off (user_id, starts_at, ends_at, reason) VALUES ($1, $2, $3, $4) RETURNING id', [hostId, from, to, input.reason ?? '']);
    });
    return { id: row!.id, startsAt: from.toISOString(), endsAt: to.toISOString(), reason: input.reason ?? '' };
  }

  async listTimeOff(viewer: Viewer, hostId: string) {
    await this.#host(hostId, ['mentor', 'jury']);
    this.#assertManagesHost(viewer, hostId);
    const rows = await this.#db.query<{ id: string; startsAt: Date; endsAt: Date; reason: string }>(
      'SELECT id, starts_at AS "startsAt", ends_at AS "endsAt", reason FROM time_off WHERE user_id = $1 AND ends_at > $2 ORDER BY starts_at',
      [hostId, this.#clock.now()],
    );
    return rows.map((r) => ({ ...r, startsAt: r.startsAt.toISOString(), endsAt: r.endsAt.toISOString() }));
  }

  async deleteTimeOff(viewer: Viewer, hostId: string, id: string): Promise<void> {
    this.#assertManagesHost(viewer, hostId);
    const n = await this.#db.execute('DELETE FROM time_off WHERE id = $1 AND user_id = $2', [id, hostId]);
    if (n === 0) throw notFound('time_off_not_found', 'No such time off');
  }

  // ---------------------------------------------------------------- slots

  /** Windows where every host is available, with the strictest notice, horizon and buffer among them. */
  async #panelWindows(q: Queryable, hosts: UserBrief[], from: Date, to: Date, draft?: AvailabilityDraft): Promise<Panel> {
    const now = this.#clock.now().getTime();
    const lists: Interval[][] = [];
    let notice = 0;
    let horizonDays = Number.POSITIVE_INFINITY;
    let buffer = 0;
    const zones: string[] = [];
    for (const host of hosts) {
      const loaded = await loadAvailability(q, host.id, host.timeZone, new Date(from.getTime() - DAY), new Date(to.getTime() + DAY));
      // A draft (the availability preview) stands for the host's saved rules and settings; their time off stays.
      const mine = draft?.hostId === host.id ? draft : undefined;
      const availability = mine ? { ...loaded.availability, timeZone: mine.timeZone, weekly: mine.weekly, overrides: mine.overrides } : loaded.availability;
      const settings = mine ? mine.settings : loaded.settings;
      lists.push(availabilityWindows(availability, from.getTime(), to.getTime()));
      notice = Math.max(notice, settings?.minimumNoticeMinutes ?? this.#config.minimumNoticeMinutes);
      horizonDays = Math.min(horizonDays, settings?.horizonDays ?? this.#config.bookingHorizonDays);
      buffer = Math.max(buffer, settings?.bufferMinutes ?? this.#config.defaultBufferMinutes);
      zones.push(availability.timeZone);
    }
    return {
      windows: intersectAll(lists),
      earliestStart: now + notice * MINUTE,
      latestStart: now + horizonDays * DAY,
      bufferMinutes: buffer,
      zones,
    };
  }

  async #viewerZone(viewer: Viewer, override: string | undefined): Promise<string> {
    if (override !== undefined) return canonicalZoneOf(override);
    return (await userBrief(this.#db, viewer.userId))?.timeZone ?? 'UTC';
  }

  async #assertStudentsMentor(viewer: Viewer, mentorId: string) {
    const enrollment = await currentEnrollment(this.#db, viewer.userId);
    assertPremiumPlus(enrollment);
    if (enrollment.mentorId !== mentorId) throw forbidden('not_your_mentor', 'Students book sessions with their own mentor only');
    return enrollment;
  }

  /** The range (at most SLOT_SEARCH_MAX_DAYS) and the optional cursor of a slot search. */
  #searchRange(q: { from: string; to: string; after?: string | undefined }): { from: Date; to: Date; after: number | null } {
    const range = parseRange(q.from, q.to, this.#config.slotSearchMaxDays, ['from', 'to']);
    return { ...range, after: q.after === undefined ? null : parseIsoInstant(q.after, 'after') };
  }

  async #search(
    hosts: UserBrief[],
    others: string[],
    range: { from: Date; to: Date; after: number | null },
    durationMinutes: number,
    viewerZone: string,
    draft?: AvailabilityDraft,
  ): Promise<SlotSearchResult> {
    const span = gridSpan(range.from.getTime(), range.to.getTime());
    const panel = await this.#panelWindows(this.#db, hosts, span.from, span.to, draft);
    const pad = (panel.bufferMinutes + durationMinutes) * MINUTE;
    const around = { from: new Date(range.from.getTime() - pad), to: new Date(range.to.getTime() + pad) };
    const hostIds = hosts.map((h) => h.id);
    const slots = computeSlots(panel.windows, {
      durationMinutes,
      stepMinutes: this.#config.slotStepMinutes,
      busy: await busyOf(this.#db, others, around.from, around.to),
      hostBusy: await busyOf(this.#db, hostIds, around.from, around.to),
      bufferMinutes: panel.bufferMinutes,
      earliestStart: panel.earliestStart,
      latestStart: panel.latestStart,
    }).filter((s) => s.start >= range.from.getTime() && s.end <= range.to.getTime() && (range.after === null || s.start > range.after));
    // One answer renders at most SLOT_SEARCH_MAX_SLOTS (rendering is most of the
    // cost and the size); the client continues from `next`.
    const max = this.#config.slotSearchMaxSlots;
    const page = slots.length > max ? slots.slice(0, max) : slots;
    return {
      hostIds,
      durationMinutes,
      viewerTimeZone: viewerZone,
      next: slots.length > max ? new Date(page[page.length - 1]!.start).toISOString() : null,
      slots: page.map((s) => ({
        ...renderInterval(s, viewerZone),
        hosts: hosts.map((h, i) => {
          const local = renderInterval(s, panel.zones[i]!).local;
          return { userId: h.id, timeZone: local.timeZone, startsAt: local.startsAt, endsAt: local.endsAt };
        }),
      })),
    };
  }

  /**
   * The slots an availability would produce, not saved: the host's draft rules,
   * overrides, buffer, notice and horizon, with their time off and sessions as
   * they are, over the next `days` (a mentoring session's length for a mentor,
   * a defence's for a jury member), in the draft's zone unless `timeZone`.
   * What #/availability shows live while the rules are edited.
   */
  async previewAvailability(viewer: Viewer, hostId: string, input: AvailabilityInput & { after?: string }, q: { days?: number; timeZone?: string }): Promise<SlotSearchResult> {
    const host = await this.#host(hostId, ['mentor', 'jury']);
    this.#assertManagesHost(viewer, hostId);
    const overrides = input.overrides ?? [];
    const timeZone = validateAvailability({ timeZone: input.timeZone, weekly: input.weekly, overrides });
    const now = this.#clock.now();
    const days = Math.min(q.days ?? 14, this.#config.slotSearchMaxDays);
    const range = { from: now, to: new Date(now.getTime() + days * DAY), after: input.after === undefined ? null : parseIsoInstant(input.after, 'after') };
    const draft: AvailabilityDraft = {
      hostId,
      timeZone,
      weekly: input.weekly,
      overrides,
      settings: { timeZone, bufferMinutes: input.bufferMinutes ?? this.#config.defaultBufferMinutes, minimumNoticeMinutes: input.minimumNoticeMinutes ?? null, horizonDays: input.horizonDays ?? null },
    };
    const duration = host.role === 'jury' ? this.#defenceDuration(undefined) : this.#config.mentoringMinutes;
    return this.#search([host], [], range, duration, q.timeZone === undefined ? timeZone : canonicalZoneOf(q.timeZone), draft);
  }

  /** Free mentoring slots of a mentor: the mentor, a coordinator, or the mentor's own premium_plus student. */
  async mentoringSlots(viewer: Viewer, mentorId: string, q: { from: string; to: string; after?: string; timeZone?: string }): Promise<SlotSearchResult> {
    const range = this.#searchRange(q);
    const mentor = await this.#host(mentorId, ['mentor']);
    const others: string[] = [];
    if (viewer.role === 'student') {
      await this.#assertStudentsMentor(viewer, mentorId);
      others.push(viewer.userId);
    } else if (viewer.role === 'mentor' && viewer.userId !== mentorId) {
      throw forbidden('not_your_availability', 'A mentor sees only their own slots');
    } else if (viewer.role === 'jury') {
      throw forbidden('role_not_allowed', 'Jury members do not book mentoring sessions');
    }
    return this.#search([mentor], others, range, this.#config.mentoringMinutes, await this.#viewerZone(viewer, q.timeZone));
  }

  async #juryPanel(juryIds: string[]): Promise<UserBrief[]> {
    if (new Set(juryIds).size !== juryIds.length) throw invalid('duplicate_jury_member', 'A jury member is listed twice');
    if (juryIds.length < 2 || juryIds.length > 3) throw invalid('jury_size', 'A defence needs 2 or 3 jury members');
    const panel: UserBrief[] = [];
    for (const id of juryIds) {
      const u = await userBrief(this.#db, id);
      if (!u || u.role !== 'jury') throw unprocessable('not_a_jury_member', `${id} is not a jury member`, { userId: id });
      panel.push(u);
    }
    return panel;
  }

  #defenceDuration(minutes: number | undefined): number {
    const d = minutes ?? this.#config.defenceDefaultMinutes;
    if (d < this.#config.defenceMinMinutes || d > this.#config.defenceMaxMinutes) {
      throw invalid('invalid_duration', `A defence lasts ${this.#config.defenceMinMinutes} to ${this.#config.defenceMaxMinutes} minutes`);
    }
    return d;
  }

  /** Slots where every jury member is available and free, and the candidate is free (coordinators). */
  async defenceSlots(
    viewer: Viewer,
    q: { studentId: string; juryIds: string[]; from: string; to: string; after?: string; durationMinutes?: number; timeZone?: string },
  ): Promise<SlotSearchResult> {
    const range = this.#searchRange(q);
    const duration = this.#defenceDuration(q.durationMinutes);
    const panel = await this.#juryPanel(q.juryIds);
    await this.#defenceCandidate(q.studentId);
    return this.#search(panel, [q.studentId], range, duration, await this.#viewerZone(viewer, q.timeZone));
  }

  async #defenceCandidate(studentId: string) {
    const student = await userBrief(this.#db, studentId);
    if (!student || student.role !== 'student') throw notFound('student_not_found', 'No such student');
    const enrollment = await currentEnrollment(this.#db, studentId);
    // One rule for "may hold a defence" (premium_plus, every project validated, no
    // diploma yet, past the retake delay): progression owns it, the flow checks it again.
    await assertDefenceEligible(this.#db, enrollment.id, this.#clock.now());
    return { student, enrollment };
  }

  // ---------------------------------------------------------------- booking

  /** Throws 422 slot_not_offered unless [start, start + duration) is a slot the hosts offer now (availability, notice, horizon). */
  #assertOffered(panel: Panel, start: number, durationMinutes: number): void {
    const offered = isSlotOffered(panel.windows, start, {
      durationMinutes,
      stepMinutes: this.#config.slotStepMinutes,
      earliestStart: panel.earliestStart,
      latestStart: panel.latestStart,
    });
    if (!offered) {
      const reason =
        start < panel.earliestStart ? 'it is inside the minimum notice' : start > panel.latestStart ? 'it is beyond the booking horizon' : 'the host is not available then';
      throw unprocessable('slot_not_offered', `This time is not an offered slot: ${reason}`, {
        earliestStart: new Date(panel.earliestStart).toISOString(),
        latestStart: new Date(panel.latestStart).toISOString(),
      });
    }
  }

  /**
   * Holds the participants for [start, start + duration) in one transaction,
   * with every rule of a booking checked inside it, after the per-person
   * advisory locks of every participant are taken:
   * - `check` (e.g. one upcoming defence per student),
   * - the slot is offered (availability, time off, notice, horizon: availability
   *   and time off are changed under the host's lock too),
   * - the buffer around the hosts' other sessions (which a constraint cannot express),
   * then `write`. Every booking, reschedule and availability change of the same
   * people is serialised by those locks, so no rule is checked against a state
   * that another request changes before this one commits. A direct overlap is
   * refused by the exclusion constraint as well (23P01 → 409 slot_taken).
   */
  async #hold<T>(
    h: { parties: Party[]; hosts: UserBrief[]; start: number; durationMinutes: number; exceptSessionId?: string; check?: (q: Queryable) => Promise<void> },
    write: (q: Queryable, end: number) => Promise<T>,
  ): Promise<T> {
    const end = h.start + h.durationMinutes * MINUTE;
    try {
      return await this.#db.tx(async (q) => {
        await lockPeople(q, h.parties.map((p) => p.userId));
        await h.check?.(q);
        const span = gridSpan(h.start, end);
        const panel = await this.#panelWindows(q, h.hosts, span.from, span.to);
        this.#assertOffered(panel, h.start, h.durationMinutes);
        const buffer = panel.bufferMinutes * MINUTE;
        if (buffer > 0) {
          const near = await busyOf(q, h.hosts.map((x) => x.id), new Date(h.start - buffer), new Date(end + buffer), h.exceptSessionId);
          const onlyBuffer = near.filter((b) => !(b.start < end && b.end > h.start));
          if (onlyBuffer.length > 0) throw conflict('buffer_conflict', `The host keeps ${panel.bufferMinutes} minutes between sessions`);
        }
        return write(q, end);
      });
    } catch (err) {
      if (sqlStateOf(err) === SqlState.exclusionViolation) {
        throw conflict('slot_taken', 'This time is no longer free for one of the participants');
      }
      throw err;
    }
  }

  async #insertSession(q: Queryable, s: { kind: 'mentoring' | 'defence'; enrollmentId: string; projectId: string | null; hostId: string; start: number; end: number; createdBy: string; parties: Party[]; viewer: Viewer }): Promise<string> {
    const now = this.#clock.now();
    const row = await q.one<{ id: string }>(
      `INSERT INTO sessions (kind, enrollment_id, project_id, host_id, starts_at, ends_at, created_by, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
      [s.kind, s.enrollmentId, s.projectId, s.hostId, new Date(s.start), new Date(s.end), s.createdBy, now],
    );
    const id = row!.id;
    for (const p of s.parties) {
      await q.execute('INSERT INTO session_participants (session_id, user_id, role, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5)', [
        id,
        p.userId,
        p.role,
        new Date(s.start),
        new Date(s.end),
      ]);
    }
    await recordChange(q, {
      sessionId: id,
      change: 'booked',
      changedBy: s.viewer.userId,
      changedByRole: s.viewer.role,
      oldStartsAt: null,
      oldEndsAt: null,
      newStartsAt: new Date(s.start),
      newEndsAt: new Date(s.end),
      late: false,
      reason: '',
      sequence: 0,
      at: now,
    });
    await this.#announce(q, 'session.booked', { sessionId: id }, s.viewer);
    return id;
  }

  /**
   * Inside the change's transaction: the durable event (outbox) and the other
   * participants' notifications, keyed by the event's id, so both exist if and
   * only if the change does; the notifications are pushed once it commits.
   */
  async #announce<K extends 'session.booked' | 'session.rescheduled' | 'session.cancelled'>(
    q: Queryable,
    event: K,
    payload: DomainEventMap[K],
    actor: Viewer,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    const { sessionId } = payload;
    const eventId = await this.#outbox.append(q, event, payload);
    const detail = (await sessionDetail(q, sessionId))!;
    const kind = event === 'session.booked' ? 'session_booked' : event === 'session.rescheduled' ? 'session_rescheduled' : 'session_cancelled';
    for (const p of await participantsOf(q, sessionId)) {
      if (p.userId === actor.userId) continue;
      const content = {
        sessionId,
        kind: detail.kind,
        startsAt: detail.startsAt.toISOString(),
        endsAt: detail.endsAt.toISOString(),
        projectTitle: detail.projectTitle,
        joinUrl: this.joinUrl(sessionId),
        ...extra,
      };
      await this.#notifier.notify(p.userId, kind, sessionId, content, `${eventId}|${p.userId}`, q);
    }
  }

  /**
   * After a committed change: reminders follow the session. The change itself
   * is done; a failure here (Redis down) is logged, not turned into an error
   * for a booking that exists.
   */
  async #syncReminders(sessionId: string): Promise<void> {
    const detail = (await sessionDetail(this.#db, sessionId))!;
    try {
      await this.#reminders.sync({ id: sessionId, startsAt: detail.startsAt, status: detail.status });
    } catch (err) {
      this.#log.error({ err, sessionId }, 'reminders could not be updated');
    }
  }

  /** A premium_plus student books a mentoring session with their mentor, about a project they may work on now. */
  async bookMentoring(viewer: Viewer, input: { startsAt: string; projectId: string }): Promise<SessionView> {
    if (viewer.role !== 'student') throw forbidden('role_not_allowed', 'Students book mentoring sessions');
    const enrollment = await currentEnrollment(this.#db, viewer.userId);
    assertPremiumPlus(enrollment);
    if (!enrollment.mentorId) throw notFound('mentor_not_assigned', 'No mentor is assigned yet');
    const state = await projectStateOf(this.#db, enrollment.id, input.projectId);
    if (!state) throw unprocessable('project_not_in_path', 'This project is not part of your path');
    if (state === 'locked') throw unprocessable('project_locked', 'This project is not unlocked yet: a session is about the project you are working on');
    if (state === 'validated') throw conflict('project_already_validated', 'This project is already validated');
    const start = parseIsoInstant(input.startsAt, 'startsAt');
    const mentor = await this.#host(enrollment.mentorId, ['mentor']);
    const parties: Party[] = [
      { userId: viewer.userId, role: 'student' },
      { userId: mentor.id, role: 'mentor' },
    ];
    const id = await this.#hold({ parties, hosts: [mentor], start, durationMinutes: this.#config.mentoringMinutes }, (q, end) =>
      this.#insertSession(q, { kind: 'mentoring', enrollmentId: enrollment.id, projectId: input.projectId, hostId: mentor.id, start, end, createdBy: viewer.userId, parties, viewer }),
    );
    await this.#syncReminders(id);
    return this.view(viewer, id);
  }

  /**
   * A coordinator schedules a defence: every project validated, 2–3 jury
   * members, all held at once, and one upcoming defence per student, checked
   * under the candidate's lock (every booking of the candidate takes it).
   */
  async scheduleDefence(viewer: Viewer, input: { studentId: string; juryIds: string[]; startsAt: string; durationMinutes?: number }): Promise<SessionView> {
    if (viewer.role !== 'coordinator') throw forbidden('role_not_allowed', 'Coordinators schedule defences');
    const duration = this.#defenceDuration(input.durationMinutes);
    const panel = await this.#juryPanel(input.juryIds);
    const { enrollment } = await this.#defenceCandidate(input.studentId);
    const start = parseIsoInstant(input.startsAt, 'startsAt');
    const parties: Party[] = [{ userId: input.studentId, role: 'student' }, ...panel.map((j) => ({ userId: j.id, role: 'jury' as const }))];
    const check = async (q: Queryable) => {
      const existing = await q.one(
        `SELECT 1 FROM sessions s JOIN enrollments e ON e.id = s.enrollment_id
          WHERE e.student_id = $1 AND s.kind = 'defence' AND s.status = 'scheduled' AND s.ends_at > $2 LIMIT 1`,
        [input.studentId, this.#clock.now()],
      );
      if (existing) throw conflict('defence_already_scheduled', 'This student already has an upcoming defence');
    };
    const id = await this.#hold({ parties, hosts: panel, start, durationMinutes: duration, check }, (q, end) =>
      this.#insertSession(q, { kind: 'defence', enrollmentId: enrollment.id, projectId: null, hostId: panel[0]!.id, start, end, createdBy: viewer.userId, parties, viewer }),
    );
    await this.#syncReminders(id);
    return this.view(viewer, id);
  }

  /** The session, if the viewer may change it: a participant (not an observer) or a coordinator. */
  async #changeable(viewer: Viewer, sessionId: string): Promise<{ detail: SessionDetail; participants: ParticipantDetail[] }> {
    const detail = UUID.test(sessionId) ? await sessionDetail(this.#db, sessionId) : undefined;
    if (!detail) throw notFound('session_not_found', 'No such session');
    const participants = await participantsOf(this.#db, sessionId);
    const mine = participants.find((p) => p.userId === viewer.userId);
    if (viewer.role !== 'coordinator' && (!mine || mine.role === 'observer')) throw notFound('session_not_found', 'No such session');
    if (detail.kind === 'defence' && viewer.role !== 'coordinator') throw forbidden('coordinator_only', 'A defence is rescheduled or cancelled by a coordinator');
    if (detail.status === 'cancelled') throw conflict('session_cancelled', 'This session was cancelled');
    if (detail.status === 'completed') throw conflict('session_completed', 'This session is over');
    if (detail.startsAt.getTime() <= this.#clock.now().getTime()) throw unprocessable('session_started', 'This session has already started');
    return { detail, participants };
  }

  #isLate(startsAt: Date): boolean {
    return startsAt.getTime() - this.#clock.now().getTime() < this.#config.lateCancelNoticeHours * 3_600_000;
  }

  async reschedule(viewer: Viewer, sessionId: string, input: { startsAt: string; durationMinutes?: number; reason?: string }): Promise<SessionView> {
    const { detail, participants } = await this.#changeable(viewer, sessionId);
    const start = parseIsoInstant(input.startsAt, 'startsAt');
    const oldDuration = (detail.endsAt.getTime() - detail.startsAt.getTime()) / MINUTE;
    let duration = oldDuration;
    if (input.durationMinutes !== undefined) {
      if (detail.kind !== 'defence') throw invalid('invalid_duration', `A mentoring session lasts ${this.#config.mentoringMinutes} minutes`);
      duration = this.#defenceDuration(input.durationMinutes);
    }
    if (start === detail.startsAt.getTime() && duration === oldDuration) throw unprocessable('same_time', 'The session is already at this time');
    const hostIds = participants.filter((p) => p.role === 'mentor' || p.role === 'jury').map((p) => p.userId);
    const hosts: UserBrief[] = [];
    for (const id of hostIds) hosts.push((await userBrief(this.#db, id))!);
    const late = this.#isLate(detail.startsAt);
    const parties = participants.filter((p): p is ParticipantDetail & Party => p.role !== 'observer');
    await this.#hold({ parties, hosts, start, durationMinutes: duration, exceptSessionId: sessionId }, async (q, end) => {
      const now = this.#clock.now();
      const row = await q.one<{ sequence: number }>(
        `UPDATE sessions SET starts_at = $2, ends_at = $3, sequence = sequence + 1, updated_at = $4
          WHERE id = $1 AND status = 'scheduled' AND starts_at = $5 RETURNING sequence`,
        [sessionId, new Date(start), new Date(end), now, detail.startsAt],
      );
      if (!row) throw conflict('session_changed', 'The session was changed meanwhile; reload it');
      await q.execute('UPDATE session_participants SET starts_at = $2, ends_at = $3 WHERE session_id = $1', [sessionId, new Date(start), new Date(end)]);
      await recordChange(q, {
        sessionId,
        change: 'rescheduled',
        changedBy: viewer.userId,
        changedByRole: viewer.role,
        oldStartsAt: detail.startsAt,
        oldEndsAt: detail.endsAt,
        newStartsAt: new Date(start),
        newEndsAt: new Date(end),
        late,
        reason: input.reason ?? '',
        sequence: row.sequence,
        at: now,
      });
      await this.#announce(q, 'session.rescheduled', { sessionId }, viewer, { previousStartsAt: detail.startsAt.toISOString(), late });
    });
    await this.#syncReminders(sessionId);
    return this.view(viewer, sessionId);
  }

  async cancel(viewer: Viewer, sessionId: string, input: { reason?: string }): Promise<SessionView & { late: boolean }> {
    const { detail } = await this.#changeable(viewer, sessionId);
    const late = this.#isLate(detail.startsAt);
    await this.#db.tx(async (q) => {
      const now = this.#clock.now();
      const row = await q.one<{ sequence: number }>(
        `UPDATE sessions SET status = 'cancelled', sequence = sequence + 1, updated_at = $2 WHERE id = $1 AND status = 'scheduled' RETURNING sequence`,
        [sessionId, now],
      );
      if (!row) throw conflict('session_cancelled', 'This session was cancelled');
      // Frees everyone's calendar (the exclusion constraint only covers busy rows).
      await q.execute('UPDATE session_participants SET busy = false WHERE session_id = $1', [sessionId]);
      await recordChange(q, {
        sessionId,
        change: 'cancelled',
        changedBy: viewer.userId,
        changedByRole: viewer.role,
        oldStartsAt: detail.startsAt,
        oldEndsAt: detail.endsAt,
        newStartsAt: null,
        newEndsAt: null,
        late,
        reason: input.reason ?? '',
        sequence: row.sequence,
        at: now,
      });
      await this.#announce(q, 'session.cancelled', { sessionId, late, cancelledBy: viewer.userId }, viewer, { late, reason: input.reason ?? '' });
    });
    await this.#syncReminders(sessionId);
    return { ...(await this.view(viewer, sessionId)), late };
  }

  // ---------------------------------------------------------------- reading

  async #assertCanView(viewer: Viewer, sessionId: string): Promise<SessionDetail> {
    const detail = UUID.test(sessionId) ? await sessionDetail(this.#db, sessionId) : undefined;
    if (!detail) throw notFound('session_not_found', 'No such session');
    if (viewer.role === 'coordinator') return detail;
    const p = await this.#db.one('SELECT 1 FROM session_participants WHERE session_id = $1 AND user_id = $2', [sessionId, viewer.userId]);
    if (!p) throw notFound('session_not_found', 'No such session');
    return detail;
  }

  async view(viewer: Viewer, sessionId: string, timeZone?: string): Promise<SessionView> {
    const detail = await this.#assertCanView(viewer, sessionId);
    return this.#render(detail, await this.#viewerZone(viewer, timeZone));
  }

  async #render(d: SessionDetail, zone: string): Promise<SessionView> {
    const participants = await participantsOf(this.#db, d.id);
    const cancelled =
      d.status === 'cancelled'
        ? await this.#db.one<{ at: Date; by: string | null; late: boolean; reason: string }>(
            `SELECT at, changed_by AS by, late, reason FROM session_changes WHERE session_id = $1 AND change = 'cancelled' ORDER BY id DESC LIMIT 1`,
            [d.id],
          )
        : undefined;
    return {
      id: d.id,
      kind: d.kind,
      status: d.status,
      startsAt: d.startsAt.toISOString(),
      endsAt: d.endsAt.toISOString(),
      durationMinutes: (d.endsAt.getTime() - d.startsAt.getTime()) / MINUTE,
      sequence: d.sequence,
      updatedAt: d.updatedAt.toISOString(),
      projectId: d.projectId,
      projectTitle: d.projectTitle,
      pathTitle: d.pathTitle,
      hostId: d.hostId,
      enrollmentId: d.enrollmentId,
      studentId: d.studentId,
      createdBy: d.createdBy,
      joinUrl: this.joinUrl(d.id),
      icsUrl: `/sessions/${d.id}/calendar.ics`,
      local: renderInterval({ start: d.startsAt.getTime(), end: d.endsAt.getTime() }, zone).local,
      participants,
      cancellation: cancelled ? { at: cancelled.at.toISOString(), by: cancelled.by, late: cancelled.late, reason: cancelled.reason } : null,
    };
  }

  /** The caller's upcoming sessions (not yet ended), in UTC and in the caller's zone. */
  async upcoming(viewer: Viewer, q: { includeCancelled?: boolean; timeZone?: string }): Promise<{ timeZone: string; sessions: SessionView[] }> {
    const zone = await this.#viewerZone(viewer, q.timeZone);
    const now = this.#clock.now();
    const to = new Date(now.getTime() + 366 * DAY);
    const list =
      viewer.role === 'coordinator'
        ? await this.#db.query<SessionDetail>(
            `${DETAIL_SELECT} WHERE s.ends_at > $1 AND s.starts_at < $2 AND ($3 OR s.status <> 'cancelled') ORDER BY s.starts_at, s.id LIMIT 500`,
            [now, to, q.includeCancelled ?? false],
          )
        : await sessionsForUser(this.#db, viewer.userId, now, to, q.includeCancelled ?? false);
    const sessions: SessionView[] = [];
    for (const d of list) sessions.push(await this.#render(d, zone));
    return { timeZone: zone, sessions };
  }

  /**
   * Upcoming defences (not yet past their room's closing): a jury member's own
   * (where they sit on the panel; never another panel's), every one for a
   * coordinator. With the candidate, the path, the whole panel, the time in
   * the viewer's zone and when the room opens (`window`: the rooms' entry
   * window, ROOM_JOIN_EARLY_MINUTES and ROOM_GRACE_AFTER_END_MINUTES).
   */
  async upcomingDefences(
    viewer: Viewer,
    q: { timeZone?: string },
    window: { joinEarlyMinutes: number; graceAfterEndMinutes: number },
  ): Promise<{ timeZone: string; defences: DefenceListItem[] }> {
    if (viewer.role !== 'jury' && viewer.role !== 'coordinator') throw forbidden('role_not_allowed', 'Jury members and coordinators see the defences');
    const zone = await this.#viewerZone(viewer, q.timeZone);
    const now = this.#clock.now();
    const endedBefore = new Date(now.getTime() - window.graceAfterEndMinutes * MINUTE);
    const to = new Date(now.getTime() + 366 * DAY);
    const list = await this.#db.query<SessionDetail>(
      `${DETAIL_SELECT}
        WHERE s.kind = 'defence' AND s.status = 'scheduled' AND s.ends_at > $1 AND s.starts_at < $2
          AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM session_participants sp WHERE sp.session_id = s.id AND sp.user_id = $3 AND sp.role = 'jury'))
        ORDER BY s.starts_at, s.id LIMIT 500`,
      [endedBefore, to, viewer.role === 'jury' ? viewer.userId : null],
    );
    const defences: DefenceListItem[] = [];
    for (const d of list) {
      const participants = await participantsOf(this.#db, d.id);
      const candidate = participants.find((p) => p.role === 'student') ?? { userId: d.studentId, name: d.studentName, role: 'student' as const, timeZone: zone };
      const opensAt = d.startsAt.getTime() - window.joinEarlyMinutes * MINUTE;
      const closesAt = d.endsAt.getTime() + window.graceAfterEndMinutes * MINUTE;
      defences.push({
        id: d.id,
        startsAt: d.startsAt.toISOString(),
        endsAt: d.endsAt.toISOString(),
        durationMinutes: (d.endsAt.getTime() - d.startsAt.getTime()) / MINUTE,
        local: renderInterval({ start: d.startsAt.getTime(), end: d.endsAt.getTime() }, zone).local,
        pathTitle: d.pathTitle,
        candidate: { userId: candidate.userId, name: candidate.name, timeZone: candidate.timeZone },
        jury: participants.filter((p) => p.role === 'jury').map((p) => ({ userId: p.userId, name: p.name, timeZone: p.timeZone })),
        roomOpensAt: new Date(opensAt).toISOString(),
        roomClosesAt: new Date(closesAt).toISOString(),
        roomOpen: now.getTime() >= opensAt && now.getTime() <= closesAt,
        joinUrl: this.joinUrl(d.id),
      });
    }
    return { timeZone: zone, defences };
  }

  async history(viewer: Viewer, sessionId: string): Promise<SessionChange[]> {
    await this.#assertCanView(viewer, sessionId);
    return changesOf(this.#db, sessionId);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** [from, to) from two strict ISO instants (errors name the request's own fields). */
export function parseRange(fromIso: string, toIso: string, maxDays: number, fields: [string, string]): { from: Date; to: Date } {
  const from = parseIsoInstant(fromIso, fields[0]);
  const to = parseIsoInstant(toIso, fields[1]);
  if (to <= from) throw invalid('end_before_start', `${fields[1]} must be after ${fields[0]}`, { [fields[0]]: fromIso, [fields[1]]: toIso });
  if (to - from > maxDays * DAY) throw invalid('range_too_long', `From ${fields[0]} to ${fields[1]} spans at most ${maxDays} days`);
  return { from: new Date(from), to: new Date(to) };
}

/**
 * Per-person advisory locks (transaction-scoped), taken in one order so two
 * transactions locking overlapping sets never deadlock. Every write that a
 * booking rule depends on (a booking, a reschedule, an availability or time-off
 * change) takes the locks of the people it concerns before checking anything.
 */
async function lockPeople(q: Queryable, userIds: string[]): Promise<void> {
  for (const id of [...new Set(userIds)].sort()) {
    await q.execute(`SELECT pg_advisory_xact_lock(hashtextextended('scheduling:' || $1::text, 0))`, [id]);
  }
}
