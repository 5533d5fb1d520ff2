/**
 * The dashboard's script, bundled by src/dashboard/routes.ts (esbuild, from the npm packages).
 * One page per path: `/` the fleet, `/users/{id}` one user, `/pipeline` the operator's view. It
 * follows the gateway's auth: without a token it works in development (the gateway acts as an
 * admin); with auth required it asks for a token, and panels the token's role may not read say so.
 */
import { createElement as h, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { token } from './api.js';
import { FleetPage } from './pages/fleet.js';
import { PipelinePage } from './pages/pipeline.js';
import { UserPage } from './pages/user.js';
import './style.css';

function route(): { page: 'fleet' | 'user' | 'pipeline' | 'unknown'; id?: string } {
  const path = location.pathname;
  if (path === '/' || path === '/dashboard') return { page: 'fleet' };
  if (path === '/pipeline') return { page: 'pipeline' };
  const m = /^\/users\/([^/]+)\/?$/.exec(path);
  if (m) return { page: 'user', id: decodeURIComponent(m[1]!) };
  return { page: 'unknown' };
}

function TokenForm() {
  const [value, setValue] = useState(token.get() ?? '');
  const [shown, setShown] = useState(false);
  if (!shown)
    return h('button', { className: 'token', onClick: () => setShown(true) }, token.get() ? 'token set' : 'sign in');
  return h(
    'form',
    {
      className: 'token',
      onSubmit: (e: { preventDefault(): void }) => {
        e.preventDefault();
        token.set(value.trim() || null);
        location.reload();
      },
    },
    h('input', {
      placeholder: 'bearer token (npm run auth:token)',
      value,
      onChange: (e: { target: { value: string } }) => setValue(e.target.value),
    }),
    h('button', { type: 'submit' }, 'use'),
  );
}

function App() {
  const r = route();
  const [userId, setUserId] = useState('demo-1');
  const nav = h(
    'nav',
    null,
    h('a', { href: '/', className: r.page === 'fleet' ? 'on' : '' }, 'Fleet'),
    h('a', { href: '/pipeline', className: r.page === 'pipeline' ? 'on' : '' }, 'Pipeline'),
    h(
      'form',
      {
        onSubmit: (e: { preventDefault(): void }) => {
          e.preventDefault();
          location.href = `/users/${encodeURIComponent(userId)}`;
        },
      },
      h('input', {
        value: userId,
        'aria-label': 'user id',
        onChange: (e: { target: { value: string } }) => setUserId(e.target.value),
      }),
      h('button', { type: 'submit' }, 'open user'),
    ),
    h('a', { href: '/graphql' }, 'GraphiQL'),
    h(TokenForm),
  );
  const page =
    r.page === 'fleet'
      ? h(FleetPage)
      : r.page === 'pipeline'
        ? h(PipelinePage)
        : r.page === 'user'
          ? h(UserPage, { id: r.id! })
          : h('p', null, 'No such page.');
  return h(
    'div',
    { className: 'app' },
    h('header', null, h('strong', null, 'Fitbit gateway'), nav),
    h('main', null, page),
  );
}

const root = document.getElementById('dashboard');
if (root) createRoot(root).render(h(App));
