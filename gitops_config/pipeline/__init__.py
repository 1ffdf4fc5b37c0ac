"""The engine: a revision's files in, findings and changes out. Start reading here.

One revision (a `Source`: the working tree, the index or a commit, opened by
`revision.py` beside `source.py`) goes through these stages:

    project file -> values merged per environment -> templates rendered -> checked

  rendering.py    merge and render the environments of one revision (EnvRender)
  validation.py   validate one revision: render, then check (CheckResult)
  checker.py      what one check reads once (rules, schemas) and what it has found
  layer_checks.py      value layers as written, checked once each
  rendered_checks.py   rendered files, per environment
  policy_checks.py     the policies over what the two above collected
  findings.py     policy hits placed at file:line, waivers applied: the CheckResult
  affected.py     which environments and layers a set of changed files touches

Two revisions (base and head of a pull request) are reviewed:

  review.py       compare them, validate the head, reuse a review kept before
  comparison.py   per environment: plan, render both sides, diff (Review)
  causes.py       why an environment is compared: the inputs that differ
  sides.py        both revisions of every environment rendered on one pool
  encrypted.py    encrypted files between the two: readers, committed outputs
  file_diff.py    one rendered file at the two revisions -> Changes
  fingerprint_key.py   the key that fingerprints secrets in a review
  keys_at_hand.py      whether the keys at hand open an environment, or it is read sealed

results.py holds what the stages return (CheckResult, Review), which reports
read. Nothing here is imported by this file: rendering alone must not load
the schema and policy engines.
"""
