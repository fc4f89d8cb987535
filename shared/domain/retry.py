"""Backoff arithmetic for step retries (no sleeping here: the bus delays messages)."""

from __future__ import annotations


def backoff_delay(attempt: int, base_seconds: float, *, cap_seconds: float = 600.0) -> float:
    """Delay before attempt ``attempt + 1`` after attempt ``attempt`` failed: base * 2^(n-1)."""
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    return float(min(cap_seconds, base_seconds * (2 ** (attempt - 1))))


def should_retry(attempt: int, max_attempts: int, *, retryable: bool) -> bool:
    return retryable and attempt < max_attempts
