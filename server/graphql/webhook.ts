/**
 * WebhookEndpoint and WebhookDelivery: where an account's partners receive connection status
 * changes, and the delivery log. Admins manage endpoints; admins and SERVICE tokens read them.
 * A signing secret appears in exactly two responses: the endpoint's creation and its rotation;
 * a rotated-out secret that still signs during its grace period appears in none.
 */
import {
  createWebhookEndpoint,
  DEFAULT_KEEP_PREVIOUS_HOURS,
  deleteWebhookEndpoint,
  rotateWebhookEndpointSecret,
  sendTestWebhook,
  updateWebhookEndpoint,
  type WebhookEndpointRow,
} from '../domain/webhooks.js';
import { canReadWebhooks } from '../domain/viewer.js';
import { builder, type Context, viewerOf } from './builder.js';
import { COMMON_ERRORS } from './errors.js';
import { multilineText } from './input-rules.js';
import { encodeGlobalId, parseGlobalId } from '../domain/global-ids.js';
import { MAX_PAGE_SIZE, pageQuery } from './pagination.js';


const WebhookDeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', {
  description: 'Where a webhook delivery stands.',
  values: {
    PENDING: { description: 'Not delivered yet: waiting for its first attempt or a retry.' },
    SENT: { description: 'The endpoint answered 2xx.' },
    FAILED: { description: 'Given up: a permanent refusal (4xx, 410 Gone, a refused address) or the retries were spent.' },
  },
});

export const WebhookDeliveryType = builder.drizzleNode('webhookDeliveries', {
  name: 'WebhookDelivery',
  description: 'One webhook sent (or being sent) to an endpoint: its body and every attempt’s outcome.',
  id: { column: (delivery) => delivery.id },
  fields: (t) => ({
    eventType: t.exposeString('eventType', {
      description: 'The body’s `type`: `connection.status_changed` or `webhook.test`.',
    }),
    status: t.expose('status', { type: WebhookDeliveryStatusEnum, description: 'Where it stands.' }),
    attempts: t.exposeInt('attempts', { description: 'How many attempts were made.' }),
    lastError: t.exposeString('lastError', {
      nullable: true,
      description: 'What the last failed attempt hit (with a short excerpt of the answer); null once delivered.',
    }),
    responseStatus: t.exposeInt('responseStatus', {
      nullable: true,
      description: 'The HTTP status of the last attempt the endpoint answered.',
    }),
    payload: t.expose('payload', {
      type: 'JSONObject',
      description:
        'The exact JSON body, the same on every attempt (it names private connections too, as SERVICE tokens see them).',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was enqueued (the change’s commit).' }),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it is attempted next; null unless PENDING.',
      resolve: (delivery) => (delivery.status === 'PENDING' ? delivery.nextAttemptAt : null),
    }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true, description: 'When the endpoint accepted it.' }),
  }),
});

export const WebhookEndpointType = builder.drizzleNode('webhookEndpoints', {
  name: 'WebhookEndpoint',
  description:
    'An HTTPS URL that receives the account’s connection status changes as Standard Webhooks: JSON signed with HMAC-SHA256 (`webhook-id`, `webhook-timestamp`, `webhook-signature` headers).',
  id: { column: (endpoint) => endpoint.id },
  fields: (t) => ({
    url: t.exposeString('url', { description: 'Where deliveries are POSTed.' }),
    description: t.exposeString('description', { nullable: true, description: 'What the endpoint is for.' }),
    enabled: t.exposeBoolean('enabled', { description: 'Whether changes are delivered to it.' }),
    disabledReason: t.exposeString('disabledReason', {
      nullable: true,
      description: 'Why Patchbay disabled it (e.g. it answered 410 Gone); null otherwise.',
    }),
    integrationKeys: t.exposeStringList('integrationKeys', {
      nullable: true,
      description: 'Only changes of connections to these integrations are delivered; null: every connection.',
    }),
    createdBy: t.relation('createdBy', { nullable: true, description: 'The admin who registered it.' }),
    previousSecretExpiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description:
        'Until when deliveries are also signed with the secret the last rotation replaced (its grace period); null when none is kept or the grace period is over.',
      select: { with: { previousSecret: { columns: { expiresAt: true } } } },
      resolve: ({ previousSecret }) =>
        previousSecret && Date.parse(previousSecret.expiresAt) > Date.now() ? previousSecret.expiresAt : null,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was registered.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
    deliveries: t.relatedConnection('deliveries', {
      description: 'The delivery log, newest first.',
      maxSize: MAX_PAGE_SIZE,
      totalCount: true,
      query: (args) => pageQuery(args, { orderBy: { createdAt: 'desc' as const } }),
    }),
  }),
});

builder.drizzleObjectField('accounts', 'webhookEndpoints', (t) =>
  t.relatedConnection('webhookEndpoints', {
    description: 'The account’s webhook endpoints, oldest first; null unless the viewer is an admin or a SERVICE token.',
    nullable: true,
    authScopes: (_account, _args, context) => canReadWebhooks(viewerOf(context)),
    unauthorizedResolver: () => null,
    maxSize: MAX_PAGE_SIZE,
    totalCount: true,
    query: (args) => pageQuery(args, { orderBy: { createdAt: 'asc' as const } }),
  }),
);

