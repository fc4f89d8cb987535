-- The rows this very run wrote to a table (x_run_id), of the org, pipeline and credential
-- of procedure_start.sql's arguments: included after WHERE over one table (unqualified
-- columns); more conditions may follow with AND.
x_org_slug = p_org_slug AND x_pipeline_id = p_pipeline_id
  AND x_credential_id = p_credential_id AND x_run_id = p_run_id
