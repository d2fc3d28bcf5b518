/** A timer armed on a Clock; `cancel` is idempotent. */
export interface Timer {
  cancel(): void;
}

/**
 * The time source of the server, and its timers: the domain's waits (a
 * room's reconnection grace, its empty timeout, its end) are armed on the
 * clock, not on the global `setTimeout`, so a test can stand at a chosen
 * instant and move time forward instead of waiting (test/helpers/clock.ts).
 * Infrastructure timers (sockets, database, shutdown) stay on real time.
 */
export interface Clock {
  now(): Date;
  /**
   * Calls `fn` once `ms` of this clock's time have passed. Never keeps the
   * process alive by itself (a real timer is unref'd).
   */
  setTimer(fn: () => void, ms: number): Timer;
}

/** Longest delay a Node timer takes (a longer one fires at once): longer waits re-arm. */
const MAX_TIMER_MS = 2_147_483_647;

/** Real timers with `now` taken from `now`: the system clock, or one standing elsewhere in time. */
export function withRealTimers(now: () => Date): Clock {
  return {
    now,
    setTimer(fn, ms) {
      const due = Date.now() + Math.max(0, ms);
      let handle: NodeJS.Timeout | undefined;
      const arm = () => {
        const left = due - Date.now();
        handle = setTimeout(() => (left > MAX_TIMER_MS ? arm() : fn()), Math.min(Math.max(0, left), MAX_TIMER_MS));
        handle.unref();
      };
      arm();
      return { cancel: () => clearTimeout(handle) };
    },
  };
}

export const systemClock: Clock = withRealTimers(() => new Date());

/** A clock shifted from real time by a fixed offset: timers still run, "now" is elsewhere. */
export const offsetClock = (offsetMs: number): Clock => withRealTimers(() => new Date(Date.now() + offsetMs));
