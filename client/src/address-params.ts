/**
 * Settings kept in the page's address (`?q=…&status=…`): read them, and change some in place
 * without a new history entry per keystroke. A value that is empty or null removes its parameter.
 */
import { useSearchParams } from 'wouter';

export function useAddressParams<Key extends string>(): [URLSearchParams, (next: Partial<Record<Key, string | null>>) => void] {
  const [params, setParams] = useSearchParams();
  const change = (next: Partial<Record<Key, string | null>>) =>
    setParams(
      (previous) => {
        const updated = new URLSearchParams(previous);
        for (const [key, value] of Object.entries(next) as [string, string | null | undefined][]) {
          if (value) updated.set(key, value);
          else updated.delete(key);
        }
        return updated;
      },
      { replace: true },
    );
  return [params, change];
}
