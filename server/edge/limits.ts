/**
 * What a document may ask for, checked before anything runs, for HTTP, SSE and graphql-ws alike
 * (all of them go through Yoga's envelop): tokens, depth, aliases and directives (graphql-armor),
 * the cost of the selection (server/edge/cost.ts), a parser that cannot overflow the stack, and in
 * production no introspection and no "Did you mean" suggestions. Refusals never state the limit:
 * a caller learns that the query is too large, not where the line is.
 */
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { type DocumentNode, type ExecutionArgs, GraphQLError, NoSchemaIntrospectionCustomRule, type ValidationContext } from 'graphql';
import type { Plugin, YogaServerOptions } from 'graphql-yoga';
import { queryCost } from './cost.js';

/** The document limits; every one is a setting (server/config.ts). */
export interface DocumentLimits {
  /** Most a selection may cost: fields, multiplied by the page sizes and ids above them. */
  maxCost: number;
  /** Deepest selection (graphql-armor counting: every field and fragment level is one). */
  maxDepth: number;
  /** Most aliases in one document. */
  maxAliases: number;
  /** Most lexical tokens in one document (bounds parsing itself). */
  maxTokens: number;
  /** Most directives in one document. */
  maxDirectives: number;
}

/** The defaults: the dashboard's largest documents pass with room, a graph 4 pages deep does not. */
export const DEFAULT_LIMITS: DocumentLimits = {
  maxCost: 25_000,
  maxDepth: 10,
  maxAliases: 15,
  maxTokens: 1_000,
  maxDirectives: 50,
};

/** What the edge does with a document besides its limits. */
export interface DocumentPolicy {
  limits: DocumentLimits;
  /** Answer introspection queries (off in production unless enabled). */
  introspection: boolean;
}

const TOO_LARGE = 'The query is too large: select fewer fields, nest fewer lists or ask for smaller pages';

/**
 * A refused document, code QUERY_TOO_LARGE, nothing about the limit itself. Like any invalid
 * document (GraphQL over HTTP): a 400 for application/graphql-response+json, 200 for application/json.
 */
function tooLarge(message = TOO_LARGE): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'QUERY_TOO_LARGE', http: { spec: true, status: 400 } } });
}

const isArmorRefusal = (error: unknown) => error instanceof GraphQLError && error.message.endsWith(TOO_LARGE);

/**
 * One shape for refusals while parsing: graphql-armor's token limit gets the QUERY_TOO_LARGE code,
 * and a document nested so deeply that parsing ran out of stack is a 400 like any syntax error.
 */
function useTooLargeErrors(): Plugin {
  return {
    onParse: () => ({ result, replaceParseResult }) => {
      if (result instanceof RangeError) replaceParseResult(tooLarge('Syntax Error: the document is nested too deeply'));
      else if (isArmorRefusal(result)) replaceParseResult(tooLarge());
    },
  };
}

/** Measured costs kept per document: at most this many operation/variables pairs each. */
const COSTS_PER_DOCUMENT = 64;
/** Variables longer than this (as JSON) are measured every time rather than kept as a key. */
const MAX_COST_KEY = 2_048;

/**
 * Refuses an operation whose cost is over the limit before it executes or subscribes. A cost is a
 * function of the document, the operation and the variables only (cost.ts reads no context), so
 * it is measured once per document (Yoga's parse cache hands the same one for the same text) and
 * operation and variables, not on every request: measuring is a validation pass over the document.
 */
/**
 * The operation and its variables as a cache key; none for variables JSON cannot write (nested
 * past the stack: the input rules refuse those with VALIDATION once the cost is measured).
 */
function costKey(args: ExecutionArgs): string | undefined {
  try {
    return `${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? {})}`;
  } catch {
    return undefined;
  }
}

function useCostLimit(maxCost: number): Plugin {
  const costs = new WeakMap<DocumentNode, Map<string, number | null>>();
  const measure = (args: ExecutionArgs) =>
    queryCost(args.schema, args.document, args.variableValues, args.operationName, (args.contextValue ?? {}) as object)?.cost ?? null;
  const check = (args: ExecutionArgs, stop: (result: { errors: GraphQLError[] }) => void) => {
    const key = costKey(args);
    let cost: number | null | undefined;
    if (key === undefined || key.length > MAX_COST_KEY) {
      cost = measure(args);
    } else {
      let byKey = costs.get(args.document);
      if (!byKey) costs.set(args.document, (byKey = new Map()));
      cost = byKey.get(key);
      if (cost === undefined) {
        if (byKey.size >= COSTS_PER_DOCUMENT) byKey.clear();
        byKey.set(key, (cost = measure(args)));
      }
    }
    if (cost !== null && cost > maxCost) stop({ errors: [tooLarge()] });
  };
  return {
    onExecute: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
    onSubscribe: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
  };
}

/** Removes graphql-js's "Did you mean ...?" hints from a message (schema names stay private). */
export function withoutSuggestions(message: string): string {
  return message.replace(/\s*Did you mean [^?]*\?/g, '').trim();
}

/** Yoga takes envelop plugins of any context; graphql-armor's are typed for an empty one. */
export type AnyPlugin = NonNullable<YogaServerOptions<object, object>['plugins']>[number];

/** The envelop plugins that enforce the document policy, in the order they must run. */
export function documentLimitPlugins({ limits, introspection }: DocumentPolicy): AnyPlugin[] {
  // Validation rules report our error instead of throwing graphql-armor's "Syntax Error".
  const armor = {
    exposeLimits: false,
    errorMessage: TOO_LARGE,
    propagateOnRejection: false,
    onReject: [(context: ValidationContext | null) => context?.reportError(tooLarge())],
  };
  return [
    useTooLargeErrors(),
    maxTokensPlugin({ n: limits.maxTokens, exposeLimits: false, errorMessage: TOO_LARGE }),
    maxDepthPlugin({ n: limits.maxDepth, ignoreIntrospection: true, ...armor }),
    maxAliasesPlugin({ n: limits.maxAliases, ...armor }),
    maxDirectivesPlugin({ n: limits.maxDirectives, ...armor }),
    ...(introspection
      ? []
      : [
          { onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule) } satisfies Plugin,
          blockFieldSuggestionsPlugin({ mask: '' }),
        ]),
    useCostLimit(limits.maxCost),
  ];
}
