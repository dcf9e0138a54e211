/** User: a person in the viewer's account. */
import { builder } from './builder.js';

export const UserRoleEnum = builder.enumType('UserRole', {
  description: 'What a user may do in their account. Every role may add connections.',
  values: {
    MEMBER: { description: 'Uses shared connections and their own.' },
    EDITOR: { description: 'Also edits data sources on connections they can use.' },
    ADMIN: { description: 'Manages every connection, user, token and custom integration.' },
  },
});

export const UserType = builder.drizzleNode('users', {
  name: 'User',
  description: 'A person in an account.',
  id: { column: (user) => user.id },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    email: t.exposeString('email', { description: 'Sign-in and notification address.' }),
    role: t.expose('role', { type: UserRoleEnum, description: 'The user’s role in the account.' }),
    isOwner: t.exposeBoolean('isOwner', { description: 'Whether this user owns the account.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the user was added.' }),
  }),
});
