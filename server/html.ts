/** Escaping for the little HTML the server writes itself (the OAuth callback page, notice mail). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
