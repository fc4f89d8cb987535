"""Processors: one module per ``ps_type``, registered by name.

A processor turns a resolved step config into rows (or runs SQL). It never
touches the bus or the state store: it gets a StepContext and returns a StepResult.

May import domain, ports, config, adapters (HTTP pages, billing files, SQL files) and a few
handlers (credentials, procedures, reconciliation); never bootstrap or entrypoints.
"""

from __future__ import annotations

from shared.processors.api_extractor import ApiExtractor, GcpApiExtractor
from shared.processors.base import PROCESSORS, Processor, StepContext, StepResult, register
from shared.processors.billing_file_load import (
    AwsCurLoad,
    AzureCostExportLoad,
    FocusExportLoad,
    OciCostReportLoad,
)
from shared.processors.cloud_focus import CloudFocusConvert
from shared.processors.gcp_bq_etl import GcpBqEtl
from shared.processors.gcp_export_files import GcpExportFileLoad
from shared.processors.genai_admin import (
    AnthropicAdminReport,
    AnthropicUsage,
    OpenAIAdminReport,
    OpenAICost,
    OpenAIUsage,
)
from shared.processors.genai_payg import PaygCost, PaygUsageFile
from shared.processors.procedure_executor import ProcedureExecutor

__all__ = [
    "PROCESSORS",
    "AnthropicAdminReport",
    "AnthropicUsage",
    "ApiExtractor",
    "AwsCurLoad",
    "AzureCostExportLoad",
    "CloudFocusConvert",
    "FocusExportLoad",
    "GcpApiExtractor",
    "GcpBqEtl",
    "GcpExportFileLoad",
    "OciCostReportLoad",
    "OpenAIAdminReport",
    "OpenAICost",
    "OpenAIUsage",
    "PaygCost",
    "PaygUsageFile",
    "ProcedureExecutor",
    "Processor",
    "StepContext",
    "StepResult",
    "register",
]
