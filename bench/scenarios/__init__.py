"""The scenarios of issue 4. Importing this package registers them, in the order of ORDER."""

from . import fanout, groups, reads, resources, send
from .base import REGISTRY, Context, Result, Scenario, Skip

MODULES = (send, fanout, groups, reads, resources)  # importing them registered their scenarios

ORDER = ["A", "B-dm", "B-group", "C", "F", "H", "S", "M", "T"]
ALIASES = {"B": ["B-dm", "B-group"]}

__all__ = ["ALIASES", "ORDER", "REGISTRY", "Context", "Result", "Scenario", "Skip"]
