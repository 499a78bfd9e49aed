-- The read model's large texts (a current result with its explanation, ~10 KB; the
-- facts, ~4 KB; history outcomes) are compressed by TOAST on every write. lz4 compresses
-- several times faster than the default pglz, and a rebuild rewrites them all
-- (benchmarks/rebuild.py). A server built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE certledger_results ALTER COLUMN result SET COMPRESSION lz4;
    ALTER TABLE certledger_scoring_inputs ALTER COLUMN facts SET COMPRESSION lz4;
    ALTER TABLE certledger_result_history ALTER COLUMN result SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not supported by this server: the read model keeps pglz';
END
$$;
