/** Account: the tenant everything else belongs to. */
import { builder } from './builder.js';
import { MAX_PAGE_SIZE, pageQuery } from './pagination.js';

builder.drizzleNode('accounts', {
  name: 'Account',
  description: 'A tenant: its users, connections and custom integrations.',
  id: { column: (account) => account.id },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The account’s name.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the account was created.' }),
    users: t.relatedConnection('users', {
      description: 'The account’s users, oldest first.',
      maxSize: MAX_PAGE_SIZE,
      query: (args) => pageQuery(args, { orderBy: { createdAt: 'asc' as const } }),
      totalCount: true,
    }),
  }),
});
