"""The pinned contract (contract/batch-jobs-openapi.json) as a checker of answers.

One validator, used by the sandbox's own tests and by the scripted Meteroid of
tests/support/upstream.py on every answer it gives, so that no test passes on an answer Meteroid
would never give. The schemas are the published spec plus what newer servers add
(contract/API-NOTES.md, "The API moves"), with every object closed, so that a misspelt or
stray field fails too.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from datetime import datetime
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.support.paths import ROOT

SPEC_PATH = ROOT / "contract" / "batch-jobs-openapi.json"
SPEC: dict[str, Any] = json.loads(SPEC_PATH.read_text())
JOBS_PATH = "/api/v1/batch-jobs"

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


def current_spec() -> dict[str, Any]:
    spec = copy.deepcopy(SPEC)
    schemas = spec["components"]["schemas"]
    schemas["BatchJobType"]["enum"].append("TAX_REPORT_EXPORT")
    detail = schemas["BatchJobDetailResponse"]
    detail["properties"]["has_output"] = {"type": "boolean"}
    detail["properties"]["output_url"] = {"type": ["string", "null"]}
    detail["required"] += ["has_output", "output_url"]
    # Ids are a prefix and the base62 of a UUID: at most 22 characters (fewer when it leads
    # with zeros), and the prefix says which kind.
    schemas["BatchJobId"]["pattern"] = r"^bjob_[0-9A-Za-z]{1,22}$"
    schemas["BatchJobChunkId"]["pattern"] = r"^bjch_[0-9A-Za-z]{1,22}$"
    for schema in schemas.values():
        if schema.get("type") == "object":
            schema["additionalProperties"] = False
    return spec


formats = FormatChecker(formats=())


@formats.checks("date-time", raises=ValueError)
def _is_meteroid_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", value):
        raise ValueError(f"not RFC 3339 UTC with milliseconds: {value!r}")
    datetime.fromisoformat(value)
    return True


@formats.checks("uuid", raises=ValueError)
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or str(uuid.UUID(value)) == value


@formats.checks("MeteroidId")
def _is_meteroid_id(value: object) -> bool:
    return not isinstance(value, str) or bool(re.fullmatch(r"(bjob|bjch)_[0-9A-Za-z]{1,22}", value))


@formats.checks("int32")
def _is_int32(value: object) -> bool:
    # Any value of the type, the most negative included: the spec sets no minimum.
    return not isinstance(value, int) or _INT32[0] <= value <= _INT32[1]


@formats.checks("int64")
def _is_int64(value: object) -> bool:
    return not isinstance(value, int) or _INT64[0] <= value <= _INT64[1]


@cache
def _registry() -> Registry:
    return Registry().with_resource("urn:spec", Resource.from_contents(current_spec(), DRAFT202012))


def errors(body: Any, schema: str) -> list[str]:
    """What in `body` breaks the schema `schema` (a name under components/schemas)."""
    validator = Draft202012Validator(
        {"$ref": f"urn:spec#/components/schemas/{schema}"}, registry=_registry(), format_checker=formats
    )
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(body)]


def assert_valid(body: Any, schema: str) -> None:
    problems = errors(body, schema)
    assert not problems, problems


def operation(path: str) -> str | None:
    """Which of the three endpoints `path` is: "list", "job", "failures", or None."""
    if path == JOBS_PATH:
        return "list"
    parts = path.split("/")
    if path.startswith(JOBS_PATH + "/") and len(parts) == 5:
        return "job"
    if path.startswith(JOBS_PATH + "/") and len(parts) == 6 and parts[5] == "failures":
        return "failures"
    return None


_OK_SCHEMA = {
    "list": "BatchJobListResponse",
    "job": "BatchJobDetailResponse",
    "failures": "BatchJobFailuresResponse",
}
# The statuses each endpoint can answer with a JSON error (the spec's), beside its 200.
_ERRORS = {"list": {401, 429, 500}, "job": {401, 404, 429, 500}, "failures": {401, 404, 429, 500}}


def answer_problems(path: str, status: int, content_type: str, body: bytes) -> list[str]:
    """What makes this answer one that Meteroid's batch-jobs API would never give. Paths
    outside the three endpoints (the file links) are not the spec's, and pass."""
    op = operation(path)
    if op is None:
        return []
    if status == 400 and content_type.startswith("text/plain"):
        return []  # a query that does not parse: plain text, as the server's extractor writes it
    if status not in {200, 400} | _ERRORS[op]:
        return [f"{op} never answers {status} (a proxy's answer is a fault: script it with contract=False)"]
    if not content_type.startswith("application/json"):
        return [f"a {status} is JSON, not {content_type}"]
    try:
        document = json.loads(body)
    except ValueError as exc:
        return [f"not JSON: {exc}"]
    return errors(document, _OK_SCHEMA[op] if status == 200 else "RestErrorResponse")
