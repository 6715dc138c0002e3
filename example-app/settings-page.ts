import { CSRF_FIELD } from './csrf';
import { escapeHtml, jsonForScript } from './html';
import type { NodeInfo, NodeTree } from './node-tree';
import { SIGN_OUT_PATH } from './sign-in';
import type { DemoUser } from './users';

/** Where the page's script manages tokens: `tokenRouter` behind the session and the CSRF check. */
export const SETTINGS_API_PATH = '/settings/api';
export const SETTINGS_TOKENS_PATH = '/settings/tokens';

const MAX_SCOPE_TARGETS = 500;

/** The files and folders a scope can name, depth first, for the page's scope picker (a demo-sized tree). */
export function scopeTargets(nodes: NodeTree): Pick<NodeInfo, 'uuid' | 'path' | 'type'>[] {
  const targets: Pick<NodeInfo, 'uuid' | 'path' | 'type'>[] = [];
  const visit = (node: NodeInfo) => {
    if (targets.length >= MAX_SCOPE_TARGETS) return;
    targets.push({ uuid: node.uuid, path: node.path, type: node.type });
    for (const child of nodes.children(node)) visit(child);
  };
  const root = nodes.nodeAt('/');
  if (root) visit(root);
  return targets;
}

const EXPIRY_CHOICES: [string, string][] = [
  ['1h', '1 hour'],
  ['24h', '1 day'],
  ['7d', '7 days'],
  ['30d', '30 days'],
  ['90d', '90 days'],
  ['', 'No hard limit (needs a sliding window)'],
];
const WINDOW_CHOICES: [string, string][] = [
  ['', 'None: expires at the hard limit'],
  ['10m', '10 minutes after its last use'],
  ['1h', '1 hour after its last use'],
  ['24h', '1 day after its last use'],
  ['7d', '7 days after its last use'],
];
const OVERLAP_CHOICES: [string, string][] = [
  ['0', 'stops at once'],
  ['10m', 'keeps working for 10 minutes'],
  ['1h', 'keeps working for 1 hour'],
  ['24h', 'keeps working for 1 day'],
];

function options(choices: [string, string][], selected: string): string {
  return choices
    .map(
      ([value, text]) =>
        `<option value="${escapeHtml(value)}"${value === selected ? ' selected' : ''}>${escapeHtml(text)}</option>`,
    )
    .join('');
}

/** The `<head>` additions and `<body>` of /settings/tokens; public/settings.js does the rest. */
export function settingsPage(input: { user: DemoUser; csrfToken: string; nodes: NodeTree }): {
  head: string;
  body: string;
} {
  const { user, csrfToken } = input;
  const targets = scopeTargets(input.nodes);
  const head = `<meta name="csrf-token" content="${escapeHtml(csrfToken)}">
<meta name="token-api" content="${SETTINGS_API_PATH}/tokens">
<script src="/assets/settings.js" defer></script>`;
  const body = `<header class="topbar">
<span class="brand">personal-token-auth <span class="muted">example</span></span>
<form method="post" action="${SIGN_OUT_PATH}" class="who">
<span>Signed in as <strong>${escapeHtml(user.name)}</strong> <span class="muted">(${escapeHtml(user.login)})</span></span>
<input type="hidden" name="${CSRF_FIELD}" value="${escapeHtml(csrfToken)}">
<button type="submit" class="link">Sign out</button>
</form>
</header>
<main data-login="${escapeHtml(user.login)}">
<h1>Personal access tokens</h1>
<p class="lead">A token lets a script, <code>curl</code> or a WebDAV client such as rclone act as you, without your
password. Give each one the shortest life and the narrowest scopes it needs, and revoke it when it is no longer used.</p>

<section id="new-token-panel" class="card success" hidden aria-live="polite">
<h2 id="new-token-title">Your new token</h2>
<p><strong>Copy it now.</strong> It is shown only this once: only its hash is stored.</p>
<div class="token-box"><code id="new-token" data-secret></code><button type="button" id="copy-token" class="primary">Copy</button></div>
<p id="new-token-note" class="muted"></p>
<h3>Use it</h3>
<pre id="token-usage" data-secret></pre>
<button type="button" id="dismiss-token">Done</button>
</section>

<section class="card">
<h2>New token</h2>
<form id="create-form" class="grid" novalidate>
<label>Label <input id="label" name="label" maxlength="200" placeholder="What is it for? e.g. backup script"></label>
<label>Expires <select id="expiresIn" name="expiresIn">${options(EXPIRY_CHOICES, '30d')}</select></label>
<label>Sliding window <select id="autoRefresh" name="autoRefresh">${options(WINDOW_CHOICES, '')}</select></label>
<fieldset class="scopes">
<legend>Scopes <span class="muted">(none: everything you can reach)</span></legend>
<ul id="scope-list" class="chips"></ul>
<div class="scope-picker">
<select id="scope-node" aria-label="File or folder"></select>
<select id="scope-permission" aria-label="Permission"><option value="r">read</option><option value="w">write</option><option value="rw">read and write</option></select>
<button type="button" id="add-scope">Add scope</button>
</div>
</fieldset>
<p id="create-error" class="error" role="alert" hidden></p>
<div><button type="submit" id="create-token" class="primary">Create token</button></div>
</form>
</section>

<section class="card">
<div class="section-head"><h2>Your tokens</h2><button type="button" id="revoke-all" class="danger" hidden>Revoke all</button></div>
<p id="list-error" class="error" role="alert" hidden></p>
<table id="tokens">
<thead><tr><th>Label</th><th>Scopes</th><th>Expires</th><th>Last used</th><th>Created</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody></tbody>
</table>
<p id="no-tokens" class="muted" hidden>No tokens yet.</p>
</section>
</main>

<dialog id="rotate-dialog">
<form method="dialog" class="stack">
<h2>Rotate <span id="rotate-label"></span>?</h2>
<p>A new token replaces it, with the same label, scopes, window and hard limit.</p>
<label>The old token <select id="rotate-overlap">${options(OVERLAP_CHOICES, '0')}</select></label>
<div class="buttons"><button value="cancel">Cancel</button><button value="rotate" class="primary" id="confirm-rotate">Rotate</button></div>
</form>
</dialog>
<script type="application/json" id="scope-targets">${jsonForScript(targets)}</script>`;
  return { head, body };
}
