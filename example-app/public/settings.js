// The /settings/tokens page: lists, creates, rotates and revokes the signed-in user's tokens through the
// JSON API of `tokenRouter` (mounted at the URL in <meta name="token-api">), sending the session's CSRF
// token with every request. Plain DOM, no build step. Everything from the server is put in the page as
// text (textContent), never as HTML.
'use strict';

const $ = (selector) => document.querySelector(selector);
const meta = (name) => document.querySelector(`meta[name="${name}"]`).getAttribute('content');

const API = meta('token-api');
const CSRF_TOKEN = meta('csrf-token');
const LOGIN = $('main').dataset.login;
const ORIGIN = window.location.origin;
const TARGETS = JSON.parse($('#scope-targets').textContent);
const PATH_BY_UUID = new Map(TARGETS.map((node) => [node.uuid, node.path]));
const NODE_BY_UUID = new Map(TARGETS.map((node) => [node.uuid, node]));
const PERMISSION_TEXT = { r: 'read', w: 'write', rw: 'read and write' };

let tokens = [];
let serverOffset = 0; // server clock minus browser clock, ms: "time left" follows the server's clock
let shownTokenId = null; // id of the token whose text the new-token panel shows

const serverNow = () => Date.now() + serverOffset;

class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `The server answered ${status}`);
    this.status = status;
    this.code = error?.code;
    this.field = error?.field;
  }
}

/** One call to the token API. POSTs are JSON (the router wants that even without a body). */
async function api(method, path, body) {
  const headers = { Accept: 'application/json', 'X-CSRF-Token': CSRF_TOKEN };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (method === 'POST') {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body ?? {});
  }
  const res = await fetch(API + path, init);
  if (res.status === 401) {
    window.location.assign('/signin'); // the session ended
    throw new ApiError(401, { message: 'Signed out' });
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data?.error);
  return data;
}

// --- Formatting ------------------------------------------------------------------------------------------

/** 90061000 -> "1 d 1 h"; 600000 -> "10 min"; under a minute -> "under a minute". */
function humanDuration(ms) {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'under a minute';
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return rest > 0 ? `${hours} h ${rest} min` : `${hours} h`;
  return `${minutes} min`;
}

