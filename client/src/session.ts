/**
 * The signed-in API token, kept in this browser's localStorage so a reload stays signed in.
 * It is the only secret the dashboard holds, and it only ever shows it masked.
 */
const STORAGE_KEY = 'patchbay.token';

export function storedToken(): string | null {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null) {
  try {
    if (token) window.localStorage.setItem(STORAGE_KEY, token);
    else window.localStorage.removeItem(STORAGE_KEY);
  } catch {
    // Private modes without storage: the session lasts until the tab closes.
  }
}

/** "pb_ab…wxyz": enough to tell tokens apart, never enough to use one. */
export function maskToken(token: string): string {
  if (token.length <= 10) return '••••';
  return `${token.slice(0, 5)}…${token.slice(-4)}`;
}
