"""The incremental layer: earlier work reused, in one run and across runs.

Rendering, merging, validation and diffing (render.py, values.py, the
pipeline/ package) are functions of their inputs and keep nothing. What a run reuses
goes through one object, Reuse (reuse.py), which the run context (run.py)
holds: "the output of this template for these values, if known", "the verdict
for this content under these rules", "this layer, parsed". With a store (the
on-disk cache, store.py) answers outlive the run; without one (--no-cache)
they last for the run only. Either way the results are the same: only the
time differs.

- store.py: the cache folder, entries keyed by a hash of their inputs;
- data.py: what an entry may hold (plain data, never code or a secret);
- packs.py: rendered outputs and compiled templates, one log per environment;
- renders.py: a template's output kept with the trace that verifies it;
- dependencies.py: that trace: the values a template read, each with a hash;
- snapshot.py: what one environment's exact inputs rendered to;
- verdicts.py: files known to be clean;
- reuse.py: the one interface the pipeline calls.
"""
