"""Reports: what the engine found, written for a reader (one module per format).

findings*.py write a validation's findings, diff_*.py a review's changes,
comment.py the sticky PR comment, merge.py several reports into one.
"""
