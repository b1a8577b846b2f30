// The JSON API: one fetch wrapper turning every failure into an Error with the server's sentence.
import { t } from './i18n.js';

const TOKEN_KEY = 'digitlab-token';
const TOKEN_HEADER = 'X-Digitlab-Token';

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Take a token handed over in the address (#token=...) and remove it from the address bar. */
export function adoptTokenFromUrl() {
  const match = location.hash.match(/token=([^&]+)/);
  if (!match) return;
  setToken(decodeURIComponent(match[1]));
  history.replaceState(null, '', location.pathname + location.search);
}

/** fetch + JSON; `json` is sent as the body, FormData as `body`. Throws ApiError(detail, status). */
export async function api(path, { method = 'GET', json, body, signal } = {}) {
  const headers = {};
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  if (method !== 'GET' && token()) headers[TOKEN_HEADER] = token();
  let response;
  try {
    response = await fetch(path, { method, headers, body, signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(t('error.network'), 0);
  }
  const isJson = (response.headers.get('content-type') || '').includes('json');
  const data = isJson ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError((isJson && data.detail) || `${response.status} ${response.statusText}`, response.status);
  return data;
}
