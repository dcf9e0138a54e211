/**
 * Who may send a request at all, decided before the document is parsed: in production an
 * anonymous request is a 401 at once (nothing about the schema is revealed to it), browsers get
 * CORS only for allowed origins and never with credentials, and GraphiQL is served only when on.
 */
import type { Plugin } from 'graphql-yoga';
import type { DocumentPolicy } from './limits.js';

/** The edge's settings, from server/config.ts. */
export interface EdgeSettings {
  /** Production mode: anonymous requests refused before parsing, GraphiQL and introspection off unless enabled. */
  production: boolean;
  /** Serve GraphiQL on GET /graphql (offline, from the gateway). */
  graphiql: boolean;
  /** Limits and introspection for documents. */
  document: DocumentPolicy;
  /** Origins (besides the gateway's own) whose browsers may call the API cross-origin. */
  corsOrigins: string[];
}

/** Whether a GET asks for the GraphiQL page rather than running a query. */
function wantsGraphiql(request: Request): boolean {
  return request.method === 'GET' && (request.headers.get('accept') ?? '').includes('text/html');
}

/** In production, a request without a token is a 401 before its document is even parsed. */
export function useRequireToken(settings: Pick<EdgeSettings, 'production' | 'graphiql'>): Plugin {
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      if (!settings.production || request.headers.get('authorization')) return;
      if (request.method === 'OPTIONS' || (settings.graphiql && wantsGraphiql(request))) return;
      endResponse(
        new fetchAPI.Response(
          JSON.stringify({
            errors: [{ message: 'Send a valid API token as "Authorization: Bearer <token>"', extensions: { code: 'UNAUTHENTICATED' } }],
          }),
          { status: 401, headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer' } },
        ),
      );
    },
  };
}

/**
 * Yoga's CORS policy: a browser on a listed origin gets CORS headers naming exactly its origin;
 * any other origin gets none (the dashboard is served by the gateway itself and needs none), and
 * never with credentials (the API takes bearer tokens, not cookies).
 */
export function corsPolicy(origins: string[]) {
  const allowed = new Set(origins);
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (!origin || !allowed.has(origin)) return false as const;
    return {
      origin: [origin],
      credentials: false,
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['authorization', 'content-type', 'accept', 'x-request-id'],
      maxAge: 600,
    };
  };
}
