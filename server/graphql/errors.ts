/** The typed errors mutation results carry, all implementing the `Error` interface. */
import {
  AuthenticationError,
  ConnectionInUseError,
  CredentialsRejectedError,
  ForbiddenError,
  NotFoundError,
  PatchbayError,
  ProviderUnavailableError,
  RefreshRunningError,
  ValidationError,
} from '../domain/errors.js';
import { type ReasonContext, reasonText } from '../domain/disconnect-reasons.js';
import type { DisconnectReason } from '../domain/types.js';
import { builder } from './builder.js';
import { DisconnectReasonEnum } from './connection-status.js';

const ErrorInterface = builder.interfaceRef<PatchbayError>('Error').implement({
  description: 'Something the caller asked for could not be done; nothing was changed.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'What went wrong, for people.' }),
    code: t.exposeString('code', { description: 'Stable machine-readable error code.' }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'The object does not exist or is not visible to the viewer.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    typename: t.exposeString('typename', { description: 'The type of object that was looked up.' }),
  }),
});

builder.objectType(ForbiddenError, {
  name: 'ForbiddenError',
  description: 'The viewer may see the object but not perform this action on it.',
  interfaces: [ErrorInterface],
});

builder.objectType(AuthenticationError, {
  name: 'AuthenticationError',
  description: 'The request carried no valid API token.',
  interfaces: [ErrorInterface],
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'An input broke a rule.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    field: t.exposeString('field', { nullable: true, description: 'The input field at fault.' }),
  }),
});

builder.objectType(ConnectionInUseError, {
  name: 'ConnectionInUseError',
  description: 'The connection still feeds data sources, so it cannot be deleted.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    dataSourceCount: t.exposeInt('dataSourceCount', { description: 'How many data sources depend on it.' }),
  }),
});

builder.objectType(CredentialsRejectedError, {
  name: 'CredentialsRejectedError',
  description: 'The service refused the credentials; nothing was stored.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    reason: t.field({
      type: DisconnectReasonEnum,
      description: 'How the refusal was classified.',
      resolve: (error) => error.reason as DisconnectReason,
    }),
    interpretation: t.string({
      description: 'What most likely happened (for credentials just entered, about what was entered).',
      resolve: (error) => reasonText(error.reason as DisconnectReason, error.context).interpretation,
    }),
    resolution: t.string({
      description: 'What to do about it.',
      resolve: (error) => reasonText(error.reason as DisconnectReason, error.context).resolution,
    }),
  }),
});

/** A reason and the context that picks its text. */
interface Cause {
  reason: DisconnectReason;
  context: ReasonContext;
}

const LikelyCause = builder.objectRef<Cause>('LikelyCause').implement({
  description: 'What a failure to get an answer most likely means, and what to do about it.',
  fields: (t) => ({
    reason: t.field({ type: DisconnectReasonEnum, description: 'The reason the evidence points to.', resolve: (cause) => cause.reason }),
    interpretation: t.string({
      description: 'What most likely happened (for credentials just entered, about what was entered).',
      resolve: (cause) => reasonText(cause.reason, cause.context).interpretation,
    }),
    resolution: t.string({ description: 'What to do about it.', resolve: (cause) => reasonText(cause.reason, cause.context).resolution }),
  }),
});

builder.objectType(ProviderUnavailableError, {
  name: 'ProviderUnavailableError',
  description: 'The service could not be reached or failed for now; nothing changed. Try again later.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    retryAfterSeconds: t.exposeInt('retryAfterSeconds', {
      nullable: true,
      description: 'When the service asked to be retried.',
    }),
    likelyCause: t.field({
      type: LikelyCause,
      nullable: true,
      description: 'What the failure is evidence of (e.g. HOST_UNREACHABLE, HOST_NOT_FOUND) and what to do, when known.',
      resolve: (error) => (error.reason ? { reason: error.reason as DisconnectReason, context: error.context } : null),
    }),
  }),
});

builder.objectType(RefreshRunningError, {
  name: 'RefreshRunningError',
  description: 'A refresh of the data source is RUNNING; Refresh now waits for it to end.',
  interfaces: [ErrorInterface],
});

/** The errors every mutation can answer with. */
export const COMMON_ERRORS = [AuthenticationError, ForbiddenError, NotFoundError, ValidationError];