/** A secret shown once, with the endpoint it signs for. */
interface SecretPayload {
  secret: string;
  endpoint: WebhookEndpointRow;
}

const secretDescription =
  'The signing secret (`whsec_` + base64), for your Standard Webhooks verifier. Store it now: it is never shown again.';

/** The two results that carry a secret: an endpoint's creation and its rotation. */
const secretPayload = (name: string, description: string) =>
  builder.objectRef<SecretPayload>(name).implement({
    description,
    fields: (t) => ({
      secret: t.exposeString('secret', { description: secretDescription }),
      webhookEndpoint: t.field({ type: WebhookEndpointType, description: 'The endpoint.', resolve: (payload) => payload.endpoint }),
    }),
  });

const CreateWebhookEndpointPayload = secretPayload(
  'CreateWebhookEndpointPayload',
  'A registered endpoint and its signing secret, shown this once.',
);
const RotateWebhookEndpointSecretPayload = secretPayload(
  'RotateWebhookEndpointSecretPayload',
  'An endpoint’s new signing secret, shown this once; the old one keeps signing too until `webhookEndpoint.previousSecretExpiresAt` (null: not at all).',
);

const integrationKeysDescription =
  'Only changes of connections to these integration keys; omit (or null) for every connection.';

builder.mutationFields((t) => ({
  createWebhookEndpoint: t.fieldWithInput({
    type: CreateWebhookEndpointPayload,
    description:
      'Registers a webhook endpoint (admins). Every connection status change of the account, creation included, is POSTed to it, signed with the returned secret.',
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'payload' } },
    input: {
      url: t.input.string({ required: true, description: 'A public https URL.' }),
      description: t.input.string({ description: 'What it is for, at most 500 characters.', ...multilineText }),
      integrationKeys: t.input.stringList({ description: integrationKeysDescription }),
    },
    resolve: (_root, { input }, context) =>
      createWebhookEndpoint(context.db, context.vault, viewerOf(context), input),
  }),
  updateWebhookEndpoint: t.fieldWithInput({
    type: WebhookEndpointType,
    description: 'Changes an endpoint’s URL, description, filter, or turns it off and on (admins).',
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'webhookEndpoint' } },
    input: {
      id: t.input.id({ required: true, description: 'The WebhookEndpoint id.' }),
      url: t.input.string({ description: 'A new public https URL.' }),
      description: t.input.string({ description: 'A new description; null clears it.', ...multilineText }),
      enabled: t.input.boolean({ description: 'Deliver to it (true) or not (false).' }),
      integrationKeys: t.input.stringList({ description: 'A new filter; null: every connection.' }),
    },
    resolve: (_root, { input }, context) =>
      updateWebhookEndpoint(context.db, viewerOf(context), parseGlobalId(input.id, 'WebhookEndpoint'), input),
  }),
  rotateWebhookEndpointSecret: t.fieldWithInput({
    type: RotateWebhookEndpointSecretPayload,
    description:
      'Replaces an endpoint’s signing secret (admins). Deliveries from then on, pending ones included, are signed with the new secret and, for a grace period, with the old one too (`webhook-signature: v1,<new> v1,<old>`), so the receiver verifies while it deploys the new secret. Rotating again within the grace period drops the older secret: only one previous secret is kept.',
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'payload' } },
    input: {
      id: t.input.id({ required: true, description: 'The WebhookEndpoint id.' }),
      keepPreviousForHours: t.input.int({
        defaultValue: DEFAULT_KEEP_PREVIOUS_HOURS,
        description: `How many hours the old secret keeps signing, 0 to 168; 0 stops it now. Omitted or null: ${DEFAULT_KEEP_PREVIOUS_HOURS}.`,
      }),
    },
    resolve: (_root, { input }, context) =>
      rotateWebhookEndpointSecret(context.db, context.vault, viewerOf(context), parseGlobalId(input.id, 'WebhookEndpoint'), {
        keepPreviousForHours: input.keepPreviousForHours,
      }),
  }),
  deleteWebhookEndpoint: t.fieldWithInput({
    type: 'ID',
    description: 'Deletes an endpoint with its delivery log (admins); pending deliveries are dropped.',
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'deletedId' } },
    input: { id: t.input.id({ required: true, description: 'The WebhookEndpoint id.' }) },
    resolve: async (_root, { input }, context) => {
      const row = await deleteWebhookEndpoint(context.db, viewerOf(context), parseGlobalId(input.id, 'WebhookEndpoint'));
      return encodeGlobalId('WebhookEndpoint', row.id);
    },
  }),
  sendTestWebhook: t.fieldWithInput({
    type: WebhookDeliveryType,
    description: 'Queues a `webhook.test` delivery to an enabled endpoint (admins), to check the receiver and its verification.',
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'delivery' } },
    input: { id: t.input.id({ required: true, description: 'The WebhookEndpoint id.' }) },
    resolve: (_root, { input }, context) =>
      sendTestWebhook(context.db, viewerOf(context), parseGlobalId(input.id, 'WebhookEndpoint')),
  }),
}));
