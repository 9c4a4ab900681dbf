/** The pg.Pool every module shares (TypeORM is used for migrations only). */
export const PG_POOL = Symbol('PG_POOL');
/** The resolved connection string (DATABASE_URL or the embedded server's). */
export const DATABASE_URL = Symbol('DATABASE_URL');
