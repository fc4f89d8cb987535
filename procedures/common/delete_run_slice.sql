-- The slice replace of a lineage procedure's MERGE ... ON FALSE (arguments p_org_slug,
-- p_start_date, p_end_date, p_pipeline_id, p_credential_id; target aliased `target`),
-- included by every genai and subscription procedure (-- fragment lines): ON FALSE matches
-- no row, so the run's slice of the target is deleted and the source rows are inserted
-- (the MERGE's own WHEN NOT MATCHED THEN INSERT) in one atomic statement.
ON FALSE
  WHEN NOT MATCHED BY SOURCE
    AND target.x_org_slug = p_org_slug
    AND target.x_pipeline_id = p_pipeline_id
    AND target.x_credential_id = p_credential_id
    AND target.x_pipeline_run_date BETWEEN p_start_date AND p_end_date
    THEN DELETE
