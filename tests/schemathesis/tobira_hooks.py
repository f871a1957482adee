"""Schemathesis hooks for tobira (loaded through SCHEMATHESIS_HOOKS by tests/api_schemathesis.rs).

The built-in `positive_data_acceptance` check cannot tell a request refused for its shape from
one refused for its meaning: tobira answers 422 both to a malformed date of birth and to a
well-formed one that is not the member's. The run therefore accepts 422 there, and this check
takes over: a schema-valid request must never get one of the codes that mean "malformed".
"""

import schemathesis

try:  # request-shape probes of the coverage phase, which the built-in checks skip as well
    from schemathesis.specs.openapi.checks import is_unexpected_http_status_case
except ImportError:  # pragma: no cover - another 4.x layout
    def is_unexpected_http_status_case(case):
        return False

# Error codes that say the request's shape is wrong (what the description should have excluded).
SHAPE_CODES = {
    "bad_request",
    "invalid_birth_date",
    "invalid_user_id",
    "invalid_device_name",
    "payload_too_large",
}
# Codes whose `rule` says whether the shape or the meaning was refused.
SHAPE_RULES = {
    "weak_password": {"length", "characters"},
    "invalid_email": {None},
}

def _sent_query_is_valid(case):
    """Whether the query as sent fits the description (a generated value can vanish on the
    wire, leaving a required parameter out)."""
    sent = case.query or {}
    for param in case.operation.query.items:
        if param.name not in sent:
            if param.is_required:
                return False
        elif not param.is_valid(sent[param.name]):
            return False
    return True


# Coverage scenarios that build an invalid request even when the case is marked positive.
NEGATIVE_SCENARIOS = {"missing_parameter", "duplicate_parameter"}


@schemathesis.check
def tobira_shape_errors_only_for_invalid_data(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if is_unexpected_http_status_case(case):
        return None
    # The coverage phase's probes of a required parameter left out are refusals by design.
    scenario = getattr(getattr(meta.phase, "data", None), "scenario", None)
    scenario = getattr(scenario, "value", scenario)
    if scenario in NEGATIVE_SCENARIOS or not _sent_query_is_valid(case):
        return None
    if response.status_code != 422:
        return None
    try:
        body = response.json()
    except Exception:  # noqa: BLE001 - a non-JSON 422 is reported as such
        raise AssertionError(f"422 without a JSON error body: {response.text[:200]!r}")
    code = body.get("code")
    rule = body.get("rule")
    if code in SHAPE_CODES or rule in SHAPE_RULES.get(code, ()):
        raise AssertionError(
            "Schema-valid request refused for its shape: "
            f"{code} (field {body.get('field')!r}, rule {rule!r}): {body.get('message')!r} "
            f"[phase {meta.phase.name}, scenario {scenario}, query {case.query!r}]"
        )
    return None
