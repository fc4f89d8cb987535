-- The run's lineage slice of a table, from the arguments of procedure_start.sql: the
-- org's rows of the pipeline and credential for the usage days p_start_date to p_end_date.
-- Included after WHERE over one table (unqualified columns); more conditions may follow
-- with AND. Both the reads of a run's rows and the slice replace of every genai and
-- subscription procedure: "DELETE FROM <target> WHERE <this>;" then "INSERT INTO <target>
-- ... SELECT ...", which the generic.procedure_executor step CALLs in one transaction (the
-- pair is atomic there, as MERGE ... ON FALSE was, without its target x source rows on the
-- emulator). The day range is the partition filter: BigQuery prunes by it.
x_org_slug = p_org_slug AND x_pipeline_id = p_pipeline_id
  AND x_credential_id = p_credential_id
  AND x_pipeline_run_date BETWEEN p_start_date AND p_end_date
