"""Opt-out link tokens by (account, number): the ledger's, remembered in process.

The footer of a country whose text carries ``{url}`` needs the recipient's token
(``<optout.base_url><token>``); the policy stage asks ``TokenCache`` for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from gateway.observability.logs import fields

log = logging.getLogger("stopgate.policy")

_TOKEN_CACHE_SIZE = 100_000

#: (account, numbers, campaign) -> {number: token}: the ledger's ``tokens_for``.
TokenSource = Callable[[str, list[str], str | None], Awaitable[dict[str, str]]]
#: Called once with the token, or the error that left the number without one.
TokenAnswer = Callable[[str | BaseException], None]


class TokenCache:
    """Opt-out link tokens by (account, number): the ledger's, remembered in process.

    A campaign goes to many recipients once each, so most promotional messages meet a
    number with no token yet: the ledger writes it (one transaction, one fsync) before
    the link goes out. Misses are written in groups: while one write runs, the next
    misses gather and go together when it ends, so the rate of new recipients is not
    bound by the disk's fsync rate.
    """

    def __init__(self, source: TokenSource, size: int = _TOKEN_CACHE_SIZE) -> None:
        self.source = source
        self.size = size
        self._tokens: OrderedDict[tuple[str, str], str] = OrderedDict()
        #: (account, number) -> the answers waiting for its token
        self._waiting: dict[tuple[str, str], list[TokenAnswer]] = {}
        #: (account, campaign) -> numbers to ask the ledger for, in the next group
        self._queued: dict[tuple[str, str | None], list[str]] = {}
        self._writer: asyncio.Future[None] | None = None

    def cached(self, account: str, number: str) -> str | None:
        """The token if this process already has it (no ledger call)."""
        return self._tokens.get((account, number))

    def fetch(self, account: str, number: str, campaign: str | None,
              answer: TokenAnswer) -> None:
        """``answer`` gets the token (from the next group write), or the ledger's error."""
        key = (account, number)
        waiting = self._waiting.get(key)
        if waiting is not None:
            waiting.append(answer)  # already on its way: one row, one answer each
            return
        self._waiting[key] = [answer]
        self._queued.setdefault((account, campaign), []).append(number)
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._write_groups())

    async def _write_groups(self) -> None:
        try:
            await asyncio.sleep(0)  # let this loop tick's misses join the first group
            while self._queued:
                groups, self._queued = self._queued, {}
                for (account, campaign), numbers in groups.items():
                    try:
                        tokens = await self.source(account, numbers, campaign)
                    except Exception as error:
                        for number in numbers:
                            self._answer((account, number), error)
                        continue
                    for number in numbers:
                        token = tokens.get(number)
                        if token is not None:
                            self._remember((account, number), token)
                        self._answer((account, number), token if token is not None else
                                     LookupError(f"the ledger made no token for {number}"))
        finally:
            self._writer = None
            self._queued = {}
            for key in list(self._waiting):  # cancelled (shutdown): nobody is left hanging
                self._answer(key, asyncio.CancelledError())

    def _remember(self, key: tuple[str, str], token: str) -> None:
        self._tokens[key] = token
        if len(self._tokens) > self.size:
            self._tokens.popitem(last=False)

    def _answer(self, key: tuple[str, str], result: str | BaseException) -> None:
        for answer in self._waiting.pop(key, ()):
            try:
                answer(result)
            except Exception:
                log.exception("token answer failed",
                              extra=fields("policy_failed", stage="token_answer"))
