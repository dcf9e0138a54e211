/** Endpoint URL templates: `{name}` placeholders filled from a connection's fields or resource. */

/** Fills `{name}` placeholders from `values` (URL-encoded unless `encode` is false); unknown ones stay. */
export function fillPlaceholders(template: string, values: Record<string, string>, encode = true): string {
  return template.replace(/\{(\w+)\}/g, (match, name: string) =>
    values[name] === undefined ? match : encode ? encodeURIComponent(values[name]) : values[name],
  );
}

/**
 * A credential field's own part of what was typed or pasted, for a field the service completes:
 * "https://acme.atlassian.net/jira" or "acme.atlassian.net" with ".atlassian.net" give "acme".
 */
export function valueBeforeSuffix(text: string, suffix: string): string {
  const host = text.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/[/?#].*$/, '');
  return host.toLowerCase().endsWith(suffix.toLowerCase()) ? host.slice(0, -suffix.length) : host;
}
