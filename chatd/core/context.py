"""The typed context every handler gets: configuration, hub, storage, services and delivery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Config
    from ..metrics import Metrics
    from ..net.hub import Hub
    from ..services import Services
    from ..store.readers import Readers
    from ..store.writer import Writer
    from .delivery import Delivery


@dataclass(frozen=True, slots=True)
class Context:
    cfg: Config
    hub: Hub
    readers: Readers
    writer: Writer
    services: Services
    delivery: Delivery
    metrics: Metrics
