"""The parameters a tuner declared ahead, and how they meet the objective's definitions.

A tuner given ``hyperparameters=`` (a space declared before the search) applies KerasTuner's
rules to every parameter the objective defines: a declared one keeps its declared definition;
a new one is tuned (``tune_new_entries=True``), fixed at its default, or refused
(``allow_new_entries=False``). :class:`~hyperscout.space.HyperParameters` keeps these rules
(see its ``_declare_ahead``) and asks them at each definition.

>>> from hyperscout.space import Int
>>> rules = EntryRules(frozenset({"lr"}), tune_new_entries=False, allow_new_entries=True)
>>> rules.apply(Int("units", 8, 64, default=32), None)
Fixed('units', value=32)
"""

from __future__ import annotations

from dataclasses import dataclass

from hyperscout._parameters.base import Parameter
from hyperscout._parameters.choices import Fixed
from hyperscout.exceptions import InvalidSpaceError

__all__ = ["EntryRules"]


@dataclass(frozen=True)
class EntryRules:
    """How the space a tuner was given as ``hyperparameters=`` meets the objective's definitions.

    KerasTuner's: a declared parameter's definition stands whatever the objective defines under
    its name; a parameter not declared is tuned (``tune_new_entries``), fixed at its default,
    or refused (``allow_new_entries=False``).
    """

    declared: frozenset[str]
    tune_new_entries: bool
    allow_new_entries: bool

    def decides(self, name: str) -> bool:
        """True when the definition of ``name`` comes from these rules, not from the objective."""
        return name in self.declared or not self.tune_new_entries

    def apply(self, param: Parameter, existing: Parameter | None) -> Parameter:
        """The definition that stands for ``param``, the objective's definition of its name."""
        if param.name in self.declared:
            return existing if existing is not None else param
        if not self.allow_new_entries:
            raise InvalidSpaceError(
                f"{param._label()} is not among the parameters declared in hyperparameters= "
                f"({sorted(self.declared)}), and allow_new_entries=False refuses new ones. "
                "Declare it in hyperparameters=, or pass allow_new_entries=True."
            )
        if self.tune_new_entries or isinstance(param, Fixed):
            return param
        # Not tuned: the same constant in every trial, recorded as such, never searched.
        return Fixed(param.name, param.default, conditions=param.conditions)
