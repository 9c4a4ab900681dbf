/** Where @RequireApiKey leaves its options for ApiKeyGuard (apart from both, so neither imports the other). */
export const REQUIRE_API_KEY = 'keyledger:require-api-key';

export interface RequireApiKeyOptions {
  /** Every one of these must be covered by the key's scopes (`admin` covers all). */
  scopes?: string[];
}
