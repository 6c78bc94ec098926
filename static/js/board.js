// The board page: instant filters (kept in the address so links can be shared)
// and live updates of the cards from the event feed.

import { CardSet } from './card-set.js';
import { showStatus } from './live-status.js';
import { LiveFeed } from './live.js';
import { EventKind } from './vocab.js';

const root = document.getElementById('board');
if (root) {
  document.documentElement.classList.add('js');
  const form = root.querySelector('[data-filters]');
  const readFilter = () => {
    const data = new FormData(form);
    return {
      q: String(data.get('q') || '').trim(),
      zone: String(data.get('zone') || ''),
      supplier: String(data.get('supplier') || ''),
      state: String(data.get('state') || ''),
    };
  };
  const cards = new CardSet(root, { view: root.dataset.view, filter: readFilter() });

  const linkArgs = (filter, view) => {
    const params = new URLSearchParams();
    for (const key of ['zone', 'supplier', 'state', 'q']) if (filter[key]) params.set(key, filter[key]);
    if (view !== 'zones') params.set('view', view);
    return params;
  };

  // A big site's board filtered by zone holds that zone's cards only: another zone
  // (or all of them) is a new page from the server.
  const scope = root.dataset.scopeZone || '';
  const applyFilter = () => {
    const filter = readFilter();
    if (scope && filter.zone !== scope) {
      window.location.search = linkArgs(filter, cards.view).toString();
      return;
    }
    cards.applyFilter(filter);
    // Keep the address in step, so the link shows the same board to someone else.
    const params = linkArgs(filter, cards.view);
    const query = params.toString();
    window.history.replaceState(null, '', `${window.location.pathname}${query ? `?${query}` : ''}`);
    for (const link of root.querySelectorAll('[data-view-link]')) {
      const other = linkArgs(filter, link.dataset.viewLink);
      other.set('view', link.dataset.viewLink);
      link.search = `?${other.toString()}`;
    }
    const active = Boolean(filter.q || filter.zone || filter.supplier || filter.state);
    root.querySelector('[data-clear]').hidden = !active;
  };

  let typing = null;
  form.addEventListener('input', (e) => {
    clearTimeout(typing);
    typing = setTimeout(applyFilter, e.target.type === 'search' ? 60 : 0);
  });
  form.addEventListener('change', applyFilter);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    applyFilter();
  });
  root.querySelector('[data-clear]').addEventListener('click', (e) => {
    e.preventDefault();
    form.reset();
    for (const el of form.elements) if (el.name && el.type !== 'hidden') el.value = '';
    applyFilter();
  });

  const indicator = root.querySelector('.live');
  const feed = new LiveFeed({
    lastId: Number(root.dataset.lastEventId || 0),
    refreshAt: Date.parse(root.dataset.refreshAt) || 0,
    onEvent: (event) => {
      if (event.kind !== EventKind.BIN_CHANGED || !event.data || !event.data.code) return;
      if (scope && event.data.zone !== scope && !cards.find(event.data.code)) return; // not on this page
      cards.patch(event.data);
    },
    onStatus: (st) => {
      showStatus(indicator, st);
      root.classList.toggle('is-stale', st.mode === 'stale');
    },
  });
  feed.start();
  setInterval(() => cards.refreshAges(), 30000);
}
