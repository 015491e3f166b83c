"""The declarative indicator catalogue: TOML definitions plus versioned code lists."""

from indicator_defs.loader import DefinitionError, load_catalogue
from indicator_defs.model import Catalogue, Indicator

__all__ = ["Catalogue", "DefinitionError", "Indicator", "load_catalogue"]
