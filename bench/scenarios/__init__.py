"""The scenarios of issue 4. Importing this package registers them, in the order of ORDER."""

from . import calls, community, directory, fanout, groups, home, logins, push, reads, resources, send, uploads
from .base import REGISTRY, Context, Result, Scenario, Skip

MODULES = (send, fanout, groups, community, reads, home, calls, resources, logins, uploads, directory, push)  # importing them registered their scenarios

ORDER = ["A", "B-dm", "B-group", "C", "F", "K", "H", "S", "Q", "R", "M", "L", "T", "U", "D", "P"]
ALIASES = {"B": ["B-dm", "B-group"]}

__all__ = ["ALIASES", "ORDER", "REGISTRY", "Context", "Result", "Scenario", "Skip"]
