/**
 * The field names of the composite types that stand in for Materialize's list and map types in the engine
 * (catalog/collection-types.ts): a list is `(mz_list_items element[])`, a map `(mz_map_keys text[],
 * mz_map_values value[])` with its keys sorted and unique. The names mark a composite type as one of them.
 */
export const LIST_ITEMS_FIELD = 'mz_list_items';
export const MAP_KEYS_FIELD = 'mz_map_keys';
export const MAP_VALUES_FIELD = 'mz_map_values';
