"""Policies as data: rule files with CEL expressions, waivers, and their own tests."""
