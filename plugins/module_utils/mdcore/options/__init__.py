"""The option table: every option of the modules, the host config (config.json) and the role, once,
with its type, default, choices, description and where it applies. Everything else derives from it:
the modules' argument specs (at run time), their documentation (plugins/doc_fragments/options.py),
the role's meta/argument_specs.yml and defaults/main.yml and docs/config.md, the compact copies
without descriptions that some modules' payloads ship instead of the table (<module>_spec.py,
status_config_spec.py) (written by `make options`, scripts/gen_options.py;
tests/unit/test_options_generated.py fails when a checked-in copy differs), and the strict checking
of config.json and module parameters (check.py). Defaults that engine code takes as values are
defined in defaults.py."""
