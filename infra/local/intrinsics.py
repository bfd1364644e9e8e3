"""Resolving CloudFormation intrinsic functions against the local stack's values.

A `Resolver` knows the parameter values (defaults + local overrides), the Conditions, the
Mappings, and asks `attributes(logical_id)` for a resource's `Ref`/`GetAtt` values (the
provisioner's real ones, or static predictions in tests). `AWS::NoValue` removes the key or
list item that holds it.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from infra.local.names import ACCOUNT_ID, LOCAL_STACK_NAME
from infra.local.template import Template, TemplateError, is_intrinsic

log = logging.getLogger("infra.local.intrinsics")


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
AttributeLookup = Callable[[str], Mapping[str, Any] | None]


class Resolver:
    def __init__(
        self,
        template: Template,
        parameters: Mapping[str, str],
        attributes: AttributeLookup,
        *,
        region: str,
        account_id: str = ACCOUNT_ID,
        stack_name: str = LOCAL_STACK_NAME,
    ) -> None:
        self._template = template
        self._parameters = dict(parameters)
        self._attributes = attributes
        self._conditions: dict[str, bool] = {}
        self._pseudo: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::StackName": stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
            "AWS::NotificationARNs": [],
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local",
        }
        self._functions: dict[str, Callable[[Any], Any]] = {
            "Ref": self.ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::If": self._if,
            "Fn::Equals": self._equals,
            "Fn::Not": self._not,
            "Fn::And": self._and,
            "Fn::Or": self._or,
            "Condition": self.condition,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": self._base64,
            "Fn::GetAZs": self._get_azs,
            "Fn::ImportValue": self._import_value,
            "Fn::Cidr": self._cidr,
            "Fn::Length": lambda arg: len(self.resolve(arg)),
            "Fn::ToJsonString": lambda arg: json.dumps(self.resolve(arg), separators=(",", ":")),
        }

    # -- public -------------------------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic replaced by its local value."""
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if isinstance(value, dict):
            if is_intrinsic(value):
                name, arg = next(iter(value.items()))
                function = self._functions.get(name)
                if function is None:
                    raise TemplateError(f"unsupported intrinsic function {name}")
                return function(arg)
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        return value

    def resolve_str(self, value: Any) -> str:
        """A resolved scalar as the string an environment variable would hold."""
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, (dict, list)):
            raise TemplateError(f"expected a scalar, got {type(resolved).__name__}")
        return str(resolved)

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            if name not in self._template.conditions:
                raise TemplateError(f"unknown condition {name}")
            value = self.resolve(self._template.conditions[name])
            if not isinstance(value, bool):
                raise TemplateError(f"condition {name} is not a boolean")
            self._conditions[name] = value
        return self._conditions[name]

    def included(self, resource: Mapping[str, Any]) -> bool:
        """False when the resource's `Condition` is false (CloudFormation would not create it)."""
        name = resource.get("Condition")
        return True if name is None else self.condition(str(name))

    def ref(self, name: str) -> Any:
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameter(name)
        return self._attribute(name, "Ref")

    # -- references ---------------------------------------------------------------------------------
    def _parameter(self, name: str) -> Any:
        value = self._parameters[name]
        ptype = str((self._template.parameters.get(name) or {}).get("Type", "String"))
        if ptype == "CommaDelimitedList" or ptype.startswith("List<"):
            return [item.strip() for item in str(value).split(",")]
        return value

    def _attribute(self, logical_id: str, attribute: str) -> Any:
        values = self._attributes(logical_id)
        if values is None:
            raise TemplateError(f"reference to unknown resource or parameter {logical_id}")
        if attribute not in values:
            raise TemplateError(f"{logical_id} has no attribute {attribute} locally")
        return values[attribute]

    def _get_att(self, arg: Any) -> Any:
        logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
        return self._attribute(str(logical_id), str(attribute))

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1] if len(arg) > 1 else {}))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and name not in self._pseudo:
                return str(self._get_att(name))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, str(text))

    # -- conditions ---------------------------------------------------------------------------------
    def _if(self, arg: list[Any]) -> Any:
        name, when_true, when_false = arg
        return self.resolve(when_true if self.condition(str(name)) else when_false)

    def _equals(self, arg: list[Any]) -> bool:
        left, right = (self.resolve(item) for item in arg)
        return _scalar_text(left) == _scalar_text(right)

    def _not(self, arg: list[Any]) -> bool:
        return not self._truth(arg[0])

    def _and(self, arg: list[Any]) -> bool:
        return all(self._truth(item) for item in arg)

    def _or(self, arg: list[Any]) -> bool:
        return any(self._truth(item) for item in arg)

    def _truth(self, item: Any) -> bool:
        value = self.resolve(item)
        if not isinstance(value, bool):
            raise TemplateError("a condition function got a non-boolean operand")
        return value

    # -- strings and lists --------------------------------------------------------------------------
    def _join(self, arg: list[Any]) -> str:
        delimiter, items = arg[0], self.resolve(arg[1])
        return str(delimiter).join(_scalar_text(item) for item in items)

    def _select(self, arg: list[Any]) -> Any:
        index, items = int(self.resolve(arg[0])), self.resolve(arg[1])
        return items[index]

    def _split(self, arg: list[Any]) -> list[str]:
        return str(self.resolve(arg[1])).split(str(arg[0]))

    def _find_in_map(self, arg: list[Any]) -> Any:
        name, top, second = (self.resolve(item) for item in arg[:3])
        try:
            return self._template.mappings[name][top][second]
        except KeyError:
            raise TemplateError(f"Fn::FindInMap: no {name}/{top}/{second}") from None

    def _base64(self, arg: Any) -> str:
        return base64.b64encode(str(self.resolve(arg)).encode("utf-8")).decode("ascii")

    def _get_azs(self, arg: Any) -> list[str]:
        region = self.resolve(arg) or self._pseudo["AWS::Region"]
        return [f"{region}{zone}" for zone in "abc"]

    def _import_value(self, arg: Any) -> str:
        name = self.resolve(arg)
        log.warning("Fn::ImportValue has no local value; using a placeholder", extra={"export": name})
        return f"local-import-{name}"

    def _cidr(self, arg: list[Any]) -> list[str]:
        block, count, bits = (self.resolve(item) for item in arg)
        network = ipaddress.ip_network(str(block), strict=False)
        subnets = network.subnets(new_prefix=network.max_prefixlen - int(bits))
        return [str(net) for _, net in zip(range(int(count)), subnets, strict=False)]


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
