// Logging in, and the first start's setup (the token `chatd serve` printed creates the administrator).
import {useState} from 'preact/hooks';
import {t} from './i18n.js';
import {html} from './ui.js';

export function Login({onLogin, setup}) {
  const [token, setToken] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (ev) => {
    ev.preventDefault();
    setBusy(true);
    setError('');
    try {
      if (setup) {
        const res = await fetch('/api/v1/setup', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({token: token.trim(), username, password})});
        if (!res.ok) throw new Error((await res.json()).error?.message || `HTTP ${res.status}`);
      }
      await onLogin(username, password);
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login">
    <form onSubmit=${submit} class="card">
      <h1>${setup ? t('setup_title') : 'chatd'}</h1>
      ${setup ? html`<p class="help">${t('setup_help')}</p>` : null}
      ${setup
        ? html`<label>${t('setup_token')}<input name="token" value=${token} onInput=${(e) => setToken(e.target.value)} autocomplete="off" required /></label>`
        : null}
      <label>${t('username')}<input name="username" value=${username} onInput=${(e) => setUsername(e.target.value)} autocomplete="username" required /></label>
      <label>${t('password')}<input name="password" type="password" value=${password} onInput=${(e) => setPassword(e.target.value)}
        autocomplete=${setup ? 'new-password' : 'current-password'} minlength=${setup ? 8 : null} required /></label>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      <button type="submit" disabled=${busy}>${setup ? t('setup_create') : t('login')}</button>
    </form>
  </main>`;
}
