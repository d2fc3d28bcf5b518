/** The time source of the server; tests inject one to stand at a chosen instant. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock shifted from real time by a fixed offset: timers still run, "now" is elsewhere. */
export const offsetClock = (offsetMs: number): Clock => ({ now: () => new Date(Date.now() + offsetMs) });
