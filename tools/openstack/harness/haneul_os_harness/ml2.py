"""An ML2 mechanism driver for a Neutron with no agents: every port asked to bind is bound and ACTIVE.

Nova's fake compute driver plugs nothing, so no agent would ever report a port up. This driver binds each port on
its first segment with VIF type "other" and sets it ACTIVE, which is what Nova waits for before a server is ACTIVE.
"""

from __future__ import annotations

from typing import Any

from neutron_lib import constants
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api


class BindAllMechanismDriver(api.MechanismDriver):
    def initialize(self) -> None:
        """Nothing to set up: there is no backend."""

    def bind_port(self, context: Any) -> None:
        for segment in context.segments_to_bind:
            context.set_binding(segment[api.ID], portbindings.VIF_TYPE_OTHER, {}, status=constants.PORT_STATUS_ACTIVE)
            return
