// Drives the API through the frontend's server actions and checks, at run time, every
// field of the contract's interfaces (tsc --strict checks them at compile time). Prints
// one JSON report; exits 1 on the first broken expectation.
//
// Env: CONTRACT_API_URL, CONTRACT_ORG, CONTRACT_ORG_KEY, CONTRACT_ROOT_KEY,
// CONTRACT_PIPELINE (provider/domain/pipeline, completes quickly, has a transform step),
// CONTRACT_SLOW_PIPELINE (one long step, to cancel), CONTRACT_SCHEDULE_ID.

import {
  cancelPipeline,
  getPipelineHistory,
  getPipelineStatus,
  getSchedules,
  listPipelines,
  runPipeline,
  triggerSchedule,
  updateSchedule,
  type Connection,
} from './actions.js'
import type { PipelineConfig, PipelineRun, PipelineRunStatus, PipelineSchedule } from './contract.js'

function env(name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`${name} is not set`)
  return value
}

function expect(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`expected ${what}`)
}

type Kind = 'string' | 'number' | 'boolean' | 'object'

function field(row: object, name: string, kind: Kind, optional = false): void {
  const value = (row as Record<string, unknown>)[name]
  if (optional && (value === undefined || value === null)) return
  expect(typeof value === kind, `${name} to be a ${kind}, got ${JSON.stringify(value)}`)
}

function checkRun(run: PipelineRun): void {
  for (const name of ['run_id', 'org_slug', 'provider', 'domain', 'pipeline', 'status', 'created_at']) {
    field(run, name, 'string')
  }
  for (const name of ['started_at', 'completed_at', 'error_message']) field(run, name, 'string', true)
  field(run, 'records_processed', 'number', true)
  field(run, 'parameters', 'object', true)
}

function checkStatus(status: PipelineRunStatus): void {
  field(status, 'run_id', 'string')
  field(status, 'status', 'string')
  field(status, 'progress', 'number', true)
  field(status, 'records_processed', 'number', true)
  for (const name of ['error_message', 'started_at', 'completed_at']) field(status, name, 'string', true)
}

function checkSchedule(schedule: PipelineSchedule): void {
  for (const name of ['schedule_id', 'provider', 'domain', 'pipeline', 'cron_expression']) {
    field(schedule, name, 'string')
  }
  field(schedule, 'is_enabled', 'boolean')
  field(schedule, 'last_run_at', 'string', true)
  field(schedule, 'next_run_at', 'string', true)
}

function checkPipeline(pipeline: PipelineConfig): void {
  for (const name of ['name', 'display_name', 'provider', 'domain']) field(pipeline, name, 'string')
  field(pipeline, 'description', 'string', true)
  expect(pipeline.parameters === undefined || Array.isArray(pipeline.parameters), 'parameters[]')
  for (const p of pipeline.parameters ?? []) field(p, 'name', 'string')
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled'])

async function waitForEnd(conn: Connection, org: string, runId: string): Promise<PipelineRunStatus> {
  const seen: string[] = []
  for (let i = 0; i < 600; i++) {
    const answer = await getPipelineStatus(conn, org, runId)
    expect(answer.success && answer.status !== undefined, `status of ${runId}: ${answer.error}`)
    checkStatus(answer.status)
    if (seen.at(-1) !== answer.status.status) seen.push(answer.status.status)
    if (TERMINAL.has(answer.status.status)) return answer.status
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`run ${runId} did not finish; statuses seen: ${seen.join(' -> ')}`)
}

async function main(): Promise<void> {
  const org = env('CONTRACT_ORG')
  const conn: Connection = {
    baseUrl: env('CONTRACT_API_URL'),
    orgKeys: { [org]: env('CONTRACT_ORG_KEY') },
    rootKey: env('CONTRACT_ROOT_KEY'),
  }
  const [provider, domain, pipeline] = env('CONTRACT_PIPELINE').split('/') as [string, string, string]
  const [slowProvider, slowDomain, slowPipeline] = env('CONTRACT_SLOW_PIPELINE').split('/') as [
    string,
    string,
    string,
  ]
  const report: Record<string, unknown> = {}

  const listed = await listPipelines(conn, provider)
  expect(listed.success && listed.pipelines !== undefined, `pipelines: ${listed.error}`)
  listed.pipelines.forEach(checkPipeline)
  report['pipelines'] = listed.pipelines.map((p) => `${p.provider}/${p.domain}/${p.name}`)

  const started = await runPipeline(conn, org, provider, domain, pipeline, { label: 'contract' })
  expect(started.success && started.run_id !== undefined, `run: ${started.error}`)
  const final = await waitForEnd(conn, org, started.run_id)
  report['run'] = final

  const history = await getPipelineHistory(conn, org, undefined, 50)
  expect(history.success && history.runs !== undefined, `history: ${history.error}`)
  history.runs.forEach(checkRun)
  const listedRun = history.runs.find((r) => r.run_id === started.run_id)
  expect(listedRun !== undefined, 'the run in the history')
  report['history_run'] = listedRun
  const byProvider = await getPipelineHistory(conn, org, listedRun.provider, 50)
  report['history_by_provider'] = byProvider.runs?.map((r) => r.run_id) ?? []

  const slow = await runPipeline(conn, org, slowProvider, slowDomain, slowPipeline)
  expect(slow.success && slow.run_id !== undefined, `slow run: ${slow.error}`)
  report['cancel'] = await cancelPipeline(conn, org, slow.run_id)
  report['cancelled_run'] = await waitForEnd(conn, org, slow.run_id)

  report['unknown_pipeline'] = await runPipeline(conn, org, provider, domain, 'nope')
  report['unknown_provider'] = await runPipeline(conn, org, 'nosuch', domain, pipeline)

  const scheduleId = env('CONTRACT_SCHEDULE_ID')
  const schedules = await getSchedules(conn, org)
  expect(schedules.success && schedules.schedules !== undefined, `schedules: ${schedules.error}`)
  schedules.schedules.forEach(checkSchedule)
  report['schedules'] = schedules.schedules
  report['disable'] = await updateSchedule(conn, scheduleId, { is_enabled: false })
  const disabled = await getSchedules(conn, org)
  report['disabled'] = disabled.schedules?.find((s) => s.schedule_id === scheduleId)
  report['enable'] = await updateSchedule(conn, scheduleId, {
    is_enabled: true,
    cron_expression: '5 4 * * *',
  })
  const triggered = await triggerSchedule(conn, scheduleId)
  expect(triggered.success && triggered.run_id !== undefined, `trigger: ${triggered.error}`)
  report['triggered'] = await waitForEnd(conn, org, triggered.run_id)

  process.stdout.write(JSON.stringify(report))
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exit(1)
})
