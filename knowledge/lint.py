"""`tthc lint`: problems in a set of procedures that staff should fix before citizens see them."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.normalize import Lexicon, default_lexicon
from knowledge.records import ProcedureInfo


@dataclass(frozen=True)
class Problem:
    """One finding: which procedure, which field, what is wrong."""

    code: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}, field '{self.field}': {self.message}"


def lint(procedures: Sequence[ProcedureInfo], lexicon: Lexicon | None = None) -> list[Problem]:
    """Empty facets, aliases shared by two procedures, and aliases that equal another procedure's name."""
    lexicon = lexicon or default_lexicon()
    problems: list[Problem] = []
    alias_owners: dict[tuple[str, ...], dict[str, str]] = defaultdict(dict)
    names: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for info in procedures:
        problems.extend(Problem(info.code, key, "empty") for key in info.empty_keys())
        for name in (info.name, info.short_name):
            names[lexicon.phrase_tokens(name)].add(info.code)
        for alias in info.aliases:
            tokens = lexicon.phrase_tokens(alias)
            if not tokens:
                problems.append(Problem(info.code, "aliases", f"'{alias}' has no words left after normalisation"))
                continue
            alias_owners[tokens].setdefault(info.code, alias)
    for tokens, owners in alias_owners.items():
        if len(owners) > 1:
            codes = sorted(owners)
            for code in codes:
                others = ", ".join(other for other in codes if other != code)
                problems.append(Problem(code, "aliases", f"'{owners[code]}' is also an alias of {others}"))
        for code, alias in owners.items():
            shadowed = sorted(names.get(tokens, set()) - {code})
            if shadowed:
                problems.append(
                    Problem(code, "aliases", f"'{alias}' is the name of {', '.join(shadowed)}: it would hide it")
                )
    return problems
