/** What every subscription field needs: the instance's hub, or a clear error where none runs. */
import { ValidationError } from '../domain/errors.js';
import type { LiveHub } from '../realtime/hub.js';
import type { Context } from './builder.js';

/** The hub serving this request's subscriptions. */
export function liveHubOf(context: Context): LiveHub {
  if (!context.live) throw new ValidationError('Subscriptions are served over graphql-ws or SSE by a running gateway', 'subscription');
  return context.live;
}
