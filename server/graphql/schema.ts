/** Builds the schema: imports every type module (for their registrations), then prints nothing else. */
import { builder } from './builder.js';
import './scalars.js';
import './errors.js';
import './user.js';
import './account.js';
import './viewer.js';
import './api-token.js';
import './integration.js';
import './connection.js';
import './data-source.js';
import './refresh-run.js';
import './connection-event.js';
import './connection-status-change.js';
import './connection-change.js';
import './audit.js';
import './data-source-status-change.js';
import './refresh-run-update.js';
import './refresh-dispatch.js';
import './notification.js';
import './webhook.js';
import './reconnect-link.js';

builder.queryType({ description: 'The connection graph of the viewer’s account.' });
builder.mutationType({ description: 'Changes; each returns a result union of its payload and typed errors.' });
builder.subscriptionType({
  description:
    'Live changes over graphql-ws (`connectionParams.authorization`) or SSE (`Accept: text/event-stream`), sent after they commit, only to those who may see them.',
});

export const schema = builder.toSchema({ sortSchema: true });
