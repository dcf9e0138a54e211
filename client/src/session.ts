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

const REASON_KEY = 'patchbay.signedOutBecause';

/**
 * Why this tab was signed out ('expired' when the gateway refused the token), kept in this tab's
 * sessionStorage so the explanation survives a reload; cleared by the next sign-in.
 */
export function storedSignOutReason<T extends string>(known: readonly T[]): T | null {
  try {
    const reason = window.sessionStorage.getItem(REASON_KEY);
    return known.find((candidate) => candidate === reason) ?? null;
  } catch {
    return null;
  }
}

export function storeSignOutReason(reason: string | null) {
  try {
    if (reason) window.sessionStorage.setItem(REASON_KEY, reason);
    else window.sessionStorage.removeItem(REASON_KEY);
  } catch {
    // Without storage the reason lasts until the page reloads.
  }
}
