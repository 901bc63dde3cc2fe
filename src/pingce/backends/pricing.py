"""Cost of a run's requests from a price table (per million tokens, as vendors publish them).

A price table is a mapping given in the run options (`prices`) or a JSON/YAML file path:

    {"currency": "CNY", "input_per_mtok": 2.0, "output_per_mtok": 8.0}

or, for several models, `{"models": {"NAME": {...}, ...}}` with the same fields per model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pingce.core.errors import SpecError
from pingce.core.yaml_file import decode_utf8, parse_yaml, read_yaml_bytes


@dataclass(frozen=True)
class Price:
    input_per_mtok: float
    output_per_mtok: float
    currency: str = "USD"

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        """Cost in `currency` of one request."""
        return (tokens_in * self.input_per_mtok + tokens_out * self.output_per_mtok) / 1e6


def _price_from(entry: Any, where: str, currency: str) -> Price:
    if not isinstance(entry, dict):
        raise SpecError(f"{where}: expected a mapping with input_per_mtok and output_per_mtok")
    try:
        inp = float(entry["input_per_mtok"])
        outp = float(entry["output_per_mtok"])
    except KeyError as exc:
        raise SpecError(f"{where}: missing field {exc.args[0]!r}") from None
    except (TypeError, ValueError):
        raise SpecError(f"{where}: prices must be numbers (per million tokens)") from None
    if inp < 0 or outp < 0:
        raise SpecError(f"{where}: prices must not be negative")
    return Price(inp, outp, str(entry.get("currency", currency)))


def load_price(prices: Any, model: str) -> Price | None:
    """The price of `model` from a table (mapping or file path); None when none is given."""
    if prices is None or prices == "":
        return None
    where = "option prices"
    if isinstance(prices, str | Path):
        path = Path(prices).expanduser()
        where = str(path)
        if not path.is_file():
            raise SpecError(f"price table {path} does not exist")
        text = decode_utf8(read_yaml_bytes(path), str(path))
        if path.suffix == ".json":
            try:
                prices = json.loads(text)
            except ValueError as exc:
                raise SpecError(f"{path}: not valid JSON ({exc})") from None
        else:
            prices = parse_yaml(text, str(path))
    if not isinstance(prices, dict):
        raise SpecError(f"{where}: expected a mapping")
    currency = str(prices.get("currency", "USD"))
    if "models" in prices:
        table = prices["models"]
        if not isinstance(table, dict) or model not in table:
            known = ", ".join(sorted(table)) if isinstance(table, dict) else "none"
            raise SpecError(f"{where}: no price for model {model!r}", hint=f"priced: {known}")
        return _price_from(table[model], f"{where}: models.{model}", currency)
    return _price_from(prices, where, currency)
