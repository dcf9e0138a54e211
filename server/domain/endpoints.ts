/** Endpoint URL templates: `{name}` placeholders filled from a connection's fields or resource. */

/** Fills `{name}` placeholders from `values` (URL-encoded unless `encode` is false); unknown ones stay. */
export function fillPlaceholders(template: string, values: Record<string, string>, encode = true): string {
  return template.replace(/\{(\w+)\}/g, (match, name: string) =>
    values[name] === undefined ? match : encode ? encodeURIComponent(values[name]) : values[name],
  );
}
