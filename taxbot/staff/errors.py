"""Errors of the staff workflows; routes turn them into 404 / 409 / 422."""

from __future__ import annotations

from taxbot.errors import TaxbotError


class WorkflowError(TaxbotError):
    status_code = 422


class NotFound(WorkflowError):
    status_code = 404


class Conflict(WorkflowError):
    status_code = 409


class Invalid(WorkflowError):
    status_code = 422