function absolute(iso) {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

function ago(iso) {
  const ms = serverNow() - Date.parse(iso);
  return ms < 60_000 ? 'just now' : `${humanDuration(ms)} ago`;
}

function scopeText(scope) {
  const [, nodeId, permission] = scope.split(':');
  return `${PATH_BY_UUID.get(nodeId) ?? nodeId} · ${PERMISSION_TEXT[permission] ?? permission}`;
}

function element(tag, properties = {}, children = []) {
  const node = Object.assign(document.createElement(tag), properties);
  for (const child of children) node.append(child);
  return node;
}

/** The expiry cell: time left, and how the expiry works (hard limit, sliding window or both). */
function expiryCell(token) {
  const left = Date.parse(token.expiresAt) - serverNow();
  const cell = element('td', { className: 'expiry' });
  const main =
    token.autoRefresh === null ? `in ${humanDuration(left)}` : `in ${humanDuration(left)} if unused`;
  cell.append(element('span', { textContent: main, title: absolute(token.expiresAt) }));
  const details = [];
  if (token.autoRefresh !== null) details.push(`sliding: ${humanDuration(token.autoRefresh)} after each use`);
  if (token.hardExpiresAt !== null) {
    details.push(
      token.autoRefresh === null
        ? absolute(token.hardExpiresAt)
        : `never after ${absolute(token.hardExpiresAt)}`,
    );
  }
  cell.append(element('small', { textContent: details.join(' · ') }));
  return cell;
}

/** When the token was last used, and a line per recent client address with when it was last seen. */
function lastUsedCell(token) {
  return element('td', { className: 'when' }, [
    element('span', {
      className: 'last-used',
      textContent: token.lastUsedAt ? ago(token.lastUsedAt) : 'never',
      title: token.lastUsedAt ? absolute(token.lastUsedAt) : '',
    }),
    ...(token.recentIps ?? []).map((entry) =>
      element('small', {
        className: 'recent-ip mono',
        textContent: `${entry.ip} · ${ago(entry.lastSeenAt)}`,
        title: absolute(entry.lastSeenAt),
      }),
    ),
  ]);
}

function tokenRow(token) {
  const row = element('tr', { id: `token-${token.id}` });
  row.dataset.tokenId = token.id;
  row.append(
    element('td', {}, [
      element('span', { className: 'label', textContent: token.label ?? '(no label)' }),
      // The server says which hard limits are within a week: its clock, its rule.
      ...(token.expiresSoon === true
        ? [element('span', { className: 'badge expires-soon', textContent: 'expires soon' })]
        : []),
      element('small', { className: 'mono', textContent: token.id }),
    ]),
    element(
      'td',
      { className: 'scopes' },
      token.scopes.length === 0
        ? [element('span', { className: 'badge full', textContent: 'full access' })]
        : token.scopes.map((scope) => element('span', { className: 'badge', textContent: scopeText(scope) })),
    ),
    expiryCell(token),
    lastUsedCell(token),
    element('td', { className: 'when', textContent: ago(token.createdAt), title: absolute(token.createdAt) }),
    element('td', { className: 'actions' }, [
      element('button', {
        type: 'button',
        className: 'rotate',
        textContent: 'Rotate',
        onclick: () => rotate(token),
      }),
      element('button', {
        type: 'button',
        className: 'revoke danger',
        textContent: 'Revoke',
        onclick: () => revoke(token),
      }),
    ]),
  );
  return row;
}

function render() {
  $('#tokens tbody').replaceChildren(...tokens.map(tokenRow));
  $('#tokens').hidden = tokens.length === 0;
  $('#no-tokens').hidden = tokens.length > 0;
  $('#revoke-all').hidden = tokens.length < 2;
}

// --- Actions ---------------------------------------------------------------------------------------------

function showError(selector, error) {
  const box = $(selector);
  box.textContent = error ? error.message : '';
  box.hidden = !error;
}

/** Every token of the user, page after page (the API answers at most a page at a time). */
async function refresh() {
  const data = await api('GET', '');
  serverOffset = Date.parse(data.now) - Date.now();
  const all = data.tokens;
  for (let next = data.next; next; ) {
    const page = await api('GET', `?cursor=${encodeURIComponent(next)}`);
    all.push(...page.tokens);
    next = page.next;
  }
  tokens = all;
  render();
}

/** The panel that shows a token's text, the only time it is ever shown. */
function showNewToken(issued, title, note) {
  shownTokenId = issued.id;
  $('#new-token-title').textContent = title;
  $('#new-token').textContent = issued.token;
  $('#new-token-note').textContent = note;
  const dav = davUrlFor(issued.scopes ?? []);
  $('#token-usage').textContent = [
    `export TOKEN=${issued.token}`,
    `curl -H "Authorization: Bearer $TOKEN" ${ORIGIN}/api/me`,
    `curl -u ${LOGIN}:"$TOKEN" -X PROPFIND -H 'Depth: 1' ${dav}`,
    `rclone ls :webdav: --webdav-url ${dav} --webdav-user ${LOGIN} --webdav-pass "$(rclone obscure "$TOKEN")"`,
  ].join('\n');
  $('#copy-token').textContent = 'Copy';
  $('#new-token-panel').hidden = false;
  $('#new-token-panel').scrollIntoView({ block: 'nearest' });
}

/**
 * The WebDAV URL the commands shown use: the share for a token without scopes, else the folder (or
 * file) of its first readable scope (a write-only token's first scope), so that they work as shown.
 */
function davUrlFor(scopes) {
  const nodes = scopes.map((scope) => scope.split(':')).filter(([, nodeId]) => NODE_BY_UUID.has(nodeId));
  const chosen = nodes.find(([, , permission]) => permission.includes('r')) ?? nodes[0];
  const node = chosen ? NODE_BY_UUID.get(chosen[1]) : undefined;
  if (!node || node.path === '/') return `${ORIGIN}/dav/`;
  const path = node.path.split('/').map(encodeURIComponent).join('/');
  return `${ORIGIN}/dav${path}${node.type === 'folder' ? '/' : ''}`;
}

function hideNewToken() {
  shownTokenId = null;
  $('#new-token').textContent = '';
  $('#token-usage').textContent = '';
  $('#new-token-panel').hidden = true;
}

async function copyToken() {
  const text = $('#new-token').textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard API (an insecure origin): select the text for Ctrl+C instead.
    const range = document.createRange();
    range.selectNodeContents($('#new-token'));
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
    $('#copy-token').textContent = 'Press Ctrl+C';
    return;
  }
  $('#copy-token').textContent = 'Copied';
}

