/** POSTs a GraphQL document to a running gateway as `token` and returns the parsed body. */
export async function postGraphql(base: string, token: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: any; errors?: any[] };
}

/** postGraphql for a request that must not fail: its `data`, or a thrown error with the GraphQL errors. */
export async function graphqlData(base: string, token: string, query: string, variables: Record<string, unknown> = {}) {
  const body = await postGraphql(base, token, query, variables);
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}
