"""Rasa's own command line (``python -m taxbot_rasa run ...`` = ``rasa run ...``) with two fixes applied.

Run by ``taxbot serve`` / ``serve-scaled`` from Rasa's virtual environment with this folder on PYTHONPATH;
nothing here is imported by the app.

The fix: Rasa 3.6 checks every action server answer with ``jsonschema.validate(result, schema)``, and
``validate`` first re-checks the *schema* against its meta-schema (draft 2020-12, ``$dynamicRef``s) on every
call. Profiled under load (py-spy on the Rasa process, benchmarks/bench_dialogue.py), that re-check was
about a fifth of Rasa's CPU time in a turn with a custom action — more than DIET and TED together. The
schema is Rasa's own constant, so here the validator is built once and only the answer is checked, with
the same validator class and the same error (``best_match``) that ``validate`` raises. Hand-written because
neither Rasa 3.6 nor jsonschema 4.17 (the version Rasa 3.6 pins) offers a cached ``validate``.

The second: the PostgreSQL tracker store's engine gets ``pool_pre_ping`` (Rasa's endpoints config has no way
to pass engine options), so the first turns after a database restart use live connections.
"""

from __future__ import annotations

import sys
from functools import cache
from typing import Any


@cache
def _action_result_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, as jsonschema.validate would on every call
    return cls(schema)


def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(_action_result_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (  # Rasa's own wording (rasa/core/actions/action.py)
        ". Failed to validate Action server response from API, make sure your response from the Action "
        f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def _pre_ping(create_engine_kwargs: Any) -> Any:
    """Rasa's ``create_engine_kwargs`` plus ``pool_pre_ping`` for PostgreSQL: without it, after a database
    restart each pooled connection fails once, and ``FailSafeTrackerStore`` then answers that turn from a
    fresh tracker (context lost) whose events the SQL store never saves
    (tests/faults/test_dialogue_stores_restart.py)."""

    def kwargs(url: Any) -> dict[str, Any]:
        result = create_engine_kwargs(url)
        return {**result, "pool_pre_ping": True} if "pool_size" in result else result  # PostgreSQL only

    return kwargs


def apply_fixes() -> None:
    import rasa.core.tracker_store as tracker_store
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = _validate_action_result
    tracker_store.create_engine_kwargs = _pre_ping(tracker_store.create_engine_kwargs)


def main() -> None:
    apply_fixes()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
