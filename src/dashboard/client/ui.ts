/** Building blocks of the pages: panels that show loading, errors by code, and tables. */
import { createElement as h, type ReactNode } from 'react';
import type { ApiError } from './api.js';

const HINTS: Record<string, string> = {
  UNAUTHENTICATED: 'sign in with a token (top right)',
  FORBIDDEN: 'your token’s role may not read this',
  TRINO_BUSY: 'the analytics engine is busy; retrying',
  TRINO_UNAVAILABLE: 'Trino is not reachable; retrying',
};

export function Problem({ error }: { error: ApiError | undefined }) {
  if (!error) return null;
  return h(
    'p',
    { className: 'problem', 'data-code': error.code },
    `${error.code}: ${HINTS[error.code] ?? error.message}`,
  );
}

export function Panel(props: { title: string; id?: string; wide?: boolean; children?: ReactNode }) {
  return h(
    'section',
    { className: props.wide ? 'panel wide' : 'panel', id: props.id },
    h('h2', null, props.title),
    props.children,
  );
}

export function Table(props: { head: string[]; rows: ReactNode[][]; empty?: string; id?: string }) {
  if (props.rows.length === 0) return h('p', { className: 'empty' }, props.empty ?? 'nothing yet');
  return h(
    'table',
    { id: props.id },
    h('thead', null, h('tr', null, ...props.head.map((c) => h('th', { key: c }, c)))),
    h('tbody', null, ...props.rows.map((r, i) => h('tr', { key: i }, ...r.map((c, j) => h('td', { key: j }, c))))),
  );
}

export function link(href: string, text: string) {
  return h('a', { href }, text);
}
