"""What a session's finalisation changes in a result already computed.

Under the v2 algorithm, finalisation brings two inputs to scoring: the automatic
resolution of incident reports (`incidents.py` judges a report only once the session is
finalised) and the abort reason stated for a certification that was not completed
(`question_state.apply_abort`). So a certification scored on its facts, that has no
incident report and no abort reason, gets from its session's finalisation the same
result but for `explanation.session_finalised`.

Why it matters: every completed certification is scored at its completion and again at
its session's finalisation, and scoring is most of what a rebuild of the results costs.
The projection derives the second result from the first when this module says it can;
`score()` stays the reference, and tests compare the two on simulated and generated
certifications under every built-in version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from ledger.rules import RuleSet

# The algorithms for which the above holds. A new algorithm is not listed until its own
# finalisation inputs are known (and tested against its scoring).
FINALISATION_BRINGS_ONLY_INCIDENTS_AND_ABORT = frozenset({"pix-v2"})


def finalisation_keeps_outcome(facts: Mapping[str, Any], rules: RuleSet) -> bool:
    """Whether `facts` (finalised) score under `rules` as they did before finalisation,
    but for the explanation's flag. The caller vouches that nothing but the finalisation
    changed the facts since they were scored under `rules`."""
    return (rules.algorithm in FINALISATION_BRINGS_ONLY_INCIDENTS_AND_ABORT and bool(facts.get("session_finalised"))
            and not facts.get("incidents") and facts.get("abort_reason") is None)


def finalised_result_json(result_json: str, rules: RuleSet) -> str | None:
    """`result_json` (a Result under `rules`, not finalised) as finalised; None when it
    is not such a result."""
    body = orjson.loads(result_json)
    explanation = body.get("explanation")
    if (body.get("rule_version") != rules.version or not isinstance(explanation, dict)
            or explanation.get("session_finalised") is not False):
        return None
    explanation["session_finalised"] = True
    return orjson.dumps(body).decode()

