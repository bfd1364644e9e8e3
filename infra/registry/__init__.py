"""Local stand-in for the population registry (see server.py and README.md)."""

from infra.registry.server import (
    ConfigError,
    Person,
    RegistryStandIn,
    StandInConfig,
    build_from_config,
    config_from_env,
    default_fixture_path,
    load_fixture,
    normalise_name,
)

__all__ = [
    "ConfigError",
    "Person",
    "RegistryStandIn",
    "StandInConfig",
    "build_from_config",
    "config_from_env",
    "default_fixture_path",
    "load_fixture",
    "normalise_name",
]
