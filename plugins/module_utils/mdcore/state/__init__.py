"""The store's persisted state as typed classes, each with a version, ``from_json`` (strict: types
and versions checked, a newer version refused) and ``to_json``:

  certset.py  domains/<md>/set.json         a certificate set: names, CA, facts per key type
  order.py    staging/<md>/order.json       an order in progress: the URL per key type
  job.py      jobs/<md>.json                a domain's renewal job, its config snapshot and ARI state
  fields.py   the strict readers, file loading and setting corrupt files aside

Nothing reads these files as raw dicts: every reader goes through these classes.
"""
