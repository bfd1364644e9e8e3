"""Reading template.yaml: CloudFormation short tags, SAM Globals, resources in dependency order."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Short tag -> long form. `!GetAtt A.B` (a scalar) becomes ["A", "B"]; `!Ref`/`!Condition` keep their names.
_SHORT_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    "GetAtt": "Fn::GetAtt",
    "Sub": "Fn::Sub",
    "If": "Fn::If",
    "Equals": "Fn::Equals",
    "Join": "Fn::Join",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "FindInMap": "Fn::FindInMap",
    "Not": "Fn::Not",
    "And": "Fn::And",
    "Or": "Fn::Or",
    "Base64": "Fn::Base64",
    "ImportValue": "Fn::ImportValue",
    "GetAZs": "Fn::GetAZs",
    "Cidr": "Fn::Cidr",
    "Length": "Fn::Length",
    "ToJsonString": "Fn::ToJsonString",
}
SERVERLESS_FUNCTION = "AWS::Serverless::Function"


class TemplateError(ValueError):
    """The template cannot be read or uses something the local stack cannot resolve."""


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short-form intrinsic tags."""


def _construct_intrinsic(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    long_name = _SHORT_TAGS.get(tag_suffix)
    if long_name is None:
        raise TemplateError(f"unknown YAML tag !{tag_suffix}")
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if long_name == "Fn::GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {long_name: value}


CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def load_yaml(text: str) -> Any:
    """Parse CloudFormation YAML; short tags come back in their long (JSON) form."""
    return yaml.load(text, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass  # nosec B506


@dataclass(frozen=True)
class Template:
    path: Path
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)
    mappings: dict[str, Any] = field(default_factory=dict)
    globals: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        """Directory that CodeUri / ContentUri paths are relative to."""
        return self.path.parent

    def of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        return {lid: res for lid, res in self.resources.items() if res.get("Type") in types}


def load_template(path: Path) -> Template:
    try:
        doc = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TemplateError(f"cannot read {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict):
        raise TemplateError(f"{path} has no Resources section")
    globals_section = doc.get("Globals") or {}
    resources = {lid: _with_globals(res, globals_section) for lid, res in doc["Resources"].items()}
    return Template(
        path=path.resolve(),
        parameters=doc.get("Parameters") or {},
        conditions=doc.get("Conditions") or {},
        mappings=doc.get("Mappings") or {},
        globals=globals_section,
        resources=resources,
    )


def _with_globals(resource: dict[str, Any], globals_section: dict[str, Any]) -> dict[str, Any]:
    if resource.get("Type") != SERVERLESS_FUNCTION or not globals_section.get("Function"):
        return resource
    merged = dict(resource)
    merged["Properties"] = merge_globals(globals_section["Function"], resource.get("Properties") or {})
    return merged


def is_intrinsic(value: Any) -> bool:
    """A one-key mapping {"Ref"|"Condition"|"Fn::...": ...}."""
    if not (isinstance(value, dict) and len(value) == 1):
        return False
    key, arg = next(iter(value.items()))
    return (key in ("Ref", "Condition") and isinstance(arg, str)) or str(key).startswith("Fn::")


def merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's rules: maps merge key by key (the resource wins), lists are global items then the
    resource's, anything else (including intrinsics) is the resource's value."""
    if (
        isinstance(global_value, dict)
        and isinstance(local_value, dict)
        and not (is_intrinsic(global_value) or is_intrinsic(local_value))
    ):
        merged = copy.deepcopy(global_value)
        for key, value in local_value.items():
            merged[key] = merge_globals(merged[key], value) if key in merged else copy.deepcopy(value)
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return copy.deepcopy(global_value) + copy.deepcopy(local_value)
    return copy.deepcopy(local_value)


def references(value: Any) -> set[str]:
    """Names referenced by Ref, Fn::GetAtt and Fn::Sub anywhere inside `value` (pseudo params included)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(_getatt_target(item))
            elif key == "Fn::Sub":
                found |= _sub_references(item)
            else:
                found |= references(item)
    return found


def _getatt_target(item: Any) -> str:
    if isinstance(item, str):
        return item.split(".", 1)[0]
    return str(item[0]) if isinstance(item, list) and item else ""


def _sub_references(item: Any) -> set[str]:
    text, variables = (item, {}) if isinstance(item, str) else (item[0], item[1] if len(item) > 1 else {})
    found = references(variables)
    for name in re.findall(r"\$\{([^!}][^}]*)\}", str(text)):
        if name not in variables:
            found.add(name.split(".", 1)[0])
    return found


def dependency_order(resources: dict[str, dict[str, Any]]) -> list[str]:
    """Logical ids so that every resource comes after those it references (template order otherwise)."""
    deps = {lid: _dependencies(res) & set(resources) - {lid} for lid, res in resources.items()}
    ordered: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(lid: str, trail: tuple[str, ...]) -> None:
        if state.get(lid) == 2:
            return
        if state.get(lid) == 1:
            raise TemplateError("circular dependency: " + " -> ".join((*trail, lid)))
        state[lid] = 1
        for dep in sorted(deps[lid], key=list(resources).index):
            visit(dep, (*trail, lid))
        state[lid] = 2
        ordered.append(lid)

    for lid in resources:
        visit(lid, ())
    return ordered


def _dependencies(resource: dict[str, Any]) -> set[str]:
    depends_on = resource.get("DependsOn") or []
    explicit = {depends_on} if isinstance(depends_on, str) else set(depends_on)
    return references(resource.get("Properties") or {}) | explicit
