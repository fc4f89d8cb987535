"""An OAuth access token for Google APIs: the org's service-account key, else ADC.

google-auth signs the key's JWT and exchanges it at the key's ``token_uri`` (so a test
key can point at a local token endpoint); without a key, application default
credentials (the function's own service account on Cloud Functions) answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.domain.errors import StepFailure


def access_token(key: Mapping[str, Any] | None, scopes: Sequence[str]) -> str:
    """A bearer token for ``scopes``; StepFailure saying why when there is none."""
    import google.auth
    import google.auth.exceptions
    import google.auth.transport.requests
    from google.oauth2 import service_account

    try:
        if key is not None:
            credentials: Any = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                dict(key), scopes=list(scopes)
            )
        else:
            credentials, _ = google.auth.default(scopes=list(scopes))
        credentials.refresh(google.auth.transport.requests.Request())
    except google.auth.exceptions.DefaultCredentialsError:
        raise StepFailure(
            "no service account key in the org's credential and no application default "
            "credentials here",
            retryable=False,
        ) from None
    except google.auth.exceptions.RefreshError as exc:
        # The token endpoint refused the key (revoked, wrong scopes): say so, not the key.
        raise StepFailure(f"Google refused the credentials: {_first_line(exc)}") from None
    except google.auth.exceptions.TransportError as exc:
        raise StepFailure(
            f"cannot reach Google's token endpoint: {_first_line(exc)}", retryable=True
        ) from None
    except ValueError as exc:  # a malformed private key
        raise StepFailure(f"the service account key is not usable: {_first_line(exc)}") from None
    token: str = credentials.token
    return token


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
