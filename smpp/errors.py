"""The one exception the SMPP codec raises for bytes it cannot accept."""

from __future__ import annotations

from typing import Any

from .constants import CommandStatus


class PduError(Exception):
    """A frame that is not a valid SMPP 3.4 PDU.

    ``command_status`` is what the peer should be told. When ``fatal`` is
    False the frame was complete and only its body is bad: answer a request
    whose ``command_id`` has a response with that response carrying
    ``command_status``, anything else with ``generic_nack``, and keep the
    session. When ``fatal`` is True the framing itself is broken (a
    ``command_length`` below 16, over the size limit, or not the size of the
    frame): nothing after it can be trusted, so the connection must close
    (after a ``generic_nack`` if ``sequence`` is known).
    ``command_id`` and ``sequence`` are None when the header could not be read.
    """

    def __init__(
        self,
        message: str,
        *,
        command_status: int,
        command_id: int | None = None,
        sequence: int | None = None,
        fatal: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.command_status = command_status
        self.command_id = command_id
        self.sequence = sequence
        self.fatal = fatal

    def __str__(self) -> str:
        try:
            status = CommandStatus(self.command_status).name
        except ValueError:
            status = f"0x{self.command_status:08X}"
        return f"{self.message} [{status}{', fatal' if self.fatal else ''}]"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments are not in self.args; keep the error picklable.
        return (_rebuild, (self.message, self.command_status, self.command_id,
                           self.sequence, self.fatal))


def _rebuild(
    message: str, command_status: int, command_id: int | None, sequence: int | None, fatal: bool
) -> PduError:
    return PduError(message, command_status=command_status, command_id=command_id,
                    sequence=sequence, fatal=fatal)
