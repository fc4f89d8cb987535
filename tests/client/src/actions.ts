// The frontend's server actions (CLIENT_CONTRACT.md) over fetch: each answers
// { success, ...data } or { success: false, error } with the API's error.message.

import type {
  ActionResult,
  PipelineConfig,
  PipelineRun,
  PipelineRunStatus,
  PipelineSchedule,
} from './contract.js'

export interface Connection {
  baseUrl: string
  orgKeys: Record<string, string> // org slug -> its API key
  rootKey: string
}

type Json = Record<string, unknown>

interface Answer {
  ok: boolean
  status: number
  body: Json
}

async function call(
  conn: Connection,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  headers: Record<string, string>,
  body?: Json,
): Promise<Answer> {
  const init: RequestInit = { method, headers: { ...headers, 'Content-Type': 'application/json' } }
  if (body !== undefined) init.body = JSON.stringify(body)
  const response = await fetch(`${conn.baseUrl}${path}`, init)
  const parsed = (await response.json()) as Json
  return { ok: response.ok, status: response.status, body: parsed }
}

function orgHeaders(conn: Connection, orgSlug: string): Record<string, string> {
  const key = conn.orgKeys[orgSlug]
  if (key === undefined) throw new Error(`no API key for ${orgSlug}`)
  return { 'X-API-Key': key }
}

function rootHeaders(conn: Connection): Record<string, string> {
  return { 'X-CA-Root-Key': conn.rootKey }
}

function failure(answer: Answer): ActionResult {
  const error = answer.body['error'] as { message?: unknown } | undefined
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${answer.status}`
  return { success: false, error: message }
}

const seg = encodeURIComponent

export async function runPipeline(
  conn: Connection,
  orgSlug: string,
  provider: string,
  domain: string,
  pipeline: string,
  parameters?: Record<string, unknown>,
): Promise<ActionResult & { run_id?: string }> {
  const path = `/api/v1/pipelines/run/${seg(orgSlug)}/${seg(provider)}/${seg(domain)}/${seg(pipeline)}`
  const answer = await call(conn, 'POST', path, orgHeaders(conn, orgSlug), parameters ?? {})
  if (!answer.ok) return failure(answer)
  return { success: true, run_id: String(answer.body['run_id']) }
}

export async function getPipelineStatus(
  conn: Connection,
  orgSlug: string,
  runId: string,
): Promise<ActionResult & { status?: PipelineRunStatus }> {
  const path = `/api/v1/pipelines/status/${seg(orgSlug)}/${seg(runId)}`
  const answer = await call(conn, 'GET', path, orgHeaders(conn, orgSlug))
  if (!answer.ok) return failure(answer)
  return { success: true, status: answer.body as unknown as PipelineRunStatus }
}

export async function getPipelineHistory(
  conn: Connection,
  orgSlug: string,
  provider?: string,
  limit = 50,
): Promise<ActionResult & { runs?: PipelineRun[] }> {
  const query = new URLSearchParams({ limit: String(limit) })
  if (provider !== undefined) query.set('provider', provider)
  const path = `/api/v1/pipelines/history/${seg(orgSlug)}?${query.toString()}`
  const answer = await call(conn, 'GET', path, orgHeaders(conn, orgSlug))
  if (!answer.ok) return failure(answer)
  return { success: true, runs: answer.body['runs'] as PipelineRun[] }
}

export async function cancelPipeline(
  conn: Connection,
  orgSlug: string,
  runId: string,
): Promise<ActionResult & { status?: string }> {
  const path = `/api/v1/pipelines/cancel/${seg(orgSlug)}/${seg(runId)}`
  const answer = await call(conn, 'POST', path, orgHeaders(conn, orgSlug), {})
  if (!answer.ok) return failure(answer)
  return { success: answer.body['success'] === true, status: String(answer.body['status']) }
}

export async function getSchedules(
  conn: Connection,
  orgSlug: string,
): Promise<ActionResult & { schedules?: PipelineSchedule[] }> {
  const path = `/api/v1/scheduler/queue?org=${seg(orgSlug)}`
  const answer = await call(conn, 'GET', path, rootHeaders(conn))
  if (!answer.ok) return failure(answer)
  return { success: true, schedules: answer.body['schedules'] as PipelineSchedule[] }
}

export async function updateSchedule(
  conn: Connection,
  scheduleId: string,
  change: { cron_expression?: string; is_enabled?: boolean },
): Promise<ActionResult> {
  const path = `/api/v1/scheduler/schedule/${seg(scheduleId)}`
  const answer = await call(conn, 'PUT', path, rootHeaders(conn), change)
  if (!answer.ok) return failure(answer)
  return { success: answer.body['success'] === true }
}

export async function triggerSchedule(
  conn: Connection,
  scheduleId: string,
): Promise<ActionResult & { run_id?: string }> {
  const answer = await call(conn, 'POST', '/api/v1/scheduler/trigger', rootHeaders(conn), {
    schedule_id: scheduleId,
  })
  if (!answer.ok) return failure(answer)
  const runId = answer.body['run_id']
  return typeof runId === 'string' ? { success: true, run_id: runId } : { success: false }
}

export async function listPipelines(
  conn: Connection,
  provider?: string,
): Promise<ActionResult & { pipelines?: PipelineConfig[] }> {
  const path = `/api/v1/validator/pipelines${provider === undefined ? '' : `/${seg(provider)}`}`
  const answer = await call(conn, 'GET', path, {})
  if (!answer.ok) return failure(answer)
  return { success: true, pipelines: answer.body['pipelines'] as PipelineConfig[] }
}
