"""When a task may be retried: transient platform trouble and database contention only."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError, OperationalError

from bigledger.errors import IntegrationError


def retry_if_transient(task, task_run, state) -> bool:
    """Prefect retry_condition_fn: retry 429/5xx/timeouts and DB races, never auth or mapping."""
    try:
        state.result()
    except IntegrationError as exc:
        return exc.retryable
    except (IntegrityError, OperationalError):
        # A concurrent loader inserted the same rows first, or SQLite was busy: the retry
        # sees the committed rows and turns the inserts into no-ops.
        return True
    except Exception:
        return False
    return False
