// confirm.js — the confirmation a dangerous action needs: a modal that names the vehicle and the
// action, with Cancel focused, so a stray Enter never sends anything.

const dialog = () => document.getElementById('confirm');

/**
 * Shows the confirmation and resolves true only when the pilot presses the action button; Cancel,
 * Escape and a second request all resolve false.
 * opts: {title, body, action (button text), details: [[label, value]...], warning, tone}
 */
export function confirmAction({ title, body, action, details = [], warning = '', tone = 'danger' }) {
  const d = dialog();
  if (d.open) return Promise.resolve(false);
  d.querySelector('#confirm-title').textContent = title;
  d.querySelector('#confirm-body').textContent = body;
  const dl = d.querySelector('#confirm-details');
  dl.replaceChildren();
  for (const [k, v] of details) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    dl.append(dt, dd);
  }
  const warn = d.querySelector('#confirm-warning');
  warn.textContent = warning;
  warn.hidden = !warning;
  const ok = d.querySelector('#confirm-ok');
  const cancel = d.querySelector('#confirm-cancel');
  ok.textContent = action;
  ok.className = tone;

  return new Promise((resolve) => {
    const done = (answer) => {
      ok.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      d.removeEventListener('cancel', onCancel);
      if (d.open) d.close();
      resolve(answer);
    };
    const onOk = () => done(true);
    const onCancel = (e) => {
      e.preventDefault();
      done(false);
    };
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    d.addEventListener('cancel', onCancel); // Escape
    d.showModal();
    cancel.focus();
  });
}
