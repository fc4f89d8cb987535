// The shapes the product's frontend reads, as ../shared/reference/CLIENT_CONTRACT.md states
// them (tests/client/test_typescript_client.py keeps them and the API's openapi.json in step).

export interface PipelineRun {
  run_id: string
  org_slug: string
  provider: string
  domain: string
  pipeline: string
  status: 'pending' | 'running' | 'completed' | 'failed' | 'cancelled'
  started_at?: string
  completed_at?: string
  records_processed?: number
  error_message?: string
  parameters?: Record<string, unknown>
  created_at: string
}

export interface PipelineRunStatus {
  run_id: string
  status: string
  progress?: number
  records_processed?: number
  error_message?: string
  started_at?: string
  completed_at?: string
}

export interface PipelineSchedule {
  schedule_id: string
  provider: string
  domain: string
  pipeline: string
  cron_expression: string
  is_enabled: boolean
  last_run_at?: string
  next_run_at?: string
}

export interface ParameterDefinition {
  name: string
  type?: string
  required?: boolean
  description?: string
}

export interface PipelineConfig {
  name: string
  display_name: string
  provider: string
  domain: string
  description?: string
  parameters?: ParameterDefinition[]
}

export interface ActionResult {
  success: boolean
  error?: string
}
