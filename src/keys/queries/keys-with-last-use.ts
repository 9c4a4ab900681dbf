/** The keys with their last use (`u`, none for a key never used): what KEY_VIEW_COLUMNS are selected from. */
export const KEYS_WITH_LAST_USE = 'api_keys LEFT JOIN key_last_use u USING (key_id)';
