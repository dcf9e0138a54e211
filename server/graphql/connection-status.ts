/** The enums of a connection's lifecycle: its status and why it disconnected. */
import { DISCONNECT_REASONS } from '../domain/disconnect-reasons.js';
import type { DisconnectReason } from '../domain/types.js';
import { builder } from './builder.js';

export const ConnectionStatusEnum = builder.enumType('ConnectionStatus', {
  description: 'Where a connection is in its lifecycle.',
  values: {
    PENDING: { description: 'Created; waiting for the user to authorize and the first test to pass.' },
    ACTIVE: { description: 'Authorized and working.' },
    DISCONNECTED: { description: 'Broken for the reason given; reauthenticate to repair it.' },
    REVOKED: { description: 'Revoked by a user; its credentials are gone.' },
  },
});

export const DisconnectReasonEnum = builder.enumType('DisconnectReason', {
  description: 'Why a connection became DISCONNECTED.',
  values: Object.fromEntries(
    Object.entries(DISCONNECT_REASONS).map(([reason, text]) => [reason, { description: text.interpretation }]),
  ) as Record<DisconnectReason, { description: string }>,
});