function selectedScopes() {
  return [...document.querySelectorAll('#scope-list li')].map((item) => item.dataset.scope);
}

function addScope() {
  const scope = `node:${$('#scope-node').value}:${$('#scope-permission').value}`;
  if (selectedScopes().includes(scope)) return;
  const item = element('li', {}, [
    element('span', { textContent: scopeText(scope) }),
    element('button', {
      type: 'button',
      className: 'link',
      textContent: '×',
      title: 'Remove',
      ariaLabel: `Remove ${scopeText(scope)}`,
      onclick: () => item.remove(),
    }),
  ]);
  item.dataset.scope = scope;
  $('#scope-list').append(item);
}

async function create(event) {
  event.preventDefault();
  const body = { scopes: selectedScopes() };
  const label = $('#label').value.trim();
  if (label) body.label = label;
  if ($('#expiresIn').value) body.expiresIn = $('#expiresIn').value;
  if ($('#autoRefresh').value) body.autoRefresh = $('#autoRefresh').value;
  for (const input of document.querySelectorAll('#create-form [aria-invalid]'))
    input.removeAttribute('aria-invalid');
  $('#create-token').disabled = true;
  try {
    const issued = await api('POST', '', body);
    showError('#create-error', null);
    $('#create-form').reset();
    $('#scope-list').replaceChildren();
    showNewToken(issued, issued.label ? `Your new token “${issued.label}”` : 'Your new token', '');
    await refresh();
  } catch (error) {
    showError('#create-error', error);
    if (error.field) $(`#${error.field}`)?.setAttribute('aria-invalid', 'true');
  } finally {
    $('#create-token').disabled = false;
  }
}

let rotating = null;

function rotate(token) {
  rotating = token;
  $('#rotate-label').textContent = token.label ? `“${token.label}”` : token.id;
  $('#rotate-overlap').value = '0';
  $('#rotate-dialog').returnValue = ''; // closing with Esc keeps the previous value otherwise
  $('#rotate-dialog').showModal();
}

async function rotateConfirmed() {
  const token = rotating;
  rotating = null;
  if (!token || $('#rotate-dialog').returnValue !== 'rotate') return;
  try {
    const overlap = $('#rotate-overlap').value;
    const fresh = await api('POST', `/${token.id}/rotate`, overlap === '0' ? {} : { overlap });
    const stops = Date.parse(fresh.previous.expiresAt) <= serverNow() + 1000;
    const note = stops
      ? 'The old token stopped working.'
      : `The old token keeps working until ${absolute(fresh.previous.expiresAt)}.`;
    showError('#list-error', null);
    showNewToken(fresh, fresh.label ? `Your rotated token “${fresh.label}”` : 'Your rotated token', note);
    await refresh();
  } catch (error) {
    showError('#list-error', error);
  }
}

async function revoke(token) {
  const name = token.label ? `“${token.label}”` : token.id;
  if (!window.confirm(`Revoke ${name}? Anything using it stops working at once.`)) return;
  try {
    await api('DELETE', `/${token.id}`);
    if (shownTokenId === token.id) hideNewToken();
    showError('#list-error', null);
  } catch (error) {
    showError('#list-error', error);
  }
  await refresh().catch((error) => showError('#list-error', error));
}

async function revokeAll() {
  if (!window.confirm('Revoke all your tokens? Everything using them stops working at once.')) return;
  try {
    await api('DELETE', '');
    hideNewToken();
    showError('#list-error', null);
  } catch (error) {
    showError('#list-error', error);
  }
  await refresh().catch((error) => showError('#list-error', error));
}

// --- Start -----------------------------------------------------------------------------------------------

for (const node of TARGETS) {
  const text = node.type === 'folder' && node.path !== '/' ? `${node.path}/` : node.path;
  $('#scope-node').append(element('option', { value: node.uuid, textContent: text }));
}
$('#add-scope').addEventListener('click', addScope);
$('#create-form').addEventListener('submit', create);
$('#copy-token').addEventListener('click', copyToken);
$('#dismiss-token').addEventListener('click', hideNewToken);
$('#revoke-all').addEventListener('click', revokeAll);
$('#rotate-dialog').addEventListener('close', rotateConfirmed);
refresh().catch((error) => showError('#list-error', error));
// Keeps "time left" and "last used" current without asking the server.
setInterval(render, 30_000);
