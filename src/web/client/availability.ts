/**
 * #/availability (mentor, jury): weekly hours in one's own zone (availability-form.ts),
 * time off (availability-timeoff.ts), and a preview of the slots students then see
 * (availability-preview.ts: two weeks, in the host's zone), with a note when a clock
 * change falls in that window (the hours stay put on the host's clock, so they move
 * for people elsewhere).
 */
import { getJson, type User } from './api.ts';
import { weeklyForm, type Availability } from './availability-form.ts';
import { slotPreview, type DraftSource } from './availability-preview.ts';
import { timeOffCard } from './availability-timeoff.ts';
import { clear, h } from './dom.ts';
import { t } from './i18n.ts';
import { backLink, loading, statusLine } from './ui.ts';

export { clockChange } from './availability-preview.ts';

export function availabilityView(user: User): HTMLElement {
  const status = statusLine('avail-status');
  const body = h('div', {}, loading());
  let zone = user.timeZone;
  // The preview reads the form once it is there (after the saved availability arrives).
  let draftSource: DraftSource = { draft: () => undefined, unsaved: () => true };
  const preview = slotPreview(user.id, { draft: () => draftSource.draft(), unsaved: (d) => draftSource.unsaved(d) });
  const timeOff = timeOffCard(user.id, () => zone, { onChanged: () => void preview.load(), onError: (err) => status.fail(err) });

  function show(current: Availability): void {
    zone = current.timeZone;
    const form = weeklyForm(user.id, current, {
      onEdit: () => preview.schedule(),
      onSaved(saved) {
        zone = saved.timeZone;
        status.info(t('avail.saved'));
        void preview.load();
      },
      onError: (err) => status.fail(err),
    });
    draftSource = form;
    clear(body);
    body.append(form.element, timeOff.element);
    void timeOff.load().catch((err: unknown) => status.fail(err));
    void preview.load();
  }

  void getJson<Availability>(`/hosts/${user.id}/availability`).then(show, (err: unknown) => {
    clear(body);
    status.fail(err);
  });

  return h('div', { class: 'availability-page' }, h('h1', { id: 'avail-title' }, t('avail.title')), status.element, body, preview.element, backLink());
}
