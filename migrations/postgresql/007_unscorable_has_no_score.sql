-- An unscorable certification has no score: its result's pix_score is null, where it
-- was 0 (a guess beside the error that says why there is none). The read model is
-- derived, so a rebuild would say the same; this rewrites the results already derived,
-- byte for byte as the fold now writes them (orjson's compact form, keys in the
-- Result's order, so the score is followed by the rule version), without a rebuild.
-- A result with an error is one whose "error" is not null.
UPDATE certledger_results
   SET pix_score = NULL,
       result = replace(result, '"pix_score":0,"rule_version"', '"pix_score":null,"rule_version"')
 WHERE result NOT LIKE '%"error":null,"reproducibility_rate":%';

UPDATE certledger_result_history
   SET result = replace(result, '"pix_score":0,"rule_version"', '"pix_score":null,"rule_version"')
 WHERE result NOT LIKE '%"error":null,"reproducibility_rate":%';
