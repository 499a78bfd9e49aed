"""The projection's scoring path, `scored_json`, gives what the reference `score()` gives,
byte for byte: the stored result JSON is `model_dump_json()` of the validated Result,
and the outcome is its `model_dump(mode="json")` without the explanation. It skips the
Result model's validation, so these tests are what stands for it."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given

from ledger.rules import RuleSet
from ledger.scoring import ALGORITHMS, CertificationFacts, score, scored_json
from tests.unit.test_scoring_properties import BOUNDED, certifications
from tests.unit.test_vector_scoring import WITH_VARIANTS, edge_cases, simulated


def _reference(facts: CertificationFacts, rules: RuleSet) -> tuple[dict, str]:
    result = score(facts, rules)
    return result.model_dump(mode="json", exclude={"explanation"}), result.model_dump_json()


@pytest.fixture(scope="module")
def population() -> dict[str, CertificationFacts]:
    return simulated(400) | edge_cases(400)


@pytest.mark.parametrize("version", [r.version for r in WITH_VARIANTS.versions()])
def test_every_rule_version_gives_the_reference_bytes(population, version):
    rules = WITH_VARIANTS.get(version)
    statuses, decisions = set(), set()
    for cid, facts in population.items():
        outcome, text = scored_json(facts, rules)
        expected_outcome, expected_text = _reference(facts, rules)
        assert text == expected_text, cid
        assert outcome == expected_outcome, cid
        statuses.add(outcome["status"])
        decisions.update(d["decision"] for d in orjson.loads(text)["explanation"]["jury"])
    # The population reaches every status, errors included, and every kind of jury
    # decision in the explanation's record, under each version.
    assert statuses == {"validated", "rejected", "cancelled", "error"}
    assert decisions == {"cancel", "uncancel", "reject_for_fraud", "unreject", "resolve_incident", "neutralise",
                         "deneutralise"}


@BOUNDED
@given(certifications())
def test_generated_certifications_give_the_reference_bytes(case):
    facts, rules = case
    assert scored_json(facts, rules) == _reference(facts, rules)


def test_the_outcome_is_plain_json_data(population):
    # Lists, not tuples: outcomes are compared with ones read back from the database.
    rules = WITH_VARIANTS.get("pix-v2-2024-05")
    for facts in list(population.values())[:50]:
        outcome, _ = scored_json(facts, rules)
        assert orjson.loads(orjson.dumps(outcome)) == outcome
        assert all(not isinstance(v, tuple) for v in outcome.values())


def test_an_algorithm_without_plain_data_takes_the_reference_path(population, monkeypatch):
    rules = WITH_VARIANTS.get("pix-v2-2024-05")
    v3 = rules.model_copy(update={"algorithm": "pix-v3"})
    facts = next(iter(population.values()))
    monkeypatch.setitem(ALGORITHMS, "pix-v3", lambda f, r: score(f, rules))
    assert scored_json(facts, v3) == _reference(facts, rules)


def test_the_result_models_dump_as_their_fields():
    """What scored_json assumes of the result's models: a model dumps as its `__dict__`.
    A computed field, a serializer or an alias would break that silently."""
    from ledger.scoring import result as models

    classes = [v for v in vars(models).values()
               if isinstance(v, type) and issubclass(v, models.BaseModel) and v.__module__ == models.__name__]
    assert len(classes) >= 9
    for cls in classes:
        decorators = cls.__pydantic_decorators__
        assert not cls.model_computed_fields, cls
        assert not decorators.field_serializers and not decorators.model_serializers, cls
        assert all(f.alias in (None, name) and f.serialization_alias in (None, name)
                   for name, f in cls.model_fields.items()), cls
        assert cls.model_config.get("extra") == "forbid", cls  # no extra keys in __dict__
