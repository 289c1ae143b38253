/** OpenAPI security requirement shared by authenticated routes. */
export const SECURED: { security: Array<Record<string, string[]>> } = {
  security: [{ bearerAuth: [] }, { cookieAuth: [] }],
};
