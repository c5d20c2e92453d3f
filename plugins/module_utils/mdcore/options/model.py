"""What an option is: one entry of the option table (mdcore/options/), from which the modules'
argument specs and documentation, the role's argument specs and defaults, the host config's
validation and docs/config.md are all derived (scripts/gen_options.py writes the checked-in copies)."""

from __future__ import annotations

from dataclasses import dataclass, field


class Kind:
    """Value types. DURATION: seconds as a number, or a number with a unit ('90s', '30m', '12h',
    '2d', '1w'); WINDOW: a percentage of a lifetime ('33%') or such a duration; ARGV: a command as
    an argument list (never a shell string)."""

    STR = "str"
    PATH = "path"
    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    DURATION = "duration"
    WINDOW = "window"
    LIST = "list"
    DICT = "dict"
    ARGV = "argv"
    RAW = "raw"


# How Ansible (argument specs, DOCUMENTATION) types each kind. A duration is "raw": Ansible would
# turn 300 into '300' with a warning for "str", and refuse '5m' for "float"; the engine checks it.
ANSIBLE_TYPE = {Kind.STR: "str", Kind.PATH: "path", Kind.BOOL: "bool", Kind.INT: "int", Kind.FLOAT: "float",
                Kind.DURATION: "raw", Kind.WINDOW: "str", Kind.LIST: "list", Kind.DICT: "dict", Kind.ARGV: "list",
                Kind.RAW: "raw"}


class Use:
    """Where an option applies (Option.use)."""

    MODULE = "module"  # the module's parameters (Option tables of mdcore/options/modules.py)
    HOST_DEFAULTS = "host-defaults"  # config.json's "defaults" (a managed domain's inherited options)
    HOST_ENTRY = "host-entry"  # config.json's "domains" entries
    ROLE_DEFAULTS = "role-defaults"  # the role's managed_domains_defaults
    ROLE_ENTRY = "role-entry"  # the role's managed_domains_domains entries


DOMAIN_EVERYWHERE = frozenset({Use.MODULE, Use.HOST_DEFAULTS, Use.HOST_ENTRY, Use.ROLE_DEFAULTS, Use.ROLE_ENTRY})


@dataclass(frozen=True)
class Option:
    """One option. ``description``: paragraphs separated by blank lines, in Ansible's markup (O(), V(),
    C(), RV()); the role and docs/config.md get it converted. ``default``: the engine's default (None:
    unset). ``empty``: an empty string means "unset" (documented so); elsewhere "" is an error, never a
    silent default.
    ``low``/``high``: bounds of numbers and durations (seconds). ``check``: a further rule, called with
    the typed value, returning it (normalised) or raising ConfigError with what is wrong.
    ``role_var``: the role variable that feeds this host config key; ``role_default`` when the role's
    default differs from the engine's (or, for a role variable, a template that only defaults/main.yml
    holds); ``role_note``: paragraphs only the role's docs show.
    """

    name: str
    kind: str
    description: str
    default: object = None
    choices: tuple = ()
    elements: str | None = None
    suboptions: tuple[Option, ...] = ()
    required: bool = False
    no_log: bool = False
    aliases: tuple[str, ...] = ()
    empty: bool = False
    low: float | None = None
    high: float | None = None
    positive: bool = False  # a number or duration above 0
    fold_case: bool = False  # choices compared without case in config.json (mod_md's "RSA"); Ansible's are exact
    check: object = None
    use: frozenset = DOMAIN_EVERYWHERE
    role_var: str | None = None
    role_default: object = None
    role_note: str = ""
    doc_default: str | None = None  # how the docs state a default that is computed (e.g. <store>-challenges)
    # further argument-spec keys (mutually_exclusive, required_one_of of a dict); "merge": a dict whose keys
    # a managed domain overrides one by one over the defaults' (rfc2136)
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def paragraphs(self) -> list[str]:
        return paragraphs(self.description)

    @property
    def ansible_type(self) -> str:
        return ANSIBLE_TYPE[self.kind]

    @property
    def ansible_elements(self) -> str | None:
        if self.kind == Kind.ARGV:
            return "str"
        return ANSIBLE_TYPE.get(self.elements, self.elements) if self.elements else None


def paragraphs(text: str) -> list[str]:
    """A description's paragraphs, each on one line."""
    return [" ".join(part.split()) for part in text.split("\n\n") if part.strip()]


def by_name(options: tuple[Option, ...] | list[Option]) -> dict[str, Option]:
    return {opt.name: opt for opt in options}


def pick(options: tuple[Option, ...], use: str) -> tuple[Option, ...]:
    """The options that apply to ``use`` (a Use value)."""
    return tuple(opt for opt in options if use in opt.use)


def default_of(options: tuple[Option, ...], name: str):
    """An option's default; a list default is copied (dataclass default_factory)."""
    value = by_name(options)[name].default
    return list(value) if isinstance(value, (list, tuple)) else value


__all__ = ["Kind", "Use", "Option", "ANSIBLE_TYPE", "DOMAIN_EVERYWHERE", "by_name", "paragraphs", "pick", "default_of"]
