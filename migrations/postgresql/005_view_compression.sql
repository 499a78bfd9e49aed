-- The read model's large texts (a current result with its explanation, ~10 KB; the
-- facts, ~4 KB; history outcomes) are compressed by TOAST on every write. lz4 compresses
-- several times faster than the default pglz, and a rebuild rewrites them all
-- (benchmarks/rebuild.py). A server without lz4 (built without it, or before
-- PostgreSQL 14, where the clause does not exist: hence EXECUTE, judged at run time)
-- keeps pglz; the migration is recorded either way, and only the speed differs.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE certledger_results ALTER COLUMN result SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE certledger_scoring_inputs ALTER COLUMN facts SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE certledger_result_history ALTER COLUMN result SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'lz4 compression is not available on this server: the read model keeps pglz';
END
$$;
