// The enterprise directory (docs/directory.md): the department tree, the people of a department
// with their titles, and a search as you type (names, pinyin, initials); a person's button
// starts a DM with them.
import {useEffect, useRef, useState} from 'preact/hooks';
import {t} from './i18n.js';
import {html} from './ui.js';

function Person({m}) {
  const primary = m.departments.find((d) => d.primary);
  return html`<li class="person" data-user=${m.user.id}>
    <span class="who">${m.name}</span>
    <span class="job">${[m.title, primary?.name].filter(Boolean).join(' · ')}</span>
    ${m.email ? html`<span class="note">${m.email}</span>` : null}
    <a class="start-dm" href=${`#dm:${m.user.id}`}>${t('message_person')}</a>
  </li>`;
}

export function Directory({client}) {
  const [departments, setDepartments] = useState([]);
  const [chosen, setChosen] = useState(null);
  const [people, setPeople] = useState([]);
  const [query, setQuery] = useState('');
  const asked = useRef(0);

  useEffect(() => {
    client.request('enterprise_department_list', {}).then((r) => setDepartments(r.departments), () => {});
  }, []);

  // The newest request wins: an answer to an older one (the user kept typing) is dropped.
  const show = (request) => {
    const mine = ++asked.current;
    request.then((r) => mine === asked.current && setPeople(r.members), () => {});
  };
  const pick = (d) => {
    setChosen(d.id);
    setQuery('');
    show(client.request('enterprise_member_list', {department_id: d.id, recursive: true, limit: 100}));
  };
  const find = (value) => {
    setQuery(value);
    const q = value.trim();
    if (!q) return chosen ? pick({id: chosen}) : setPeople([]);
    show(client.request('enterprise_member_search', {query: q, limit: 30}));
  };

  return html`<section class="directory">
    <header class="bar"><a class="back" href="#">${t('back')}</a><h2>${t('directory')}</h2></header>
    <input type="search" class="directory-search" value=${query} onInput=${(e) => find(e.target.value)}
      placeholder=${t('directory_placeholder')} aria-label=${t('directory_placeholder')} />
    <div class="directory-body">
      <ul class="departments">
        ${departments.map(
          (d) => html`<li key=${d.id} class=${`depth-${Math.min(d.depth, 5)}`}>
            <button type="button" class=${`department${chosen === d.id ? ' active' : ''}`} data-department=${d.id} onClick=${() => pick(d)}>
              ${d.name} <span class="count">${d.total_count}</span>
            </button>
          </li>`,
        )}
      </ul>
      <ul class="people">${people.map((m) => html`<${Person} key=${m.user.id} m=${m} />`)}</ul>
    </div>
    ${!departments.length && !people.length ? html`<p class="empty">${t('directory_empty')}</p>` : null}
  </section>`;
}
